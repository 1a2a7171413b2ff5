/*
 * test_ring_ownership.c - how the token space is shared: every member within
 * tolerance of its share with 150 vnodes, shares summing to the whole space and
 * matching where keys land, and a lone member owning everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/rng.h"
#include "ring/ring.h"

#include "ring_harness.h"

/* Worst |share·M - 1| over the members of a ring. */
static double worst_relative_deviation(const ring_t *r) {
  double m = (double)ring_member_count(r), worst = 0;
  for (size_t i = 0; i < ring_member_count(r); i++) {
    double dev = ring_member_share(r, i) * m - 1.0;
    if (dev < 0) dev = -dev;
    if (dev > worst) worst = dev;
  }
  return worst;
}

static void test_150_vnodes_give_every_member_its_share_within_tolerance(void **state) {
  /* Measured worst relative deviation from 1/M with 150 vnodes (M: worst):
   *   node-<i> ids: M 3..10: 0.227 (M 9), 11..25: 0.188 (M 14), 26..50: 0.266 (M 35);
   *   UUID ids:     M 3..10: 0.217 (M 8), 11..25: 0.247 (M 15), 26..50: 0.313 (M 45).
   * A member's share is a sum of 150 gaps, so its spread is about
   * 1/sqrt(150) = 8% and the worst of up to 50 members lands near 3-4 sigma;
   * the tolerance leaves a third again above the worst case. */
  const double tolerance = 0.42;
  for (size_t m = 3; m <= 50; m++) {
    idset_t named, uuids;
    ids_named(&named, m);
    ids_uuid(&uuids, m, 0x5eed0000u + m);
    ring_t *a = build(named.ptr, m, RING_VNODES_DEFAULT);
    ring_t *b = build(uuids.ptr, m, RING_VNODES_DEFAULT);
    double wa = worst_relative_deviation(a), wb = worst_relative_deviation(b);
    assert_true(wa < tolerance);
    assert_true(wb < tolerance);
    ring_destroy(a);
    ring_destroy(b);
  }
}

static void test_ownership_sums_to_the_whole_token_space(void **state) {
  idset_t s;
  ids_named(&s, 7);
  ring_t *r = build(s.ptr, 7, 150);
  uint64_t sum = 0;
  double share = 0;
  for (size_t i = 0; i < 7; i++) {
    sum += ring_member_owned(r, i); /* wraps: the exact total is 2^64 */
    share += ring_member_share(r, i);
    assert_true(ring_member_owned(r, i) > 0);
  }
  assert_true(sum == 0);
  assert_true(share > 1 - 1e-12 && share < 1 + 1e-12);
  assert_true(ring_member_owned(r, 7) == 0);
  assert_true(ring_member_share(r, 7) == 0.0);

  /* Shares agree with where uniformly spread tokens land. */
  size_t hits[7] = {0};
  rng_t g;
  rng_seed(&g, 42);
  const size_t samples = 200000;
  for (size_t k = 0; k < samples; k++)
    hits[ring_vnode(r, ring_vnode_for(r, rng_next(&g)))->member]++;
  for (size_t i = 0; i < 7; i++) {
    double seen = (double)hits[i] / (double)samples, want = ring_member_share(r, i);
    assert_true(seen > want - 0.01 && seen < want + 0.01);
  }
  ring_destroy(r);
}

static void test_a_lone_member_owns_everything_even_with_one_vnode(void **state) {
  const char *ids[] = {"solo"};
  for (uint32_t v = 1; v <= 150; v += 149) {
    ring_t *r = build(ids, 1, v);
    assert_true(ring_member_owned(r, 0) == UINT64_MAX);
    assert_true(ring_member_share(r, 0) == 1.0);
    uint32_t out[3];
    assert_int_equal(ring_preference(r, 12345, out, 3), 1);
    assert_int_equal(out[0], 0);
    ring_destroy(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_150_vnodes_give_every_member_its_share_within_tolerance),
      cmocka_unit_test(test_ownership_sums_to_the_whole_token_space),
      cmocka_unit_test(test_a_lone_member_owns_everything_even_with_one_vnode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
