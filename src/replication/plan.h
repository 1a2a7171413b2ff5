/*
 * plan.h - who takes part in a coordinated request (pure: ring + liveness
 * in, targets out).
 *
 * The preference list of a key is the first N distinct members clockwise
 * from its token (ring.h); N is capped at the ring's member count, so a
 * cluster smaller than N keeps every key on every member. A member is up
 * when membership says alive or suspected (a suspect still answers until
 * proven dead); dead members stay on the ring and are routed around:
 *
 *  - write: every up preference member is a target. For each down one, the
 *    next up member clockwise outside the preference list (each used once)
 *    takes its write as a hint and counts toward W (Dynamo's sloppy
 *    quorum). When no such member exists (a 3-node cluster with N = 3), the
 *    coordinator keeps the hint itself and it does not count.
 *  - read: every up preference member is a target.
 *
 * The coordinator of a write is a preference member: this node if it is
 * one, else the first up one (the request is forwarded to it); with none up
 * there is no coordinator.
 */
#ifndef CHORUS_PLAN_H
#define CHORUS_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/node_id.h"
#include "../ring/ring.h"
#include "quorum.h"

#define PLAN_MAX_REPLICAS 15

/* Whether member id is up (alive or suspected). */
typedef bool (*plan_up_fn)(const char *id, void *state);

typedef struct {
  char node[NODE_ID_MAX + 1];
  char hint_for[NODE_ID_MAX + 1]; /* "" or the preference member this target stands in for */
  bool counts;                    /* toward the quorum */
  bool pending;                   /* a next owner that is not an owner yet (never counts) */
} plan_target_t;

typedef struct {
  uint64_t token;
  size_t n;                                      /* effective N: min(N, members) */
  char pref[PLAN_MAX_REPLICAS][NODE_ID_MAX + 1]; /* the preference list, n entries */
  bool pref_up[PLAN_MAX_REPLICAS];
  size_t n_fallbacks;                /* the rest of the ring, in walk order */
  char coordinator[NODE_ID_MAX + 1]; /* "" when no preference member is up */
  bool self_is_replica;
  plan_target_t targets[QUORUM_MAX_TARGETS]; /* see the top of this file */
  size_t n_targets;
  char local_hints[PLAN_MAX_REPLICAS][NODE_ID_MAX + 1]; /* write: owners whose hint the coordinator keeps */
  size_t n_local_hints;
} plan_t;

typedef enum { PLAN_READ = 1, PLAN_WRITE = 2 } plan_kind_t;

/* Plans a request for the key with token `token` on ring r as seen by self.
 * replicas is N (1..PLAN_MAX_REPLICAS). CHORUS_EINVAL for bad arguments;
 * an empty ring gives n = 0 and no targets. */
int plan_make(const ring_t *r, uint64_t token, size_t replicas, const char *self, plan_kind_t kind,
              plan_up_fn up, void *state, plan_t *out);

/* Ownership moving (view.h): adds to a write's plan each up member of the
 * key's preference list on the next ring that is neither an owner nor
 * already a target, as a pending target that does not count toward W (the
 * owners alone make the quorum, so reads by the owners' ring see every
 * acknowledged write). next == the plan's ring adds nothing. */
int plan_add_pending(plan_t *p, const ring_t *next, size_t replicas, plan_up_fn up, void *state);

/* min(q, p->n), at least 1: a quorum capped to the replicas that exist. */
uint32_t plan_cap_quorum(const plan_t *p, uint32_t q);

#endif
