/*
 * test_gossip_probe.c - the probe cycle (swim_probe.c): answering PINGs; the
 * PING, PING_REQ and verdict schedule; local health (Lifeguard) rising and
 * falling with each outcome and stretching the schedule; the probe order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gossip/swim.h"

#include "swim_harness.h"

/* ---- answering probes ---- */

static void test_ping_for_self_is_acked_with_its_seq(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_msg_t p = make_msg(SWIM_MSG_PING, 77, 1, "self");
  deliver(&n, &p);
  const swim_send_t *a = find_send(&n.out, SWIM_MSG_ACK, 0);
  assert_non_null(a);
  assert_int_equal(a->msg.seq, 77);
  assert_string_equal(a->to.host, "10.0.0.1");
  assert_string_equal(a->msg.from, "self");
  node_free(&n);
}

static void test_ping_meant_for_another_id_is_ignored(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_msg_t p = make_msg(SWIM_MSG_PING, 77, 1, "previous-owner");
  deliver(&n, &p);
  assert_int_equal(n.out.n_sends, 0);
  node_free(&n);
}

static void test_ack_from_member_counts_as_contact(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 2);
  swim_msg_t ping = start_probe(&n);
  n.now += 10;
  ack(&n, &ping);
  assert_int_equal(member_of(n.s, ping.target).last_seen_ms, n.now);
  node_free(&n);
}

/* ---- probing ---- */

static void test_ping_names_its_target_and_goes_to_its_address(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  swim_msg_t ping = start_probe(&n);
  const swim_member_t t_copy = member_of(n.s, ping.target), *t = &t_copy;
  assert_non_null(t);
  assert_string_equal(n.out.sends[0].to.host, t->addr.host);
  assert_string_equal(ping.from, "self");
  assert_int_equal(swim_stats(n.s)->probes, 1);
  node_free(&n);
}

static void test_probe_acked_keeps_member_alive_and_lowers_health(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  /* Health 1 after a refutation. */
  swim_update_t s = make_update(SWIM_SUSPECT, "self", 1, "m1");
  deliver_update(&n, 1, &s);
  assert_int_equal(swim_health(n.s), 1);
  swim_msg_t ping = start_probe(&n);
  ack(&n, &ping);
  assert_int_equal(swim_health(n.s), 0);
  /* No verdict and no PING_REQ follow the ACK. */
  uint64_t until = n.now + 2000;
  while (swim_next_deadline(n.s) < until) {
    tick_at(&n, swim_next_deadline(n.s));
    assert_int_equal(count_sends(&n.out, SWIM_MSG_PING_REQ), 0);
    assert_null(find_event(&n.out, SWIM_EV_MEMBER, "m1"));
  }
  assert_int_equal(member_of(n.s, "m1").status, SWIM_ALIVE);
  node_free(&n);
}

static void test_probe_timeout_sends_ping_req_to_indirect_checks_members(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 6);
  swim_msg_t ping = start_probe(&n);
  uint64_t sent = n.now;
  assert_int_equal(swim_next_deadline(n.s), sent + 500);
  tick_at(&n, sent + 500);
  assert_int_equal(count_sends(&n.out, SWIM_MSG_PING_REQ), 3);
  const swim_member_t target_copy = member_of(n.s, ping.target), *target = &target_copy;
  for (size_t i = 0; i < 3; i++) {
    const swim_send_t *r = find_send(&n.out, SWIM_MSG_PING_REQ, i);
    assert_int_equal(r->msg.seq, ping.seq);
    assert_string_equal(r->msg.target, ping.target);
    assert_string_equal(r->msg.target_addr.host, target->addr.host);
    assert_int_equal(r->msg.target_addr.port, target->addr.port);
    assert_string_not_equal(r->to.host, target->addr.host);
    assert_string_not_equal(r->to.host, "10.0.0.0");
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(r->to.host, find_send(&n.out, SWIM_MSG_PING_REQ, j)->to.host);
  }
  assert_int_equal(swim_stats(n.s)->ping_reqs, 3);
  node_free(&n);
}

static void test_relayed_ack_with_original_seq_completes_probe(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 4);
  swim_msg_t ping = start_probe(&n);
  uint64_t sent = n.now;
  tick_at(&n, sent + 500);
  const swim_send_t *r = find_send(&n.out, SWIM_MSG_PING_REQ, 0);
  int relay = atoi(r->to.host + strlen("10.0.0."));
  swim_msg_t a = make_msg(SWIM_MSG_ACK, ping.seq, relay, NULL);
  n.now = sent + 700;
  deliver(&n, &a);
  tick_at(&n, sent + 1000);
  assert_null(find_event(&n.out, SWIM_EV_MEMBER, ping.target));
  assert_int_equal(member_of(n.s, ping.target).status, SWIM_ALIVE);
  node_free(&n);
}

static void test_no_ack_marks_target_suspect_and_queues_it(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 4);
  swim_msg_t ping = start_probe(&n);
  uint64_t sent = n.now;
  tick_at(&n, sent + 500);
  tick_at(&n, sent + 999);
  assert_null(find_event(&n.out, SWIM_EV_MEMBER, ping.target));
  tick_at(&n, sent + 1000);
  const swim_event_t *ev = find_event(&n.out, SWIM_EV_MEMBER, ping.target);
  assert_non_null(ev);
  assert_int_equal(ev->old_status, SWIM_ALIVE);
  assert_int_equal(ev->member.status, SWIM_SUSPECT);
  assert_int_equal(ev->member.state_change_ms, sent + 1000);
  assert_true(ev->member.last_seen_ms < sent); /* suspicion is no sign of life */
  const swim_rumor_t *r = find_rumor(n.s, ping.target);
  assert_non_null(r);
  assert_int_equal(r->update.status, SWIM_SUSPECT);
  assert_int_equal(r->update.incarnation, 1);
  assert_string_equal(r->update.from, "self");
  assert_int_equal(swim_stats(n.s)->suspects, 1);
  node_free(&n);
}

static void test_health_rises_by_one_plus_each_missing_nack(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 4);
  swim_msg_t ping = start_probe(&n);
  uint64_t sent = n.now;
  tick_at(&n, sent + 500);
  const swim_send_t *r = find_send(&n.out, SWIM_MSG_PING_REQ, 0);
  swim_msg_t nack = make_msg(SWIM_MSG_NACK, ping.seq, atoi(r->to.host + strlen("10.0.0.")), NULL);
  n.now = sent + 900;
  deliver(&n, &nack);
  deliver(&n, &nack); /* a repeat is not a second NACK */
  tick_at(&n, sent + 1000);
  assert_int_equal(swim_health(n.s), 1 + 2);
  assert_int_equal(swim_stats(n.s)->nacks, 2);
  node_free(&n);
}

static void test_failed_probe_without_relays_raises_health_by_one(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  start_probe(&n);
  uint64_t sent = n.now;
  tick_at(&n, sent + 500);
  assert_int_equal(count_sends(&n.out, SWIM_MSG_PING_REQ), 0);
  tick_at(&n, sent + 1000);
  assert_int_equal(swim_health(n.s), 1);
  node_free(&n);
}

static void test_health_is_bounded_by_awareness_max_minus_one(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  for (uint64_t inc = 1; inc < 20; inc++) {
    swim_update_t s = make_update(SWIM_SUSPECT, "self", self_of(n.s).incarnation, "m1");
    deliver_update(&n, 1, &s);
  }
  assert_int_equal(swim_health(n.s), 7);
  node_free(&n);
}

static void test_probe_interval_and_timeout_scale_with_health(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 4);
  for (int i = 0; i < 2; i++) {
    swim_update_t s = make_update(SWIM_SUSPECT, "self", self_of(n.s).incarnation, "m1");
    deliver_update(&n, 1, &s);
  }
  assert_int_equal(swim_health(n.s), 2);
  swim_msg_t ping = start_probe(&n);
  uint64_t sent = n.now;
  /* Health 2: timeout 3 x 500 and interval 3 x 1000, since a slow node
   * should wait longer before it blames others. */
  uint64_t ping_reqs_at = 0, verdict_at = 0;
  for (uint64_t t = swim_next_deadline(n.s); !verdict_at; t = swim_next_deadline(n.s)) {
    tick_at(&n, t);
    if (!ping_reqs_at && find_send(&n.out, SWIM_MSG_PING_REQ, 0)) ping_reqs_at = t;
    if (find_event(&n.out, SWIM_EV_MEMBER, ping.target)) verdict_at = t;
    if (!verdict_at) assert_null(find_send(&n.out, SWIM_MSG_PING, 0));
  }
  assert_int_equal(ping_reqs_at, sent + 1500);
  assert_int_equal(verdict_at, sent + 3000);
  /* The next probe goes out with the verdict. */
  assert_non_null(find_send(&n.out, SWIM_MSG_PING, 0));
  node_free(&n);
}

static void test_probe_order_visits_every_member_once_per_round(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 5);
  for (int round = 0; round < 3; round++) {
    int seen[6] = {0};
    for (int i = 0; i < 5; i++) {
      swim_msg_t ping = start_probe(&n);
      seen[member_index(ping.target)]++;
      ack(&n, &ping);
    }
    for (int i = 1; i <= 5; i++)
      assert_int_equal(seen[i], 1);
  }
  node_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ping_for_self_is_acked_with_its_seq),
      cmocka_unit_test(test_ping_meant_for_another_id_is_ignored),
      cmocka_unit_test(test_ack_from_member_counts_as_contact),
      cmocka_unit_test(test_ping_names_its_target_and_goes_to_its_address),
      cmocka_unit_test(test_probe_acked_keeps_member_alive_and_lowers_health),
      cmocka_unit_test(test_probe_timeout_sends_ping_req_to_indirect_checks_members),
      cmocka_unit_test(test_relayed_ack_with_original_seq_completes_probe),
      cmocka_unit_test(test_no_ack_marks_target_suspect_and_queues_it),
      cmocka_unit_test(test_health_rises_by_one_plus_each_missing_nack),
      cmocka_unit_test(test_failed_probe_without_relays_raises_health_by_one),
      cmocka_unit_test(test_health_is_bounded_by_awareness_max_minus_one),
      cmocka_unit_test(test_probe_interval_and_timeout_scale_with_health),
      cmocka_unit_test(test_probe_order_visits_every_member_once_per_round),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
