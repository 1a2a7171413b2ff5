/*
 * kv_cluster.h - a key-value cluster in one process, for the key-value
 * simulator (kv_sim): KV_NODES nodes, each with the real SWIM core (run by
 * sim_cluster.h, as in swim_sim), the real replication coordinator
 * (src/replication/coord*.c) on a simulated env, a cluster view fed from
 * its member table, and a simulated store (kv_store.h).
 *
 * What is simulated, and by which file:
 *   kv_node.c   a node's life (start, crash, restart), its store's job
 *               queue, the worker pool, the coordinator's wake-ups and ticks
 *   kv_peer.c   the peer transport: requests and replies as bytes through
 *               the real peer codec, over sim_net's latency, loss and
 *               partitions, with timeouts
 *   kv_client.c clients doing read-modify-writes, and the log of writes
 *   kv_check.c  the check of DESIGN §9 after the run
 *   kv_run.c    one seeded run: faults, phases, figures
 *
 * Every one of these acts through events on sim_cluster's queue
 * (SIM_EV_EXT, payload kv_ev_t), so SWIM and key-value traffic share one
 * clock and one order, and the run is a function of the seed alone. An
 * event of a node's earlier life (epoch) is void; the trace hash folds in
 * every event that acts.
 */
#ifndef CHORUS_KV_CLUSTER_H
#define CHORUS_KV_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/rng.h"
#include "kv_store.h"
#include "replication/coord.h"
#include "sim_cluster.h"

#define KV_NODES 5

typedef enum {
  KV_EV_DRAIN = 1,    /* node: the coordinator's inbox has items */
  KV_EV_TICK,         /* node: coord_tick is due (id: tick generation) */
  KV_EV_JOB,          /* node: the store applies its oldest queued job (id: the job's) */
  KV_EV_WORK,         /* node: a worker-pool item runs (id: its table id) */
  KV_EV_PEER_REQ,     /* node receives a request from peer (id: call; bytes: the message) */
  KV_EV_PEER_REPLY,   /* node receives the reply to its call id from peer (bytes) */
  KV_EV_PEER_REFUSED, /* node's call id failed: the peer's process is not running */
  KV_EV_PEER_TIMEOUT, /* node's call id is past its deadline */
  KV_EV_CLIENT,       /* client number node takes its next step */
  KV_EV_FAULT,        /* the run's fault number id happens (kv_run.c) */
  KV_EV_STOP,         /* node: it left the cluster, and stops (as chorusd after a leave) */
} kv_ev_type_t;

/* The payload of a SIM_EV_EXT event (gen = type). */
typedef struct {
  uint32_t epoch; /* the node's life it belongs to */
  uint64_t id;
  size_t len;
  uint8_t bytes[];
} kv_ev_t;

/* Ids of things in flight (peer calls, worker-pool items): id i + 1 is
 * v[i]; a finished one is NULL. It only grows: a run's few hundred
 * thousand ids cost a few MB. */
typedef struct {
  void **v;
  size_t n, cap;
} kv_table_t;

typedef struct kv_job kv_job_t; /* kv_node.c */
typedef struct kv_cluster kv_cluster_t;

typedef struct {
  kv_cluster_t *kc;
  uint32_t idx;
  char id[NODE_ID_MAX + 1];
  swim_addr_t addr;
  uint32_t epoch; /* +1 at every start and crash */
  bool up;
  coord_t *coord;             /* NULL while down */
  view_holder_t *view;        /* NULL while down */
  kv_store_t *store;          /* survives crashes */
  kv_job_t *jobs, *jobs_tail; /* submitted, not yet applied, in submission order */
  uint64_t job_seq;
  uint64_t last_job_at; /* when the newest queued job is applied */
  bool drain_due;
  uint64_t tick_at, tick_gen;
  uint32_t crashes;
  /* ownership transfers: the node's saved transfer state (its data dir's
   * file; survives crashes, not a wipe), whether it ever started, and
   * whether it left the cluster or was removed (then it never restarts) */
  buf_t xfer_state;
  bool started, gone;
  coord_req_t leave_req; /* KV_F_LEAVE's request, and its fault's id */
  uint64_t leave_fault;
} kv_node_t;

typedef struct {
  uint64_t peer_msgs, peer_lost, peer_cut, peer_refused, peer_timeouts, peer_codec_errors;
  uint64_t peer_garbled;              /* anti-entropy messages a garbling node changed (KV_F_GARBLE) */
  uint64_t store_jobs, store_dropped; /* applied; dropped by a crash */
  uint64_t events;                    /* key-value events that acted */
  /* the coordinators' own counters (coord_stats_t), summed over every life */
  uint64_t writes, reads, forwarded, quorum_failures, read_repairs, hints_kept, hints_delivered;
} kv_stats_t;

typedef struct kv_clients kv_clients_t; /* kv_client.c */

struct kv_cluster {
  sim_cluster_t *sim;
  config_t cfg;
  kv_node_t nodes[KV_NODES];
  rng_t rng;        /* store latencies, client choices, faults */
  rng_t garble_rng; /* what a garbling node changes */
  int64_t garbler;  /* the node whose anti-entropy messages are garbage now, or -1 */
  kv_table_t calls, works;
  kv_clients_t *clients;
  struct kv_faults *faults; /* kv_run.c */
  kv_stats_t st;
  uint64_t max_steps; /* a run stops with CHORUS_ETOOBIG past this many events */
  int fatal;          /* the first error of a callback that cannot return one; stops the run */
};

typedef struct {
  uint64_t seed;
  double sabotage; /* kv_store.h */
  uint32_t delay_ms, jitter_ms;
} kv_cluster_opts_t;

int kv_cluster_create(const kv_cluster_opts_t *o, kv_cluster_t **out);
void kv_cluster_destroy(kv_cluster_t *kc);

/* Queues an event of type for node at time at; bytes (len) are copied. */
int kv_schedule(kv_cluster_t *kc, uint64_t at, kv_ev_type_t type, uint32_t node, uint32_t peer,
                uint32_t epoch, uint64_t id, const void *bytes, size_t len);
uint64_t kv_now(const kv_cluster_t *kc);

int kv_table_add(kv_table_t *t, void *p, uint64_t *id);
/* The item under id, removed from the table; NULL if none. */
void *kv_table_take(kv_table_t *t, uint64_t id);
void kv_table_free(kv_table_t *t);

/* The dispatchers of each file (kv_cluster.c routes by type). */
int kv_node_on_event(kv_cluster_t *kc, kv_ev_type_t type, const sim_event_t *ev, const kv_ev_t *p);
int kv_peer_on_event(kv_cluster_t *kc, kv_ev_type_t type, const sim_event_t *ev, const kv_ev_t *p);
int kv_client_on_event(kv_cluster_t *kc, const sim_event_t *ev);
int kv_faults_on_event(kv_cluster_t *kc, const kv_ev_t *p);

#endif
