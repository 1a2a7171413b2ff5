/*
 * sim_cluster.h - N SWIM cores in one process, driven by a virtual clock,
 * the event queue and the simulated network.
 *
 * Every core input (timer, packet, push-pull state, operator command) goes
 * through one path that then acts on all of its outputs: events update the
 * view counters, sends become packets (encoded, maybe lost, delayed),
 * push-pulls become two-leg TCP exchanges, and the node's timer is re-armed
 * at swim_next_deadline. A crashed node gets no input at all: its timers are
 * void and packets to or from it are dropped at delivery.
 *
 * Invariants: virtual time never goes backwards; each running node has at
 * most one valid TIMER event, due no later than its core's next deadline;
 * everything random is drawn from generators seeded by cfg.seed.
 */
#ifndef CHORUS_SIM_CLUSTER_H
#define CHORUS_SIM_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "gossip/swim.h"
#include "sim_heap.h"
#include "sim_net.h"
#include "common/rng.h"
#include "sim_view.h"
#include "sim_watch.h"
#include "sim_wire.h"

typedef struct {
  uint32_t capacity; /* node slots 0..capacity-1 */
  uint64_t seed;
  swim_config_t swim;
  sim_net_config_t net;
  uint64_t t0_ms;       /* virtual time at creation */
  uint64_t progress_ms; /* progress line period (sim_watch.h), 0 = none */
  uint64_t max_rss_mb;  /* stop runs beyond this resident size, 0 = no limit */
  bool long_names;      /* ids and hosts of the largest size (sim_addr.h) */
} sim_cluster_config_t;

#define SIM_REJOIN_MS 1000 /* a node not joined yet announces itself again this often */

typedef struct {
  uint64_t timer_at; /* due time of the node's valid TIMER event, SIM_NEVER if none */
  uint64_t timer_gen;
  uint64_t incarnation; /* as persisted from SWIM_EV_INCARNATION, for restarts */
  swim_phase_t phase;   /* the phase its next start announces (sim_cluster_start) */
  bool joined;          /* started as the founder, or a push-pull answer reached it since its start */
  int64_t join_seed;    /* the node it joins through (-1: the founder) */
  uint64_t rejoin_at;   /* not joined yet: when its timer announces it to the seed again */
  uint32_t spin;        /* ticks in a row at one ms that left the deadline <= now */
} sim_node_t;

/* Everything that means a core, the codec or the simulator misbehaved. */
typedef struct {
  sim_wire_faults_t wire;
  uint64_t core_errors; /* a core call returned < 0 other than CHORUS_ENOMEM (which stops the run) */
  int first_core_error;
  uint64_t stuck;        /* swim_next_deadline stayed <= now over SIM_SPIN_MAX ticks at one ms */
  uint64_t unknown;      /* events about strangers or with invalid statuses */
  uint64_t inconsistent; /* events contradicting earlier events */
} sim_faults_t;

/* A layer run on top of the SWIM cores (tests/sim/kv_*.c): its own events
 * share the queue and the clock (SIM_EV_EXT, dispatched to ext, which owns
 * nothing of ev: the cluster frees ev->data), and members is told when node
 * i's member table changed (after the core call that changed it, and when a
 * node starts with a table of itself alone). A negative return of ext stops
 * the run like a core's CHORUS_ENOMEM. */
typedef struct {
  int (*ext)(void *state, const sim_event_t *ev);
  void (*members)(void *state, uint32_t node);
  void *state;
} sim_layer_t;

typedef struct {
  sim_cluster_config_t cfg;
  uint64_t now;
  uint64_t node_ms; /* integral over virtual time of the number of running nodes */
  uint64_t steps;   /* queued events processed */
  uint64_t hash;    /* fingerprint of the run so far (sim_hash.h) */
  sim_node_t *nodes;
  swim_t **cores; /* NULL until started */
  sim_heap_t heap;
  sim_net_t net;
  sim_wire_t wire;
  sim_view_t view;
  rng_t rng; /* node seeds and scenario choices; the network has its own */
  sim_watch_t watch;
  swim_out_t out;
  swim_msg_t rx;
  uint64_t core_errors;
  int first_core_error;
  uint64_t late; /* ticks after which the deadline was still <= now (not a fault) */
  uint64_t stuck;
  sim_layer_t layer; /* zeroed: SWIM alone */
} sim_cluster_t;

/* Stops sim_cluster_run when it returns true; checked after every event. */
typedef bool (*sim_pred_t)(const sim_cluster_t *c, const void *arg);

int sim_cluster_create(const sim_cluster_config_t *cfg, sim_cluster_t **out);
void sim_cluster_destroy(sim_cluster_t *c);

/* Starts node i (again, after a crash: a new core with its last
 * incarnation) and, if seed >= 0, joins it through node seed. */
int sim_cluster_start(sim_cluster_t *c, uint32_t i, int64_t seed);
/* Node i was started as the founder, or has received a member table since
 * its start (a push-pull either way). */
bool sim_cluster_joined(const sim_cluster_t *c, uint32_t i);
void sim_cluster_crash(sim_cluster_t *c, uint32_t i);
int sim_cluster_leave(sim_cluster_t *c, uint32_t i);
/* Node i's phase (swim_set_phase); the next start of i announces it too. */
int sim_cluster_set_phase(sim_cluster_t *c, uint32_t i, swim_phase_t phase);
/* Node i removes member id (swim_remove: a dead one becomes LEFT everywhere). */
int sim_cluster_remove(sim_cluster_t *c, uint32_t i, const char *id);
void sim_cluster_set_group(sim_cluster_t *c, uint32_t i, uint32_t group);
void sim_cluster_set_loss(sim_cluster_t *c, double loss);
/* Installs the layer above SWIM (before any node starts). */
void sim_cluster_set_layer(sim_cluster_t *c, const sim_layer_t *layer);
/* Queues a SIM_EV_EXT event at time at (>= now); takes data (malloc'd)
 * on success and frees it on failure. */
int sim_cluster_schedule_ext(sim_cluster_t *c, uint64_t at, uint32_t node, uint32_t peer, uint64_t gen,
                             uint8_t *data, size_t len);

/* Processes events in order until pred holds (returns 1) or the next event
 * is later than until (returns 0, the clock then reads until unless until
 * is SIM_NEVER); CHORUS_ENOMEM (here or in a core), CHORUS_ETOOBIG (the
 * memory guard stopped the run). */
int sim_cluster_run(sim_cluster_t *c, uint64_t until, sim_pred_t pred, const void *arg);

void sim_cluster_faults(const sim_cluster_t *c, sim_faults_t *f);
uint64_t sim_faults_total(const sim_faults_t *f);

#endif
