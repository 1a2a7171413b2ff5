/*
 * coord.h - the node's replication service, on the loop thread: it owns
 * the peer transport, answers peers' requests (membership push-pull,
 * replica writes and reads, forwarded client writes, event logs), and
 * coordinates client requests over the ring (DESIGN §5):
 *
 *  - PUT/DELETE: a preference-list member coordinates (another node
 *    forwards the request to the first live one). It applies the write
 *    durably, sends the resulting state to the other replicas in parallel
 *    (to fallback nodes as hints for replicas that are down, or keeps the
 *    hint itself when there is no fallback), and answers once W counting
 *    targets (itself included) applied it, or 503 when W cannot be met
 *    within --request-timeout; either answer waits for the hints it keeps
 *    itself to be committed (or refused), since it names them.
 *  - GET: asks the live replicas, merges their states (DVV sync) after R
 *    replies, answers, and repairs stale replicas in the background.
 *
 * Threads: coord_start / coord_close, peer traffic and coordination run on
 * the loop thread. HTTP threads hand client requests over with coord_submit
 * (a queue and a wake-up of the loop); the request's done callback runs on
 * the loop thread once its result is final. Engine completions come back
 * through a second queue. Everything outside the service (time, peers, the
 * store) is reached through coord_env_t. Reads of the store that scan
 * LevelDB (this node's part of an events gather, a batch of hints) run on
 * the env's worker pool, never on the loop.
 */
#ifndef CHORUS_COORD_H
#define CHORUS_COORD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "../gossip/gossip.h"
#include "../storage/engine.h"
#include "peer_net.h"
#include "aae.h"
#include "plan.h"
#include "quorum.h"
#include "view.h"
#include "xfer.h"

typedef struct coord coord_t;

/* One member's answer to a gathering request (COORD_EVENTS). The loop only
 * moves these bytes: whoever answers the request decodes them
 * (events_part_decode) where that costs the loop nothing. */
typedef struct {
  char node[NODE_ID_MAX + 1];
  int status; /* 0, or why this member did not answer */
  buf_t body; /* its part, encoded (events_part.h), as the member produced it */
} coord_part_t;

/* Who took part in a request and how, as the client's reply shows it:
 * the node responsible, and the lists named by PEER_FWD_REPLICAS, _OK,
 * _FAILED, _HINTED, _REPAIRED and _PENDING (the same form travels in a
 * forwarded write's reply). */
typedef struct {
  char responsible[NODE_ID_MAX + 1];
  peer_nodes_t lists[PEER_FWD_LISTS];
  bool quorum_achieved;
  uint32_t required;
} coord_outcome_t;

/* What a coordinated request produced. */
typedef struct {
  int err;             /* 0; CHORUS_ENOTFOUND (no live value); CHORUS_ETIMEDOUT (quorum not met);
                          CHORUS_EBUSY (no replica reachable); storage errors as engine_job_t.err */
  bool no_space;       /* the coordinator's disk is full */
  bool request_reused; /* X-Request-Id reused for another key or op */
  dvv_t state;         /* write: the state written; read: the merged state */
  dvv_dot_t dot;       /* write: its dot, once applied (counter 0: none, or a retry of a request id) */
  dvv_dots_t replaced; /* write: the dots of the siblings it made obsolete at its coordinator */
  uint64_t event_id;   /* the coordinator's event for the request (0: none) */
  plan_t plan;         /* preference list and coordinator */
  quorum_t quorum;     /* targets and how each answered (at the moment of the answer) */
  uint32_t required;   /* W or R as applied (capped at the replicas that exist) */
  char repaired[QUORUM_MAX_TARGETS][NODE_ID_MAX + 1]; /* read: replicas sent a repair */
  size_t n_repaired;
  char local_hints[PLAN_MAX_REPLICAS][NODE_ID_MAX + 1]; /* write: owners down with no stand-in */
  size_t n_local_hints;
  size_t hints_kept; /* write: hints this node committed for it before answering (one refused at
                        --max-hints or for lack of memory is not counted) */
  /* Forwarded to another coordinator: who took part, as it reported (the
   * other fields above are its result too) */
  bool forwarded;
  coord_outcome_t outcome;
  /* COORD_EVENTS: every live member's part, this node first; COORD_KEYS:
   * every live member's keyring (ids, the primary first) or its error */
  coord_part_t *parts;
  size_t n_parts;
  /* COORD_COMPARE: the comparison (malloc'd; coord_result_free frees it) */
  aae_compare_t *compare;
  /* COORD_REPAIR: peers queued */
  size_t queued;
} coord_result_t;

typedef enum {
  COORD_DATA = 0,    /* a PUT, GET or DELETE of a key */
  COORD_EVENTS = 1,  /* the event logs of all live members */
  COORD_COMPARE = 2, /* this node's tree against a live peer's (coord_aae.c), no repair */
  COORD_REPAIR = 3,  /* an exchange with every live peer, now, in turn (coord_aae.c) */
  COORD_LEAVE = 4,   /* leave the cluster for good, handing every record off first (coord_xfer.c) */
  COORD_KEYS = 5,    /* list or change the keyring of every live member (coord_keys.c) */
} coord_kind_t;

typedef struct coord_req coord_req_t;
typedef void (*coord_done_fn)(coord_req_t *req);

/* COORD_EVENTS: a member's own cursor (events with id > since). */
typedef struct {
  char node[NODE_ID_MAX + 1];
  uint64_t since;
} coord_cursor_t;

/* A client request, owned by the submitter until done is called. */
struct coord_req {
  coord_kind_t kind;
  uint64_t since; /* COORD_EVENTS: per member, 0 = the newest limit events */
  uint32_t limit;
  const coord_cursor_t *cursors; /* COORD_EVENTS: members asked from their own since instead; */
  size_t n_cursors;              /* owned by the submitter, read when the gather starts */
  engine_op_t op;                /* COORD_DATA: ENGINE_PUT, ENGINE_GET or ENGINE_DELETE */
  const char *key;
  size_t key_len;
  const char *node;     /* COORD_COMPARE: the peer */
  const uint8_t *value; /* PUT */
  size_t value_len;
  const vv_t *ctx;        /* NULL: none */
  const char *request_id; /* NULL or "": none */
  uint32_t r, w;          /* 0: the configured quorum */
  bool force;             /* COORD_LEAVE: even when fewer than N members would remain */
  int keys_op;            /* COORD_KEYS: PEER_KEYS_LIST, _INSTALL, _USE or _REMOVE */
  keyring_entry_t keys_entry;             /* COORD_KEYS install: the key, or none */
  uint8_t keys_id[KEYRING_ID_BYTES];      /* COORD_KEYS use, remove: the entry's id */
  bool keys_local;        /* COORD_KEYS: this node only, without the safety round */
  coord_done_fn done;     /* loop thread, exactly once */
  void *user;
  coord_result_t result;  /* valid when done runs; release with coord_result_free */
  struct coord_req *next; /* queue link (private) */
};

void coord_result_init(coord_result_t *r);
void coord_result_free(coord_result_t *r);
/* Who took part in req and how (its result must be final). */
void coord_outcome(const coord_req_t *req, coord_outcome_t *out);

typedef struct {
  const config_t *cfg;
  const char *node_id;
  engine_t *engine; /* also read on libuv's thread pool (event log parts, hints) until coord_close */
  view_holder_t *view;
  bool fresh;                   /* the store is new and the node has seeds: it joins (coord_xfer.c) */
  const char *state_path;       /* where the transfer state is kept (NULL: nowhere) */
  keyring_t *keyring;           /* the node's keyring: the transports seal with it, COORD_KEYS changes it */
  const char *keyring_path;     /* where a changed keyring is saved (NULL: nowhere) */
  void (*on_left)(void *state); /* loop: the node left the cluster for good; it should stop */
  void *state;
} coord_opts_t;

/*
 * The seam between the replication service and the world, in the style of
 * LevelDB's env: time, the peer transport, the store and the worker pool,
 * as a table of functions with one state pointer. coord_start fills it
 * with libuv, the peer transport and the engine (coord_uv.c); a simulator
 * fills it with simulated time, an in-memory network and store, and drives
 * the service through coord_create, coord_on_request, coord_drain and
 * coord_tick on one thread. The service itself never calls libuv, the
 * transport or the engine directly.
 */
typedef struct {
  void *state;
  uint64_t (*now_ms)(void *state);  /* the loop's clock, monotonic */
  uint64_t (*wall_ms)(void *state); /* the store's clock: tombstones' and hints' times (ms since the epoch) */
  /* Sends a request; the reply or failure goes to cb exactly once (on the
   * loop). Non-zero: nothing was sent and cb will not run. */
  int (*request)(void *state, const swim_addr_t *to, peer_msg_t *msg, uint64_t timeout_ms, peer_reply_fn cb,
                 void *arg);
  /* Answers a peer's request received through coord_on_request. */
  int (*respond)(void *state, peer_conn_t *conn, uint64_t req_id, peer_msg_t *msg);
  /* A request's connection is held while the service works on it. */
  void (*conn_hold)(void *state, peer_conn_t *conn);
  void (*conn_release)(void *state, peer_conn_t *conn);
  /* The store (engine.h): jobs complete through their engine_hook_t, from
   * any thread; the service hands them to the loop itself (coord_drain). */
  int (*submit)(void *state, engine_job_t *job);
  int (*clock)(void *state, vv_t *out);
  int (*hints)(void *state, const char *owner, size_t limit, engine_hint_t **out, size_t *n);
  int (*hint_counts)(void *state, engine_hint_count_t **out, size_t *n);
  /* This node's part of an events gather, encoded (events_part.h), and the
   * clock it carries: events with id > since (0: the newest limit), at most
   * limit. Called on the worker pool. */
  int (*events_part)(void *state, uint64_t since, uint32_t limit, buf_t *out, vv_t *clock);
  /* Runs run(arg) off the loop, then after(arg, status) on it (status
   * non-zero: run was cancelled). Non-zero: neither will run. */
  int (*work)(void *state, void (*run)(void *arg), void (*after)(void *arg, int status), void *arg);
  /* Any thread, under the inbox's lock: the inbox has items; call
   * coord_drain on the loop soon. */
  void (*wake)(void *state);
  /* Requests are in flight: tick at the fast rate (COORD_TICK_MS) again. */
  void (*fast_ticks)(void *state);
  /* The anti-entropy tree (engine.h's engine_tree_*, engine_record_read):
   * all NULL when the store keeps none (no anti-entropy then). tree_info
   * any thread; the others read the store: worker pool only. */
  void (*tree_info)(void *state, engine_tree_info_t *out);
  int (*tree_hashes)(void *state, const merkle_range_t *r, size_t nr, unsigned level, const uint64_t *idx,
                     size_t n, uint64_t *out);
  int (*tree_keys)(void *state, const merkle_range_t *r, size_t nr, const uint32_t *segs, size_t n,
                   buf_t *out);
  int (*record_read)(void *state, const char *key, size_t key_len, dvv_t *out);
  /* Any thread: whether the node has joined its seeds' cluster (NULL:
   * always). Until it has, client requests are refused (CHORUS_ENOTJOINED):
   * its ring holds only itself, and it would act as a lone node. */
  bool (*joined)(void *state);
  /* Tombstone collection (engine_tombstones): worker pool; NULL: none. */
  int (*tombstones)(void *state, uint64_t before_ms, size_t limit, engine_tombstone_t **out, size_t *n);
  /* Ownership transfers (coord_xfer.c). records_in (engine_records_in):
   * worker pool; NULL: no transfers. xfer_save: worker pool, xfer_load:
   * at create (CHORUS_ENOTFOUND: nothing saved); NULL: nothing is kept.
   * set_phase, leave (loop): this node's phase and its LEFT, through
   * membership; NULL: none. */
  int (*records_in)(void *state, const merkle_range_t *r, size_t nr, const engine_cursor_t *from,
                    engine_range_fn fn, void *arg);
  int (*xfer_save)(void *state, const uint8_t *p, size_t len);
  /* The keyring's file form (keyring.h), durably, on the loop (a rotation
   * step is rare: coord_keys.c); NULL: not kept. */
  int (*keyring_save)(void *state, const uint8_t *p, size_t len);
  int (*xfer_load)(void *state, buf_t *out);
  void (*set_phase)(void *state, swim_phase_t phase);
  void (*leave)(void *state);
} coord_env_t;

#define COORD_TICK_MS 20        /* while requests are in flight: their deadlines */
#define COORD_IDLE_TICK_MS 1000 /* otherwise: hint delivery and expiry only */

/* A service on env (copied), without a transport or timers of its own. */
int coord_create(const coord_env_t *env, const coord_opts_t *opts, coord_t **out);
/* Loop: a peer's request arrived on conn. */
void coord_on_request(coord_t *c, peer_conn_t *conn, const peer_msg_t *req);
/* Loop: runs what the inbox holds (client requests, engine completions). */
void coord_drain(coord_t *c);
/* Loop: deadlines, hint delivery and expiry; returns the tick interval the
 * service wants next (COORD_TICK_MS or COORD_IDLE_TICK_MS). */
uint64_t coord_tick(coord_t *c, uint64_t now);
/* Loop: like coord_close, without a transport to close. */
void coord_shutdown(coord_t *c);
/* After every job submitted has completed and been drained: frees c. */
void coord_free(coord_t *c);

/* Loop thread: binds the peer transport's listener. */
int coord_start(uv_loop_t *loop, const coord_opts_t *opts, coord_t **out);
/* Loop thread: the membership shell, once started (push-pulls arriving
 * before are refused). */
void coord_set_gossip(coord_t *c, gossip_t *g);
/* What the membership shell sends its push-pulls through. */
gossip_transport_t coord_gossip_transport(coord_t *c);
/* Any thread: whether gossip and peer traffic are sealed now (the
 * keyring's primary is a key). */
bool coord_keys_sealed(coord_t *c);
/* Any thread: queues a client request for the loop. CHORUS_ESHUTDOWN once
 * closing (done will not be called). */
int coord_submit(coord_t *c, coord_req_t *req);
/* Whether requests need coordination: the ring has other members, or the
 * node has not joined its seeds' cluster yet. */
bool coord_needed(coord_t *c);
/* Loop thread: stops serving peers, fails what is in flight on the network
 * and answers queued requests with CHORUS_ESHUTDOWN. It waits for any read
 * of the engine running on the thread pool to finish, and none starts
 * after it, so the engine may be closed next. Engine jobs may still
 * complete: close the engine, then coord_destroy. */
void coord_close(coord_t *c);
/* After engine_close: releases what the engine handed back; c itself is
 * freed once its loop handles have closed and every thread-pool work item
 * has come back (the loop must run: loop_destroy does). */
void coord_destroy(coord_t *c);

typedef struct {
  atomic_uint_fast64_t writes, reads;    /* coordinated here */
  atomic_uint_fast64_t forwarded;        /* writes sent to a replica to coordinate */
  atomic_uint_fast64_t quorum_failures;  /* answered 503: W or R not met in time */
  atomic_uint_fast64_t replica_failures; /* replica writes and reads that failed or timed out */
  atomic_uint_fast64_t read_repairs;     /* repairs sent to stale replicas */
  atomic_uint_fast64_t hints_kept;       /* hints stored here for replicas that missed a write */
  atomic_uint_fast64_t hints_delivered;  /* kept hints merged by their owner and deleted */
} coord_stats_t;

/* Any thread. */
const peer_net_counters_t *coord_peer_counters(const coord_t *c);
const coord_stats_t *coord_stats(const coord_t *c);
/* Any thread: anti-entropy's state and its last exchange per peer. */
void coord_aae_status(coord_t *c, aae_status_t *out);
/* Loop thread: exchange with every live peer now, in turn (POST
 * /api/v1/repair); *queued peers wait. CHORUS_ENOTFOUND: no tree here. */
int coord_aae_repair_all(coord_t *c, size_t *queued);
/* This node's phase (swim_msg.h) as its transfers left it: what
 * membership announces at start. */
swim_phase_t coord_phase(const coord_t *c);
/* Any thread: the transfers' status (xfer.h). */
void coord_xfer_status(coord_t *c, xfer_status_t *out);

#endif
