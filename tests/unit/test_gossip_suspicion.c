/*
 * test_gossip_suspicion.c - the Lifeguard suspicion timer (swim_suspicion.c):
 * expiry to DEAD after the formula's timeout, confirmations from distinct
 * accusers bringing it closer, a refutation or a newer suspicion ending it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gossip/swim.h"

#include "swim_harness.h"

static uint64_t expected_timeout(uint32_t mult, size_t n_live, uint32_t interval, uint32_t c) {
  double min = floor(mult * log10((double)n_live + 1.0) * interval);
  double max = 6 * min;
  uint32_t k = mult - 2;
  double t = floor(max - (max - min) * log(c + 1.0) / log(k + 1.0));
  return (uint64_t)(t < min ? min : t);
}

/* m1 suspected by m2 at T0 in a cluster of 5 (self + m1..m4). */
static void suspect_m1(node_t *n) {
  node_init(n);
  node_join(n, 4);
  swim_update_t s = make_update(SWIM_SUSPECT, "m1", 1, "m2");
  deliver_update(n, 2, &s);
  const swim_event_t *ev = find_event(&n->out, SWIM_EV_MEMBER, "m1");
  assert_non_null(ev);
  assert_int_equal(ev->member.status, SWIM_SUSPECT);
}

/* Ticks at t - 1 and t: m1 is still SUSPECT before, DEAD (by self) at t. */
static void expect_dead_at(node_t *n, uint64_t t) {
  tick_at(n, t - 1);
  assert_int_equal(member_of(n->s, "m1").status, SWIM_SUSPECT);
  uint64_t seen = member_of(n->s, "m1").last_seen_ms;
  tick_at(n, t);
  assert_int_equal(member_of(n->s, "m1").last_seen_ms, seen); /* death is no sign of life */
  const swim_event_t *ev = find_event(&n->out, SWIM_EV_MEMBER, "m1");
  assert_non_null(ev);
  assert_int_equal(ev->old_status, SWIM_SUSPECT);
  assert_int_equal(ev->member.status, SWIM_DEAD);
  const swim_rumor_t *r = find_rumor(n->s, "m1");
  assert_int_equal(r->update.status, SWIM_DEAD);
  assert_string_equal(r->update.from, "self");
}

static void test_suspicion_expires_to_dead_after_max_timeout(void **state) {
  node_t n;
  suspect_m1(&n);
  uint64_t max = expected_timeout(4, 5, 1000, 0);
  assert_int_equal(max, 6 * (uint64_t)floor(4 * log10(6.0) * 1000));
  expect_dead_at(&n, T0 + max);
  assert_int_equal(swim_stats(n.s)->deads, 1);
  node_free(&n);
}

static void test_confirmations_shrink_suspicion_timeout(void **state) {
  node_t n;
  suspect_m1(&n);
  n.now = T0 + 1000;
  swim_update_t c1 = make_update(SWIM_SUSPECT, "m1", 1, "m3");
  deliver_update(&n, 3, &c1);
  /* Passed on, so that others count it too. */
  assert_string_equal(find_rumor(n.s, "m1")->update.from, "m3");
  n.now = T0 + 2000;
  swim_update_t c2 = make_update(SWIM_SUSPECT, "m1", 1, "m4");
  deliver_update(&n, 4, &c2);
  /* k = 2 confirmations reached: the timeout is min, counted from the start. */
  expect_dead_at(&n, T0 + expected_timeout(4, 5, 1000, 2));
  node_free(&n);
}

static void test_one_confirmation_moves_deadline_per_formula(void **state) {
  node_t n;
  suspect_m1(&n);
  n.now = T0 + 100;
  swim_update_t c1 = make_update(SWIM_SUSPECT, "m1", 1, "m3");
  deliver_update(&n, 3, &c1);
  uint64_t t1 = expected_timeout(4, 5, 1000, 1);
  assert_true(t1 < expected_timeout(4, 5, 1000, 0) && t1 > expected_timeout(4, 5, 1000, 2));
  expect_dead_at(&n, T0 + t1);
  node_free(&n);
}

static void test_repeated_accuser_is_not_a_confirmation(void **state) {
  node_t n;
  suspect_m1(&n);
  swim_update_t again = make_update(SWIM_SUSPECT, "m1", 1, "m2");
  deliver_update(&n, 2, &again);
  deliver_update(&n, 3, &again); /* relayed by m3, still m2's accusation */
  expect_dead_at(&n, T0 + expected_timeout(4, 5, 1000, 0));
  node_free(&n);
}

static void test_suspect_refuted_by_higher_incarnation(void **state) {
  node_t n;
  suspect_m1(&n);
  n.now = T0 + 500;
  swim_update_t a = make_update(SWIM_ALIVE, "m1", 2, NULL);
  a.addr = addr_of(1);
  deliver_update(&n, 1, &a);
  const swim_event_t *ev = find_event(&n.out, SWIM_EV_MEMBER, "m1");
  assert_non_null(ev);
  assert_int_equal(ev->old_status, SWIM_SUSPECT);
  assert_int_equal(ev->member.status, SWIM_ALIVE);
  assert_int_equal(ev->member.incarnation, 2);
  /* The old suspicion no longer kills it. */
  tick_at(&n, T0 + expected_timeout(4, 5, 1000, 0));
  assert_null(find_event(&n.out, SWIM_EV_MEMBER, "m1"));
  assert_int_equal(member_of(n.s, "m1").status, SWIM_ALIVE);
  node_free(&n);
}

static void test_suspect_at_higher_incarnation_restarts_suspicion(void **state) {
  node_t n;
  suspect_m1(&n);
  n.now = T0 + 1000;
  swim_update_t s = make_update(SWIM_SUSPECT, "m1", 2, "m3");
  deliver_update(&n, 3, &s);
  const swim_event_t *ev = find_event(&n.out, SWIM_EV_MEMBER, "m1");
  assert_non_null(ev);
  assert_int_equal(ev->member.incarnation, 2);
  expect_dead_at(&n, T0 + 1000 + expected_timeout(4, 5, 1000, 0));
  node_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_suspicion_expires_to_dead_after_max_timeout),
      cmocka_unit_test(test_confirmations_shrink_suspicion_timeout),
      cmocka_unit_test(test_one_confirmation_moves_deadline_per_formula),
      cmocka_unit_test(test_repeated_accuser_is_not_a_confirmation),
      cmocka_unit_test(test_suspect_refuted_by_higher_incarnation),
      cmocka_unit_test(test_suspect_at_higher_incarnation_restarts_suspicion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
