/*
 * test_gossip_broadcast.c - what rides on outgoing packets: the rumor queue
 * (swim_queue.c: order, retransmit budget, one rumor per member) and message
 * composition (swim_send.c: the buddy SUSPECT first, every packet within the
 * byte budget).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "gossip/swim.h"
#include "gossip/swim_codec.h"

#include "swim_harness.h"

/* ---- buddy system ---- */

static void test_ping_to_suspect_carries_the_suspicion_first(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_update_t s = make_update(SWIM_SUSPECT, "m1", 1, "m2");
  /* m2 is unknown, so this came through m1's own table... any sender will do. */
  deliver_update(&n, 1, &s);
  assert_int_equal(member_of(n.s, "m1").status, SWIM_SUSPECT);
  swim_msg_t ping = start_probe(&n);
  assert_string_equal(ping.target, "m1");
  assert_true(ping.n_updates >= 1);
  assert_int_equal(ping.updates[0].status, SWIM_SUSPECT);
  assert_string_equal(ping.updates[0].id, "m1");
  assert_int_equal(ping.updates[0].incarnation, 1);
  /* Not twice. */
  for (size_t i = 1; i < ping.n_updates; i++)
    assert_string_not_equal(ping.updates[i].id, "m1");
  node_free(&n);
}

/* ---- rumor queue ---- */

/* The ids of the updates an ACK to a fresh PING carries, comma-separated. */
static const char *acked_rumors(node_t *n) {
  static char ids[1024];
  swim_msg_t p = make_msg(SWIM_MSG_PING, 1, 1, "self");
  deliver(n, &p);
  const swim_send_t *a = find_send(&n->out, SWIM_MSG_ACK, 0);
  assert_non_null(a);
  ids[0] = 0;
  for (size_t i = 0; i < a->msg.n_updates; i++) {
    strcat(ids, i ? "," : "");
    strcat(ids, a->msg.updates[i].id);
  }
  return ids;
}

static void test_rumors_go_least_transmitted_then_newest_first(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  assert_string_equal(acked_rumors(&n), "m3,m2,m1,self");
  swim_update_t a = make_update(SWIM_ALIVE, "m4", 1, NULL);
  a.addr = addr_of(4);
  deliver_update(&n, 4, &a);
  assert_string_equal(acked_rumors(&n), "m4,m3,m2,m1,self");
  assert_string_equal(acked_rumors(&n), "m4,m3,m2,m1,self");
  node_free(&n);
}

static void test_rumor_retransmit_limit_follows_cluster_size(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  /* N = 4: 4 x ceil(log10(5)) = 4 transmits. */
  assert_int_equal(find_rumor(n.s, "m1")->transmits_left, 4);
  for (int i = 0; i < 4; i++)
    assert_string_equal(acked_rumors(&n), "m3,m2,m1,self");
  assert_string_equal(acked_rumors(&n), "");
  assert_null(find_rumor(n.s, "m1"));
  node_free(&n);

  node_init(&n);
  node_join(&n, 9);
  /* N = 10: 4 x ceil(log10(11)) = 8. */
  assert_int_equal(find_rumor(n.s, "m1")->transmits_left, 8);
  acked_rumors(&n);
  assert_int_equal(find_rumor(n.s, "m1")->transmits_left, 7);
  node_free(&n);
}

static void test_newer_update_replaces_queued_rumor_about_member(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 2);
  acked_rumors(&n);
  swim_update_t s = make_update(SWIM_SUSPECT, "m1", 1, "m2");
  deliver_update(&n, 2, &s);
  swim_rumor_t r[16];
  size_t count = swim_rumors(n.s, r, 16), about_m1 = 0;
  for (size_t i = 0; i < count; i++) {
    if (strcmp(r[i].update.id, "m1") != 0) continue;
    about_m1++;
    assert_int_equal(r[i].update.status, SWIM_SUSPECT);
    assert_int_equal(r[i].transmits_left, 4);
  }
  assert_int_equal(about_m1, 1);
  assert_int_equal(swim_rumors(n.s, r, 1), 1);
  node_free(&n);
}

/* ---- packet budget ---- */

/* A member whose id and host have the longest allowed form. */
static void long_member(swim_member_info_t *mi, int i) {
  memset(mi, 0, sizeof(*mi));
  snprintf(mi->id, sizeof(mi->id), "%04d", i);
  memset(mi->id + 4, 'x', NODE_ID_MAX - 4);
  snprintf(mi->addr.host, sizeof(mi->addr.host), "%04d", i);
  memset(mi->addr.host + 4, 'h', SWIM_HOST_MAX - 4);
  mi->addr.port = 65535;
  mi->addr.peer_port = 65535;
  mi->status = SWIM_ALIVE;
  mi->incarnation = UINT64_MAX - 1;
}

static void expect_within_budget(const swim_out_t *o, size_t budget, size_t *with_updates) {
  buf_t b;
  buf_init(&b);
  for (size_t i = 0; i < o->n_sends; i++) {
    buf_reset(&b);
    assert_int_equal(swim_msg_encode(&o->sends[i].msg, &b), 0);
    assert_true(b.len <= budget);
    *with_updates += o->sends[i].msg.n_updates > 0;
  }
  buf_free(&b);
}

static void test_every_packet_fits_the_budget_with_long_ids_and_hosts(void **state) {
  swim_config_t c = quiet_config();
  c.packet_overhead = 29;
  node_t n;
  node_init_with(&n, &c, 9);
  enum { MEMBERS = 300 };
  swim_member_info_t *mi = calloc(MEMBERS, sizeof(*mi));
  for (int i = 0; i < MEMBERS; i++)
    long_member(&mi[i], i);
  swim_state_t st = {.n = MEMBERS, .members = mi};
  assert_int_equal(swim_on_state(n.s, &st, n.now, &n.out), 0);
  size_t sent = 0, with_updates = 0;
  for (int i = 0; i < 300; i++) {
    tick_at(&n, swim_next_deadline(n.s));
    expect_within_budget(&n.out, SWIM_PACKET_MAX - 29, &with_updates);
    sent += n.out.n_sends;
    /* PING_REQs and relays carry the long target fields too. */
    swim_msg_t req = make_msg(SWIM_MSG_PING_REQ, (uint32_t)i, 1, mi[i % MEMBERS].id);
    req.target_addr = mi[i % MEMBERS].addr;
    snprintf(req.from, sizeof(req.from), "%s", mi[(i + 1) % MEMBERS].id);
    req.from_addr = mi[(i + 1) % MEMBERS].addr;
    deliver(&n, &req);
    expect_within_budget(&n.out, SWIM_PACKET_MAX - 29, &with_updates);
    sent += n.out.n_sends;
  }
  assert_true(sent > 300);
  assert_true(with_updates > 300);
  free(mi);
  node_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ping_to_suspect_carries_the_suspicion_first),
      cmocka_unit_test(test_rumors_go_least_transmitted_then_newest_first),
      cmocka_unit_test(test_rumor_retransmit_limit_follows_cluster_size),
      cmocka_unit_test(test_newer_update_replaces_queued_rumor_about_member),
      cmocka_unit_test(test_every_packet_fits_the_budget_with_long_ids_and_hosts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
