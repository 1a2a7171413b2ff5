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
 *    within --request-timeout.
 *  - GET: asks the live replicas, merges their states (DVV sync) after R
 *    replies, answers, and repairs stale replicas in the background.
 *
 * Threads: coord_start / coord_close, peer traffic and coordination run on
 * the loop thread. HTTP threads hand client requests over with coord_submit
 * (a queue and a uv_async); the request's done callback runs on the loop
 * thread once its result is final. Engine completions come back through the
 * same queue. Reads of the engine that scan LevelDB (this node's part of an
 * events gather, a batch of hints) run on libuv's thread pool, never on
 * the loop.
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
#include "plan.h"
#include "quorum.h"
#include "view.h"

typedef struct coord coord_t;

/* One member's answer to a gathering request (COORD_EVENTS). The loop only
 * moves these bytes: whoever answers the request decodes them
 * (events_part_decode) where that costs the loop nothing. */
typedef struct {
  char node[NODE_ID_MAX + 1];
  int status; /* 0, or why this member did not answer */
  buf_t body; /* its part, encoded (events_part.h), as the member produced it */
} coord_part_t;

/* What a coordinated request produced. */
typedef struct {
  int err;             /* 0; CHORUS_ENOTFOUND (no live value); CHORUS_ETIMEDOUT (quorum not met);
                          CHORUS_EBUSY (no replica reachable); storage errors as engine_job_t.err */
  bool no_space;       /* the coordinator's disk is full */
  bool request_reused; /* X-Request-Id reused for another key or op */
  dvv_t state;         /* write: the state written; read: the merged state */
  uint64_t event_id;   /* the coordinator's event for the request (0: none) */
  plan_t plan;         /* preference list and coordinator */
  quorum_t quorum;     /* targets and how each answered (at the moment of the answer) */
  uint32_t required;   /* W or R as applied (capped at the replicas that exist) */
  char repaired[QUORUM_MAX_TARGETS][NODE_ID_MAX + 1]; /* read: replicas sent a repair */
  size_t n_repaired;
  char local_hints[PLAN_MAX_REPLICAS][NODE_ID_MAX + 1]; /* write: owners whose hint this node keeps */
  size_t n_local_hints;
  /* Forwarded to another coordinator: its answer, verbatim. */
  bool forwarded;
  int http_status;
  buf_t body;
  /* COORD_EVENTS: every live member's part, this node first */
  coord_part_t *parts;
  size_t n_parts;
} coord_result_t;

typedef enum {
  COORD_DATA = 0,   /* a PUT, GET or DELETE of a key */
  COORD_EVENTS = 1, /* the event logs of all live members */
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
  engine_op_t op; /* COORD_DATA: ENGINE_PUT, ENGINE_GET or ENGINE_DELETE */
  const char *key;
  size_t key_len;
  const uint8_t *value; /* PUT */
  size_t value_len;
  const vv_t *ctx;        /* NULL: none */
  const char *request_id; /* NULL or "": none */
  uint32_t r, w;          /* 0: the configured quorum */
  coord_done_fn done;     /* loop thread, exactly once */
  void *user;
  coord_result_t result;  /* valid when done runs; release with coord_result_free */
  struct coord_req *next; /* queue link (private) */
};

void coord_result_init(coord_result_t *r);
void coord_result_free(coord_result_t *r);

/* Formats a result as the HTTP reply (for forwarded requests, which answer
 * through the forwarding node): appends the JSON body to out. */
typedef int (*coord_format_fn)(const coord_req_t *req, buf_t *out, int *status, void *state);

typedef struct {
  const config_t *cfg;
  const char *node_id;
  engine_t *engine; /* also read on libuv's thread pool (event log parts, hints) until coord_close */
  view_holder_t *view;
  coord_format_fn format;
  void *api_state; /* passed to format */
} coord_opts_t;

/* Loop thread: binds the peer transport's listener. */
int coord_start(uv_loop_t *loop, const coord_opts_t *opts, coord_t **out);
/* Loop thread: the membership shell, once started (push-pulls arriving
 * before are refused). */
void coord_set_gossip(coord_t *c, gossip_t *g);
/* What the membership shell sends its push-pulls through. */
gossip_transport_t coord_gossip_transport(coord_t *c);
/* Any thread: queues a client request for the loop. CHORUS_ESHUTDOWN once
 * closing (done will not be called). */
int coord_submit(coord_t *c, coord_req_t *req);
/* Whether requests need coordination: the ring has other members. */
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
  atomic_uint_fast64_t writes, reads;      /* coordinated here */
  atomic_uint_fast64_t forwarded;          /* writes sent to a replica to coordinate */
  atomic_uint_fast64_t quorum_failures;    /* answered 503: W or R not met in time */
  atomic_uint_fast64_t replica_failures;   /* replica writes and reads that failed or timed out */
  atomic_uint_fast64_t read_repairs;       /* repairs sent to stale replicas */
  atomic_uint_fast64_t hints_kept;         /* hints stored here for replicas that missed a write */
  atomic_uint_fast64_t hints_delivered;    /* kept hints merged by their owner and deleted */
} coord_stats_t;

/* Any thread. */
const peer_net_counters_t *coord_peer_counters(const coord_t *c);
const coord_stats_t *coord_stats(const coord_t *c);

#endif
