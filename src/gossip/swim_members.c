/*
 * swim_members.c - the member table: an array whose order is the probe
 * order, a hash index by id over it, and live/dead counters.
 *
 * Invariants:
 *  - the index maps every member id to its slot and nothing else;
 *  - susp[i] is non-NULL exactly when m[i].status is SUSPECT, and owned here;
 *  - n_live counts ALIVE and SUSPECT members, n_dead DEAD members.
 * Adding, removing and finding cost O(1); shuffling and picking among a
 * sparse subset cost O(n).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

/* Random draws before picking gives up, per member: a filter accepting few
 * members would otherwise spin. */
#define PICK_TRIES_PER_MEMBER 3

static const char *member_key(const void *owner, uint32_t slot) {
  const swim_members_t *t = owner;
  return t->m[slot].id;
}

void swim_members_init(swim_members_t *t) {
  memset(t, 0, sizeof(*t));
  swim_index_init(&t->ix, member_key, t);
}

void swim_members_free(swim_members_t *t) {
  for (size_t i = 0; i < t->n; i++)
    free(t->susp[i]);
  free(t->m);
  free(t->susp);
  swim_index_free(&t->ix);
  swim_members_init(t);
}

int swim_members_reserve(swim_members_t *t, size_t extra) {
  if (extra > UINT32_MAX - t->n) return CHORUS_ETOOBIG; /* slots are 32-bit in the index */
  size_t need = t->n + extra;
  int rc = swim_index_reserve(&t->ix, need);
  if (rc || need <= t->cap) return rc;
  size_t cap = t->cap ? t->cap * 2 : 16;
  if (cap < need) cap = need;
  swim_member_t *m = realloc(t->m, cap * sizeof(*m));
  if (!m) return CHORUS_ENOMEM;
  t->m = m;
  swim_suspicion_t **susp = realloc(t->susp, cap * sizeof(*susp));
  if (!susp) return CHORUS_ENOMEM; /* m merely grew: still consistent */
  t->susp = susp;
  t->cap = cap;
  return 0;
}

size_t swim_members_find(const swim_members_t *t, const char *id) {
  return swim_index_find(&t->ix, id);
}

static void count(swim_members_t *t, swim_status_t st, int sign) {
  if (st == SWIM_ALIVE || st == SWIM_SUSPECT) t->n_live += (size_t)sign;
  if (st == SWIM_DEAD) t->n_dead += (size_t)sign;
}

size_t swim_members_add(swim_members_t *t, const swim_member_t *m, size_t pos) {
  size_t last = t->n++;
  if (pos < last) {
    swim_index_move(&t->ix, t->m[pos].id, (uint32_t)pos, (uint32_t)last);
    t->m[last] = t->m[pos];
    t->susp[last] = t->susp[pos];
  } else {
    pos = last;
  }
  t->m[pos] = *m;
  t->susp[pos] = NULL;
  swim_index_insert(&t->ix, m->id, (uint32_t)pos);
  count(t, m->status, +1);
  return pos;
}

void swim_members_remove(swim_members_t *t, size_t i) {
  size_t last = t->n - 1;
  count(t, t->m[i].status, -1);
  free(t->susp[i]);
  swim_index_remove(&t->ix, t->m[i].id, (uint32_t)i);
  if (i != last) {
    swim_index_move(&t->ix, t->m[last].id, (uint32_t)last, (uint32_t)i);
    t->m[i] = t->m[last];
    t->susp[i] = t->susp[last];
  }
  t->n--;
}

void swim_members_set(swim_members_t *t, size_t i, swim_status_t st, uint64_t inc, swim_suspicion_t *susp) {
  count(t, t->m[i].status, -1);
  count(t, st, +1);
  free(t->susp[i]);
  t->susp[i] = susp;
  t->m[i].status = st;
  t->m[i].incarnation = inc;
}

void swim_members_shuffle(swim_members_t *t, rng_t *r) {
  for (size_t i = t->n; i > 1; i--) {
    size_t j = (size_t)rng_below(r, i);
    swim_member_t m = t->m[i - 1];
    t->m[i - 1] = t->m[j];
    t->m[j] = m;
    swim_suspicion_t *s = t->susp[i - 1];
    t->susp[i - 1] = t->susp[j];
    t->susp[j] = s;
  }
  /* Every slot may have changed: rebuilding is as cheap as patching. */
  swim_index_clear(&t->ix);
  for (size_t i = 0; i < t->n; i++)
    swim_index_insert(&t->ix, t->m[i].id, (uint32_t)i);
}

size_t swim_members_pick(const swim_members_t *t, rng_t *r, size_t k, swim_member_filter_fn ok,
                         const void *ctx, size_t *out) {
  size_t got = 0;
  size_t tries = t->n * PICK_TRIES_PER_MEMBER;
  while (got < k && tries-- > 0) {
    size_t i = (size_t)rng_below(r, t->n);
    if (!ok(&t->m[i], ctx)) continue;
    bool dup = false;
    for (size_t j = 0; j < got && !dup; j++)
      dup = out[j] == i;
    if (!dup) out[got++] = i;
  }
  return got;
}
