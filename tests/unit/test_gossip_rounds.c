/*
 * test_gossip_rounds.c - the periodic rounds besides probing (swim_rounds.c):
 * push-pull with a live member, reconnect with a dead one, and gossip: to
 * whom, for how long, and brought forward by fresh news.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gossip/swim.h"

#include "swim_harness.h"

/* Ticks at t and answers the probe it sends, if any, so members stay alive. */
static void tick_acking(node_t *n, uint64_t t) {
  tick_at(n, t);
  const swim_send_t *p = find_send(&n->out, SWIM_MSG_PING, 0);
  if (!p) return;
  swim_msg_t ping = p->msg;
  swim_out_t keep = n->out; /* the tick's outputs stay visible to the caller */
  swim_out_t scratch;
  swim_out_init(&scratch);
  n->out = scratch;
  ack(n, &ping);
  swim_out_free(&n->out);
  n->out = keep;
}

/* ---- push-pull and reconnect ---- */

static void test_periodic_push_pull_with_a_live_member(void **state) {
  swim_config_t c = quiet_config();
  c.push_pull_interval_ms = 30000;
  node_t n;
  node_init_with(&n, &c, 3);
  node_join(&n, 1);
  size_t pulls = 0;
  for (uint64_t t = swim_next_deadline(n.s); t <= T0 + 90000; t = swim_next_deadline(n.s)) {
    tick_acking(&n, t);
    for (size_t i = 0; i < n.out.n_push_pulls; i++) {
      assert_string_equal(n.out.push_pulls[i].to.host, "10.0.0.1");
      assert_true(t == T0 + 30000 || t == T0 + 60000 || t == T0 + 90000);
      pulls++;
    }
  }
  assert_int_equal(pulls, 3);
  node_free(&n);
}

static void test_reconnect_push_pulls_with_a_dead_member_every_interval(void **state) {
  swim_config_t c = quiet_config();
  c.reconnect_interval_ms = 10000;
  node_t n;
  node_init_with(&n, &c, 5);
  node_join(&n, 2);
  for (uint64_t t = swim_next_deadline(n.s); t <= T0 + 10000; t = swim_next_deadline(n.s)) {
    tick_acking(&n, t);
    assert_int_equal(n.out.n_push_pulls, 0); /* nobody is dead */
  }
  tick_acking(&n, T0 + 10000);
  swim_update_t d = make_update(SWIM_DEAD, "m2", 1, "m1");
  deliver_update(&n, 1, &d);
  size_t pulls = 0;
  for (uint64_t t = swim_next_deadline(n.s); t <= T0 + 50000; t = swim_next_deadline(n.s)) {
    tick_acking(&n, t);
    for (size_t i = 0; i < n.out.n_push_pulls; i++) {
      assert_string_equal(n.out.push_pulls[i].to.host, "10.0.0.2");
      assert_int_equal(t % 10000, T0 % 10000);
      pulls++;
    }
  }
  assert_int_equal(pulls, 4); /* at T0 + 20, 30, 40 and 50 s */
  node_free(&n);
}

/* ---- gossip ---- */

static void test_gossip_reaches_gossip_nodes_members_while_rumors_remain(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 5);
  size_t rounds_with_gossip = 0;
  for (uint64_t t = swim_next_deadline(n.s); t < T0 + 5000; t = swim_next_deadline(n.s)) {
    tick_acking(&n, t);
    size_t g = count_sends(&n.out, SWIM_MSG_GOSSIP);
    if (!g) continue;
    rounds_with_gossip++;
    assert_true(g <= 3);
    for (size_t i = 0; i < g; i++) {
      const swim_send_t *x = find_send(&n.out, SWIM_MSG_GOSSIP, i);
      assert_true(x->msg.n_updates > 0);
      assert_string_not_equal(x->to.host, "10.0.0.0");
      for (size_t j = 0; j < i; j++)
        assert_string_not_equal(x->to.host, find_send(&n.out, SWIM_MSG_GOSSIP, j)->to.host);
    }
  }
  /* 6 rumors x 4 transmits, 3 packets a round, pings and acks taking some. */
  assert_true(rounds_with_gossip >= 1 && rounds_with_gossip <= 2);
  swim_rumor_t r[8];
  assert_int_equal(swim_rumors(n.s, r, 8), 0);
  node_free(&n);
}

/* Ticks every ms from the node's clock to until; the time of the first tick
 * that sends GOSSIP, or 0. */
static uint64_t next_gossip_round(node_t *n, uint64_t until) {
  for (uint64_t t = n->now + 1; t <= until; t++) {
    tick_acking(n, t);
    if (count_sends(&n->out, SWIM_MSG_GOSSIP)) return t;
  }
  return 0;
}

static void test_fresh_rumor_brings_the_gossip_round_forward_once(void **state) {
  swim_config_t c = quiet_config();
  c.retransmit_mult = 1;        /* rumors are spent in one round */
  c.probe_interval_ms = 100000; /* no probes, so only gossip carries rumors */
  node_t n;
  node_init_with(&n, &c, 5);
  node_join(&n, 3);
  /* Drain what the join queued. */
  while (next_gossip_round(&n, n.now + 1000))
    ;
  uint64_t last = n.now;
  /* A fresh rumor: the next round comes a quarter interval after the last. */
  swim_update_t u = make_update(SWIM_ALIVE, id_of(4), 1, NULL);
  u.addr = addr_of(4);
  deliver_update(&n, 1, &u);
  uint64_t t1 = next_gossip_round(&n, n.now + 1000);
  assert_true(t1 > 0);
  assert_true(t1 - last <= c.gossip_interval_ms / 4 + 1);
  /* Another right after: this round is the regular one, a full interval on. */
  u = make_update(SWIM_ALIVE, id_of(5), 1, NULL);
  u.addr = addr_of(5);
  deliver_update(&n, 1, &u);
  uint64_t t2 = next_gossip_round(&n, n.now + 1000);
  assert_int_equal(t2 - t1, c.gossip_interval_ms);
  /* After a regular round, news may hasten it again. */
  u = make_update(SWIM_ALIVE, id_of(6), 1, NULL);
  u.addr = addr_of(6);
  deliver_update(&n, 1, &u);
  uint64_t t3 = next_gossip_round(&n, n.now + 1000);
  assert_int_equal(t3 - t2, c.gossip_interval_ms / 4);
  node_free(&n);
}

static void test_dead_member_gets_gossip_only_for_dead_gossip_ms(void **state) {
  swim_config_t c = quiet_config();
  c.gossip_nodes = 1;
  node_t n;
  node_init_with(&n, &c, 11);
  node_join(&n, 1);
  swim_update_t d = make_update(SWIM_DEAD, "m1", 1, "m1");
  deliver_update(&n, 1, &d);
  uint64_t died = n.now;
  const swim_send_t *g = tick_until_send(&n, SWIM_MSG_GOSSIP);
  assert_string_equal(g->to.host, "10.0.0.1");
  /* Past dead_gossip_ms, fresh news no longer goes to it. */
  n.now = died + 30000;
  swim_update_t s = make_update(SWIM_SUSPECT, "self", self_of(n.s).incarnation, "m1");
  deliver_update(&n, 1, &s);
  for (int i = 0; i < 20; i++) {
    tick_at(&n, swim_next_deadline(n.s) > n.now ? swim_next_deadline(n.s) : n.now + 200);
    assert_int_equal(count_sends(&n.out, SWIM_MSG_GOSSIP), 0);
  }
  node_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_periodic_push_pull_with_a_live_member),
      cmocka_unit_test(test_reconnect_push_pulls_with_a_dead_member_every_interval),
      cmocka_unit_test(test_gossip_reaches_gossip_nodes_members_while_rumors_remain),
      cmocka_unit_test(test_fresh_rumor_brings_the_gossip_round_forward_once),
      cmocka_unit_test(test_dead_member_gets_gossip_only_for_dead_gossip_ms),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
