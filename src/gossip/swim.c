/*
 * swim.c - the public face of the SWIM core (swim.h): lifecycle, message
 * dispatch, push-pull merging, the tick and its deadline, departure, and
 * the read-only views.
 *
 * Choices beyond swim.h:
 *  - A message from an unknown sender does not add it; only ALIVE updates
 *    and push-pull tables do. Updates piggybacked on any message are
 *    applied, even on a PING meant for a previous owner of our address
 *    (which gets no ACK): rumors describe the cluster, not the sender.
 *  - Messages claiming to come from this node's own id are dropped.
 *  - Periodic timers start at a random offset within their first period
 *    (probe, gossip) so that cores created together do not run in step.
 *  - After swim_leave: no more probes, push-pulls or reconnects; PINGs are
 *    still answered and relays still run; gossip goes on until the LEFT
 *    rumor is spent (swim_rounds.c).
 *  - After swim_shutdown the core is inert: every input is accepted and
 *    ignored, and swim_next_deadline is UINT64_MAX.
 *  - swim_local_state sends self first, then live members, then the rest,
 *    up to SWIM_STATE_MAX entries (a larger table is cut there).
 *  - swim_rumors writes at most max rumors and returns how many it wrote.
 *  - The views copy a member out of the compact table (swim_members.c):
 *    nothing handed out points into the core.
 *
 * Stats: probes = probes started; acks, nacks = ACKs and NACKs received;
 * ping_reqs = PING_REQs sent; suspects, deads = members that entered
 * SUSPECT or DEAD in this table; refutes = refutations of a suspicion of
 * this node; msgs_in, msgs_out = messages accepted and emitted;
 * updates_in = updates received (piggybacked or push-pull entries).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/node_id.h"
#include "swim_internal.h"

void swim_config_default(swim_config_t *c) {
  memset(c, 0, sizeof(*c));
  c->probe_interval_ms = 1000;
  c->probe_timeout_ms = 500;
  c->suspicion_mult = 4;
  c->indirect_checks = 3;
  c->retransmit_mult = 4;
  c->gossip_interval_ms = 200;
  c->gossip_nodes = 3;
  c->push_pull_interval_ms = 30000;
  c->awareness_max = 8;
  c->dead_gossip_ms = 30000;
  c->reconnect_interval_ms = 10000;
  c->reap_after_ms = 24ull * 3600 * 1000;
  c->packet_overhead = 0;
}

/* ---- validation of caller and wire input ---- */

static bool id_ok(const char *id, size_t cap, bool may_be_empty) {
  size_t n = strnlen(id, cap);
  if (n == cap) return false;
  return n == 0 ? may_be_empty : node_id_valid(id, n);
}

static bool addr_ok(const swim_addr_t *a) {
  return strnlen(a->host, sizeof(a->host)) < sizeof(a->host);
}

static bool status_ok(swim_status_t st) {
  return st >= SWIM_ALIVE && st <= SWIM_LEFT;
}

static bool update_ok(const swim_update_t *u) {
  return status_ok(u->status) && id_ok(u->id, sizeof(u->id), false) &&
         id_ok(u->from, sizeof(u->from), true) && addr_ok(&u->addr) && (unsigned)u->phase <= SWIM_PHASE_LAST;
}

static bool msg_ok(const swim_msg_t *m) {
  if (m->type < SWIM_MSG_PING || m->type > SWIM_MSG_GOSSIP || !id_ok(m->from, sizeof(m->from), false) ||
      !id_ok(m->target, sizeof(m->target), true) || !addr_ok(&m->from_addr) || !addr_ok(&m->target_addr) ||
      m->n_updates > SWIM_MAX_UPDATES)
    return false;
  for (size_t i = 0; i < m->n_updates; i++)
    if (!update_ok(&m->updates[i])) return false;
  return true;
}

static bool state_ok(const swim_state_t *st) {
  if (st->n > SWIM_STATE_MAX || (st->n && !st->members)) return false;
  for (size_t i = 0; i < st->n; i++) {
    const swim_member_info_t *mi = &st->members[i];
    if (!status_ok(mi->status) || !id_ok(mi->id, sizeof(mi->id), false) || !addr_ok(&mi->addr) ||
        (unsigned)mi->phase > SWIM_PHASE_LAST)
      return false;
  }
  return true;
}

static bool config_ok(const swim_config_t *c) {
  return c->probe_interval_ms > 0 && c->probe_timeout_ms > 0 && c->gossip_interval_ms > 0 &&
         c->suspicion_mult > 0 && c->awareness_max > 0 && c->packet_overhead < SWIM_PACKET_MAX;
}

/* ---- helpers shared by the other files ---- */

bool swim_is_live(swim_status_t st) {
  return st == SWIM_ALIVE || st == SWIM_SUSPECT;
}

size_t swim_n_live(const swim_t *s) {
  return s->members.n_live ? s->members.n_live : 1;
}

static const swim_rec_t *self_rec(const swim_t *s) {
  /* Self is added at creation and never removed. */
  return &s->members.m[swim_members_find(&s->members, s->self_id)];
}

swim_rec_t *swim_self_mut(swim_t *s) {
  return (swim_rec_t *)self_rec(s);
}

/* ---- lifecycle ---- */

static int add_self(swim_t *s, uint64_t incarnation, swim_phase_t phase, uint64_t now_ms) {
  int rc = swim_members_reserve(&s->members, 1);
  if (!rc) rc = swim_queue_reserve(&s->queue, 1);
  if (rc) return rc;
  swim_rec_t self;
  memset(&self, 0, sizeof(self));
  if (!(self.name = swim_name_new(s->self_id, s->self_addr.host))) return CHORUS_ENOMEM;
  self.port = s->self_addr.port;
  self.peer_port = s->self_addr.peer_port;
  self.status = SWIM_ALIVE;
  self.phase = (uint8_t)phase;
  self.incarnation = incarnation + 1;
  self.state_change_ms = self.last_seen_ms = now_ms;
  swim_members_add(&s->members, &self, 0);
  /* Announce ourselves: whoever we reach first spreads it. */
  swim_queue_push(&s->queue, swim_name_ref(self.name), SWIM_ALIVE, &self);
  return 0;
}

int swim_create(const swim_config_t *cfg, const char *self_id, const swim_addr_t *self_addr,
                uint64_t incarnation, swim_phase_t phase, uint64_t seed, uint64_t now_ms, swim_t **out) {
  if (!cfg || !self_id || !self_addr || !out || !config_ok(cfg) || !addr_ok(self_addr) ||
      !id_ok(self_id, NODE_ID_MAX + 1, false) || incarnation == UINT64_MAX ||
      (unsigned)phase > SWIM_PHASE_LAST)
    return CHORUS_EINVAL;
  swim_t *s = calloc(1, sizeof(*s));
  if (!s) return CHORUS_ENOMEM;
  s->cfg = *cfg;
  strncpy(s->self_id, self_id, NODE_ID_MAX);
  s->self_addr = *self_addr;
  rng_seed(&s->rng, seed);
  swim_members_init(&s->members);
  swim_queue_init(&s->queue);
  swim_timers_init(&s->timers);
  swim_awareness_init(&s->aw, cfg->awareness_max);
  int rc = swim_probe_init(&s->probe, cfg->indirect_checks);
  s->gossip_picks = calloc(cfg->gossip_nodes ? cfg->gossip_nodes : 1, sizeof(*s->gossip_picks));
  if (!rc && !s->gossip_picks) rc = CHORUS_ENOMEM;
  if (!rc) rc = add_self(s, incarnation, phase, now_ms);
  if (rc) {
    swim_destroy(s);
    return rc;
  }
  s->next_seq = (uint32_t)rng_next(&s->rng);
  s->next_probe_at = now_ms + rng_below(&s->rng, cfg->probe_interval_ms);
  s->next_gossip_at = now_ms + rng_below(&s->rng, cfg->gossip_interval_ms);
  s->last_gossip_at = now_ms;
  s->next_push_pull_at = now_ms + cfg->push_pull_interval_ms;
  s->next_reconnect_at = now_ms + cfg->reconnect_interval_ms;
  *out = s;
  return 0;
}

void swim_destroy(swim_t *s) {
  if (!s) return;
  swim_members_free(&s->members);
  swim_queue_free(&s->queue);
  swim_timers_free(&s->timers);
  swim_probe_free(&s->probe);
  swim_relays_free(&s->relays);
  free(s->gossip_picks);
  free(s);
}

/* ---- joining and push-pull ---- */

static bool is_self_addr(const swim_t *s, const swim_addr_t *a) {
  return a->port == s->self_addr.port && strcmp(a->host, s->self_addr.host) == 0;
}

/* Joining: a seed is named by its gossip address only (its peer port is
 * unknown), so the joiner announces itself to each seed with a GOSSIP
 * carrying ALIVE about itself, full address included. A node that learns
 * of a member from that member's own announcement answers with a push-pull
 * to it (swim_on_message), which hands the joiner the whole table. The
 * caller repeats swim_join with backoff until a push-pull completes. */
int swim_join(swim_t *s, const swim_addr_t *seeds, size_t n, uint64_t now_ms, swim_out_t *out) {
  if (!s || !out || (n && !seeds)) return CHORUS_EINVAL;
  if (s->stopped) return CHORUS_ESHUTDOWN;
  if (s->left) return CHORUS_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!addr_ok(&seeds[i])) return CHORUS_EINVAL;
  int rc = swim_out_reserve(out, n, 0, 0);
  if (rc) return rc;
  const swim_rec_t *self = self_rec(s);
  for (size_t i = 0; i < n; i++) {
    /* A seed list shared by the whole cluster names this node too. */
    if (is_self_addr(s, &seeds[i])) continue;
    swim_msg_t *m = swim_send_begin(s, out, &seeds[i], SWIM_MSG_GOSSIP, 0);
    swim_update_t *u = &m->updates[0];
    memset(u, 0, sizeof(*u));
    u->status = SWIM_ALIVE;
    memcpy(u->id, s->self_id, sizeof(u->id));
    u->incarnation = self->incarnation;
    u->phase = (swim_phase_t)self->phase;
    u->addr = s->self_addr;
    m->n_updates = 1;
  }
  (void)now_ms;
  return 0;
}

int swim_on_state(swim_t *s, const swim_state_t *st, uint64_t now_ms, swim_out_t *out) {
  if (!s || !st || !out || !state_ok(st)) return CHORUS_EINVAL;
  if (s->stopped) return 0;
  for (size_t i = 0; i < st->n; i++) {
    const swim_member_info_t *mi = &st->members[i];
    swim_update_t u;
    memset(&u, 0, sizeof(u));
    u.status = mi->status;
    memcpy(u.id, mi->id, sizeof(u.id));
    u.incarnation = mi->incarnation;
    u.phase = mi->phase;
    u.addr = mi->addr;
    s->stats.updates_in++;
    int rc = swim_apply(s, &u, SWIM_VIA_STATE, now_ms, out);
    if (rc) return rc;
  }
  return 0;
}

static void copy_info(swim_member_info_t *mi, const swim_rec_t *m) {
  memset(mi, 0, sizeof(*mi));
  strncpy(mi->id, swim_rec_id(m), NODE_ID_MAX);
  swim_rec_addr(m, &mi->addr);
  mi->status = (swim_status_t)m->status;
  mi->incarnation = m->incarnation;
  mi->phase = (swim_phase_t)m->phase;
}

int swim_local_state(const swim_t *s, bool join, swim_state_t *st) {
  if (!s || !st) return CHORUS_EINVAL;
  const swim_members_t *t = &s->members;
  size_t cap = t->n < SWIM_STATE_MAX ? t->n : SWIM_STATE_MAX;
  st->members = malloc(cap * sizeof(*st->members));
  if (!st->members) return CHORUS_ENOMEM;
  st->join = join;
  st->n = 0;
  copy_info(&st->members[st->n++], self_rec(s));
  /* Two passes (O(n)): live members first, so a cut table keeps them. */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < t->n && st->n < cap; i++) {
      const swim_rec_t *m = &t->m[i];
      if (swim_is_live((swim_status_t)m->status) != (pass == 0) || strcmp(swim_rec_id(m), s->self_id) == 0)
        continue;
      copy_info(&st->members[st->n++], m);
    }
  return 0;
}

int swim_tick(swim_t *s, uint64_t now_ms, swim_out_t *out) {
  if (!s || !out) return CHORUS_EINVAL;
  if (s->stopped) return 0;
  int rc = swim_relay_tick(s, now_ms, out);
  if (!rc) rc = swim_probe_tick(s, now_ms, out);
  if (!rc) rc = swim_rounds_tick(s, now_ms, out);
  /* Last: a probe verdict above may confirm a suspicion into the past. */
  if (!rc) rc = swim_timers_run(s, now_ms, out);
  return rc;
}

static uint64_t min_u64(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

uint64_t swim_next_deadline(const swim_t *s) {
  if (!s || s->stopped) return UINT64_MAX;
  uint64_t d = min_u64(swim_probe_deadline(s), swim_relay_deadline(s));
  const swim_timer_t *t = swim_timers_peek(&s->timers);
  if (t) d = min_u64(d, t->at);
  if (!s->left) d = min_u64(d, s->next_probe_at);
  if (!s->leave_done && s->queue.n && s->cfg.gossip_nodes) d = min_u64(d, s->next_gossip_at);
  if (!s->left && s->cfg.push_pull_interval_ms) d = min_u64(d, s->next_push_pull_at);
  if (!s->left && s->cfg.reconnect_interval_ms && s->members.n_dead) d = min_u64(d, s->next_reconnect_at);
  return d;
}

/* ---- messages ---- */

static int dispatch(swim_t *s, const swim_msg_t *m, uint64_t now, swim_out_t *out) {
  switch (m->type) {
  case SWIM_MSG_PING:
    /* Meant for a previous owner of our address: not ours to answer. */
    if (strcmp(m->target, s->self_id) != 0) return 0;
    return swim_send_reply(s, out, &m->from_addr, SWIM_MSG_ACK, m->seq);
  case SWIM_MSG_PING_REQ: return swim_relay_on_ping_req(s, m, now, out);
  case SWIM_MSG_ACK: s->stats.acks++; return swim_probe_on_ack(s, m, now) ? 0 : swim_relay_on_ack(s, m, out);
  case SWIM_MSG_NACK:
    s->stats.nacks++;
    swim_probe_on_nack(s, m);
    return 0;
  default: return 0;
  }
}

int swim_on_message(swim_t *s, const swim_msg_t *m, uint64_t now_ms, swim_out_t *out) {
  if (!s || !m || !out || !msg_ok(m)) return CHORUS_EINVAL;
  if (s->stopped || strcmp(m->from, s->self_id) == 0) return 0;
  int rc = swim_out_reserve(out, 0, 1, 0); /* a newcomer's push-pull, below */
  if (rc) return rc;
  s->stats.msgs_in++;
  size_t i = swim_members_find(&s->members, m->from);
  /* absent, dead or gone: if it comes back alive through this message it is (re)joining */
  bool was_away = i == SWIM_NONE || !swim_is_live(s->members.m[i].status);
  /* A join announcement (swim_join) from a member still listed live: it
   * restarted before anyone noticed, and lost its table (and, without its
   * data dir, its incarnation) - it needs the table all the same. */
  bool announcing = m->type == SWIM_MSG_GOSSIP && m->n_updates == 1 && m->updates[0].status == SWIM_ALIVE &&
                    strcmp(m->updates[0].id, m->from) == 0;
  bool rejoining = !was_away && announcing && m->updates[0].incarnation <= s->members.m[i].incarnation;
  if (i != SWIM_NONE) s->members.m[i].last_seen_ms = now_ms;
  /* Updates first: a refutation they trigger rides on our answer. */
  for (size_t k = 0; k < m->n_updates; k++) {
    s->stats.updates_in++;
    rc = swim_apply(s, &m->updates[k], SWIM_VIA_GOSSIP, now_ms, out);
    if (rc) return rc;
  }
  rc = dispatch(s, m, now_ms, out);
  if (rc || !(was_away || rejoining) || s->left) return rc;
  /* It announced itself back to life (joining, or restarted): give it the whole table. */
  size_t j = swim_members_find(&s->members, m->from);
  if (j == SWIM_NONE) return 0;
  bool alive = s->members.m[j].status == SWIM_ALIVE;
  /* Still dead or left here after its announcement: it announced an
   * incarnation below that of its departure (it left, or died, and
   * restarted without its data dir). Only the table tells it so; it then
   * refutes above it and rejoins, as a member that left may. */
  if (!alive && !announcing) return 0;
  swim_push_pull_t *pp = swim_out_add_push_pull(out);
  if (alive)
    swim_rec_addr(&s->members.m[j], &pp->to);
  else
    pp->to = m->updates[0].addr;
  return 0;
}

/* ---- departure and removal ---- */

/* This node's own DEAD or LEFT, sent directly to every live member: a node
 * about to go does not count on gossip (room reserved by the caller). */
static int tell_everyone(swim_t *s, swim_status_t st, swim_out_t *out) {
  swim_update_t u;
  memset(&u, 0, sizeof(u));
  u.status = st;
  memcpy(u.id, s->self_id, sizeof(u.id));
  u.incarnation = self_rec(s)->incarnation;
  u.phase = (swim_phase_t)self_rec(s)->phase;
  if (st == SWIM_DEAD) memcpy(u.from, s->self_id, sizeof(u.from));
  /* O(n) */
  for (size_t i = 0; i < s->members.n; i++) {
    const swim_rec_t *m = &s->members.m[i];
    if (!swim_is_live((swim_status_t)m->status) || strcmp(swim_rec_id(m), s->self_id) == 0) continue;
    swim_addr_t to;
    swim_rec_addr(m, &to);
    swim_msg_t *msg = swim_send_begin(s, out, &to, SWIM_MSG_GOSSIP, 0);
    if (!msg) return CHORUS_ENOMEM; /* reserved: cannot happen */
    msg->updates[0] = u;
    msg->n_updates = 1;
  }
  return 0;
}

int swim_shutdown(swim_t *s, uint64_t now_ms, swim_out_t *out) {
  if (!s || !out) return CHORUS_EINVAL;
  if (s->stopped) return 0;
  int rc = swim_out_reserve(out, s->members.n_live, 0, 0);
  if (!rc) rc = swim_self_depart(s, SWIM_DEAD, now_ms, out);
  if (!rc) rc = tell_everyone(s, SWIM_DEAD, out);
  if (rc) return rc;
  s->stopped = true;
  s->probe.active = false;
  s->relays.n = 0;
  return 0;
}

int swim_leave(swim_t *s, uint64_t now_ms, swim_out_t *out) {
  if (!s || !out) return CHORUS_EINVAL;
  if (s->stopped) return CHORUS_ESHUTDOWN;
  if (s->left) return 0;
  uint32_t limit = swim_transmit_limit(s->cfg.retransmit_mult, swim_n_live(s));
  int rc = swim_out_reserve(out, s->members.n_live, 0, 0);
  if (!rc) rc = swim_self_depart(s, SWIM_LEFT, now_ms, out);
  /* gossiped too, but every live member hears it at once: a leaver soon stops */
  if (!rc) rc = tell_everyone(s, SWIM_LEFT, out);
  if (rc) return rc;
  s->left = true;
  s->leave_done = false;
  s->leave_until = now_ms + 2ull * limit * s->cfg.gossip_interval_ms;
  s->probe.active = false;
  return 0;
}

int swim_remove(swim_t *s, const char *id, uint64_t now_ms, swim_out_t *out) {
  if (!s || !id || !out) return CHORUS_EINVAL;
  size_t i = swim_members_find(&s->members, id);
  if (i == SWIM_NONE) return CHORUS_ENOTFOUND;
  const swim_rec_t *m = &s->members.m[i];
  if (swim_is_live((swim_status_t)m->status) || strcmp(swim_rec_id(m), s->self_id) == 0) return CHORUS_EINVAL;
  if (m->status == SWIM_LEFT) return swim_forget(s, i, out);
  swim_update_t left;
  memset(&left, 0, sizeof(left));
  left.status = SWIM_LEFT;
  memcpy(left.id, swim_rec_id(m), strlen(swim_rec_id(m)));
  left.incarnation = m->incarnation;
  left.phase = (swim_phase_t)m->phase;
  return swim_apply(s, &left, SWIM_VIA_LOCAL, now_ms, out);
}

int swim_set_phase(swim_t *s, swim_phase_t phase, uint64_t now_ms, swim_out_t *out) {
  if (!s || !out || (unsigned)phase > SWIM_PHASE_LAST) return CHORUS_EINVAL;
  if (s->stopped || s->left) return CHORUS_EINVAL;
  if (self_rec(s)->phase == (uint8_t)phase) return 0;
  return swim_self_rephase(s, phase, now_ms, out);
}

/* ---- views ---- */

size_t swim_member_count(const swim_t *s) {
  return s->members.n;
}

bool swim_member_at(const swim_t *s, size_t i, swim_member_t *out) {
  if (i >= s->members.n) return false;
  swim_rec_export(&s->members.m[i], out);
  return true;
}

bool swim_find(const swim_t *s, const char *id, swim_member_t *out) {
  size_t i = id ? swim_members_find(&s->members, id) : SWIM_NONE;
  if (i == SWIM_NONE) return false;
  if (out) swim_rec_export(&s->members.m[i], out);
  return true;
}

void swim_self(const swim_t *s, swim_member_t *out) {
  swim_rec_export(self_rec(s), out);
}

int swim_health(const swim_t *s) {
  return s->aw.score;
}

const swim_stats_t *swim_stats(const swim_t *s) {
  return &s->stats;
}

size_t swim_rumors(const swim_t *s, swim_rumor_t *out, size_t max) {
  if (!out) return 0;
  return swim_queue_list(&s->queue, out, max, swim_transmit_limit(s->cfg.retransmit_mult, swim_n_live(s)));
}
