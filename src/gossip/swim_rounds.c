/*
 * swim_rounds.c - the periodic rounds besides probing: gossip to a few
 * random members, push-pull with a live member, and reconnect (push-pull
 * with a dead member, so that a healed partition re-merges).
 *
 * Each round runs when its time has come and re-arms for now + interval
 * whether or not it had anything to do, so an idle core's deadlines stay
 * near the present. Gossip goes out only while the queue holds rumors; its
 * targets are ALIVE or SUSPECT members, or DEAD ones for dead_gossip_ms
 * after they died (they may be alive behind a partition).
 *
 * After swim_leave, push-pull and reconnect stop at once; gossip goes on
 * until the LEFT rumor has used its transmit budget, or for 2 x budget
 * gossip intervals at most (it may lack peers to spend it on), then stops.
 *
 * A fresh rumor does not wait out the interval: the round comes forward to
 * a quarter interval after the previous one (news crosses the cluster in
 * hops of a few ms instead of one interval each), at most every other
 * round, so gossip never runs at more than twice its steady rate.
 *
 * Picking targets costs O(k) random draws when most members qualify, up to
 * 3 x table size when few do (swim_members_pick).
 */
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

typedef struct {
  const char *self;
  uint64_t now, dead_gossip_ms;
} gossip_filter_t;

static bool gossip_ok(const swim_rec_t *m, const void *ctx) {
  const gossip_filter_t *f = ctx;
  if (strcmp(swim_rec_id(m), f->self) == 0) return false;
  if (swim_is_live((swim_status_t)m->status)) return true;
  /* A dead member may be alive behind a partition: keep telling it for a while. */
  return m->status == SWIM_DEAD && f->now - m->state_change_ms < f->dead_gossip_ms;
}

static bool alive_other(const swim_rec_t *m, const void *ctx) {
  return m->status == SWIM_ALIVE && strcmp(swim_rec_id(m), ctx) != 0;
}

static bool dead_member(const swim_rec_t *m, const void *ctx) {
  return m->status == SWIM_DEAD;
}

/* The leave's gossip is over once its LEFT rumor is spent or its time is up. */
static void check_leave_done(swim_t *s, uint64_t now) {
  if (!s->left || s->leave_done) return;
  if (now >= s->leave_until || swim_queue_status(&s->queue, s->self_id) != SWIM_LEFT) s->leave_done = true;
}

/* Divides the interval into the delay of a round brought forward. */
#define HASTEN_DIV 4

void swim_rounds_hasten(swim_t *s) {
  if (s->gossip_hastened || s->gossip_eager_spent || s->leave_done) return;
  uint64_t at = s->last_gossip_at + s->cfg.gossip_interval_ms / HASTEN_DIV;
  if (at >= s->next_gossip_at) return;
  s->next_gossip_at = at;
  s->gossip_hastened = true;
}

static int gossip_round(swim_t *s, uint64_t now, swim_out_t *out) {
  if (now < s->next_gossip_at) return 0;
  int rc = swim_out_reserve(out, s->cfg.gossip_nodes, 0, 0);
  if (rc) return rc;
  s->next_gossip_at = now + s->cfg.gossip_interval_ms;
  s->last_gossip_at = now;
  s->gossip_eager_spent = s->gossip_hastened;
  s->gossip_hastened = false;
  check_leave_done(s, now);
  if (s->leave_done || s->queue.n == 0) return 0;
  gossip_filter_t f = {s->self_id, now, s->cfg.dead_gossip_ms};
  size_t n = swim_members_pick(&s->members, &s->rng, s->cfg.gossip_nodes, gossip_ok, &f, s->gossip_picks);
  for (size_t j = 0; j < n; j++) {
    swim_addr_t to;
    swim_rec_addr(&s->members.m[s->gossip_picks[j]], &to);
    swim_msg_t *m = swim_send_begin(s, out, &to, SWIM_MSG_GOSSIP, 0);
    if (!m) return CHORUS_ENOMEM; /* reserved above: cannot happen */
    swim_send_finish(s, m, NULL);
    if (m->n_updates == 0) {
      swim_send_cancel(s, out); /* the queue ran dry */
      break;
    }
  }
  return 0;
}

/* A push-pull with a random member accepted by ok, if any. */
static int push_pull_with(swim_t *s, swim_member_filter_fn ok, const void *ctx, swim_out_t *out) {
  size_t i;
  if (swim_members_pick(&s->members, &s->rng, 1, ok, ctx, &i) == 0) return 0;
  swim_push_pull_t *pp = swim_out_add_push_pull(out);
  if (!pp) return CHORUS_ENOMEM;
  swim_rec_addr(&s->members.m[i], &pp->to);
  return 0;
}

static int push_pull_round(swim_t *s, uint64_t now, swim_out_t *out) {
  if (!s->cfg.push_pull_interval_ms || s->left || now < s->next_push_pull_at) return 0;
  int rc = swim_out_reserve(out, 0, 1, 0);
  if (rc) return rc;
  s->next_push_pull_at = now + s->cfg.push_pull_interval_ms;
  return push_pull_with(s, alive_other, s->self_id, out);
}

/* Dead members may be alive across a healed partition: asking one for its
 * table brings both sides back together. */
static int reconnect_round(swim_t *s, uint64_t now, swim_out_t *out) {
  if (!s->cfg.reconnect_interval_ms || s->left || now < s->next_reconnect_at) return 0;
  int rc = swim_out_reserve(out, 0, 1, 0);
  if (rc) return rc;
  s->next_reconnect_at = now + s->cfg.reconnect_interval_ms;
  if (s->members.n_dead == 0) return 0;
  return push_pull_with(s, dead_member, NULL, out);
}

int swim_rounds_tick(swim_t *s, uint64_t now, swim_out_t *out) {
  int rc = gossip_round(s, now, out);
  if (!rc) rc = push_pull_round(s, now, out);
  if (!rc) rc = reconnect_round(s, now, out);
  return rc;
}
