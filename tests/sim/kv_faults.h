/*
 * kv_faults.h - the faults of one kv_sim run, drawn from its seed: crashes
 * and restarts of one or two nodes (at most two of five down at once, so a
 * key always keeps a live majority of its ring; one crash in three loses
 * the node's disk, which anti-entropy must refill), a window of packet loss
 * (1-5%, SWIM and peer traffic alike), a partition of one or two nodes
 * from the rest that heals, and a window in which one node's anti-entropy
 * messages are garbage (kv_peer.c: hashes, key lists, node and segment
 * lists changed so the frame still decodes). Every fault ends inside the
 * chaos phase: after it the network is whole and every node runs.
 *
 * With membership changes (kv_opts_t.membership) the run starts with four
 * nodes and ownership moves three times during the chaos: node 4 joins
 * (new, empty), one node leaves (POST /gossip/leave: it hands off and
 * stops for good) and another is killed for good and removed by an
 * operator once it is dead. Crashes then hit only the one node left out of
 * those, and never lose its disk (a removed node's copies are gone for
 * good: a second loss would be two of a key's three).
 */
#ifndef CHORUS_KV_FAULTS_H
#define CHORUS_KV_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include "kv_cluster.h"

#define KV_FAULTS_MAX 24
#define KV_JOINER (KV_NODES - 1) /* with membership changes: the node that joins */

typedef enum {
  KV_F_CRASH,
  KV_F_WIPE, /* a crash that loses the node's disk: it restarts empty, under a new actor */
  KV_F_RESTART,
  KV_F_LOSS,
  KV_F_LOSS_END,
  KV_F_PARTITION,
  KV_F_HEAL,
  KV_F_GARBLE,
  KV_F_GARBLE_END,
  KV_F_JOIN,   /* a node that never ran starts, joining through a live one */
  KV_F_LEAVE,  /* a node leaves the cluster for good (COORD_LEAVE) */
  KV_F_REMOVE, /* a live node removes a dead one for good (tried again until it is dead there) */
} kv_fault_kind_t;

typedef struct {
  uint64_t at; /* ms after the chaos phase starts */
  kv_fault_kind_t kind;
  uint32_t node; /* CRASH, RESTART, GARBLE */
  uint32_t side; /* PARTITION: bit i = node i is cut off from the others */
  double loss;   /* LOSS */
} kv_fault_t;

struct kv_faults {
  kv_fault_t v[KV_FAULTS_MAX];
  size_t n;
};
typedef struct kv_faults kv_faults_t;

/* Draws the faults of a chaos phase len_ms long (with membership changes
 * or not). */
void kv_faults_draw(rng_t *rng, uint64_t len_ms, bool membership, kv_faults_t *f);
/* Queues them from now on (kc->faults = f, which must outlive the run). */
int kv_faults_schedule(kv_cluster_t *kc, kv_faults_t *f);
/* One line: "crash 3@12.3s-20.1s loss 2.5%@... partition {1,4}@...". */
void kv_faults_describe(const kv_faults_t *f, char *out, size_t cap);

#endif
