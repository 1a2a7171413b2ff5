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
 */
#ifndef CHORUS_KV_FAULTS_H
#define CHORUS_KV_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include "kv_cluster.h"

#define KV_FAULTS_MAX 16

typedef enum {
  KV_F_CRASH,
  KV_F_WIPE, /* a crash that loses the node's disk: it restarts empty, under a new actor */
  KV_F_RESTART,
  KV_F_LOSS,
  KV_F_LOSS_END,
  KV_F_PARTITION,
  KV_F_HEAL,
  KV_F_GARBLE,
  KV_F_GARBLE_END
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

/* Draws the faults of a chaos phase len_ms long. */
void kv_faults_draw(rng_t *rng, uint64_t len_ms, kv_faults_t *f);
/* Queues them from now on (kc->faults = f, which must outlive the run). */
int kv_faults_schedule(kv_cluster_t *kc, kv_faults_t *f);
/* One line: "crash 3@12.3s-20.1s loss 2.5%@... partition {1,4}@...". */
void kv_faults_describe(const kv_faults_t *f, char *out, size_t cap);

#endif
