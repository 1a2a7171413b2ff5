/*
 * kv_node.h - one node of the key-value simulator: its life (start,
 * crash, restart), its cluster view, and the parts of the coordinator's
 * env that are not the network (kv_peer.h): time, the store's job queue,
 * the worker pool, wake-ups and ticks.
 *
 * A crash is a process kill with --fsync=always: the store keeps every
 * job it applied and loses the ones still queued; the coordinator, its
 * view and everything in flight are gone; SWIM stops. A start after a
 * crash builds a new coordinator and view over the same store and starts
 * SWIM with a higher incarnation (sim_cluster_start).
 */
#ifndef CHORUS_KV_NODE_H
#define CHORUS_KV_NODE_H

#include "kv_cluster.h"

/* Node i's name, address and store (before the node first starts). */
int kv_node_init(kv_cluster_t *kc, uint32_t i, double sabotage, uint64_t store_seed);
/* Crashes node i if it runs, then frees its store. */
void kv_node_fini(kv_cluster_t *kc, uint32_t i);
/* Starts node i; joins through node seed unless seed < 0. */
int kv_node_start(kv_cluster_t *kc, uint32_t i, int64_t seed);
void kv_node_crash(kv_cluster_t *kc, uint32_t i);
/* Node i's member table changed: its coordinator's view follows. */
void kv_node_publish(kv_cluster_t *kc, uint32_t i);

#endif
