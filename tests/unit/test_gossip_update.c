/*
 * test_gossip_update.c - applying membership updates (swim_update.c): the
 * precedence of incarnations and statuses, stale tables that cannot kill a
 * live member, and this node refuting news about itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gossip/swim.h"

#include "swim_harness.h"

/* ---- precedence ---- */

/* m1 at (st, inc) after a first update, then `then`: returns whether it applied. */
static bool applies(swim_status_t st, uint64_t inc, swim_status_t then_st, uint64_t then_inc) {
  node_t n;
  node_init(&n);
  node_join(&n, 2);
  if (st != SWIM_ALIVE || inc != 1) {
    swim_update_t first = make_update(st, "m1", inc, "m2");
    first.addr = addr_of(1);
    deliver_update(&n, 2, &first);
  }
  assert_int_equal(member_of(n.s, "m1").status, st);
  swim_update_t u = make_update(then_st, "m1", then_inc, "m2");
  u.addr = addr_of(1);
  deliver_update(&n, 2, &u);
  bool changed = find_event(&n.out, SWIM_EV_MEMBER, "m1") != NULL;
  node_free(&n);
  return changed;
}

static void test_equal_incarnation_precedence(void **state) {
  assert_true(applies(SWIM_ALIVE, 1, SWIM_SUSPECT, 1));
  assert_true(applies(SWIM_ALIVE, 1, SWIM_DEAD, 1));
  assert_true(applies(SWIM_ALIVE, 1, SWIM_LEFT, 1));
  assert_true(applies(SWIM_SUSPECT, 1, SWIM_DEAD, 1));
  assert_true(applies(SWIM_SUSPECT, 1, SWIM_LEFT, 1));
  assert_false(applies(SWIM_SUSPECT, 1, SWIM_ALIVE, 1));
  assert_false(applies(SWIM_DEAD, 1, SWIM_ALIVE, 1));
  assert_false(applies(SWIM_DEAD, 1, SWIM_SUSPECT, 1));
  assert_true(applies(SWIM_DEAD, 1, SWIM_LEFT, 1)); /* an operator's removal of a dead member is final */
  assert_false(applies(SWIM_LEFT, 1, SWIM_DEAD, 1));
  assert_false(applies(SWIM_LEFT, 1, SWIM_LEFT, 1));
  assert_false(applies(SWIM_ALIVE, 1, SWIM_ALIVE, 1));
}

static void test_stale_incarnations_are_ignored(void **state) {
  assert_false(applies(SWIM_ALIVE, 3, SWIM_ALIVE, 2));
  assert_false(applies(SWIM_ALIVE, 3, SWIM_SUSPECT, 2));
  assert_false(applies(SWIM_SUSPECT, 3, SWIM_SUSPECT, 2));
  assert_false(applies(SWIM_ALIVE, 3, SWIM_DEAD, 2));
  assert_true(applies(SWIM_DEAD, 3, SWIM_ALIVE, 4));
  assert_true(applies(SWIM_LEFT, 3, SWIM_ALIVE, 4));
  assert_true(applies(SWIM_SUSPECT, 3, SWIM_ALIVE, 4));
}

static void test_alive_at_higher_incarnation_updates_address(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_update_t u = make_update(SWIM_ALIVE, "m1", 2, NULL);
  u.addr = addr_of(9);
  deliver_update(&n, 1, &u);
  const swim_event_t *ev = find_event(&n.out, SWIM_EV_MEMBER, "m1");
  assert_non_null(ev);
  assert_int_equal(ev->old_status, SWIM_ALIVE);
  assert_string_equal(member_of(n.s, "m1").addr.host, "10.0.0.9");
  node_free(&n);
}

/* Merges a table holding one DEAD entry about id at inc. */
static void merge_dead(node_t *n, const char *id, uint64_t inc) {
  swim_member_info_t mi;
  memset(&mi, 0, sizeof(mi));
  snprintf(mi.id, sizeof(mi.id), "%s", id);
  mi.addr = addr_of(member_index(id));
  mi.status = SWIM_DEAD;
  mi.incarnation = inc;
  swim_state_t st = {.n = 1, .members = &mi};
  swim_out_clear(&n->out);
  assert_int_equal(swim_on_state(n->s, &st, n->now, &n->out), 0);
}

static void test_stale_table_cannot_kill_a_live_member(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 2);
  merge_dead(&n, "m1", 1);
  assert_int_equal(member_of(n.s, "m1").status, SWIM_SUSPECT);
  assert_string_equal(find_rumor(n.s, "m1")->update.from, "self");
  /* A second stale table does not finish it off. */
  merge_dead(&n, "m1", 1);
  assert_int_equal(member_of(n.s, "m1").status, SWIM_SUSPECT);
  /* Nor does one at a higher incarnation: that is a new suspicion. */
  merge_dead(&n, "m1", 2);
  assert_int_equal(member_of(n.s, "m1").status, SWIM_SUSPECT);
  assert_int_equal(member_of(n.s, "m1").incarnation, 2);
  /* About a member already dead, a newer DEAD is taken as it is. */
  swim_update_t d = make_update(SWIM_DEAD, "m2", 1, "m1");
  deliver_update(&n, 1, &d);
  merge_dead(&n, "m2", 3);
  assert_int_equal(member_of(n.s, "m2").status, SWIM_DEAD);
  assert_int_equal(member_of(n.s, "m2").incarnation, 3);
  node_free(&n);
}

/* ---- refutation ---- */

static void expect_refuted(node_t *n, uint64_t inc) {
  assert_int_equal(self_of(n->s).incarnation, inc);
  assert_int_equal(self_of(n->s).status, SWIM_ALIVE);
  const swim_event_t *ev = find_event(&n->out, SWIM_EV_INCARNATION, "self");
  assert_non_null(ev);
  assert_int_equal(ev->member.incarnation, inc);
  const swim_rumor_t *r = find_rumor(n->s, "self");
  assert_int_equal(r->update.status, SWIM_ALIVE);
  assert_int_equal(r->update.incarnation, inc);
}

static void test_suspect_about_self_is_refuted_with_higher_incarnation(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_update_t s = make_update(SWIM_SUSPECT, "self", 1, "m1");
  deliver_update(&n, 1, &s);
  expect_refuted(&n, 2);
  assert_int_equal(swim_health(n.s), 1);
  assert_int_equal(swim_stats(n.s)->refutes, 1);
  /* A stale accusation is not worth answering. */
  deliver_update(&n, 1, &s);
  assert_null(find_event(&n.out, SWIM_EV_INCARNATION, "self"));
  node_free(&n);
}

static void test_dead_about_self_above_own_incarnation_is_outbid(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_update_t d = make_update(SWIM_DEAD, "self", 9, "m1");
  deliver_update(&n, 1, &d);
  expect_refuted(&n, 10);
  node_free(&n);
}

static void test_refutation_rides_on_the_ack_of_a_buddy_ping(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_msg_t p = make_msg(SWIM_MSG_PING, 3, 1, "self");
  p.updates[0] = make_update(SWIM_SUSPECT, "self", 1, "m1");
  p.n_updates = 1;
  deliver(&n, &p);
  const swim_send_t *a = find_send(&n.out, SWIM_MSG_ACK, 0);
  assert_non_null(a);
  const swim_update_t *u = find_update(&a->msg, SWIM_ALIVE, "self");
  assert_non_null(u);
  assert_int_equal(u->incarnation, 2);
  node_free(&n);
}

static void test_left_about_self_is_refuted_unless_leaving(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_update_t l = make_update(SWIM_LEFT, "self", 1, NULL);
  deliver_update(&n, 1, &l);
  expect_refuted(&n, 2);
  assert_int_equal(swim_leave(n.s, n.now, &n.out), 0);
  l.incarnation = 2;
  deliver_update(&n, 1, &l);
  swim_update_t d = make_update(SWIM_DEAD, "self", 2, "m1");
  deliver_update(&n, 1, &d);
  assert_null(find_event(&n.out, SWIM_EV_INCARNATION, "self"));
  assert_int_equal(self_of(n.s).status, SWIM_LEFT);
  node_free(&n);
}

static void test_alive_about_self_at_higher_incarnation_is_outbid(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_update_t a = make_update(SWIM_ALIVE, "self", 1, NULL);
  a.addr = addr_of(0);
  deliver_update(&n, 1, &a); /* our own rumor coming back */
  assert_null(find_event(&n.out, SWIM_EV_INCARNATION, "self"));
  a.incarnation = 4;
  deliver_update(&n, 1, &a);
  expect_refuted(&n, 5);
  node_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_equal_incarnation_precedence),
      cmocka_unit_test(test_stale_incarnations_are_ignored),
      cmocka_unit_test(test_alive_at_higher_incarnation_updates_address),
      cmocka_unit_test(test_stale_table_cannot_kill_a_live_member),
      cmocka_unit_test(test_suspect_about_self_is_refuted_with_higher_incarnation),
      cmocka_unit_test(test_dead_about_self_above_own_incarnation_is_outbid),
      cmocka_unit_test(test_refutation_rides_on_the_ack_of_a_buddy_ping),
      cmocka_unit_test(test_left_about_self_is_refuted_unless_leaving),
      cmocka_unit_test(test_alive_about_self_at_higher_incarnation_is_outbid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
