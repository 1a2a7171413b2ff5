/*
 * test_gossip_departure.c - members leaving the table: a graceful DEAD,
 * shutdown, leave (and the gossip that outlives it), removal by hand, and
 * reaping of dead members after reap_after_ms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/err.h"
#include "gossip/swim.h"

#include "swim_harness.h"

static void test_graceful_dead_marks_member_dead_at_once(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 2);
  swim_update_t d = make_update(SWIM_DEAD, "m1", 1, "m1");
  deliver_update(&n, 1, &d);
  const swim_event_t *ev = find_event(&n.out, SWIM_EV_MEMBER, "m1");
  assert_non_null(ev);
  assert_int_equal(ev->old_status, SWIM_ALIVE);
  assert_int_equal(ev->member.status, SWIM_DEAD);
  assert_int_equal(swim_stats(n.s)->suspects, 0);
  node_free(&n);
}

static void test_shutdown_sends_dead_self_to_every_live_member(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 4);
  swim_update_t d = make_update(SWIM_DEAD, "m4", 1, "m1");
  deliver_update(&n, 1, &d);
  swim_out_clear(&n.out);
  assert_int_equal(swim_shutdown(n.s, n.now, &n.out), 0);
  assert_int_equal(n.out.n_sends, 3);
  for (size_t i = 0; i < 3; i++) {
    const swim_msg_t *m = &n.out.sends[i].msg;
    assert_int_equal(m->n_updates, 1);
    assert_int_equal(m->updates[0].status, SWIM_DEAD);
    assert_string_equal(m->updates[0].id, "self");
    assert_string_equal(m->updates[0].from, "self");
    assert_int_equal(m->updates[0].incarnation, 1);
    assert_string_not_equal(n.out.sends[i].to.host, "10.0.0.4");
  }
  assert_int_equal(self_of(n.s).status, SWIM_DEAD);
  assert_non_null(find_event(&n.out, SWIM_EV_MEMBER, "self"));
  /* Inert from now on. */
  assert_true(swim_next_deadline(n.s) == UINT64_MAX);
  tick_at(&n, n.now + 100000);
  assert_int_equal(n.out.n_sends, 0);
  assert_int_equal(swim_leave(n.s, n.now, &n.out), CHORUS_ESHUTDOWN);
  node_free(&n);
}

static void test_leave_queues_left_and_stops_probing(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  assert_int_equal(swim_leave(n.s, n.now, &n.out), 0);
  assert_int_equal(self_of(n.s).status, SWIM_LEFT);
  const swim_rumor_t *r = find_rumor(n.s, "self");
  assert_int_equal(r->update.status, SWIM_LEFT);
  /* Still answers pings, with the news of its departure. */
  swim_msg_t p = make_msg(SWIM_MSG_PING, 4, 1, "self");
  deliver(&n, &p);
  const swim_send_t *a = find_send(&n.out, SWIM_MSG_ACK, 0);
  assert_non_null(a);
  assert_non_null(find_update(&a->msg, SWIM_LEFT, "self"));
  /* Gossips until the LEFT rumor is spent, never probes, then goes quiet. */
  size_t gossips = 0;
  for (int i = 0; i < 200 && swim_next_deadline(n.s) != UINT64_MAX; i++) {
    tick_at(&n, swim_next_deadline(n.s));
    assert_int_equal(count_sends(&n.out, SWIM_MSG_PING), 0);
    gossips += count_sends(&n.out, SWIM_MSG_GOSSIP);
  }
  assert_true(gossips > 0);
  assert_true(swim_next_deadline(n.s) == UINT64_MAX);
  assert_null(find_rumor(n.s, "self"));
  node_free(&n);
}

static void test_leave_without_peers_stops_gossip_after_twice_the_budget(void **state) {
  node_t n;
  node_init(&n);
  uint64_t left_at = n.now;
  assert_int_equal(swim_leave(n.s, n.now, &n.out), 0);
  /* Nobody to spend the LEFT rumor on: 2 x 4 transmits x 200 ms at most. */
  uint64_t last = left_at;
  for (int i = 0; i < 100 && swim_next_deadline(n.s) != UINT64_MAX; i++) {
    last = swim_next_deadline(n.s);
    tick_at(&n, last);
    assert_int_equal(n.out.n_sends, 0);
  }
  assert_true(swim_next_deadline(n.s) == UINT64_MAX);
  assert_true(last >= left_at + 1600 && last < left_at + 1600 + 200);
  node_free(&n);
}

static void test_remove_takes_only_dead_or_left_members(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  swim_update_t s = make_update(SWIM_SUSPECT, "m1", 1, "m3");
  deliver_update(&n, 3, &s);
  swim_update_t d = make_update(SWIM_DEAD, "m2", 1, "m3");
  deliver_update(&n, 3, &d);
  swim_out_clear(&n.out);
  assert_int_equal(swim_remove(n.s, "nobody", n.now, &n.out), CHORUS_ENOTFOUND);
  assert_int_equal(swim_remove(n.s, "m3", n.now, &n.out), CHORUS_EINVAL);
  assert_int_equal(swim_remove(n.s, "m1", n.now, &n.out), CHORUS_EINVAL);
  assert_int_equal(swim_remove(n.s, "self", n.now, &n.out), CHORUS_EINVAL);
  assert_int_equal(n.out.n_events, 0);
  /* a dead member becomes LEFT, spread to the others (it leaves every ring) */
  assert_int_equal(swim_remove(n.s, "m2", n.now, &n.out), 0);
  const swim_event_t *ev = find_event(&n.out, SWIM_EV_MEMBER, "m2");
  assert_non_null(ev);
  assert_int_equal(ev->member.status, SWIM_LEFT);
  assert_int_equal(ev->old_status, SWIM_DEAD);
  swim_rumor_t rumors[8];
  size_t nr = swim_rumors(n.s, rumors, 8);
  bool spread = false;
  for (size_t i = 0; i < nr; i++)
    spread |= strcmp(rumors[i].update.id, "m2") == 0 && rumors[i].update.status == SWIM_LEFT;
  assert_true(spread);
  /* removing it again forgets it here */
  swim_out_clear(&n.out);
  assert_int_equal(swim_remove(n.s, "m2", n.now, &n.out), 0);
  ev = find_event(&n.out, SWIM_EV_REMOVED, "m2");
  assert_non_null(ev);
  assert_int_equal(ev->member.status, SWIM_LEFT);
  assert_false(swim_find(n.s, "m2", NULL));
  assert_int_equal(swim_member_count(n.s), 3);
  /* The rest of the table is intact. */
  assert_true(swim_find(n.s, "m1", NULL));
  assert_true(swim_find(n.s, "m3", NULL));
  node_free(&n);
}

static void test_dead_member_is_reaped_after_reap_after_ms(void **state) {
  swim_config_t c = quiet_config();
  c.reap_after_ms = 60000;
  node_t n;
  node_init_with(&n, &c, 1);
  node_join(&n, 2);
  swim_update_t d = make_update(SWIM_DEAD, "m1", 1, "m2");
  deliver_update(&n, 2, &d);
  uint64_t died = n.now;
  tick_at(&n, died + 59999);
  assert_true(swim_find(n.s, "m1", NULL));
  tick_at(&n, died + 60000);
  const swim_event_t *ev = find_event(&n.out, SWIM_EV_REMOVED, "m1");
  assert_non_null(ev);
  assert_int_equal(ev->member.status, SWIM_DEAD);
  assert_false(swim_find(n.s, "m1", NULL));
  node_free(&n);
}

static void test_member_revived_before_reaping_stays(void **state) {
  swim_config_t c = quiet_config();
  c.reap_after_ms = 60000;
  node_t n;
  node_init_with(&n, &c, 1);
  node_join(&n, 2);
  swim_update_t d = make_update(SWIM_DEAD, "m1", 1, "m2");
  deliver_update(&n, 2, &d);
  uint64_t died = n.now;
  n.now += 1000;
  swim_update_t a = make_update(SWIM_ALIVE, "m1", 2, NULL);
  a.addr = addr_of(1);
  deliver_update(&n, 1, &a);
  tick_at(&n, died + 60000);
  assert_null(find_event(&n.out, SWIM_EV_REMOVED, "m1"));
  assert_true(swim_find(n.s, "m1", NULL));
  node_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_graceful_dead_marks_member_dead_at_once),
      cmocka_unit_test(test_shutdown_sends_dead_self_to_every_live_member),
      cmocka_unit_test(test_leave_queues_left_and_stops_probing),
      cmocka_unit_test(test_leave_without_peers_stops_gossip_after_twice_the_budget),
      cmocka_unit_test(test_remove_takes_only_dead_or_left_members),
      cmocka_unit_test(test_dead_member_is_reaped_after_reap_after_ms),
      cmocka_unit_test(test_member_revived_before_reaping_stays),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
