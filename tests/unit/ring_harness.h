/*
 * ring_harness.h - what the ring tests (test_ring_*.c) share: sets of member
 * ids, named "node-<i>" or UUID-shaped from a fixed seed, and a ring built
 * from them that must build.
 *
 * Header-only (static inline functions, so a binary may use some of them
 * only): each test binary includes it once, after cmocka.h.
 */
#ifndef CHORUS_TEST_RING_HARNESS_H
#define CHORUS_TEST_RING_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/rng.h"
#include "ring/ring.h"

#define MAX_TEST_MEMBERS 64

typedef struct {
  char id[MAX_TEST_MEMBERS][40];
  const char *ptr[MAX_TEST_MEMBERS];
  size_t n;
} idset_t;

/* "node-1" .. "node-<n>". */
static inline void ids_named(idset_t *s, size_t n) {
  assert_true(n <= MAX_TEST_MEMBERS);
  for (size_t i = 0; i < n; i++) {
    snprintf(s->id[i], sizeof(s->id[i]), "node-%zu", i + 1);
    s->ptr[i] = s->id[i];
  }
  s->n = n;
}

/* n UUID-shaped ids drawn from a fixed seed, as libuuid would name nodes. */
static inline void ids_uuid(idset_t *s, size_t n, uint64_t seed) {
  rng_t r;
  rng_seed(&r, seed);
  assert_true(n <= MAX_TEST_MEMBERS);
  for (size_t i = 0; i < n; i++) {
    uint64_t a = rng_next(&r), b = rng_next(&r);
    snprintf(s->id[i], sizeof(s->id[i]), "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffULL));
    s->ptr[i] = s->id[i];
  }
  s->n = n;
}

static inline ring_t *build(const char *const *ids, size_t n, uint32_t vnodes) {
  ring_t *r = NULL;
  assert_int_equal(ring_build(ids, n, vnodes, &r), 0);
  assert_non_null(r);
  return r;
}

#endif
