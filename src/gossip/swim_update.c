/*
 * swim_update.c - applying membership updates: the precedence rules, the
 * transitions they cause, refutation, and the member timers.
 *
 * Precedence (for one member): a higher incarnation wins; at equal
 * incarnation SUSPECT beats ALIVE and DEAD/LEFT beat both; anything else is
 * stale and ignored. A SUSPECT about a member already suspected at the same
 * incarnation is a confirmation (swim_suspicion.c). Every applied update is
 * queued for dissemination, and its member gets an SWIM_EV_MEMBER event.
 *
 * A DEAD entry of a push-pull table about a member ALIVE or SUSPECT here is
 * applied as SUSPECT (memberlist does the same): tables can be old, and
 * only a suspicion lets the member refute.
 *
 * Who may add a member: an ALIVE update, or any entry of a push-pull table
 * (a table also tells of DEAD members, whom the reconnect timer needs). A
 * DEAD or LEFT entry about a stranger is old news to the cluster: it enters
 * the table but is not queued.
 *
 * About this node: SUSPECT, DEAD or LEFT at its incarnation or above, or an
 * ALIVE above it (or at it with another address), is refuted with
 * incarnation max(own, theirs) + 1, unless the node is leaving or stopped.
 *
 * Invariants kept: members change only through this file, and each change
 * of a member's status, incarnation or address emits exactly one
 * SWIM_EV_MEMBER whose old_status is the status before it; a SUSPECT member always has its
 * suspicion and a pending expiry timer; a DEAD/LEFT member other than
 * self has a pending reap timer. Each step reserves first (prepare) and
 * changes state only once nothing can fail.
 */
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

static int rank(swim_status_t st) {
  switch (st) {
  case SWIM_ALIVE: return 0;
  case SWIM_SUSPECT: return 1;
  default: return 2;
  }
}

static bool newer(const swim_update_t *u, const swim_member_t *m) {
  return u->incarnation > m->incarnation ||
         (u->incarnation == m->incarnation && rank(u->status) > rank(m->status));
}

static bool addr_equal(const swim_addr_t *a, const swim_addr_t *b) {
  return a->port == b->port && a->peer_port == b->peer_port && strcmp(a->host, b->host) == 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void emit(swim_out_t *out, swim_event_type_t type, const swim_member_t *m, swim_status_t old) {
  swim_event_t *ev = swim_out_add_event(out); /* reserved by the caller */
  if (!ev) return;
  ev->type = type;
  ev->member = *m;
  ev->old_status = old;
}

/* Queues what m now is. The address travels only with ALIVE and the
 * accuser only with SUSPECT/DEAD: the rest would only cost packet bytes. */
static void queue_rumor(swim_t *s, const swim_member_t *m, const char *from) {
  swim_update_t u;
  memset(&u, 0, sizeof(u));
  u.status = m->status;
  memcpy(u.id, m->id, sizeof(u.id));
  u.incarnation = m->incarnation;
  if (m->status == SWIM_ALIVE) u.addr = m->addr;
  if (m->status == SWIM_SUSPECT || m->status == SWIM_DEAD) strncpy(u.from, from, NODE_ID_MAX);
  swim_queue_push(&s->queue, &u);
  swim_rounds_hasten(s);
}

/* Everything a transition to st may allocate, before anything changes. */
static int prepare(swim_t *s, swim_out_t *out, swim_status_t st, const char *from, bool new_member,
                   uint64_t now, swim_suspicion_t **susp) {
  int rc = swim_out_reserve(out, 0, 0, 1);
  if (!rc) rc = swim_queue_reserve(&s->queue, 1);
  if (!rc) rc = swim_timers_reserve(&s->timers, 1);
  if (!rc && new_member) rc = swim_members_reserve(&s->members, 1);
  if (rc) return rc;
  *susp = NULL;
  if (st == SWIM_SUSPECT && !(*susp = swim_suspicion_new(&s->cfg, swim_n_live(s), from, now)))
    return CHORUS_ENOMEM;
  return 0;
}

/* Arms the timer the member's new status needs (room reserved). */
static void arm(swim_t *s, size_t i, uint64_t now) {
  const swim_member_t *m = &s->members.m[i];
  if (m->status == SWIM_SUSPECT) {
    swim_timers_push(&s->timers, s->members.susp[i]->deadline_ms, SWIM_TIMER_SUSPECT, m->id);
    s->stats.suspects++;
  } else if (m->status == SWIM_DEAD || m->status == SWIM_LEFT) {
    swim_timers_push(&s->timers, add_sat(now, s->cfg.reap_after_ms), SWIM_TIMER_REAP, m->id);
    if (m->status == SWIM_DEAD) s->stats.deads++;
  }
}

static int add(swim_t *s, const swim_update_t *u, swim_via_t via, uint64_t now, swim_out_t *out) {
  swim_suspicion_t *susp;
  int rc = prepare(s, out, u->status, u->from, true, now, &susp);
  if (rc) return rc;
  swim_member_t m;
  memset(&m, 0, sizeof(m));
  memcpy(m.id, u->id, sizeof(m.id));
  m.addr = u->addr;
  m.status = u->status;
  m.incarnation = u->incarnation;
  m.state_change_ms = m.last_seen_ms = now;
  /* A random place in the probe order keeps detection time even across
   * members, whenever they joined. */
  size_t pos = (size_t)rng_below(&s->rng, s->members.n + 1);
  size_t i = swim_members_add(&s->members, &m, pos);
  swim_members_set(&s->members, i, u->status, u->incarnation, susp);
  arm(s, i, now);
  bool old_news = via == SWIM_VIA_STATE && (u->status == SWIM_DEAD || u->status == SWIM_LEFT);
  if (!old_news) queue_rumor(s, &s->members.m[i], u->from);
  emit(out, SWIM_EV_MEMBER, &s->members.m[i], 0);
  return 0;
}

static int transition(swim_t *s, size_t i, const swim_update_t *u, uint64_t now, swim_out_t *out) {
  swim_suspicion_t *susp;
  int rc = prepare(s, out, u->status, u->from, false, now, &susp);
  if (rc) return rc;
  swim_member_t *m = &s->members.m[i];
  swim_status_t old = m->status;
  swim_members_set(&s->members, i, u->status, u->incarnation, susp);
  if (u->status == SWIM_ALIVE) m->addr = u->addr;
  m->state_change_ms = m->last_seen_ms = now;
  arm(s, i, now);
  queue_rumor(s, m, u->from);
  emit(out, SWIM_EV_MEMBER, m, old);
  return 0;
}

/* Another accuser of a suspect: the timeout shrinks, and the confirmation
 * is passed on so that others can count it too. */
static int confirm(swim_t *s, size_t i, const swim_update_t *u) {
  int rc = swim_queue_reserve(&s->queue, 1);
  if (!rc) rc = swim_timers_reserve(&s->timers, 1);
  if (rc) return rc;
  swim_suspicion_t *susp = s->members.susp[i];
  if (!swim_suspicion_confirm(susp, u->from)) return 0;
  swim_timers_push(&s->timers, susp->deadline_ms, SWIM_TIMER_SUSPECT, u->id);
  queue_rumor(s, &s->members.m[i], u->from);
  return 0;
}

static int refute(swim_t *s, uint64_t theirs, uint64_t now, swim_out_t *out) {
  /* Guard: nothing can outbid UINT64_MAX; such a claim is not worth a fight. */
  if (theirs == UINT64_MAX) return 0;
  int rc = swim_out_reserve(out, 0, 0, 2);
  if (!rc) rc = swim_queue_reserve(&s->queue, 1);
  if (rc) return rc;
  swim_member_t *self = swim_self_mut(s);
  self->incarnation = (theirs > self->incarnation ? theirs : self->incarnation) + 1;
  self->state_change_ms = now;
  queue_rumor(s, self, "");
  swim_awareness_apply(&s->aw, 1);
  s->stats.refutes++;
  emit(out, SWIM_EV_MEMBER, self, self->status);
  emit(out, SWIM_EV_INCARNATION, self, self->status);
  return 0;
}

static int about_self(swim_t *s, const swim_update_t *u, uint64_t now, swim_out_t *out) {
  /* A node on its way out does not argue with news of its departure. */
  if (s->left || s->stopped) return 0;
  const swim_member_t *self = swim_self(s);
  bool contradicts = u->status == SWIM_ALIVE
                         ? u->incarnation > self->incarnation ||
                               (u->incarnation == self->incarnation && !addr_equal(&u->addr, &self->addr))
                         : u->incarnation >= self->incarnation;
  if (!contradicts) return 0;
  return refute(s, u->incarnation, now, out);
}

int swim_apply(swim_t *s, const swim_update_t *u, swim_via_t via, uint64_t now, swim_out_t *out) {
  if (strcmp(u->id, s->self_id) == 0) return about_self(s, u, now, out);
  size_t i = swim_members_find(&s->members, u->id);
  if (i == SWIM_NONE) {
    if (via != SWIM_VIA_STATE && u->status != SWIM_ALIVE) return 0;
    return add(s, u, via, now, out);
  }
  const swim_member_t *m = &s->members.m[i];
  swim_update_t eff = *u;
  if (via == SWIM_VIA_STATE && u->status == SWIM_DEAD && swim_is_live(m->status)) {
    /* A stale table must not kill a live member outright, neither at once
     * nor through a second table after a first made it SUSPECT: it only
     * gets the chance to refute that any accusation gets. */
    eff.status = SWIM_SUSPECT;
    memcpy(eff.from, s->self_id, sizeof(eff.from));
  }
  if (eff.status == SWIM_SUSPECT && m->status == SWIM_SUSPECT && eff.incarnation == m->incarnation)
    return confirm(s, i, &eff);
  if (!newer(&eff, m)) return 0;
  return transition(s, i, &eff, now, out);
}

int swim_self_depart(swim_t *s, swim_status_t st, uint64_t now, swim_out_t *out) {
  int rc = swim_out_reserve(out, 0, 0, 1);
  if (!rc) rc = swim_queue_reserve(&s->queue, 1);
  if (rc) return rc;
  size_t i = swim_members_find(&s->members, s->self_id);
  swim_member_t *self = &s->members.m[i];
  swim_status_t old = self->status;
  /* No reap timer: this node never removes itself from its own table. */
  swim_members_set(&s->members, i, st, self->incarnation, NULL);
  self->state_change_ms = now;
  queue_rumor(s, self, s->self_id);
  emit(out, SWIM_EV_MEMBER, self, old);
  return 0;
}

int swim_forget(swim_t *s, size_t i, swim_out_t *out) {
  int rc = swim_out_reserve(out, 0, 0, 1);
  if (rc) return rc;
  emit(out, SWIM_EV_REMOVED, &s->members.m[i], s->members.m[i].status);
  swim_members_remove(&s->members, i);
  if (s->probe_cursor > s->members.n) s->probe_cursor = s->members.n;
  return 0;
}

/* One due timer; 0 when it no longer holds. */
static int fire(swim_t *s, const swim_timer_t *t, uint64_t now, swim_out_t *out) {
  size_t i = swim_members_find(&s->members, t->id);
  if (i == SWIM_NONE) return 0;
  const swim_member_t *m = &s->members.m[i];
  if (t->kind == SWIM_TIMER_SUSPECT) {
    if (m->status != SWIM_SUSPECT || s->members.susp[i]->deadline_ms != t->at) return 0;
    swim_update_t dead;
    memset(&dead, 0, sizeof(dead));
    dead.status = SWIM_DEAD;
    memcpy(dead.id, m->id, sizeof(dead.id));
    dead.incarnation = m->incarnation;
    memcpy(dead.from, s->self_id, sizeof(dead.from));
    return transition(s, i, &dead, now, out);
  }
  bool gone = m->status == SWIM_DEAD || m->status == SWIM_LEFT;
  if (!gone || add_sat(m->state_change_ms, s->cfg.reap_after_ms) != t->at) return 0;
  return swim_forget(s, i, out);
}

int swim_timers_run(swim_t *s, uint64_t now, swim_out_t *out) {
  const swim_timer_t *top;
  while ((top = swim_timers_peek(&s->timers)) && top->at <= now) {
    swim_timer_t t;
    swim_timers_pop(&s->timers, &t);
    int rc = fire(s, &t, now, out);
    if (rc) {
      /* Nothing changed (fire reserves first): the timer waits for the next tick. */
      swim_timers_push(&s->timers, t.at, t.kind, t.id);
      return rc;
    }
  }
  return 0;
}
