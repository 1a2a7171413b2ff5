/*
 * swim_members.c - the member table: an array whose order is the probe
 * order, a hash index by id over it, and live/dead counters.
 *
 * Layout, per member (LP64): a 48-byte swim_rec_t in the array (grown by
 * half again when full, so at most a third of it is spare), its name block
 * ("id\0host", 32 bytes of heap for short ids and IPv4 hosts; see
 * swim_name.c) and 8-byte index cells at most 3/4 full. A cluster of N
 * nodes keeps N tables of N members, so these bytes are what bounds N.
 *
 * Invariants:
 *  - the index maps every member id to its slot and nothing else;
 *  - m[i].susp is non-NULL exactly when m[i].status is SUSPECT, and owned here;
 *  - m[i].name is non-NULL and holds one reference owned here;
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
#define MIN_CAP 16

_Static_assert(sizeof(void *) != 8 || sizeof(swim_rec_t) == 48, "a member record is 48 bytes on LP64");

static const char *member_key(const void *owner, uint32_t slot) {
  const swim_members_t *t = owner;
  return swim_rec_id(&t->m[slot]);
}

void swim_rec_addr(const swim_rec_t *m, swim_addr_t *a) {
  memset(a, 0, sizeof(*a));
  strncpy(a->host, swim_name_second(m->name), SWIM_HOST_MAX);
  a->port = m->port;
  a->peer_port = m->peer_port;
}

void swim_rec_export(const swim_rec_t *m, swim_member_t *out) {
  memset(out, 0, sizeof(*out));
  strncpy(out->id, swim_rec_id(m), NODE_ID_MAX);
  swim_rec_addr(m, &out->addr);
  out->status = (swim_status_t)m->status;
  out->phase = (swim_phase_t)m->phase;
  out->incarnation = m->incarnation;
  out->state_change_ms = m->state_change_ms;
  out->last_seen_ms = m->last_seen_ms;
}

void swim_members_init(swim_members_t *t) {
  memset(t, 0, sizeof(*t));
  swim_index_init(&t->ix, member_key, t);
}

void swim_members_free(swim_members_t *t) {
  for (size_t i = 0; i < t->n; i++) {
    free(t->m[i].susp);
    swim_name_unref(t->m[i].name);
  }
  free(t->m);
  swim_index_free(&t->ix);
  swim_members_init(t);
}

int swim_members_reserve(swim_members_t *t, size_t extra) {
  if (extra > UINT32_MAX - t->n) return CHORUS_ETOOBIG; /* slots are 32-bit in the index */
  size_t need = t->n + extra;
  int rc = swim_index_reserve(&t->ix, need);
  if (rc || need <= t->cap) return rc;
  size_t cap = t->cap ? t->cap + t->cap / 2 : MIN_CAP;
  if (cap < need) cap = need;
  swim_rec_t *m = realloc(t->m, cap * sizeof(*m));
  if (!m) return CHORUS_ENOMEM;
  t->m = m;
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

size_t swim_members_add(swim_members_t *t, const swim_rec_t *m, size_t pos) {
  size_t last = t->n++;
  if (pos < last) {
    swim_index_move(&t->ix, swim_rec_id(&t->m[pos]), (uint32_t)pos, (uint32_t)last);
    t->m[last] = t->m[pos];
  } else {
    pos = last;
  }
  t->m[pos] = *m;
  swim_index_insert(&t->ix, swim_rec_id(m), (uint32_t)pos);
  count(t, m->status, +1);
  return pos;
}

void swim_members_remove(swim_members_t *t, size_t i) {
  size_t last = t->n - 1;
  count(t, t->m[i].status, -1);
  free(t->m[i].susp);
  swim_index_remove(&t->ix, swim_rec_id(&t->m[i]), (uint32_t)i);
  swim_name_unref(t->m[i].name);
  if (i != last) {
    swim_index_move(&t->ix, swim_rec_id(&t->m[last]), (uint32_t)last, (uint32_t)i);
    t->m[i] = t->m[last];
  }
  t->n--;
}

void swim_members_set(swim_members_t *t, size_t i, swim_status_t st, uint64_t inc, swim_suspicion_t *susp) {
  count(t, t->m[i].status, -1);
  count(t, st, +1);
  free(t->m[i].susp);
  t->m[i].susp = susp;
  t->m[i].status = (uint8_t)st;
  t->m[i].incarnation = inc;
}

void swim_members_shuffle(swim_members_t *t, rng_t *r) {
  for (size_t i = t->n; i > 1; i--) {
    size_t j = (size_t)rng_below(r, i);
    swim_rec_t m = t->m[i - 1];
    t->m[i - 1] = t->m[j];
    t->m[j] = m;
  }
  /* Every slot may have changed: rebuilding is as cheap as patching. */
  swim_index_clear(&t->ix);
  for (size_t i = 0; i < t->n; i++)
    swim_index_insert(&t->ix, swim_rec_id(&t->m[i]), (uint32_t)i);
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
