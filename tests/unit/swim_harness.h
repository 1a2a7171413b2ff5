/*
 * swim_harness.h - what the tests of the SWIM core (test_gossip_*.c, except
 * codec and seal) share: a node under test driven by hand with a fake clock,
 * hand-made messages and updates, a cluster joined from a push-pull table,
 * and finders over the outputs of a call.
 *
 * Cores are created with push-pull and reconnect timers off unless a test
 * is about them, so the outputs of a tick are only probes and gossip.
 *
 * Header-only (static inline functions, so a binary may use some of them
 * only): each test binary includes it once, after cmocka.h.
 */
#ifndef CHORUS_TEST_SWIM_HARNESS_H
#define CHORUS_TEST_SWIM_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/swim.h"

#define T0 1000000ull

typedef struct {
  swim_t *s;
  swim_out_t out;
  uint64_t now;
} node_t;

static inline swim_config_t quiet_config(void) {
  swim_config_t c;
  swim_config_default(&c);
  c.push_pull_interval_ms = 0;
  c.reconnect_interval_ms = 0;
  return c;
}

static inline swim_addr_t addr_of(int i) {
  swim_addr_t a;
  memset(&a, 0, sizeof(a));
  snprintf(a.host, sizeof(a.host), "10.0.0.%d", i);
  a.port = (uint16_t)(7000 + i);
  a.peer_port = (uint16_t)(8000 + i);
  return a;
}

/* Member i is "m<i>" at addr_of(i); the node under test is "self" at addr_of(0). */
static inline const char *id_of(int i) {
  static char ids[64][16];
  snprintf(ids[i], sizeof(ids[i]), "m%d", i);
  return ids[i];
}

/* The member with this id, which must be known (a copy: the core keeps
 * members in its own compact form). */
static inline swim_member_t member_of(const swim_t *s, const char *id) {
  swim_member_t m;
  assert_true(swim_find(s, id, &m));
  return m;
}

static inline swim_member_t self_of(const swim_t *s) {
  swim_member_t m;
  swim_self(s, &m);
  return m;
}

static inline void node_init_with(node_t *n, const swim_config_t *c, uint64_t seed) {
  memset(n, 0, sizeof(*n));
  swim_addr_t a = addr_of(0);
  n->now = T0;
  assert_int_equal(swim_create(c, "self", &a, 0, SWIM_PHASE_NORMAL, seed, n->now, &n->s), 0);
  swim_out_init(&n->out);
}

static inline void node_init(node_t *n) {
  swim_config_t c = quiet_config();
  node_init_with(n, &c, 42);
}

static inline void node_free(node_t *n) {
  swim_destroy(n->s);
  swim_out_free(&n->out);
}

/* Members 1..k, ALIVE at incarnation 1, learned from a join push-pull. */
static inline void node_join(node_t *n, int k) {
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

static inline swim_msg_t make_msg(swim_msg_type_t type, uint32_t seq, int from, const char *target) {
  swim_msg_t m;
  memset(&m, 0, sizeof(m));
  m.type = type;
  m.seq = seq;
  snprintf(m.from, sizeof(m.from), "%s", id_of(from));
  m.from_addr = addr_of(from);
  if (target) snprintf(m.target, sizeof(m.target), "%s", target);
  return m;
}

static inline swim_update_t make_update(swim_status_t st, const char *id, uint64_t inc, const char *from) {
  swim_update_t u;
  memset(&u, 0, sizeof(u));
  u.status = st;
  snprintf(u.id, sizeof(u.id), "%s", id);
  u.incarnation = inc;
  if (from) snprintf(u.from, sizeof(u.from), "%s", from);
  return u;
}

/* Delivers m (out cleared first). */
static inline void deliver(node_t *n, const swim_msg_t *m) {
  swim_out_clear(&n->out);
  assert_int_equal(swim_on_message(n->s, m, n->now, &n->out), 0);
}

/* A GOSSIP from member `from` carrying u. */
static inline void deliver_update(node_t *n, int from, const swim_update_t *u) {
  swim_msg_t m = make_msg(SWIM_MSG_GOSSIP, 0, from, NULL);
  m.updates[0] = *u;
  m.n_updates = 1;
  deliver(n, &m);
}

/* Ticks at t (out cleared first). */
static inline void tick_at(node_t *n, uint64_t t) {
  swim_out_clear(&n->out);
  n->now = t;
  assert_int_equal(swim_tick(n->s, t, &n->out), 0);
}

static inline const swim_send_t *find_send(const swim_out_t *o, swim_msg_type_t type, size_t nth) {
  for (size_t i = 0; i < o->n_sends; i++)
    if (o->sends[i].msg.type == type && nth-- == 0) return &o->sends[i];
  return NULL;
}

static inline size_t count_sends(const swim_out_t *o, swim_msg_type_t type) {
  size_t c = 0;
  for (size_t i = 0; i < o->n_sends; i++)
    c += o->sends[i].msg.type == type;
  return c;
}

static inline const swim_event_t *find_event(const swim_out_t *o, swim_event_type_t type, const char *id) {
  for (size_t i = 0; i < o->n_events; i++)
    if (o->events[i].type == type && strcmp(o->events[i].member.id, id) == 0) return &o->events[i];
  return NULL;
}

/* Steps from deadline to deadline until a tick sends a message of type;
 * returns it (valid until the next call on n). */
static inline const swim_send_t *tick_until_send(node_t *n, swim_msg_type_t type) {
  for (int i = 0; i < 10000; i++) {
    tick_at(n, swim_next_deadline(n->s));
    const swim_send_t *x = find_send(&n->out, type, 0);
    if (x) return x;
  }
  fail_msg("no message of type %d", type);
  return NULL;
}

static inline const swim_update_t *find_update(const swim_msg_t *m, swim_status_t st, const char *id) {
  for (size_t i = 0; i < m->n_updates; i++)
    if (m->updates[i].status == st && strcmp(m->updates[i].id, id) == 0) return &m->updates[i];
  return NULL;
}

static inline const swim_rumor_t *find_rumor(swim_t *s, const char *id) {
  static swim_rumor_t r[4096];
  size_t n = swim_rumors(s, r, 4096);
  for (size_t i = 0; i < n; i++)
    if (strcmp(r[i].update.id, id) == 0) return &r[i];
  return NULL;
}

static inline int member_index(const char *id) {
  return atoi(id + 1);
}

static inline void ack(node_t *n, const swim_msg_t *ping) {
  swim_msg_t a = make_msg(SWIM_MSG_ACK, ping->seq, member_index(ping->target), NULL);
  deliver(n, &a);
}

/* The node's probe of some member, answered by nobody: returns the PING
 * (copied) and leaves the clock at the PING. */
static inline swim_msg_t start_probe(node_t *n) {
  return tick_until_send(n, SWIM_MSG_PING)->msg;
}

#endif
