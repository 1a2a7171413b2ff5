/* test_client_hist.c - the bench's log-linear latency histogram (src/cmd/chorus_hist.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/chorus_hist.h"
#include "common/rng.h"

static chorus_hist_t *new_hist(void) {
  chorus_hist_t *h = malloc(sizeof *h);
  assert_non_null(h);
  chorus_hist_init(h);
  return h;
}

static void test_small_values_are_counted_exactly(void **state) {
  chorus_hist_t *h = new_hist();
  for (uint64_t v = 0; v < 128; v++)
    chorus_hist_record(h, v);
  assert_int_equal(h->total, 128);
  for (uint64_t v = 0; v < 128; v++) {
    assert_int_equal(chorus_hist_index(v), v);
    assert_int_equal(chorus_hist_bucket_low(v), v);
    assert_int_equal(chorus_hist_bucket_high(v), v);
  }
  /* the 64th smallest of 0..127 is 63 */
  assert_int_equal(chorus_hist_percentile(h, 50), 63);
  assert_int_equal(chorus_hist_percentile(h, 0), 0);
  assert_int_equal(chorus_hist_percentile(h, 100), 127);
  free(h);
}

static void test_buckets_tile_the_whole_range_without_gaps(void **state) {
  /* each bucket starts one past the previous one's end, up to 2^64 - 1 */
  for (size_t i = 1; i < CHORUS_HIST_BUCKETS; i++)
    assert_int_equal(chorus_hist_bucket_low(i), chorus_hist_bucket_high(i - 1) + 1);
  assert_int_equal(chorus_hist_bucket_high(CHORUS_HIST_BUCKETS - 1), UINT64_MAX);
  assert_int_equal(chorus_hist_index(UINT64_MAX), CHORUS_HIST_BUCKETS - 1);
  assert_int_equal(chorus_hist_index(128), 128);
  assert_int_equal(chorus_hist_index(129), 128); /* 2 wide from 128 on */
  assert_int_equal(chorus_hist_index(130), 129);
}

static void test_every_value_lies_in_its_bucket_within_one_64th(void **state) {
  rng_t r;
  rng_seed(&r, 42);
  for (int i = 0; i < 200000; i++) {
    uint64_t v = rng_next(&r) >> (rng_next(&r) % 64);
    size_t idx = chorus_hist_index(v);
    uint64_t lo = chorus_hist_bucket_low(idx), hi = chorus_hist_bucket_high(idx);
    assert_true(lo <= v && v <= hi);
    assert_true((double)(hi - lo) <= (double)lo / 64.0 + 1.0);
  }
}

static void test_percentiles_of_a_uniform_spread_are_within_precision(void **state) {
  chorus_hist_t *h = new_hist();
  /* 1..100000 microseconds in nanoseconds: percentile p is p * 1000 us */
  for (uint64_t us = 1; us <= 100000; us++)
    chorus_hist_record(h, us * 1000);
  const double ps[] = {50, 90, 99, 99.9};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    double want = ps[i] * 1000.0 * 1000.0;
    double got = (double)chorus_hist_percentile(h, ps[i]);
    assert_true(got >= want);
    assert_true(got <= want * (1.0 + 1.0 / 64.0));
  }
  assert_int_equal(chorus_hist_percentile(h, 100), 100000000);
  assert_int_equal(h->min, 1000);
  assert_int_equal(h->max, 100000000);
  assert_true(chorus_hist_mean(h) > 50000499.0 && chorus_hist_mean(h) < 50000501.0);
  free(h);
}

static void test_a_percentile_never_exceeds_the_largest_value(void **state) {
  chorus_hist_t *h = new_hist();
  chorus_hist_record(h, 1000001); /* its bucket reaches past it */
  assert_int_equal(chorus_hist_percentile(h, 50), 1000001);
  assert_int_equal(chorus_hist_percentile(h, 99.9), 1000001);
  free(h);
}

static void test_an_outlier_moves_only_the_top_percentiles(void **state) {
  chorus_hist_t *h = new_hist();
  for (int i = 0; i < 999; i++)
    chorus_hist_record(h, 2000);
  chorus_hist_record(h, 5000000);
  uint64_t top_of_2000 = chorus_hist_bucket_high(chorus_hist_index(2000));
  assert_true(top_of_2000 >= 2000 && top_of_2000 < 2000 + 2000 / 64);
  assert_int_equal(chorus_hist_percentile(h, 99), top_of_2000);
  assert_int_equal(chorus_hist_percentile(h, 99.9), top_of_2000);
  assert_int_equal(chorus_hist_percentile(h, 99.95), 5000000);
  assert_int_equal(chorus_hist_percentile(h, 100), 5000000);
  free(h);
}

static void test_an_empty_histogram_reads_zero(void **state) {
  chorus_hist_t *h = new_hist();
  assert_int_equal(chorus_hist_percentile(h, 50), 0);
  assert_int_equal(chorus_hist_percentile(h, 100), 0);
  assert_true(chorus_hist_mean(h) == 0.0);
  assert_int_equal(chorus_hist_count_between(h, 0, UINT64_MAX), 0);
  free(h);
}

static void test_merge_adds_counts_and_keeps_the_extremes(void **state) {
  chorus_hist_t *a = new_hist(), *b = new_hist();
  for (int i = 0; i < 100; i++)
    chorus_hist_record(a, 10);
  for (int i = 0; i < 300; i++)
    chorus_hist_record(b, 1000000);
  chorus_hist_merge(a, b);
  assert_int_equal(a->total, 400);
  assert_int_equal(a->min, 10);
  assert_int_equal(a->max, 1000000);
  assert_int_equal(chorus_hist_percentile(a, 25), 10);
  assert_true(chorus_hist_percentile(a, 26) >= 1000000);
  assert_int_equal(chorus_hist_count_between(a, 0, 11), 100);
  assert_int_equal(chorus_hist_count_between(a, 11, 1u << 20), 300);
  assert_int_equal(chorus_hist_count_between(a, 1u << 20, UINT64_MAX), 0);
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_values_are_counted_exactly),
      cmocka_unit_test(test_buckets_tile_the_whole_range_without_gaps),
      cmocka_unit_test(test_every_value_lies_in_its_bucket_within_one_64th),
      cmocka_unit_test(test_percentiles_of_a_uniform_spread_are_within_precision),
      cmocka_unit_test(test_a_percentile_never_exceeds_the_largest_value),
      cmocka_unit_test(test_an_outlier_moves_only_the_top_percentiles),
      cmocka_unit_test(test_an_empty_histogram_reads_zero),
      cmocka_unit_test(test_merge_adds_counts_and_keeps_the_extremes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
