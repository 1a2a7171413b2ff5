/*
 * swim_update.c - applying membership updates: the precedence rules, the
 * transitions they cause, refutation, and the member timers.
 *
 * Precedence (for one member): a higher incarnation wins; at equal
 * incarnation SUSPECT beats ALIVE, DEAD beats both and LEFT beats DEAD
 * (an operator's removal of a dead member is final); anything else is
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
 * self has a pending reap timer; a member's name block holds the address
 * it has (a move makes a new block), so an ALIVE rumor sharing it carries
 * that address. Each step reserves first (prepare: output, queue, timer and
 * table room, the suspicion, a new name block, the rumor's own accusation
 * block) and changes state only once nothing can fail.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

static int rank(swim_status_t st) {
  switch (st) {
  case SWIM_ALIVE: return 0;
  case SWIM_SUSPECT: return 1;
  case SWIM_DEAD: return 2;
  default: return 3;
  }
}

static bool newer(const swim_update_t *u, const swim_rec_t *m) {
  return u->incarnation > m->incarnation ||
         (u->incarnation == m->incarnation && rank(u->status) > rank((swim_status_t)m->status));
}

static bool addr_equal(const swim_addr_t *a, const swim_addr_t *b) {
  return a->port == b->port && a->peer_port == b->peer_port && strcmp(a->host, b->host) == 0;
}

static bool rec_at(const swim_rec_t *m, const swim_addr_t *a) {
  return m->port == a->port && m->peer_port == a->peer_port && strcmp(swim_name_second(m->name), a->host) == 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void emit(swim_out_t *out, swim_event_type_t type, const swim_rec_t *m, swim_status_t old) {
  swim_event_t *ev = swim_out_add_event(out); /* reserved by the caller */
  if (!ev) return;
  ev->type = type;
  swim_rec_export(m, &ev->member);
  ev->old_status = old;
}

static bool accuses(swim_status_t st) {
  return st == SWIM_SUSPECT || st == SWIM_DEAD;
}

/* The name block a rumor about id in status st needs of its own: the
 * accuser travels only with SUSPECT/DEAD (and the address only with ALIVE,
 * from the member's block): the rest would only cost packet bytes. *out is
 * NULL when the member's block serves. */
static int accusation(const char *id, swim_status_t st, const char *from, swim_name_t **out) {
  *out = NULL;
  if (!accuses(st)) return 0;
  *out = swim_name_new(id, from);
  return *out ? 0 : CHORUS_ENOMEM;
}

/* Queues what m now is (room reserved; acc from accusation(), taken over). */
static void queue_rumor(swim_t *s, swim_rec_t *m, swim_name_t *acc) {
  swim_queue_push(&s->queue, acc ? acc : swim_name_ref(m->name), (swim_status_t)m->status, m);
  swim_rounds_hasten(s);
}

/* What a step allocates before it changes anything. */
typedef struct {
  swim_suspicion_t *susp; /* the new suspicion (SUSPECT) */
  swim_name_t *name;      /* a new member's block, or a new address's */
  swim_name_t *acc;       /* the rumor's own block (SUSPECT, DEAD) */
} swim_step_t;

static void step_free(swim_step_t *st) {
  free(st->susp);
  swim_name_unref(st->name);
  swim_name_unref(st->acc);
  memset(st, 0, sizeof(*st));
}

/* Everything a transition to u->status may allocate, before anything
 * changes: a name block when the member is new or moves (renamed), the
 * rumor's own block when it is queued. */
static int prepare(swim_t *s, swim_out_t *out, const swim_update_t *u, bool new_member, bool renamed,
                   bool queued, uint64_t now, swim_step_t *step) {
  memset(step, 0, sizeof(*step));
  int rc = swim_out_reserve(out, 0, 0, 1);
  if (!rc) rc = swim_queue_reserve(&s->queue, 1);
  if (!rc) rc = swim_timers_reserve(&s->timers, 1);
  if (!rc && new_member) rc = swim_members_reserve(&s->members, 1);
  if (!rc && renamed && !(step->name = swim_name_new(u->id, u->addr.host))) rc = CHORUS_ENOMEM;
  if (!rc && queued) rc = accusation(u->id, u->status, u->from, &step->acc);
  if (!rc && u->status == SWIM_SUSPECT &&
      !(step->susp = swim_suspicion_new(&s->cfg, swim_n_live(s), u->from, now)))
    rc = CHORUS_ENOMEM;
  if (rc) step_free(step);
  return rc;
}

/* Arms the timer the member's new status needs (room reserved). */
static void arm(swim_t *s, size_t i, uint64_t now) {
  const swim_rec_t *m = &s->members.m[i];
  if (m->status == SWIM_SUSPECT) {
    swim_timers_push(&s->timers, m->susp->deadline_ms, SWIM_TIMER_SUSPECT, swim_rec_id(m));
    s->stats.suspects++;
  } else if (m->status == SWIM_DEAD || m->status == SWIM_LEFT) {
    swim_timers_push(&s->timers, add_sat(now, s->cfg.reap_after_ms), SWIM_TIMER_REAP, swim_rec_id(m));
    if (m->status == SWIM_DEAD) s->stats.deads++;
  }
}

static int add(swim_t *s, const swim_update_t *u, swim_via_t via, uint64_t now, swim_out_t *out) {
  bool old_news = via == SWIM_VIA_STATE && (u->status == SWIM_DEAD || u->status == SWIM_LEFT);
  swim_step_t step;
  int rc = prepare(s, out, u, true, true, !old_news, now, &step);
  if (rc) return rc;
  swim_rec_t m;
  memset(&m, 0, sizeof(m));
  m.name = step.name;
  m.port = u->addr.port;
  m.peer_port = u->addr.peer_port;
  m.status = (uint8_t)u->status;
  m.phase = (uint8_t)u->phase;
  m.incarnation = u->incarnation;
  m.state_change_ms = m.last_seen_ms = now;
  /* A random place in the probe order keeps detection time even across
   * members, whenever they joined. */
  size_t pos = (size_t)rng_below(&s->rng, s->members.n + 1);
  size_t i = swim_members_add(&s->members, &m, pos);
  swim_members_set(&s->members, i, u->status, u->incarnation, step.susp);
  arm(s, i, now);
  if (!old_news) queue_rumor(s, &s->members.m[i], step.acc);
  emit(out, SWIM_EV_MEMBER, &s->members.m[i], 0);
  return 0;
}

static int transition(swim_t *s, size_t i, const swim_update_t *u, uint64_t now, swim_out_t *out) {
  bool renamed = u->status == SWIM_ALIVE && !rec_at(&s->members.m[i], &u->addr);
  swim_step_t step;
  int rc = prepare(s, out, u, false, renamed, true, now, &step);
  if (rc) return rc;
  swim_rec_t *m = &s->members.m[i];
  swim_status_t old = (swim_status_t)m->status;
  swim_members_set(&s->members, i, u->status, u->incarnation, step.susp);
  m->phase = (uint8_t)u->phase;
  if (renamed) {
    swim_name_unref(m->name);
    m->name = step.name;
    m->port = u->addr.port;
    m->peer_port = u->addr.peer_port;
  }
  m->state_change_ms = now;
  /* an alive update is the member's own refutation or rejoin: a sign of
   * life; suspicion or death is not, and last_seen keeps the last one */
  if (u->status == SWIM_ALIVE) m->last_seen_ms = now;
  arm(s, i, now);
  queue_rumor(s, m, step.acc);
  emit(out, SWIM_EV_MEMBER, m, old);
  return 0;
}

/* Another accuser of a suspect: the timeout shrinks, and the confirmation
 * is passed on so that others can count it too. */
static int confirm(swim_t *s, size_t i, const swim_update_t *u) {
  swim_name_t *acc = NULL;
  int rc = swim_queue_reserve(&s->queue, 1);
  if (!rc) rc = swim_timers_reserve(&s->timers, 1);
  if (!rc) rc = accusation(u->id, SWIM_SUSPECT, u->from, &acc);
  if (rc) return rc;
  swim_rec_t *m = &s->members.m[i];
  if (!swim_suspicion_confirm(m->susp, u->from)) {
    swim_name_unref(acc);
    return 0;
  }
  swim_timers_push(&s->timers, m->susp->deadline_ms, SWIM_TIMER_SUSPECT, u->id);
  queue_rumor(s, m, acc);
  return 0;
}

/* This node announces itself again, ALIVE above max(own, theirs), in
 * phase: a refutation or a change of phase. */
static int raise_self(swim_t *s, uint64_t theirs, swim_phase_t phase, uint64_t now, swim_out_t *out) {
  int rc = swim_out_reserve(out, 0, 0, 2);
  if (!rc) rc = swim_queue_reserve(&s->queue, 1);
  if (rc) return rc;
  swim_rec_t *self = swim_self_mut(s);
  if (self->incarnation == UINT64_MAX) return CHORUS_EINVAL;
  self->incarnation = (theirs > self->incarnation ? theirs : self->incarnation) + 1;
  self->phase = (uint8_t)phase;
  self->state_change_ms = now;
  queue_rumor(s, self, NULL);
  emit(out, SWIM_EV_MEMBER, self, (swim_status_t)self->status);
  emit(out, SWIM_EV_INCARNATION, self, (swim_status_t)self->status);
  return 0;
}

static int refute(swim_t *s, uint64_t theirs, uint64_t now, swim_out_t *out) {
  /* Guard: nothing can outbid UINT64_MAX; such a claim is not worth a fight. */
  if (theirs == UINT64_MAX) return 0;
  int rc = raise_self(s, theirs, (swim_phase_t)swim_self_mut(s)->phase, now, out);
  if (rc) return rc;
  swim_awareness_apply(&s->aw, 1);
  s->stats.refutes++;
  return 0;
}

int swim_self_rephase(swim_t *s, swim_phase_t phase, uint64_t now, swim_out_t *out) {
  return raise_self(s, 0, phase, now, out);
}

static int about_self(swim_t *s, const swim_update_t *u, uint64_t now, swim_out_t *out) {
  /* A node on its way out does not argue with news of its departure. */
  if (s->left || s->stopped) return 0;
  const swim_rec_t *self = swim_self_mut(s);
  bool contradicts = u->status == SWIM_ALIVE
                         ? u->incarnation > self->incarnation ||
                               (u->incarnation == self->incarnation && !addr_equal(&u->addr, &s->self_addr))
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
  const swim_rec_t *m = &s->members.m[i];
  swim_update_t eff = *u;
  if (via == SWIM_VIA_STATE && u->status == SWIM_DEAD && swim_is_live((swim_status_t)m->status)) {
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
  swim_name_t *acc = NULL;
  int rc = swim_out_reserve(out, 0, 0, 1);
  if (!rc) rc = swim_queue_reserve(&s->queue, 1);
  if (!rc) rc = accusation(s->self_id, st, s->self_id, &acc);
  if (rc) return rc;
  size_t i = swim_members_find(&s->members, s->self_id);
  swim_rec_t *self = &s->members.m[i];
  swim_status_t old = (swim_status_t)self->status;
  /* No reap timer: this node never removes itself from its own table. */
  swim_members_set(&s->members, i, st, self->incarnation, NULL);
  self->state_change_ms = now;
  queue_rumor(s, self, acc);
  emit(out, SWIM_EV_MEMBER, self, old);
  return 0;
}

int swim_forget(swim_t *s, size_t i, swim_out_t *out) {
  int rc = swim_out_reserve(out, 0, 0, 1);
  if (rc) return rc;
  emit(out, SWIM_EV_REMOVED, &s->members.m[i], (swim_status_t)s->members.m[i].status);
  swim_members_remove(&s->members, i);
  if (s->probe_cursor > s->members.n) s->probe_cursor = s->members.n;
  return 0;
}

/* One due timer; 0 when it no longer holds. */
static int fire(swim_t *s, const swim_timer_t *t, uint64_t now, swim_out_t *out) {
  size_t i = swim_members_find(&s->members, t->id);
  if (i == SWIM_NONE) return 0;
  const swim_rec_t *m = &s->members.m[i];
  if (t->kind == SWIM_TIMER_SUSPECT) {
    if (m->status != SWIM_SUSPECT || m->susp->deadline_ms != t->at) return 0;
    swim_update_t dead;
    memset(&dead, 0, sizeof(dead));
    dead.status = SWIM_DEAD;
    strncpy(dead.id, swim_rec_id(m), NODE_ID_MAX);
    dead.incarnation = m->incarnation;
    dead.phase = (swim_phase_t)m->phase;
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
