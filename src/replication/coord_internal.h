/*
 * coord_internal.h - what the files of the replication service share.
 *
 *   coord.c         the service's life, the inbox (client requests and
 *                   engine completions handed to the loop), dispatch of
 *                   peers' requests, membership push-pull
 *   coord_uv.c      the libuv shell: the env (coord_env_t) on libuv, the
 *                   peer transport and the engine; timers and wake-ups
 *   coord_serve.c   serving peers: replica writes (merge or hint), reads,
 *                   forwarded client writes
 *   coord_client.c  coordinating client requests: plans, quorums, forwarding,
 *                   read repair, hints kept locally
 *   coord_hints.c   hinted handoff: delivering kept hints to their owners
 *   coord_gather.c  requests answered by every live member (event logs),
 *                   and this node's part of them, produced on the thread pool
 *   coord_xfer.c    ownership transfers: joins, leaves, removals, hand-off
 *   coord_xfer_serve.c  a peer's transfer: range streams, hand-offs
 *
 * Engine jobs submitted by the service are cjob_t: their completion (on the
 * writer thread) goes to the inbox and is handled on the loop by the cjob's
 * `finish` function. An op is one coordinated client request; it lives
 * until its answer is out and every message and job it started has come
 * back (pending == 0).
 *
 * Reads of the store that scan LevelDB (a batch of hints, this node's part
 * of an events gather) run on the env's worker pool as coord_work_t. Their
 * lifetimes at shutdown: the libuv shell skips a work function once it is
 * closing and waits in coord_close for those already reading the engine,
 * so none runs once the engine may be closed; the loop-side completion of
 * every work item still runs, and c is freed only after all of them
 * (works counts them).
 */
#ifndef CHORUS_COORD_INTERNAL_H
#define CHORUS_COORD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "../common/tqueue.h"
#include "../storage/recbatch.h"
#include "../storage/record.h"
#include "coord.h"

#define COORD_SPARE_OPS 64
#define XFER_STATE_FILE_MAX (64u << 20) /* a transfer state file larger than this is damaged */

typedef struct cjob cjob_t;
typedef struct op op_t;
typedef struct coord_work coord_work_t;

/* Work on the worker pool that reads the store (see above). */
struct coord_work {
  coord_t *c;
  int (*run)(coord_work_t *w);           /* worker; not called once closing */
  void (*done)(coord_work_t *w, int rc); /* loop thread, exactly once; may free w */
  int rc;                                /* run's result, or CHORUS_ESHUTDOWN */
};

struct cjob {
  engine_hook_t hook; /* first: job.user points here */
  engine_job_t job;
  coord_t *c;
  void (*finish)(cjob_t *j); /* loop thread; frees j */
  cjob_t *next;              /* inbox link */
  /* owned copies of the job's inputs */
  char *key;
  uint8_t *value;
  dvv_t incoming;
  vv_t remote_clock;
  char peer[NODE_ID_MAX + 1];
  char owner[NODE_ID_MAX + 1];
  char request_id[ENGINE_REQUEST_ID_MAX + 1];
  vv_t ctx;
  /* who waits for it */
  op_t *op;
  size_t target; /* op's quorum target index; for other users, the index of what it is for */
  peer_conn_t *conn;
  uint64_t req_id;
  void *user; /* anyone else waiting for it */
};

struct op {
  coord_t *c;
  op_t *next, *prev; /* c->ops */
  coord_req_t *req;  /* NULL once answered */
  engine_op_t kind;
  char *key;
  size_t key_len;
  uint8_t *value;
  size_t value_len;
  vv_t ctx;
  bool has_ctx;
  char request_id[ENGINE_REQUEST_ID_MAX + 1];
  uint32_t r, w;
  view_t *view;
  plan_t plan;
  quorum_t q;
  uint32_t need;
  dvv_t state;         /* write: the coordinator's state after its apply; read: the merge so far */
  dvv_dot_t dot;       /* write: its dot (counter 0 until applied) */
  dvv_dots_t replaced; /* write: the dots it made obsolete at this coordinator */
  vv_t clock;          /* the coordinator's clock after its event: sent with its messages */
  buf_t record;        /* state encoded (writes: what replicas merge) */
  dvv_t got[QUORUM_MAX_TARGETS];
  bool has_got[QUORUM_MAX_TARGETS];
  bool empty[QUORUM_MAX_TARGETS]; /* read: answered "not found", not yet counted (coord_client.c) */
  bool repair_sent[QUORUM_MAX_TARGETS];
  uint64_t event_id;
  int local_err;
  bool no_space, request_reused;
  int pending;       /* messages and jobs not back yet */
  int hints_out;     /* hint jobs not back yet: the answer waits for them (coord_client.c) */
  size_t hints_kept; /* hint jobs committed */
  bool forwarded_in; /* arrived as PEER_FORWARD: never forwarded again */
  bool final_repair_done;
};

struct coord {
  coord_env_t env; /* everything outside the service */
  const config_t *cfg;
  char self[NODE_ID_MAX + 1];
  view_holder_t *view;
  gossip_t *gossip;
  tqueue_t reqs; /* client requests from HTTP threads (coord_req_t) */
  tqueue_t jobs; /* engine completions from the writer (cjob_t) */
  bool closing;
  int works; /* loop thread: work items queued whose done has not run */
  op_t *ops;
  op_t *spare_ops[COORD_SPARE_OPS]; /* freed ops kept for reuse */
  size_t n_spare_ops;
  buf_t scratch;
  int handles;     /* destroying: what must finish before c is freed */
  bool destroying; /* coord_free or coord_destroy ran: the last of them frees c */
  /* hinted handoff (coord_hints.c) */
  bool hint_batch; /* a batch is in flight */
  size_t hint_rr;  /* owners take turns */
  uint64_t next_hint_at, next_expire_at;
  coord_stats_t stats;
  struct aae *aae;         /* anti-entropy (coord_aae.c) */
  uint64_t client_seen_at; /* when this node last served a replica read or write of a client request */
  struct xfer *xfer;       /* ownership transfers (coord_xfer.c) */
  bool gc_batch;           /* tombstone collection (coord_gc.c): a pass is in flight */
  keyring_t *keys;         /* the node's keyring (coord_keys.c); NULL: none to rotate */
  atomic_bool keys_sealed; /* the primary is a key (read by HTTP threads) */
  uint64_t gc_next_at;
  /* the libuv shell (coord_uv.c) only */
  const char *state_path; /* the transfer state file */
  const char *keyring_path;
  void (*on_left)(void *state);
  void *on_left_state;
  uv_loop_t *loop;
  peer_net_t *net;
  engine_t *engine;
  uv_async_t async;
  uv_timer_t timer;
  pthread_mutex_t work_mu;  /* guards work_closing and readers */
  pthread_cond_t work_idle; /* readers fell to 0 */
  bool work_closing;        /* the engine may be closed: work functions are skipped */
  int readers;              /* work functions reading the engine right now */
};

static inline void coord_count(atomic_uint_fast64_t *c) {
  atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Replica work for clients this recent makes background work (repairs,
 * transfers) yield: it runs at a quarter of its rate. */
#define COORD_CLIENT_RECENT_MS 1000
/* coord.c */
/* Whether client requests are in flight here, or this node served replica
 * reads or writes for clients in the last COORD_CLIENT_RECENT_MS. */
bool coord_clients_recent(const coord_t *c, uint64_t now);
/* coord_create into a zeroed c the caller allocated (freed on error). */
int coord_create_in(coord_t *c, const coord_env_t *env, const coord_opts_t *o);
/* A request or hint batch is in flight: tick at the fast rate. */
void coord_wake(coord_t *c);
/* One of the things c waits for before it is freed has finished. */
void coord_unref(coord_t *c);
/* Closing: refuses later requests and answers the queued ones ESHUTDOWN. */
void coord_stop_taking(coord_t *c);
/* c is to be freed once holds things (and every work item in flight) finish. */
void coord_retire(coord_t *c, int holds);
cjob_t *coord_cjob_new(coord_t *c, void (*finish)(cjob_t *j));
/* plan_up_fn over a view_t: membership says id is up. */
bool coord_view_up(const char *id, void *view);
/* A job on key (copied) carrying a copy of state as its incoming state
 * (merges, hints); NULL when out of memory. */
cjob_t *coord_cjob_state(coord_t *c, void (*finish)(cjob_t *j), engine_op_t op, const char *key,
                         size_t key_len, const dvv_t *state);
/* A job caused by msg: on key (copied), with msg's clock and sender as its
 * remote clock and peer; NULL when out of memory. */
cjob_t *coord_cjob_received(coord_t *c, void (*finish)(cjob_t *j), const peer_msg_t *msg, const void *key,
                            size_t key_len);
void coord_cjob_free(cjob_t *j);
/* Submits j->job; on failure runs finish at once with job.err set and
 * returns that error (j is gone then). */
int coord_cjob_submit(cjob_t *j);
/* Sends a request to a peer through the env (coord_env_t.request). */
int coord_request(coord_t *c, const swim_addr_t *to, peer_msg_t *msg, uint64_t timeout_ms, peer_reply_fn cb,
                  void *arg);
/* The node clock to stamp on a message; CHORUS_ENOMEM (out empty) when it
 * cannot be copied. */
int coord_clock(coord_t *c, vv_t *out);
/* Queues w (run and done set by the caller) on the worker pool (env.work);
 * done is called exactly once unless this fails (CHORUS_ESHUTDOWN when
 * closing, or the env's error). */
int coord_work_queue(coord_t *c, coord_work_t *w);

/* coord_serve.c */
void coord_serve_replicate(coord_t *c, peer_conn_t *conn, const peer_msg_t *req);
void coord_serve_read(coord_t *c, peer_conn_t *conn, const peer_msg_t *req);
void coord_serve_forward(coord_t *c, peer_conn_t *conn, const peer_msg_t *req);
void coord_serve_events(coord_t *c, peer_conn_t *conn, const peer_msg_t *req);

/* coord_keys.c: COORD_KEYS, PEER_KEYRING */
void coord_keys_init(coord_t *c, keyring_t *keys);
void coord_serve_keyring(coord_t *c, peer_conn_t *conn, const peer_msg_t *req);
void coord_keys_start(coord_t *c, coord_req_t *req);

/* coord_gather.c: COORD_EVENTS */
void coord_gather_start(coord_t *c, coord_req_t *req);

/* This node's part of a gather (events_part.h), produced on the thread
 * pool: the events with id > since (0: the newest limit), at most limit
 * (capped at EVENTS_PART_MAX_EVENTS). */
typedef struct coord_part_work coord_part_work_t;
struct coord_part_work {
  coord_work_t work; /* first */
  uint64_t since;
  uint32_t limit;
  buf_t part;                                 /* done: the encoded part (rc 0) */
  vv_t clock;                                 /* done: the node clock the part carries (rc 0) */
  void (*done)(coord_part_work_t *w, int rc); /* loop thread, exactly once; releases w */
};
/* Queues w; on failure returns the error and done is not called. */
int coord_part_queue(coord_t *c, coord_part_work_t *w, uint64_t since, uint32_t limit,
                     void (*done)(coord_part_work_t *w, int rc));
/* Frees what w holds (not w itself). */
void coord_part_work_free(coord_part_work_t *w);

/* coord_aae.c: anti-entropy exchanges; coord_aae_serve.c: a peer's */
int coord_aae_create(coord_t *c);
void coord_aae_free(coord_t *c);
/* Ends the running exchanges (CHORUS_ESHUTDOWN): one waiting for repair
 * tokens would otherwise never be called again. Each is freed once what it
 * has in flight is back. */
void coord_aae_stop(coord_t *c);
void coord_aae_tick(coord_t *c, uint64_t now);
/* Whether an exchange is running (the tick stays fast). */
bool coord_aae_busy(const coord_t *c);
void coord_aae_compare(coord_t *c, coord_req_t *req);
void coord_aae_count_reaped(coord_t *c, uint64_t n);
void coord_serve_tree(coord_t *c, peer_conn_t *conn, const peer_msg_t *req);
/* coord_gc.c: tombstone collection */
void coord_gc_tick(coord_t *c, uint64_t now);

/* coord_xfer.c: ownership transfers. fresh: the store is new and the node
 * has seeds (it starts joining unless a saved state says otherwise). */
int coord_xfer_create(coord_t *c, bool fresh);
void coord_xfer_free(coord_t *c);
void coord_xfer_tick(coord_t *c, uint64_t now);
/* Closing: releases what waits for the rate. */
void coord_xfer_stop(coord_t *c);
/* Whether a stream or a hand-off pass is running (the tick stays fast). */
bool coord_xfer_busy(const coord_t *c);
/* Leaving, the last pass: replica writes and client requests are refused. */
bool coord_xfer_refusing(const coord_t *c);
/* The operator's leave: 0 (leaving now, or already), CHORUS_EBUSY (still
 * joining), CHORUS_ETOOFEW (fewer than N members would remain; force
 * overrides). */
int coord_xfer_leave(coord_t *c, bool force);
/* Merges the records e[0..n) (recbatch.h; whole states) quietly, each as
 * one job whose completion runs finish with j->user = user; *pending is
 * raised per job submitted. Nothing is submitted when a record does not
 * decode (CHORUS_ECORRUPT). */
int coord_xfer_merge(coord_t *c, const recbatch_entry_t *e, size_t n, const char *peer,
                     void (*finish)(cjob_t *j), void *user, int *pending);
/* coord_xfer_serve.c: PEER_RANGE, PEER_HANDOFF */
void coord_serve_xfer(coord_t *c, peer_conn_t *conn, const peer_msg_t *req);

/* coord_hints.c: delivery of kept hints, expiry */
void coord_hints_tick(coord_t *c, uint64_t now);

/* coord_client.c */
/* Starts coordinating req (from the inbox or a forward). */
void coord_client_start(coord_t *c, coord_req_t *req, bool forwarded);
/* Deadlines of ops in flight. */
void coord_client_tick(coord_t *c, uint64_t now);
/* Fails every op in flight (closing). */
void coord_client_fail_all(coord_t *c);

#endif
