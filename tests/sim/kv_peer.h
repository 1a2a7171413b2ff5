/*
 * kv_peer.h - the simulated peer transport behind the coordinator's env
 * (coord_env_t.request, respond, conn_hold, conn_release).
 *
 * A request is encoded with the real peer codec (peer_codec.h) and travels
 * as bytes: sim_net draws its latency and whether it is lost, and decides
 * at delivery whether the ends can reach each other (partitions), exactly
 * as for SWIM's packets. The receiver's coordinator gets the decoded
 * message with a connection handle of this file's own (a kv_conn_t passed
 * as peer_conn_t *, never dereferenced by the coordinator); its reply
 * takes the same road back. Every request's callback runs exactly once:
 * with the reply, with CHORUS_EIO when the target's process is not running
 * (a refused connection, one latency later), with CHORUS_ETIMEDOUT at the
 * deadline when nothing came back (loss, partition, a target that died
 * holding it), or with CHORUS_ESHUTDOWN when the requester itself crashes
 * (kv_peer_fail_calls), as peer_net_close fails what is in flight. A
 * callback never runs inside the request call that started it (see
 * kv_node.c on why the teardown must not fail anything synchronously).
 */
#ifndef CHORUS_KV_PEER_H
#define CHORUS_KV_PEER_H

#include "kv_cluster.h"

/* Fills the network functions of env. */
void kv_peer_env(coord_env_t *env);
/* Node i crashed: its calls in flight fail with CHORUS_ESHUTDOWN; returns
 * how many. */
size_t kv_peer_fail_calls(kv_cluster_t *kc, uint32_t i);

#endif
