/*
 * test_replication_xfer_plan.c - the pure planning of ownership transfers
 * (xfer_plan.h): for an old and a new ring, which ranges a member gains and
 * whom it streams them from. Checked against the rings themselves, token by
 * token over a sample, not against fixed numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "replication/plan.h"
#include "replication/ranges.h"
#include "replication/xfer_plan.h"
#include "ring/ring.h"

static ring_t *ring_of(const char *const *ids, size_t n) {
  ring_t *r = NULL;
  assert_int_equal(ring_build(ids, n, 150, &r), 0);
  return r;
}

static const char *const ALL[] = {"node-1", "node-2", "node-3", "node-4", "node-5"};

static bool owns(const ring_t *r, uint64_t token, const char *id) {
  uint32_t idx[3];
  size_t n = ring_preference(r, token, idx, 3);
  for (size_t i = 0; i < n; i++)
    if (strcmp(ring_member_id(r, idx[i]), id) == 0) return true;
  return false;
}

/* The gain holding token, or NULL. */
static const xfer_gain_t *gain_of(const xfer_gain_t *g, size_t n, uint64_t token) {
  for (size_t i = 0; i < n; i++)
    if (merkle_ranges_contain(g[i].ranges, g[i].nr, token)) return &g[i];
  return NULL;
}

static uint64_t sample(size_t i) {
  return 0x9e3779b97f4a7c15ull * (i + 1) ^ (i << 7);
}

static void test_a_joiner_gains_exactly_what_it_owns_from_the_member_it_replaces(void **state) {
  (void)state;
  ring_t *from = ring_of(ALL, 3), *to = ring_of(ALL, 4);
  xfer_gain_t *g = NULL;
  size_t n = 0;
  assert_int_equal(xfer_plan_gains(from, to, 3, "node-4", NULL, NULL, &g, &n), 0);
  assert_true(n > 0);
  for (size_t i = 0; i < 20000; i++) {
    uint64_t t = sample(i);
    const xfer_gain_t *x = gain_of(g, n, t);
    assert_int_equal(x != NULL, owns(to, t, "node-4"));
    if (!x) continue;
    assert_int_equal(x->n_sources, 3);
    /* the first source owned the range and loses it; the others owned it too */
    assert_true(owns(from, t, x->sources[0]) && !owns(to, t, x->sources[0]));
    for (size_t s = 1; s < x->n_sources; s++)
      assert_true(owns(from, t, x->sources[s]));
  }
  /* in all, the joiner gains what it shares with itself on the new ring */
  merkle_range_t *mine = NULL;
  size_t nm = 0;
  assert_int_equal(ranges_shared(to, 3, "node-4", "node-4", &mine, &nm), 0);
  uint64_t gained = 0;
  for (size_t i = 0; i < n; i++)
    gained += ranges_tokens(g[i].ranges, g[i].nr);
  assert_true(gained == ranges_tokens(mine, nm));
  free(mine);
  xfer_gains_free(g, n);
  /* a member already owning everything it keeps gains nothing */
  assert_int_equal(xfer_plan_gains(from, to, 3, "node-1", NULL, NULL, &g, &n), 0);
  assert_int_equal(n, 0);
  assert_null(g);
  ring_destroy(from);
  ring_destroy(to);
}

static void test_two_joiners_stream_from_different_members(void **state) {
  (void)state;
  ring_t *from = ring_of(ALL, 3), *to = ring_of(ALL, 5);
  xfer_gain_t *g4 = NULL, *g5 = NULL;
  size_t n4 = 0, n5 = 0, both = 0;
  assert_int_equal(xfer_plan_gains(from, to, 3, "node-4", NULL, NULL, &g4, &n4), 0);
  assert_int_equal(xfer_plan_gains(from, to, 3, "node-5", NULL, NULL, &g5, &n5), 0);
  for (size_t i = 0; i < 20000; i++) {
    uint64_t t = sample(i);
    const xfer_gain_t *a = gain_of(g4, n4, t), *b = gain_of(g5, n5, t);
    if (!a || !b) continue;
    both++;
    /* each replaces its own loser: the two first sources differ */
    assert_string_not_equal(a->sources[0], b->sources[0]);
  }
  assert_true(both > 0);
  xfer_gains_free(g4, n4);
  xfer_gains_free(g5, n5);
  ring_destroy(from);
  ring_destroy(to);
}

static bool skip_removed(const char *id, void *arg) {
  return strcmp(id, (const char *)arg) == 0;
}

static void test_a_removal_re_replicates_from_the_survivors(void **state) {
  (void)state;
  ring_t *from = ring_of(ALL, 4), *to = ring_of(ALL, 3); /* node-4 removed */
  size_t total = 0;
  for (size_t m = 0; m < 3; m++) {
    xfer_gain_t *g = NULL;
    size_t n = 0;
    assert_int_equal(xfer_plan_gains(from, to, 3, ALL[m], skip_removed, (void *)"node-4", &g, &n), 0);
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(g[i].n_sources, 2); /* the two other survivors of the old list */
      for (size_t s = 0; s < g[i].n_sources; s++) {
        assert_string_not_equal(g[i].sources[s], "node-4");
        assert_string_not_equal(g[i].sources[s], ALL[m]);
      }
      total += ranges_tokens(g[i].ranges, g[i].nr) > 0;
    }
    for (size_t i = 0; i < 5000; i++) {
      uint64_t t = sample(i);
      assert_int_equal(gain_of(g, n, t) != NULL, owns(to, t, ALL[m]) && !owns(from, t, ALL[m]));
    }
    xfer_gains_free(g, n);
  }
  assert_true(total > 0);
  ring_destroy(from);
  ring_destroy(to);
}

static void test_the_same_ring_moves_nothing_and_bad_arguments_are_refused(void **state) {
  (void)state;
  ring_t *r = ring_of(ALL, 4);
  xfer_gain_t *g = NULL;
  size_t n = 7;
  for (size_t m = 0; m < 4; m++) {
    assert_int_equal(xfer_plan_gains(r, r, 3, ALL[m], NULL, NULL, &g, &n), 0);
    assert_int_equal(n, 0);
  }
  /* not on the new ring: it gains nothing (a leaver) */
  assert_int_equal(xfer_plan_gains(r, r, 3, "node-9", NULL, NULL, &g, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(xfer_plan_gains(r, r, 0, "node-1", NULL, NULL, &g, &n), CHORUS_EINVAL);
  assert_int_equal(xfer_plan_gains(r, r, PLAN_MAX_REPLICAS + 1, "node-1", NULL, NULL, &g, &n), CHORUS_EINVAL);
  assert_int_equal(xfer_plan_gains(NULL, r, 3, "node-1", NULL, NULL, &g, &n), CHORUS_EINVAL);
  ring_destroy(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_joiner_gains_exactly_what_it_owns_from_the_member_it_replaces),
      cmocka_unit_test(test_two_joiners_stream_from_different_members),
      cmocka_unit_test(test_a_removal_re_replicates_from_the_survivors),
      cmocka_unit_test(test_the_same_ring_moves_nothing_and_bad_arguments_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
