/*
 * plan.c - targets of a coordinated request (see plan.h).
 *
 * One walk of the ring from the key's token gives every member in order:
 * the first n are the preference list, the rest the fallbacks. The walk
 * costs O(vnodes visited); its buffer is on the stack up to PLAN_WALK_STACK members.
 */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

#define PLAN_WALK_STACK 64

static void add_target(plan_t *p, const char *node, const char *hint_for, bool counts) {
  if (p->n_targets == QUORUM_MAX_TARGETS) return; /* n <= 15 targets at most: cannot happen */
  plan_target_t *t = &p->targets[p->n_targets++];
  snprintf(t->node, sizeof t->node, "%s", node);
  snprintf(t->hint_for, sizeof t->hint_for, "%s", hint_for ? hint_for : "");
  t->counts = counts;
}

/* The next up fallback after *next in the walk, or NULL; advances *next. */
static const char *next_fallback(const ring_t *r, const uint32_t *walk, size_t total, size_t *next,
                                 plan_up_fn up, void *state) {
  while (*next < total) {
    const char *id = ring_member_id(r, walk[(*next)++]);
    if (id && up(id, state)) return id;
  }
  return NULL;
}

int plan_make(const ring_t *r, uint64_t token, size_t replicas, const char *self, plan_kind_t kind,
              plan_up_fn up, void *state, plan_t *out) {
  if (!r || !self || !up || !out || replicas < 1 || replicas > PLAN_MAX_REPLICAS ||
      (kind != PLAN_READ && kind != PLAN_WRITE))
    return CHORUS_EINVAL;
  memset(out, 0, sizeof *out);
  out->token = token;
  size_t total = ring_member_count(r);
  if (total == 0) return 0;
  /* every request plans: no allocation for clusters of up to PLAN_WALK_STACK members */
  uint32_t stack[PLAN_WALK_STACK];
  uint32_t *walk = total <= PLAN_WALK_STACK ? stack : malloc(total * sizeof *walk);
  if (!walk) return CHORUS_ENOMEM;
  total = ring_preference(r, token, walk, total);
  out->n = total < replicas ? total : replicas;
  out->n_fallbacks = total - out->n;
  for (size_t i = 0; i < out->n; i++) {
    const char *id = ring_member_id(r, walk[i]);
    snprintf(out->pref[i], sizeof out->pref[i], "%s", id);
    out->pref_up[i] = strcmp(id, self) == 0 || up(id, state);
    if (strcmp(id, self) == 0) out->self_is_replica = true;
    if (!out->coordinator[0] && out->pref_up[i])
      snprintf(out->coordinator, sizeof out->coordinator, "%s", id);
  }
  if (out->self_is_replica) snprintf(out->coordinator, sizeof out->coordinator, "%s", self);
  size_t next = out->n;
  for (size_t i = 0; i < out->n; i++) {
    if (out->pref_up[i]) {
      add_target(out, out->pref[i], NULL, true);
      continue;
    }
    if (kind == PLAN_READ) continue;
    const char *fb = next_fallback(r, walk, total, &next, up, state);
    if (fb)
      add_target(out, fb, out->pref[i], true);
    else
      snprintf(out->local_hints[out->n_local_hints++], NODE_ID_MAX + 1, "%s", out->pref[i]);
  }
  if (walk != stack) free(walk);
  return 0;
}

static bool is_target(const plan_t *p, const char *id) {
  for (size_t i = 0; i < p->n_targets; i++)
    if (strcmp(p->targets[i].node, id) == 0) return true;
  return false;
}

static bool is_owner(const plan_t *p, const char *id) {
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->pref[i], id) == 0) return true;
  return false;
}

int plan_add_pending(plan_t *p, const ring_t *next, size_t replicas, plan_up_fn up, void *state) {
  if (!p || !next || !up || replicas < 1 || replicas > PLAN_MAX_REPLICAS) return CHORUS_EINVAL;
  uint32_t walk[PLAN_MAX_REPLICAS];
  size_t n = ring_preference(next, p->token, walk, replicas);
  for (size_t i = 0; i < n; i++) {
    const char *id = ring_member_id(next, walk[i]);
    if (!id || is_owner(p, id) || is_target(p, id) || !up(id, state)) continue;
    add_target(p, id, NULL, false);
    p->targets[p->n_targets - 1].pending = true;
  }
  return 0;
}

uint32_t plan_cap_quorum(const plan_t *p, uint32_t q) {
  if (q > p->n) q = (uint32_t)p->n;
  return q ? q : 1;
}
