/*
 * ranges.h - the token ranges two members both replicate: what their
 * anti-entropy trees are compared over (DESIGN §9).
 *
 * Pure module: no I/O. On a ring (ring.h), vnode i owns the tokens
 * (token of vnode i-1, token of vnode i] (vnode 0 also the wrap-around),
 * and the first n distinct members clockwise from it replicate them. Two
 * members share a range when both are among those n. Every node that sees
 * the same ring computes the same ranges, byte for byte.
 */
#ifndef CHORUS_RANGES_H
#define CHORUS_RANGES_H

#include <stddef.h>
#include <stdint.h>

#include "../ring/ring.h"
#include "../storage/merkle.h"

/* The ranges replicated by both a and b (a == b: by a) with n replicas,
 * normalised (merkle_ranges_normalize); *out is malloc'd (NULL when *count
 * is 0). A member not on the ring shares nothing. CHORUS_EINVAL, CHORUS_ENOMEM. */
int ranges_shared(const ring_t *r, uint32_t n, const char *a, const char *b, merkle_range_t **out,
                  size_t *count);

/* How many tokens the ranges hold, saturating at UINT64_MAX. */
uint64_t ranges_tokens(const merkle_range_t *r, size_t n);

#endif
