/*
 * swim_out.c - the caller-owned output arrays of a SWIM core call.
 *
 * Growth is by doubling with checked multiplication and realloc; a failed
 * growth leaves the arrays as they were. The core reserves room before it
 * changes any state, so what it appends always describes what it did.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

void swim_out_init(swim_out_t *o) {
  memset(o, 0, sizeof(*o));
}

void swim_out_clear(swim_out_t *o) {
  o->n_sends = o->n_push_pulls = o->n_events = 0;
}

void swim_out_free(swim_out_t *o) {
  free(o->sends);
  free(o->push_pulls);
  free(o->events);
  swim_out_init(o);
}

/* arr with room for `extra` more elements of `size` bytes: arr itself, a
 * grown copy, or NULL (arr untouched) when out of memory. */
static void *grown(void *arr, size_t *cap, size_t n, size_t extra, size_t size, int *rc) {
  if (extra > SIZE_MAX / size - n) {
    *rc = CHORUS_ENOMEM;
    return NULL;
  }
  size_t need = n + extra;
  if (need <= *cap) return arr;
  size_t c = *cap ? *cap : 8;
  while (c < need)
    c = c > SIZE_MAX / size / 2 ? need : c * 2;
  void *p = realloc(arr, c * size);
  if (!p) {
    *rc = CHORUS_ENOMEM;
    return NULL;
  }
  *cap = c;
  return p;
}

int swim_out_reserve(swim_out_t *o, size_t sends, size_t push_pulls, size_t events) {
  int rc = 0;
  swim_send_t *s = grown(o->sends, &o->cap_sends, o->n_sends, sends, sizeof(*s), &rc);
  if (rc) return rc;
  o->sends = s;
  swim_push_pull_t *p =
      grown(o->push_pulls, &o->cap_push_pulls, o->n_push_pulls, push_pulls, sizeof(*p), &rc);
  if (rc) return rc;
  o->push_pulls = p;
  swim_event_t *e = grown(o->events, &o->cap_events, o->n_events, events, sizeof(*e), &rc);
  if (rc) return rc;
  o->events = e;
  return 0;
}

swim_send_t *swim_out_add_send(swim_out_t *o) {
  if (swim_out_reserve(o, 1, 0, 0)) return NULL;
  swim_send_t *s = &o->sends[o->n_sends++];
  memset(s, 0, sizeof(*s));
  return s;
}

swim_push_pull_t *swim_out_add_push_pull(swim_out_t *o) {
  if (swim_out_reserve(o, 0, 1, 0)) return NULL;
  swim_push_pull_t *p = &o->push_pulls[o->n_push_pulls++];
  memset(p, 0, sizeof(*p));
  return p;
}

swim_event_t *swim_out_add_event(swim_out_t *o) {
  if (swim_out_reserve(o, 0, 0, 1)) return NULL;
  swim_event_t *e = &o->events[o->n_events++];
  memset(e, 0, sizeof(*e));
  return e;
}
