/* rng.c - splitmix64 and xoshiro256** (see rng.h). */
#include "rng.h"

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t rng_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void rng_seed(rng_t *r, uint64_t seed) {
  /* splitmix64 never yields four zero words, the one state xoshiro cannot leave. */
  for (int i = 0; i < 4; i++)
    r->s[i] = rng_splitmix64(&seed);
}

uint64_t rng_next(rng_t *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t rng_below(rng_t *r, uint64_t n) {
  if (n == 0) return 0;
  /* Rejection keeps it unbiased: draws below 2^64 mod n are retried. */
  uint64_t floor = (0 - n) % n;
  for (;;) {
    uint64_t x = rng_next(r);
    if (x >= floor) return x % n;
  }
}

double rng_unit(rng_t *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

bool rng_chance(rng_t *r, double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return rng_unit(r) < p;
}
