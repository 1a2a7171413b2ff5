/*
 * test_gossip_swim.c - the SWIM core (swim.h) driven by hand: a fake clock,
 * hand-made messages and push-pull tables, and checks on what comes out.
 *
 * Cores are created with push-pull and reconnect timers off unless a test
 * is about them, so the outputs of a tick are only probes and gossip.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/err.h"
#include "gossip/swim.h"
#include "gossip/swim_codec.h"

#define T0 1000000ull

/* ---- harness ---- */

typedef struct {
  swim_t *s;
  swim_out_t out;
  uint64_t now;
} node_t;

static swim_config_t quiet_config(void) {
  swim_config_t c;
  swim_config_default(&c);
  c.push_pull_interval_ms = 0;
  c.reconnect_interval_ms = 0;
  return c;
}

static swim_addr_t addr_of(int i) {
  swim_addr_t a;
  memset(&a, 0, sizeof(a));
  snprintf(a.host, sizeof(a.host), "10.0.0.%d", i);
  a.port = (uint16_t)(7000 + i);
  a.peer_port = (uint16_t)(8000 + i);
  return a;
}

/* Member i is "m<i>" at addr_of(i); the node under test is "self" at addr_of(0). */
static const char *id_of(int i) {
  static char ids[64][16];
  snprintf(ids[i], sizeof(ids[i]), "m%d", i);
  return ids[i];
}

/* The member with this id, which must be known (a copy: the core keeps
 * members in its own compact form). */
static swim_member_t member_of(const swim_t *s, const char *id) {
  swim_member_t m;
  assert_true(swim_find(s, id, &m));
  return m;
}

static swim_member_t self_of(const swim_t *s) {
  swim_member_t m;
  swim_self(s, &m);
  return m;
}

static void node_init_with(node_t *n, const swim_config_t *c, uint64_t seed) {
  memset(n, 0, sizeof(*n));
  swim_addr_t a = addr_of(0);
  n->now = T0;
  assert_int_equal(swim_create(c, "self", &a, 0, seed, n->now, &n->s), 0);
  swim_out_init(&n->out);
}

static void node_init(node_t *n) {
  swim_config_t c = quiet_config();
  node_init_with(n, &c, 42);
}

static void node_free(node_t *n) {
  swim_destroy(n->s);
  swim_out_free(&n->out);
}

/* Members 1..k, ALIVE at incarnation 1, learned from a join push-pull. */
static void node_join(node_t *n, int k) {
  swim_member_info_t mi[64];
  memset(mi, 0, sizeof(mi));
  for (int i = 1; i <= k; i++) {
    snprintf(mi[i - 1].id, sizeof(mi[i - 1].id), "%s", id_of(i));
    mi[i - 1].addr = addr_of(i);
    mi[i - 1].status = SWIM_ALIVE;
    mi[i - 1].incarnation = 1;
  }
  swim_state_t st = {.join = true, .n = (size_t)k, .members = mi};
  assert_int_equal(swim_on_state(n->s, &st, n->now, &n->out), 0);
  swim_out_clear(&n->out);
}

static swim_msg_t make_msg(swim_msg_type_t type, uint32_t seq, int from, const char *target) {
  swim_msg_t m;
  memset(&m, 0, sizeof(m));
  m.type = type;
  m.seq = seq;
  snprintf(m.from, sizeof(m.from), "%s", id_of(from));
  m.from_addr = addr_of(from);
  if (target) snprintf(m.target, sizeof(m.target), "%s", target);
  return m;
}

static swim_update_t make_update(swim_status_t st, const char *id, uint64_t inc, const char *from) {
  swim_update_t u;
  memset(&u, 0, sizeof(u));
  u.status = st;
  snprintf(u.id, sizeof(u.id), "%s", id);
  u.incarnation = inc;
  if (from) snprintf(u.from, sizeof(u.from), "%s", from);
  return u;
}

/* Delivers m (out cleared first). */
static void deliver(node_t *n, const swim_msg_t *m) {
  swim_out_clear(&n->out);
  assert_int_equal(swim_on_message(n->s, m, n->now, &n->out), 0);
}

/* A GOSSIP from member `from` carrying u. */
static void deliver_update(node_t *n, int from, const swim_update_t *u) {
  swim_msg_t m = make_msg(SWIM_MSG_GOSSIP, 0, from, NULL);
  m.updates[0] = *u;
  m.n_updates = 1;
  deliver(n, &m);
}

/* Ticks at t (out cleared first). */
static void tick_at(node_t *n, uint64_t t) {
  swim_out_clear(&n->out);
  n->now = t;
  assert_int_equal(swim_tick(n->s, t, &n->out), 0);
}

static const swim_send_t *find_send(const swim_out_t *o, swim_msg_type_t type, size_t nth) {
  for (size_t i = 0; i < o->n_sends; i++)
    if (o->sends[i].msg.type == type && nth-- == 0) return &o->sends[i];
  return NULL;
}

static size_t count_sends(const swim_out_t *o, swim_msg_type_t type) {
  size_t c = 0;
  for (size_t i = 0; i < o->n_sends; i++)
    c += o->sends[i].msg.type == type;
  return c;
}

static const swim_event_t *find_event(const swim_out_t *o, swim_event_type_t type, const char *id) {
  for (size_t i = 0; i < o->n_events; i++)
    if (o->events[i].type == type && strcmp(o->events[i].member.id, id) == 0) return &o->events[i];
  return NULL;
}

/* Steps from deadline to deadline until a tick sends a message of type;
 * returns it (valid until the next call on n). */
static const swim_send_t *tick_until_send(node_t *n, swim_msg_type_t type) {
  for (int i = 0; i < 10000; i++) {
    tick_at(n, swim_next_deadline(n->s));
    const swim_send_t *x = find_send(&n->out, type, 0);
    if (x) return x;
  }
  fail_msg("no message of type %d", type);
  return NULL;
}

static const swim_update_t *find_update(const swim_msg_t *m, swim_status_t st, const char *id) {
  for (size_t i = 0; i < m->n_updates; i++)
    if (m->updates[i].status == st && strcmp(m->updates[i].id, id) == 0) return &m->updates[i];
  return NULL;
}

static const swim_rumor_t *find_rumor(swim_t *s, const char *id) {
  static swim_rumor_t r[4096];
  size_t n = swim_rumors(s, r, 4096);
  for (size_t i = 0; i < n; i++)
    if (strcmp(r[i].update.id, id) == 0) return &r[i];
  return NULL;
}

static int member_index(const char *id) {
  return atoi(id + 1);
}

static void ack(node_t *n, const swim_msg_t *ping);

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

/* The node's probe of some member, answered by nobody: returns the PING
 * (copied) and leaves the clock at the PING. */
static swim_msg_t start_probe(node_t *n) {
  return tick_until_send(n, SWIM_MSG_PING)->msg;
}

static void ack(node_t *n, const swim_msg_t *ping) {
  swim_msg_t a = make_msg(SWIM_MSG_ACK, ping->seq, member_index(ping->target), NULL);
  deliver(n, &a);
}

static uint64_t expected_timeout(uint32_t mult, size_t n_live, uint32_t interval, uint32_t c) {
  double min = floor(mult * log10((double)n_live + 1.0) * interval);
  double max = 6 * min;
  uint32_t k = mult - 2;
  double t = floor(max - (max - min) * log(c + 1.0) / log(k + 1.0));
  return (uint64_t)(t < min ? min : t);
}

/* ---- creation and joining ---- */

static void test_create_announces_self_alive_at_next_incarnation(void **state) {
  swim_config_t c = quiet_config();
  swim_addr_t a = addr_of(0);
  swim_t *s;
  assert_int_equal(swim_create(&c, "self", &a, 5, 1, T0, &s), 0);
  assert_int_equal(swim_member_count(s), 1);
  const swim_member_t self_copy = self_of(s), *self = &self_copy;
  assert_string_equal(self->id, "self");
  assert_int_equal(self->status, SWIM_ALIVE);
  assert_int_equal(self->incarnation, 6);
  const swim_rumor_t *r = find_rumor(s, "self");
  assert_non_null(r);
  assert_int_equal(r->update.status, SWIM_ALIVE);
  assert_int_equal(r->update.incarnation, 6);
  assert_int_equal(swim_health(s), 0);
  swim_destroy(s);
}

static void test_create_rejects_invalid_arguments(void **state) {
  swim_config_t c = quiet_config();
  swim_addr_t a = addr_of(0);
  swim_t *s = NULL;
  assert_int_equal(swim_create(&c, "bad id", &a, 0, 1, T0, &s), CHORUS_EINVAL);
  assert_int_equal(swim_create(&c, "", &a, 0, 1, T0, &s), CHORUS_EINVAL);
  assert_int_equal(swim_create(&c, "self", &a, UINT64_MAX, 1, T0, &s), CHORUS_EINVAL);
  c.probe_interval_ms = 0;
  assert_int_equal(swim_create(&c, "self", &a, 0, 1, T0, &s), CHORUS_EINVAL);
  c = quiet_config();
  c.packet_overhead = SWIM_PACKET_MAX;
  assert_int_equal(swim_create(&c, "self", &a, 0, 1, T0, &s), CHORUS_EINVAL);
  assert_null(s);
}

static void test_join_announces_self_alive_to_each_seed_except_self(void **state) {
  node_t n;
  node_init(&n);
  swim_addr_t seeds[3] = {addr_of(1), addr_of(0), addr_of(2)};
  assert_int_equal(swim_join(n.s, seeds, 3, n.now, &n.out), 0);
  assert_int_equal(n.out.n_push_pulls, 0);
  assert_int_equal(n.out.n_sends, 2);
  for (size_t i = 0; i < 2; i++) {
    const swim_send_t *x = &n.out.sends[i];
    assert_string_equal(x->to.host, i == 0 ? "10.0.0.1" : "10.0.0.2");
    assert_int_equal(x->msg.type, SWIM_MSG_GOSSIP);
    assert_int_equal(x->msg.n_updates, 1);
    const swim_update_t *u = &x->msg.updates[0];
    assert_int_equal(u->status, SWIM_ALIVE);
    assert_string_equal(u->id, "self");
    assert_int_equal(u->incarnation, 1);
    assert_int_equal(u->addr.peer_port, addr_of(0).peer_port);
  }
  assert_int_equal(swim_join(n.s, NULL, 1, n.now, &n.out), CHORUS_EINVAL);
  node_free(&n);
}

static void test_member_announcing_itself_back_to_life_gets_a_push_pull_and_others_do_not(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  /* m9 announces itself: unknown before, ALIVE about itself with its address. */
  swim_update_t u = make_update(SWIM_ALIVE, id_of(9), 1, NULL);
  u.addr = addr_of(9);
  deliver_update(&n, 9, &u);
  assert_int_equal(n.out.n_push_pulls, 1);
  assert_string_equal(n.out.push_pulls[0].to.host, "10.0.0.9");
  assert_int_equal(n.out.push_pulls[0].to.peer_port, addr_of(9).peer_port);
  /* Known already: no push-pull. */
  deliver_update(&n, 9, &u);
  assert_int_equal(n.out.n_push_pulls, 0);
  /* Learning of a new member from someone else: no push-pull either. */
  u = make_update(SWIM_ALIVE, id_of(8), 1, NULL);
  u.addr = addr_of(8);
  deliver_update(&n, 1, &u);
  assert_int_equal(n.out.n_push_pulls, 0);
  /* A dead member back with a higher incarnation (restarted): it gets the table. */
  swim_update_t dead = make_update(SWIM_DEAD, id_of(2), 1, id_of(1));
  deliver_update(&n, 1, &dead);
  u = make_update(SWIM_ALIVE, id_of(2), 2, NULL);
  u.addr = addr_of(2);
  deliver_update(&n, 2, &u);
  assert_int_equal(n.out.n_push_pulls, 1);
  assert_string_equal(n.out.push_pulls[0].to.host, "10.0.0.2");
  node_free(&n);
}

static void test_join_state_adds_members_with_events(void **state) {
  node_t n;
  node_init(&n);
  swim_member_info_t mi[3];
  memset(mi, 0, sizeof(mi));
  const swim_status_t st[3] = {SWIM_ALIVE, SWIM_SUSPECT, SWIM_DEAD};
  for (int i = 0; i < 3; i++) {
    snprintf(mi[i].id, sizeof(mi[i].id), "%s", id_of(i + 1));
    mi[i].addr = addr_of(i + 1);
    mi[i].status = st[i];
    mi[i].incarnation = 3;
  }
  swim_state_t s = {.join = true, .n = 3, .members = mi};
  assert_int_equal(swim_on_state(n.s, &s, n.now, &n.out), 0);
  assert_int_equal(swim_member_count(n.s), 4);
  for (int i = 0; i < 3; i++) {
    const swim_member_t m_copy = member_of(n.s, id_of(i + 1)), *m = &m_copy;
    assert_non_null(m);
    assert_int_equal(m->status, st[i]);
    assert_int_equal(m->incarnation, 3);
    assert_string_equal(m->addr.host, mi[i].addr.host);
    const swim_event_t *ev = find_event(&n.out, SWIM_EV_MEMBER, id_of(i + 1));
    assert_non_null(ev);
    assert_int_equal(ev->old_status, 0);
    assert_int_equal(ev->member.status, st[i]);
  }
  /* ALIVE and SUSPECT are news worth spreading; a dead stranger is not. */
  assert_non_null(find_rumor(n.s, "m1"));
  assert_non_null(find_rumor(n.s, "m2"));
  assert_null(find_rumor(n.s, "m3"));
  assert_int_equal(swim_stats(n.s)->updates_in, 3);
  node_free(&n);
}

static void test_local_state_lists_self_first_then_live_members(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  swim_update_t d = make_update(SWIM_DEAD, "m1", 1, "m2");
  deliver_update(&n, 2, &d);
  swim_state_t st;
  assert_int_equal(swim_local_state(n.s, true, &st), 0);
  assert_true(st.join);
  assert_int_equal(st.n, 4);
  assert_string_equal(st.members[0].id, "self");
  assert_int_equal(st.members[0].incarnation, 1);
  assert_int_equal(st.members[1].status, SWIM_ALIVE);
  assert_int_equal(st.members[2].status, SWIM_ALIVE);
  assert_string_equal(st.members[3].id, "m1");
  assert_int_equal(st.members[3].status, SWIM_DEAD);
  free(st.members);
  node_free(&n);
}

static void test_message_from_unknown_sender_does_not_add_it(void **state) {
  node_t n;
  node_init(&n);
  swim_msg_t g = make_msg(SWIM_MSG_GOSSIP, 0, 7, NULL);
  deliver(&n, &g);
  assert_false(swim_find(n.s, "m7", NULL));
  /* ... but an ALIVE update about it does. */
  swim_update_t u = make_update(SWIM_ALIVE, "m7", 2, NULL);
  u.addr = addr_of(7);
  deliver_update(&n, 7, &u);
  const swim_member_t m_copy = member_of(n.s, "m7"), *m = &m_copy;
  assert_non_null(m);
  assert_int_equal(m->status, SWIM_ALIVE);
  assert_string_equal(m->addr.host, "10.0.0.7");
  assert_non_null(find_event(&n.out, SWIM_EV_MEMBER, "m7"));
  node_free(&n);
}

static void test_suspect_or_dead_gossip_about_unknown_member_is_ignored(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_update_t s = make_update(SWIM_SUSPECT, "m9", 1, "m1");
  deliver_update(&n, 1, &s);
  swim_update_t d = make_update(SWIM_DEAD, "m8", 1, "m1");
  deliver_update(&n, 1, &d);
  assert_false(swim_find(n.s, "m9", NULL));
  assert_false(swim_find(n.s, "m8", NULL));
  assert_int_equal(n.out.n_events, 0);
  node_free(&n);
}

static void test_malformed_input_is_rejected_without_change(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_msg_t m = make_msg(SWIM_MSG_GOSSIP, 0, 1, NULL);
  m.updates[0] = make_update(SWIM_ALIVE, "m5", 1, NULL);
  memset(m.updates[0].id, 'x', sizeof(m.updates[0].id)); /* no terminator */
  m.n_updates = 1;
  assert_int_equal(swim_on_message(n.s, &m, n.now, &n.out), CHORUS_EINVAL);
  m.n_updates = SWIM_MAX_UPDATES + 1;
  assert_int_equal(swim_on_message(n.s, &m, n.now, &n.out), CHORUS_EINVAL);
  m = make_msg(SWIM_MSG_GOSSIP, 0, 1, NULL);
  m.type = (swim_msg_type_t)9;
  assert_int_equal(swim_on_message(n.s, &m, n.now, &n.out), CHORUS_EINVAL);
  swim_member_info_t mi;
  memset(&mi, 0, sizeof(mi));
  snprintf(mi.id, sizeof(mi.id), "bad id");
  mi.status = SWIM_ALIVE;
  swim_state_t st = {.n = 1, .members = &mi};
  assert_int_equal(swim_on_state(n.s, &st, n.now, &n.out), CHORUS_EINVAL);
  assert_int_equal(swim_member_count(n.s), 2);
  assert_int_equal(n.out.n_events + n.out.n_sends, 0);
  assert_int_equal(swim_stats(n.s)->msgs_in, 0);
  node_free(&n);
}

static void test_stats_count_messages_and_updates(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 2);
  swim_msg_t p = make_msg(SWIM_MSG_PING, 1, 1, "self");
  p.updates[0] = make_update(SWIM_SUSPECT, "m2", 1, "m1");
  p.n_updates = 1;
  deliver(&n, &p);
  const swim_stats_t *st = swim_stats(n.s);
  assert_int_equal(st->msgs_in, 1);
  assert_int_equal(st->msgs_out, 1);
  assert_int_equal(st->updates_in, 2 + 1); /* the join table's two entries, then one */
  assert_int_equal(st->suspects, 1);
  node_free(&n);
}

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

/* ---- relaying for others ---- */

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

/* ---- suspicion ---- */

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
  assert_false(applies(SWIM_DEAD, 1, SWIM_LEFT, 1));
  assert_false(applies(SWIM_LEFT, 1, SWIM_DEAD, 1));
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

/* ---- departure ---- */

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
  assert_int_equal(swim_remove(n.s, "m2", n.now, &n.out), 0);
  const swim_event_t *ev = find_event(&n.out, SWIM_EV_REMOVED, "m2");
  assert_non_null(ev);
  assert_int_equal(ev->member.status, SWIM_DEAD);
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

/* ---- dissemination ---- */

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
  c.retransmit_mult = 1; /* rumors are spent in one round */
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

/* ---- determinism ---- */

static void encode_outputs(const swim_out_t *o, buf_t *b) {
  for (size_t i = 0; i < o->n_sends; i++) {
    buf_put(b, o->sends[i].to.host, strlen(o->sends[i].to.host));
    buf_put_u16be(b, o->sends[i].to.port);
    assert_int_equal(swim_msg_encode(&o->sends[i].msg, b), 0);
  }
  for (size_t i = 0; i < o->n_push_pulls; i++) {
    buf_put(b, o->push_pulls[i].to.host, strlen(o->push_pulls[i].to.host));
    buf_put_u16be(b, o->push_pulls[i].to.peer_port);
  }
  for (size_t i = 0; i < o->n_events; i++) {
    const swim_event_t *e = &o->events[i];
    buf_put_u8(b, (uint8_t)e->type);
    buf_put(b, e->member.id, strlen(e->member.id));
    buf_put_u8(b, (uint8_t)e->member.status);
    buf_put_u8(b, (uint8_t)e->old_status);
    buf_put_u64be(b, e->member.incarnation);
  }
}

/* A scripted run: join 8 members, 120 deadlines, every other probe acked.
 * Returns everything it output, encoded. */
static void scripted_run(uint64_t seed, buf_t *b) {
  swim_config_t c = quiet_config();
  c.push_pull_interval_ms = 5000;
  c.reconnect_interval_ms = 7000;
  node_t n;
  node_init_with(&n, &c, seed);
  swim_addr_t seeds[2] = {addr_of(1), addr_of(2)};
  assert_int_equal(swim_join(n.s, seeds, 2, n.now, &n.out), 0);
  encode_outputs(&n.out, b);
  node_join(&n, 8);
  for (int i = 0; i < 120; i++) {
    tick_at(&n, swim_next_deadline(n.s));
    encode_outputs(&n.out, b);
    const swim_send_t *p = find_send(&n.out, SWIM_MSG_PING, 0);
    if (p && p->msg.seq % 2) {
      swim_msg_t ping = p->msg;
      ack(&n, &ping);
      encode_outputs(&n.out, b);
    }
  }
  buf_put_u64be(b, (uint64_t)swim_health(n.s));
  node_free(&n);
}

static void test_same_seed_and_inputs_give_identical_outputs(void **state) {
  buf_t a, b, c;
  buf_init(&a);
  buf_init(&b);
  buf_init(&c);
  scripted_run(7, &a);
  scripted_run(7, &b);
  scripted_run(8, &c);
  assert_int_equal(a.err, 0);
  assert_true(a.len > 1000);
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.data, b.data, a.len);
  /* The seed does matter: another one probes in another order. */
  assert_true(a.len != c.len || memcmp(a.data, c.data, a.len) != 0);
  buf_free(&a);
  buf_free(&b);
  buf_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_announces_self_alive_at_next_incarnation),
      cmocka_unit_test(test_create_rejects_invalid_arguments),
      cmocka_unit_test(test_join_announces_self_alive_to_each_seed_except_self),
      cmocka_unit_test(test_member_announcing_itself_back_to_life_gets_a_push_pull_and_others_do_not),
      cmocka_unit_test(test_join_state_adds_members_with_events),
      cmocka_unit_test(test_local_state_lists_self_first_then_live_members),
      cmocka_unit_test(test_message_from_unknown_sender_does_not_add_it),
      cmocka_unit_test(test_suspect_or_dead_gossip_about_unknown_member_is_ignored),
      cmocka_unit_test(test_malformed_input_is_rejected_without_change),
      cmocka_unit_test(test_stats_count_messages_and_updates),
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
      cmocka_unit_test(test_ping_req_makes_relay_ping_target_and_relay_its_ack),
      cmocka_unit_test(test_relay_sends_nack_when_target_stays_silent),
      cmocka_unit_test(test_ping_req_about_self_is_answered_with_ack),
      cmocka_unit_test(test_suspicion_expires_to_dead_after_max_timeout),
      cmocka_unit_test(test_confirmations_shrink_suspicion_timeout),
      cmocka_unit_test(test_one_confirmation_moves_deadline_per_formula),
      cmocka_unit_test(test_repeated_accuser_is_not_a_confirmation),
      cmocka_unit_test(test_suspect_refuted_by_higher_incarnation),
      cmocka_unit_test(test_suspect_at_higher_incarnation_restarts_suspicion),
      cmocka_unit_test(test_equal_incarnation_precedence),
      cmocka_unit_test(test_stale_incarnations_are_ignored),
      cmocka_unit_test(test_alive_at_higher_incarnation_updates_address),
      cmocka_unit_test(test_stale_table_cannot_kill_a_live_member),
      cmocka_unit_test(test_suspect_about_self_is_refuted_with_higher_incarnation),
      cmocka_unit_test(test_dead_about_self_above_own_incarnation_is_outbid),
      cmocka_unit_test(test_refutation_rides_on_the_ack_of_a_buddy_ping),
      cmocka_unit_test(test_left_about_self_is_refuted_unless_leaving),
      cmocka_unit_test(test_alive_about_self_at_higher_incarnation_is_outbid),
      cmocka_unit_test(test_ping_to_suspect_carries_the_suspicion_first),
      cmocka_unit_test(test_graceful_dead_marks_member_dead_at_once),
      cmocka_unit_test(test_shutdown_sends_dead_self_to_every_live_member),
      cmocka_unit_test(test_leave_queues_left_and_stops_probing),
      cmocka_unit_test(test_leave_without_peers_stops_gossip_after_twice_the_budget),
      cmocka_unit_test(test_remove_takes_only_dead_or_left_members),
      cmocka_unit_test(test_dead_member_is_reaped_after_reap_after_ms),
      cmocka_unit_test(test_member_revived_before_reaping_stays),
      cmocka_unit_test(test_periodic_push_pull_with_a_live_member),
      cmocka_unit_test(test_reconnect_push_pulls_with_a_dead_member_every_interval),
      cmocka_unit_test(test_rumors_go_least_transmitted_then_newest_first),
      cmocka_unit_test(test_rumor_retransmit_limit_follows_cluster_size),
      cmocka_unit_test(test_newer_update_replaces_queued_rumor_about_member),
      cmocka_unit_test(test_every_packet_fits_the_budget_with_long_ids_and_hosts),
      cmocka_unit_test(test_gossip_reaches_gossip_nodes_members_while_rumors_remain),
      cmocka_unit_test(test_fresh_rumor_brings_the_gossip_round_forward_once),
      cmocka_unit_test(test_dead_member_gets_gossip_only_for_dead_gossip_ms),
      cmocka_unit_test(test_same_seed_and_inputs_give_identical_outputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
