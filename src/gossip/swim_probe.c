/*
 * swim_probe.c - this node's probe cycle, one member at a time.
 *
 * With health h, a probe sent at t0 runs: PING at t0; PING_REQ to up to
 * indirect_checks random ALIVE members at t0 + probe_timeout x (h + 1) if
 * no ACK came; verdict at t0 + probe_interval x (h + 1), when the next
 * probe starts. No ACK by then (direct or relayed) -> SUSPECT at the
 * incarnation the target had at t0, so a refutation that arrived meanwhile
 * makes the verdict stale.
 *
 * Local health (Lifeguard, as swim.h states it): -1 for an ACK; +1 for a
 * probe that got none, plus +1 for each relay whose NACK did not arrive
 * either (a healthy relay answers one way or the other, so silence points
 * at this node's own network).
 *
 * Targets come from a randomized round-robin over the table (its order is
 * the probe order): each ALIVE or SUSPECT member once per round, then a
 * reshuffle. Invariant: at most one probe is in flight; p->active means no
 * ACK and no verdict yet.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

int swim_probe_init(swim_probe_t *p, uint32_t indirect_checks) {
  memset(p, 0, sizeof(*p));
  size_t n = indirect_checks ? indirect_checks : 1;
  p->relays = calloc(n, sizeof(*p->relays));
  p->picks = calloc(n, sizeof(*p->picks));
  if (p->relays && p->picks) return 0;
  swim_probe_free(p);
  return CHORUS_ENOMEM;
}

void swim_probe_free(swim_probe_t *p) {
  free(p->relays);
  free(p->picks);
  p->relays = NULL;
  p->picks = NULL;
}

/* The next member to probe, or SWIM_NONE when there is nobody else. One
 * pass over the table at most: O(n) in the worst case, O(1) amortized
 * (a round probes every live member once). */
static size_t next_target(swim_t *s) {
  swim_members_t *t = &s->members;
  size_t others = t->n_live - (swim_is_live((swim_status_t)swim_self_mut(s)->status) ? 1 : 0);
  if (others == 0) return SWIM_NONE;
  for (size_t tries = 0; tries <= t->n; tries++) {
    if (s->probe_cursor >= t->n) {
      swim_members_shuffle(t, &s->rng);
      s->probe_cursor = 0;
    }
    size_t i = s->probe_cursor++;
    if (swim_is_live((swim_status_t)t->m[i].status) && strcmp(swim_rec_id(&t->m[i]), s->self_id) != 0) return i;
  }
  return SWIM_NONE;
}

static int start(swim_t *s, uint64_t now, swim_out_t *out) {
  int rc = swim_out_reserve(out, 1, 0, 0);
  if (rc) return rc;
  size_t i = next_target(s);
  uint64_t interval = swim_awareness_scale(&s->aw, s->cfg.probe_interval_ms);
  s->next_probe_at = now + interval;
  if (i == SWIM_NONE) return 0;
  const swim_rec_t *m = &s->members.m[i];
  swim_probe_t *p = &s->probe;
  p->active = true;
  p->indirect = false;
  strncpy(p->target, swim_rec_id(m), NODE_ID_MAX);
  p->target_inc = m->incarnation;
  p->seq = s->next_seq++;
  p->timeout_at = now + swim_awareness_scale(&s->aw, s->cfg.probe_timeout_ms);
  p->end_at = now + interval;
  p->n_relays = p->n_nacks = 0;
  swim_addr_t to;
  swim_rec_addr(m, &to);
  swim_msg_t *msg = swim_send_begin(s, out, &to, SWIM_MSG_PING, p->seq);
  if (!msg) return CHORUS_ENOMEM; /* reserved above: cannot happen */
  memcpy(msg->target, p->target, sizeof(msg->target));
  swim_send_finish(s, msg, p->target);
  s->stats.probes++;
  return 0;
}

typedef struct {
  const char *self, *target;
} relay_filter_t;

static bool relay_ok(const swim_rec_t *m, const void *ctx) {
  const relay_filter_t *f = ctx;
  return m->status == SWIM_ALIVE && strcmp(swim_rec_id(m), f->self) != 0 && strcmp(swim_rec_id(m), f->target) != 0;
}

static int send_ping_reqs(swim_t *s, swim_out_t *out) {
  swim_probe_t *p = &s->probe;
  int rc = swim_out_reserve(out, s->cfg.indirect_checks, 0, 0);
  if (rc) return rc;
  p->indirect = true;
  size_t ti = swim_members_find(&s->members, p->target);
  if (ti == SWIM_NONE || !swim_is_live((swim_status_t)s->members.m[ti].status)) return 0;
  const swim_rec_t *target = &s->members.m[ti];
  relay_filter_t f = {s->self_id, p->target};
  size_t n = swim_members_pick(&s->members, &s->rng, s->cfg.indirect_checks, relay_ok, &f, p->picks);
  for (size_t j = 0; j < n; j++) {
    const swim_rec_t *relay = &s->members.m[p->picks[j]];
    swim_addr_t to;
    swim_rec_addr(relay, &to);
    swim_msg_t *msg = swim_send_begin(s, out, &to, SWIM_MSG_PING_REQ, p->seq);
    if (!msg) return CHORUS_ENOMEM; /* reserved above: cannot happen */
    strncpy(msg->target, swim_rec_id(target), NODE_ID_MAX);
    swim_rec_addr(target, &msg->target_addr);
    swim_send_finish(s, msg, NULL);
    strncpy(p->relays[j].id, swim_rec_id(relay), NODE_ID_MAX);
    p->relays[j].nacked = false;
  }
  p->n_relays = n;
  s->stats.ping_reqs += n;
  return 0;
}

static int conclude(swim_t *s, uint64_t now, swim_out_t *out) {
  swim_probe_t *p = &s->probe;
  size_t i = swim_members_find(&s->members, p->target);
  if (i != SWIM_NONE && swim_is_live((swim_status_t)s->members.m[i].status)) {
    swim_update_t u;
    memset(&u, 0, sizeof(u));
    u.status = SWIM_SUSPECT;
    memcpy(u.id, p->target, sizeof(u.id));
    u.incarnation = p->target_inc;
    u.phase = (swim_phase_t)s->members.m[i].phase;
    memcpy(u.from, s->self_id, sizeof(u.from));
    int rc = swim_apply(s, &u, SWIM_VIA_LOCAL, now, out);
    if (rc) return rc; /* still active: the verdict is retried on the next tick */
  }
  p->active = false;
  swim_awareness_apply(&s->aw, 1 + (int)(p->n_relays - p->n_nacks));
  return 0;
}

int swim_probe_tick(swim_t *s, uint64_t now, swim_out_t *out) {
  swim_probe_t *p = &s->probe;
  int rc = 0;
  /* A tick late enough to pass both times goes straight to the verdict:
   * relays asked now could not answer in time, and their silence would
   * count against this node. */
  if (p->active && now >= p->end_at)
    rc = conclude(s, now, out);
  else if (p->active && !p->indirect && now >= p->timeout_at)
    rc = send_ping_reqs(s, out);
  if (rc || s->left || p->active || now < s->next_probe_at) return rc;
  return start(s, now, out);
}

bool swim_probe_on_ack(swim_t *s, const swim_msg_t *m, uint64_t now) {
  swim_probe_t *p = &s->probe;
  if (!p->active || m->seq != p->seq) return false;
  p->active = false;
  swim_awareness_apply(&s->aw, -1);
  size_t i = swim_members_find(&s->members, p->target);
  if (i != SWIM_NONE) s->members.m[i].last_seen_ms = now;
  return true;
}

void swim_probe_on_nack(swim_t *s, const swim_msg_t *m) {
  swim_probe_t *p = &s->probe;
  if (!p->active || !p->indirect || m->seq != p->seq) return;
  for (size_t j = 0; j < p->n_relays; j++) {
    if (p->relays[j].nacked || strcmp(p->relays[j].id, m->from) != 0) continue;
    p->relays[j].nacked = true;
    p->n_nacks++;
    return;
  }
}

uint64_t swim_probe_deadline(const swim_t *s) {
  const swim_probe_t *p = &s->probe;
  if (!p->active) return UINT64_MAX;
  if (p->indirect || p->end_at <= p->timeout_at) return p->end_at;
  return p->timeout_at;
}
