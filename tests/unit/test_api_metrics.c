/*
 * test_api_metrics.c - latency quantiles from histogram snapshots, as the
 * /ws stats push computes them: deltas between two snapshots, linear
 * interpolation inside a bucket, nothing when no request was recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "api/metrics.h"
#include "common/err.h"

static void test_no_request_in_between_has_no_quantile(void **state) {
  metrics_hist_t a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.counts[3] = b.counts[3] = 7;
  double s = -1;
  assert_int_equal(metrics_hist_quantile(&b, &a, 0.5, &s), CHORUS_ENOTFOUND);
  assert_true(s == -1);
}

static void test_quantiles_interpolate_inside_the_bucket(void **state) {
  metrics_hist_t then, now;
  memset(&then, 0, sizeof then);
  memset(&now, 0, sizeof now);
  then.counts[0] = 100; /* before the interval: ignored */
  now.counts[0] = 100;
  now.counts[3] = 10; /* (0.0005, 0.001] */
  double s;
  assert_int_equal(metrics_hist_quantile(&now, &then, 0.5, &s), 0);
  assert_true(s > 0.00074 && s < 0.00076); /* halfway through the bucket */
  assert_int_equal(metrics_hist_quantile(&now, &then, 1.0, &s), 0);
  assert_true(s > 0.00099 && s < 0.00101);
  now.counts[0] = 190; /* 90 fast ones in the first bucket, [0, 0.0001] */
  assert_int_equal(metrics_hist_quantile(&now, &then, 0.5, &s), 0);
  assert_true(s > 0.0000554 && s < 0.0000557); /* rank 50 of 90 */
  assert_int_equal(metrics_hist_quantile(&now, &then, 0.99, &s), 0);
  assert_true(s > 0.0009 && s < 0.00096); /* rank 99: 9 into the 10 of bucket 3 */
}

static void test_the_inf_bucket_reports_the_largest_bound(void **state) {
  metrics_hist_t then, now;
  memset(&then, 0, sizeof then);
  memset(&now, 0, sizeof now);
  now.counts[METRICS_BUCKETS - 1] = 3;
  double s;
  assert_int_equal(metrics_hist_quantile(&now, &then, 0.99, &s), 0);
  assert_true(s == 2.5);
}

static void test_snapshots_count_recorded_requests(void **state) {
  metrics_hist_t a, b;
  metrics_hist(ROUTE_DATA, &a);
  metrics_observe(ROUTE_DATA, METHOD_GET, 200, 300000); /* 0.3 ms */
  metrics_observe(ROUTE_DATA, METHOD_PUT, 200, 700000);
  metrics_observe(ROUTE_STATUS, METHOD_GET, 200, 700000); /* another route */
  metrics_hist(ROUTE_DATA, &b);
  assert_int_equal(b.total - a.total, 2);
  double s;
  assert_int_equal(metrics_hist_quantile(&b, &a, 0.5, &s), 0);
  assert_true(s > 0.00025 && s <= 0.0005);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_request_in_between_has_no_quantile),
      cmocka_unit_test(test_quantiles_interpolate_inside_the_bucket),
      cmocka_unit_test(test_the_inf_bucket_reports_the_largest_bound),
      cmocka_unit_test(test_snapshots_count_recorded_requests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
