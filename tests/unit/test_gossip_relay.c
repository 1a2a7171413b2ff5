/*
 * test_gossip_relay.c - probes this node runs for others (swim_relay.c): a
 * PING_REQ makes it PING the target and pass the ACK back under the
 * requester's seq, or NACK in time when the target stays silent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gossip/swim.h"

#include "swim_harness.h"

static void test_ping_req_makes_relay_ping_target_and_relay_its_ack(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 2);
  swim_msg_t req = make_msg(SWIM_MSG_PING_REQ, 555, 1, "m2");
  req.target_addr = addr_of(2);
  deliver(&n, &req);
  const swim_send_t *p = find_send(&n.out, SWIM_MSG_PING, 0);
  assert_non_null(p);
  assert_string_equal(p->to.host, "10.0.0.2");
  assert_string_equal(p->msg.target, "m2");
  uint32_t relay_seq = p->msg.seq;
  swim_msg_t a = make_msg(SWIM_MSG_ACK, relay_seq, 2, NULL);
  n.now += 100;
  deliver(&n, &a);
  const swim_send_t *fwd = find_send(&n.out, SWIM_MSG_ACK, 0);
  assert_non_null(fwd);
  assert_int_equal(fwd->msg.seq, 555);
  assert_string_equal(fwd->to.host, "10.0.0.1");
  /* Answered: no NACK follows. */
  tick_at(&n, n.now + 1000);
  assert_int_equal(count_sends(&n.out, SWIM_MSG_NACK), 0);
  node_free(&n);
}

static void test_relay_sends_nack_when_target_stays_silent(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 2);
  swim_msg_t req = make_msg(SWIM_MSG_PING_REQ, 556, 1, "m2");
  req.target_addr = addr_of(2);
  uint64_t at = n.now;
  deliver(&n, &req);
  /* 80% of probe_timeout, so the NACK beats the requester's deadline. */
  assert_true(swim_next_deadline(n.s) <= at + 400);
  tick_at(&n, at + 399);
  assert_int_equal(count_sends(&n.out, SWIM_MSG_NACK), 0);
  tick_at(&n, at + 400);
  const swim_send_t *nack = find_send(&n.out, SWIM_MSG_NACK, 0);
  assert_non_null(nack);
  assert_int_equal(nack->msg.seq, 556);
  assert_string_equal(nack->to.host, "10.0.0.1");
  tick_at(&n, at + 450);
  assert_int_equal(count_sends(&n.out, SWIM_MSG_NACK), 0);
  node_free(&n);
}

static void test_ping_req_about_self_is_answered_with_ack(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_msg_t req = make_msg(SWIM_MSG_PING_REQ, 9, 1, "self");
  deliver(&n, &req);
  const swim_send_t *a = find_send(&n.out, SWIM_MSG_ACK, 0);
  assert_non_null(a);
  assert_int_equal(a->msg.seq, 9);
  assert_int_equal(count_sends(&n.out, SWIM_MSG_PING), 0);
  node_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ping_req_makes_relay_ping_target_and_relay_its_ack),
      cmocka_unit_test(test_relay_sends_nack_when_target_stays_silent),
      cmocka_unit_test(test_ping_req_about_self_is_answered_with_ack),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
