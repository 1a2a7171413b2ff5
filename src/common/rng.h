/*
 * rng.h - the seeded generator behind every random choice of the protocol
 * cores and the simulator: xoshiro256** seeded through splitmix64.
 *
 * Invariant: a sequence depends on its seed alone (no clock, no
 * environment), so two runs fed the same seeds and inputs make the same
 * choices: that is what lets the simulator replay a run from one seed.
 */
#ifndef CHORUS_RNG_H
#define CHORUS_RNG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint64_t s[4];
} rng_t;

/* Advances *state and returns the next splitmix64 output (for deriving seeds). */
uint64_t rng_splitmix64(uint64_t *state);
void rng_seed(rng_t *r, uint64_t seed);
uint64_t rng_next(rng_t *r);
/* Uniform in [0, n); 0 when n is 0. */
uint64_t rng_below(rng_t *r, uint64_t n);
/* Uniform in [0, 1). */
double rng_unit(rng_t *r);
/* True with probability p (p <= 0 never, p >= 1 always, without drawing). */
bool rng_chance(rng_t *r, double p);

#endif
