/*
 * xfer_plan.h - which token ranges move to a member when ownership changes,
 * and from whom (DESIGN §9): the pure planning part of an ownership
 * transfer. No I/O; every node that sees the same two rings plans the same.
 *
 * A range moves to self when self is among the first n members of its
 * preference list on the ring ownership moves to (`to`) and not on the ring
 * it moves from (`from`). Its sources are the members of its preference
 * list on `from`: first the one self takes the place of (the i-th member
 * that loses the range pairs with the i-th that gains it, each in
 * preference order), then the other losers, then the members that keep it.
 * Streaming from the member replaced keeps quorums intersecting: the new
 * owner set is the old one with that member swapped for self, holding at
 * least what it held. Ranges with the same source list are grouped.
 */
#ifndef CHORUS_XFER_PLAN_H
#define CHORUS_XFER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/node_id.h"
#include "../ring/ring.h"
#include "../storage/merkle.h"
#include "plan.h"

typedef struct {
  char sources[PLAN_MAX_REPLICAS][NODE_ID_MAX + 1]; /* in the order to try them */
  size_t n_sources;
  merkle_range_t *ranges; /* normalised, malloc'd */
  size_t nr;
} xfer_gain_t;

/* Whether a member may not serve as a source (removed, or self). */
typedef bool (*xfer_skip_fn)(const char *id, void *arg);

/* The ranges self gains from `from` to `to` with n replicas (1..
 * PLAN_MAX_REPLICAS), grouped by source list; sources for which skip (NULL:
 * none) says true are left out (a range left with no source is still
 * listed, with n_sources 0: nobody holds it). *out is malloc'd (NULL when
 * *count is 0); free with xfer_gains_free. CHORUS_EINVAL, CHORUS_ENOMEM. */
int xfer_plan_gains(const ring_t *from, const ring_t *to, uint32_t n, const char *self, xfer_skip_fn skip,
                    void *arg, xfer_gain_t **out, size_t *count);
void xfer_gains_free(xfer_gain_t *g, size_t count);

#endif
