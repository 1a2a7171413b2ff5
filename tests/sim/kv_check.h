/*
 * kv_check.h - the verdict of a kv_sim run, as DESIGN §9 defines it.
 *
 * Read after the faults healed and the cluster went quiet, straight from
 * every node's store (never through a coordinator). F(k) is the union of
 * the siblings of key k over all stores; tombstones that tombstone
 * collection dropped count as present. A sibling names its write: a live
 * one by its value ("w<id>"), a tombstone by the context its delete was
 * sent with (two deletes of a key sent with equal contexts are named
 * together: they saw the same state, so they supersede the same writes).
 * w' supersedes w when w is among the siblings w' read (obs(w')),
 * transitively.
 *
 *   lost       acknowledged writes neither in F(k) nor superseded by a
 *              write (acknowledged or not) that is
 *   phantom    siblings in F(k) that no write of the run made
 *   resurrected siblings in F(k) naming a write that an acknowledged write
 *              superseded (a collected delete's older value back)
 *   divergent  keys whose preference-list replicas hold different states
 *   stray      records on a member outside the key's preference list (an
 *              ownership change must hand every one off and drop it); the
 *              ring is that of the members at the end: nodes that ran and
 *              neither left nor were removed
 *              (a figure, not a failure: without anti-entropy a replica
 *              that missed a write may stay behind until a read repairs it)
 *
 * Cost: O(stores x siblings + writes x siblings read) per key, with a
 * linear search of the key's deletes for a tombstone's name.
 */
#ifndef CHORUS_KV_CHECK_H
#define CHORUS_KV_CHECK_H

#include "kv_client.h"

typedef struct {
  uint64_t writes, acked, failed, pending; /* pending: unanswered when checked (a fault in itself) */
  uint64_t lost, phantom, resurrected, divergent;
  uint64_t stray; /* records a member holds of a key it does not own */
  uint64_t keys, hints_left;
  uint64_t reaped; /* records tombstone collection dropped, over every store */
} kv_check_t;

int kv_check(const kv_cluster_t *kc, const kv_clients_t *cl, kv_check_t *out);

#endif
