/*
 * swim_timers.c - a min-heap of per-member deadlines (suspicion expiry,
 * reaping), so a tick touches only what is due instead of every member.
 *
 * Entries are not cancelled when a member moves on (a suspect refutes, a
 * confirmation brings its deadline forward, a dead member comes back): the
 * popper checks that the entry still holds. A stale entry costs one heap
 * slot until its time passes.
 *
 * Invariant: h[0..n) is a binary min-heap on at (ties in push order do not
 * matter: every due entry is handled in the same tick).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

void swim_timers_init(swim_timers_t *t) {
  memset(t, 0, sizeof(*t));
}

void swim_timers_free(swim_timers_t *t) {
  free(t->h);
  swim_timers_init(t);
}

int swim_timers_reserve(swim_timers_t *t, size_t extra) {
  if (extra > SIZE_MAX / 2 / sizeof(*t->h) - t->n) return CHORUS_ETOOBIG;
  size_t need = t->n + extra;
  if (need <= t->cap) return 0;
  size_t cap = t->cap ? t->cap * 2 : 16;
  if (cap < need) cap = need;
  swim_timer_t *h = realloc(t->h, cap * sizeof(*h));
  if (!h) return CHORUS_ENOMEM;
  t->h = h;
  t->cap = cap;
  return 0;
}

void swim_timers_push(swim_timers_t *t, uint64_t at, swim_timer_kind_t kind, const char *id) {
  size_t pos = t->n++;
  swim_timer_t e = {.at = at, .kind = kind};
  strncpy(e.id, id, NODE_ID_MAX);
  while (pos > 0 && t->h[(pos - 1) / 2].at > at) {
    t->h[pos] = t->h[(pos - 1) / 2];
    pos = (pos - 1) / 2;
  }
  t->h[pos] = e;
}

const swim_timer_t *swim_timers_peek(const swim_timers_t *t) {
  return t->n ? &t->h[0] : NULL;
}

void swim_timers_pop(swim_timers_t *t, swim_timer_t *out) {
  *out = t->h[0];
  swim_timer_t last = t->h[--t->n];
  size_t pos = 0;
  for (;;) {
    size_t c = 2 * pos + 1;
    if (c >= t->n) break;
    if (c + 1 < t->n && t->h[c + 1].at < t->h[c].at) c++;
    if (t->h[c].at >= last.at) break;
    t->h[pos] = t->h[c];
    pos = c;
  }
  if (t->n) t->h[pos] = last;
}
