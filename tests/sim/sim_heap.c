/*
 * sim_heap.c - binary min-heap of events (see sim_heap.h).
 *
 * Invariant: for every i > 0, v[(i - 1) / 2] precedes v[i] in (at, seq)
 * order. Sequence numbers are unique, so the order is total and ties never
 * depend on the heap's internal layout.
 */
#include "sim_heap.h"

#include <stdlib.h>

#include "common/err.h"

#define SIM_HEAP_MIN_CAP 1024

static bool before(const sim_event_t *a, const sim_event_t *b) {
  return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void swap(sim_event_t *a, sim_event_t *b) {
  sim_event_t t = *a;
  *a = *b;
  *b = t;
}

void sim_heap_init(sim_heap_t *h) {
  h->v = NULL;
  h->n = 0;
  h->cap = 0;
  h->next_seq = 0;
}

void sim_heap_free(sim_heap_t *h) {
  for (size_t i = 0; i < h->n; i++)
    free(h->v[i].data);
  free(h->v);
  sim_heap_init(h);
}

int sim_heap_push(sim_heap_t *h, const sim_event_t *ev) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : SIM_HEAP_MIN_CAP;
    sim_event_t *v = realloc(h->v, cap * sizeof(*v));
    if (!v) return CHORUS_ENOMEM;
    h->v = v;
    h->cap = cap;
  }
  size_t i = h->n++;
  h->v[i] = *ev;
  h->v[i].seq = h->next_seq++;
  while (i > 0 && before(&h->v[i], &h->v[(i - 1) / 2])) {
    swap(&h->v[i], &h->v[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  return 0;
}

const sim_event_t *sim_heap_peek(const sim_heap_t *h) {
  return h->n ? &h->v[0] : NULL;
}

bool sim_heap_pop(sim_heap_t *h, sim_event_t *ev) {
  if (!h->n) return false;
  *ev = h->v[0];
  h->v[0] = h->v[--h->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && before(&h->v[l], &h->v[m])) m = l;
    if (r < h->n && before(&h->v[r], &h->v[m])) m = r;
    if (m == i) break;
    swap(&h->v[i], &h->v[m]);
    i = m;
  }
  return true;
}
