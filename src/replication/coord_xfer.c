/*
 * coord_xfer.c - ownership transfers (DESIGN §9): this node's side of a
 * join, a leave and a removal. It owns the node's phase (swim_msg.h) and
 * its range streams, persisted (xfer_state.h) so that a restart resumes
 * them.
 *
 *  - Join. A node whose store is new and that has seeds starts JOINING: on
 *    the owners' ring it owns nothing and serves no reads, while writes for
 *    what it will own already reach it (view.h: pending targets). Once it
 *    has joined, it plans (xfer_plan.h) the ranges it gains on the next
 *    ring and streams them (PEER_RANGE) from the member it replaces,
 *    falling back to the others; each batch is merged durably, then its
 *    position saved. When every stream is done it turns NORMAL: an owner.
 *  - Removal. When a member leaves the owners' ring without having been
 *    LEAVING (an operator removed it), each member plans what it gained
 *    and streams it from the survivors the same way.
 *  - Hand-off. A record this node holds but no longer owns goes to its
 *    owners and then is dropped. A batch of such records is offered to each
 *    owner (PEER_HANDOFF offer: the versions, no values); the records an
 *    owner does not already cover are pushed to it whole; once every owner
 *    acknowledged (durably), each record is dropped if it is still exactly
 *    what was handed off (ENGINE_DROP), so a write racing the hand-off is
 *    kept for the next pass. No record is dropped while ownership moves
 *    anywhere (sources must keep what joiners stream) or within SETTLE_MS
 *    of a ring change (nodes slower to see it still read the old owners).
 *  - Leave. POST /gossip/leave turns the node LEAVING (refused when fewer
 *    than N members would remain, unless forced): it stays an owner while
 *    it hands everything to the next owners, then refuses writes, hands
 *    off what came in meanwhile, announces LEFT and stops. It drops
 *    nothing: until LEFT it still answers reads.
 *
 * Streams run at most --transfer-concurrency at a time; every byte moved,
 * in or out, takes from a token bucket of --transfer-rate MB/s. A stream
 * that fails (its source down, a timeout) tries its next source after
 * XFER_RETRY_MS, from the last batch applied. The other files of this
 * service are listed in coord_xfer.h.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "coord_xfer.h"
#include "ranges.h"

#define SETTLE_MS 5000 /* no drops this soon after the owners' ring changed */

/* ---- publishing ---- */

uint64_t xfer_now(coord_t *c) {
  return c->env.now_ms(c->env.state);
}

uint64_t xfer_wall(coord_t *c) {
  return c->env.wall_ms(c->env.state);
}

static uint64_t range_tokens(const xfer_pull_t *p) {
  return ranges_tokens(p->ranges, p->nr);
}

void xfer_publish(coord_t *c) {
  struct xfer *x = c->xfer;
  pthread_mutex_lock(&x->mu);
  x->pub.phase = x->st.phase;
  x->pub.refusing = x->refusing;
  x->pub.counters = x->counters;
  x->pub.sweeping = x->sw != NULL;
  size_t n = x->st.n < XFER_STATUS_MAX ? x->st.n : XFER_STATUS_MAX;
  /* the newest streams when there are more than the status holds */
  size_t first = x->st.n - n;
  for (size_t i = 0; i < n; i++) {
    const xfer_pull_t *p = &x->st.pulls[first + i];
    const xfer_pull_rt_t *r = &x->rt[first + i];
    xfer_entry_t *e = &x->pub.entries[i];
    memset(e, 0, sizeof *e);
    e->id = p->id;
    e->reason = p->reason;
    e->done = p->done;
    snprintf(e->peer, sizeof e->peer, "%s", p->n_sources ? p->sources[r->src % p->n_sources] : "");
    e->ranges = p->nr;
    e->tokens = range_tokens(p);
    /* how far the cursor is through the ranges, as a share of their tokens */
    uint64_t through = 0;
    for (size_t k = 0; p->cursor.started && k < p->nr; k++) {
      if (p->cursor.token > p->ranges[k].hi)
        through += p->ranges[k].hi - p->ranges[k].lo + 1;
      else if (p->cursor.token >= p->ranges[k].lo)
        through += p->cursor.token - p->ranges[k].lo + 1;
    }
    e->tokens_done = p->done ? e->tokens : through;
    e->keys = p->keys;
    e->bytes = p->bytes;
    e->rate = r->rate;
    e->started_ms = p->started_ms;
    e->finished_ms = p->finished_ms;
    e->failures = r->failures;
    /* running: a batch out, or started and only pacing for the rate (not waiting its turn or a retry) */
    e->running = xfer_pull_busy(r) || (!p->done && p->cursor.started && r->failures == 0);
  }
  x->pub.n = n;
  pthread_mutex_unlock(&x->mu);
}

void coord_xfer_status(coord_t *c, xfer_status_t *out) {
  struct xfer *x = c->xfer;
  pthread_mutex_lock(&x->mu);
  *out = x->pub;
  pthread_mutex_unlock(&x->mu);
}

/* ---- the state file ---- */

typedef struct {
  coord_work_t work; /* first */
  buf_t bytes;
} save_t;

static int save_run(coord_work_t *w) {
  save_t *s = (save_t *)w;
  return w->c->env.xfer_save(w->c->env.state, s->bytes.data, s->bytes.len);
}

static void save_done(coord_work_t *w, int rc) {
  save_t *s = (save_t *)w;
  coord_t *c = w->c;
  if (rc && rc != CHORUS_ESHUTDOWN) log_warn("transfers: cannot save their state: %s", chorus_strerror(rc));
  buf_free(&s->bytes);
  free(s);
  c->xfer->saving = false;
  if (c->xfer->save_again && !c->closing) xfer_save(c);
}

/* Saves the state off the loop, one write at a time; a change made during
 * a write is saved by the next one. */
void xfer_save(coord_t *c) {
  struct xfer *x = c->xfer;
  if (!c->env.xfer_save) return;
  if (x->saving) {
    x->save_again = true;
    return;
  }
  x->save_again = false;
  save_t *s = calloc(1, sizeof *s);
  if (!s) return;
  buf_init(&s->bytes);
  if (xfer_state_encode(&x->st, &s->bytes) != 0 || s->bytes.err) {
    buf_free(&s->bytes);
    free(s);
    return;
  }
  s->work.run = save_run;
  s->work.done = save_done;
  x->saving = true;
  if (coord_work_queue(c, &s->work) != 0) {
    x->saving = false;
    buf_free(&s->bytes);
    free(s);
  }
}

/* ---- life ---- */

int coord_xfer_create(coord_t *c, bool fresh) {
  struct xfer *x = calloc(1, sizeof *x);
  if (!x) return CHORUS_ENOMEM;
  pthread_mutex_init(&x->mu, NULL);
  c->xfer = x;
  buf_t b;
  buf_init(&b);
  int rc = c->env.xfer_load ? c->env.xfer_load(c->env.state, &b) : CHORUS_ENOTFOUND;
  if (!rc) {
    rc = xfer_state_decode(b.data, b.len, &x->st);
    if (rc) log_error("transfers: the saved state does not decode (%s)", chorus_strerror(rc));
  } else if (rc == CHORUS_ENOTFOUND) {
    x->st.phase = fresh ? SWIM_PHASE_JOINING : SWIM_PHASE_NORMAL;
    x->st.next_id = 1;
    rc = 0;
  }
  buf_free(&b);
  if (!rc && x->st.n && !(x->rt = calloc(x->st.n, sizeof *x->rt))) rc = CHORUS_ENOMEM;
  x->cap = x->st.n;
  /* a join resumes with what it planned; a restart keeps no plan for new pulls */
  for (size_t i = 0; i < x->st.n; i++)
    if (x->st.pulls[i].reason == XFER_JOIN) x->planned = true;
  if (rc) return rc;
  if (x->st.phase != SWIM_PHASE_NORMAL)
    log_info("transfers: this node starts %s", swim_phase_name((swim_phase_t)x->st.phase));
  xfer_publish(c);
  return 0;
}

void coord_xfer_free(coord_t *c) {
  struct xfer *x = c->xfer;
  if (!x) return;
  xfer_handoff_free(x->sw); /* a pass paused for the rate when the node stopped */
  view_release(x->seen);
  xfer_state_free(&x->st);
  free(x->rt);
  pthread_mutex_destroy(&x->mu);
  free(x);
  c->xfer = NULL;
}

swim_phase_t coord_phase(const coord_t *c) {
  return (swim_phase_t)c->xfer->st.phase;
}

void coord_xfer_stop(coord_t *c) {
  xfer_serve_resume(c);   /* closing: the waiting range requests are released unanswered */
  xfer_handoff_resume(c); /* and a pass paused for the rate ends (its next scan is refused) */
}

bool coord_xfer_refusing(const coord_t *c) {
  return c->xfer && c->xfer->refusing;
}

bool coord_xfer_busy(const coord_t *c) {
  const struct xfer *x = c->xfer;
  if (x->sw || x->waiting) return true;
  for (size_t i = 0; i < x->st.n; i++)
    if (xfer_pull_busy(&x->rt[i])) return true;
  return false;
}

static void set_phase(coord_t *c, swim_phase_t phase) {
  struct xfer *x = c->xfer;
  if (x->st.phase == phase) return;
  x->st.phase = (uint8_t)phase;
  if (c->env.set_phase) c->env.set_phase(c->env.state, phase);
  xfer_save(c);
  xfer_publish(c);
}

static size_t removed(const view_t *was, const view_t *v, const char **out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < ring_member_count(was->ring) && n < max; i++) {
    const char *id = ring_member_id(was->ring, i);
    if (ring_member_find(v->ring, id, NULL) == 0) continue;
    const view_member_t *before = view_find(was, id), *now_m = view_find(v, id);
    /* a leave: it handed its records off itself (its LEFT carries the phase) */
    if ((before && before->phase == SWIM_PHASE_LEAVING) || (now_m && now_m->phase == SWIM_PHASE_LEAVING))
      continue;
    if (now_m && now_m->status != SWIM_LEFT && now_m->phase == SWIM_PHASE_JOINING) continue; /* rejoining */
    out[n++] = id;
  }
  return n;
}

/* ---- the operator's leave ---- */

int coord_xfer_leave(coord_t *c, bool force) {
  struct xfer *x = c->xfer;
  if (x->st.phase == SWIM_PHASE_LEAVING) return 0;
  if (x->st.phase == SWIM_PHASE_JOINING) return CHORUS_EBUSY;
  view_t *v = view_acquire(c->view);
  size_t owners = view_ring_members(v);
  bool on_ring = ring_member_find(v->ring, c->self, NULL) == 0;
  view_release(v);
  size_t after = on_ring && owners ? owners - 1 : owners;
  if (!force && after < (size_t)c->cfg->replicas) return CHORUS_ETOOFEW;
  x->st.forced = force;
  log_info("transfers: leaving the cluster%s: handing off every record first", force ? " (forced)" : "");
  set_phase(c, SWIM_PHASE_LEAVING);
  x->sweep_next_at = 0;
  coord_wake(c);
  return 0;
}

/* ---- tick ---- */

void coord_xfer_tick(coord_t *c, uint64_t t) {
  struct xfer *x = c->xfer;
  if (c->closing || !c->env.records_in) return; /* a store that cannot stream takes no part */
  /* a node serving clients moves data at an eighth of the rate: what the transfer writes (merges,
   * drops, and the store compactions they cause) shares the node's CPU and its one store writer with
   * the clients' requests (bench/handoff.py: client p99 2.2x at a quarter) */
  double rate =
      (double)c->cfg->transfer_rate * 1024.0 * 1024.0 / (coord_clients_recent(c, t) ? XFER_CLIENT_SHARE : 1);
  if (x->refill_at == 0) x->refill_at = t;
  x->tokens += rate * (double)(t - x->refill_at) / 1000.0;
  if (x->tokens > rate / 4) x->tokens = rate / 4; /* a burst of a quarter second, at most */
  x->refill_at = t;
  xfer_serve_resume(c);
  if (c->env.joined && !c->env.joined(c->env.state)) return;
  view_t *v = view_acquire(c->view);
  if (!x->seen || x->seen->ring != v->ring) {
    x->ring_changed_at = t;
    const char *gone[64];
    size_t n_gone = x->seen ? removed(x->seen, v, gone, 64) : 0;
    if (n_gone && x->st.phase == SWIM_PHASE_NORMAL) {
      for (size_t i = 0; i < n_gone; i++)
        log_info("transfers: %s was removed: re-replicating what this node gains", gone[i]);
      xfer_skip_t sk = {c->self, gone, n_gone};
      if (xfer_plan(c, x->seen->ring, v->ring, XFER_REMOVE, &sk) != 0)
        log_warn("transfers: cannot plan the removal");
    }
  }
  view_release(x->seen);
  x->seen = v; /* the reference moves */
  const view_member_t *me = view_find(v, c->self);
  /* planned by a view that shows this node joining (published a moment after membership started) */
  if (x->st.phase == SWIM_PHASE_JOINING && !x->planned && me && me->phase == SWIM_PHASE_JOINING) {
    x->planned = true;
    xfer_skip_t sk = {c->self, NULL, 0};
    if (xfer_plan(c, v->ring, v->next, XFER_JOIN, &sk) != 0) x->planned = false;
  }
  xfer_run_pulls(c, v);
  if (x->st.phase == SWIM_PHASE_JOINING && x->planned && xfer_pulls_done(x, XFER_JOIN)) {
    log_info("transfers: join: every range is here; this node now owns its ranges");
    set_phase(c, SWIM_PHASE_NORMAL);
  }
  if (x->sw && x->tokens > 0) xfer_handoff_resume(c);
  if (!x->sw && t >= x->sweep_next_at) {
    /* a leave hands off by a view that shows it leaving (published a moment after the phase changed) */
    if (x->st.phase == SWIM_PHASE_LEAVING && !x->left && ring_member_find(v->next, c->self, NULL) != 0) {
      xfer_handoff_start(c, view_acquire(c->view), false);
    } else if (x->st.phase == SWIM_PHASE_NORMAL && !view_moving(v) && t - x->ring_changed_at >= SETTLE_MS &&
               xfer_pulls_done(x, XFER_REMOVE)) {
      xfer_handoff_start(c, view_acquire(c->view), true);
    } else {
      x->sweep_next_at = t + XFER_RETRY_MS;
    }
  }
}
