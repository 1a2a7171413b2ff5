/*
 * swim_awareness.c - Lifeguard local health: a score in 0..max-1 that rises
 * when this node sees signs that it, rather than its peers, is slow (missed
 * ACKs and NACKs, having to refute a suspicion) and falls with each
 * successful probe. Probe interval and timeout are stretched by score + 1,
 * so a struggling node probes less and waits longer before accusing others.
 *
 * Invariant: 0 <= score <= max - 1, with 1 <= max <= AWARENESS_CAP.
 */
#include "swim_internal.h"

/* Keeps score + delta far from int overflow; nothing useful stretches probes further. */
#define AWARENESS_CAP 1024

void swim_awareness_init(swim_awareness_t *a, uint32_t awareness_max) {
  a->score = 0;
  a->max = awareness_max < 1 ? 1 : awareness_max > AWARENESS_CAP ? AWARENESS_CAP : (int)awareness_max;
}

void swim_awareness_apply(swim_awareness_t *a, int delta) {
  if (delta > AWARENESS_CAP) delta = AWARENESS_CAP;
  if (delta < -AWARENESS_CAP) delta = -AWARENESS_CAP;
  int v = a->score + delta;
  a->score = v < 0 ? 0 : v > a->max - 1 ? a->max - 1 : v;
}

uint64_t swim_awareness_scale(const swim_awareness_t *a, uint64_t ms) {
  return ms * (uint64_t)(a->score + 1);
}
