/*
 * sim_hash.h - the run fingerprint: a 64-bit hash folded over every delivered
 * message and every core event, compared by --check-determinism.
 *
 * Only values that the simulation itself determines are folded in (virtual
 * times, node indexes, wire bytes, statuses), never pointers or wall time,
 * so equal runs give equal hashes on any machine.
 */
#ifndef CHORUS_SIM_HASH_H
#define CHORUS_SIM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SIM_HASH_INIT 0xcbf29ce484222325ull

static inline uint64_t sim_hash_u64(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static inline uint64_t sim_hash_bytes(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t f = SIM_HASH_INIT;
  for (size_t i = 0; i < n; i++) {
    f ^= b[i];
    f *= 0x100000001b3ull;
  }
  return sim_hash_u64(h, f ^ n);
}

#endif
