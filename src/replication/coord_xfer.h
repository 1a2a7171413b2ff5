/*
 * coord_xfer.h - what the files of ownership transfers share (DESIGN §9):
 *
 *   coord_xfer.c          the node's phase and transfer state (saved),
 *                         the operator's leave, the tick that drives the
 *                         rest, the published status
 *   coord_xfer_pull.c     range streams this node pulls: a join's, a
 *                         removal's
 *   coord_xfer_handoff.c  passes that hand records this node does not own
 *                         to their owners, and drop them
 *   coord_xfer_serve.c    a peer's side of both
 *
 * All of it runs on the loop, but store scans and state-file writes (the
 * worker pool). struct xfer is the loop's; readers on other threads copy
 * pub under mu.
 */
#ifndef CHORUS_COORD_XFER_H
#define CHORUS_COORD_XFER_H

#include <pthread.h>

#include "coord_internal.h"
#include "xfer.h"
#include "xfer_plan.h"
#include "xfer_state.h"

#define XFER_BATCH_BYTES (1u << 20)   /* asked per PEER_RANGE, scanned per hand-off batch */
#define XFER_RETRY_MS 1000            /* a failed stream or pass tries again after this */
#define XFER_REQUEST_TIMEOUT_MS 30000 /* a batch: the peer reads or writes a megabyte */
#define XFER_CLIENT_SHARE 8           /* a node serving clients moves data at 1/8 of --transfer-rate */

/* A stream runs two steps at once: while one batch is merged, the next is
 * asked for (from where the last one asked ended); its saved cursor moves
 * only as batches are applied, in order. */
#define XFER_APPLYING_MAX 2

typedef struct {
  bool fetching;             /* a PEER_RANGE is out */
  int applying;              /* batches being merged */
  bool fetched_all;          /* a reply said the ranges are read to their end */
  engine_cursor_t next_from; /* where the next PEER_RANGE starts */
  uint32_t gen;              /* +1 at a failure: batches of an earlier generation move nothing */
  size_t src;                /* index into the pull's sources */
  uint64_t retry_at;
  uint32_t failures;
  uint64_t rate_at, rate_bytes; /* bytes since rate_at, for the rate shown */
  double rate;                  /* bytes/s, last estimate */
} xfer_pull_rt_t;

static inline bool xfer_pull_busy(const xfer_pull_rt_t *r) {
  return r->fetching || r->applying > 0;
}

typedef struct xfer_sweep xfer_sweep_t;

struct xfer {
  xfer_state_t st;    /* phase and pulls, as saved */
  xfer_pull_rt_t *rt; /* per pull, same index */
  size_t cap;
  bool planned; /* joining: the pulls are planned */
  view_t *seen; /* the view removals are detected against */
  uint64_t ring_changed_at;
  double tokens; /* bytes the rate allows now */
  uint64_t refill_at;
  bool saving, save_again;
  xfer_sweep_t *sw; /* the hand-off pass running, if any */
  engine_cursor_t sweep_from;
  uint64_t sweep_next_at, pass_found, pass_failed;
  int leave_passes;
  bool refusing, left;
  struct xfer_range *waiting, *waiting_tail; /* peers' range requests waiting for the rate */
  xfer_counters_t counters;
  pthread_mutex_t mu; /* guards pub */
  xfer_status_t pub;
};

/* The rate's token bucket gives bytes (it may go below zero: the next
 * batch then waits). */
static inline void xfer_take_tokens(struct xfer *x, uint64_t bytes) {
  x->tokens -= (double)bytes;
}

/* coord_xfer.c */
uint64_t xfer_now(coord_t *c);
uint64_t xfer_wall(coord_t *c);
/* Copies what readers see into pub. */
void xfer_publish(coord_t *c);
/* Saves the state off the loop (one write at a time; a change made during
 * one is saved by the next). */
void xfer_save(coord_t *c);

/* coord_xfer_pull.c */
/* Plans and adds the streams of what self gains from ring `from` to `to`,
 * sources for which skip says true left out. */
typedef struct {
  const char *self;
  const char *const *gone; /* removed members */
  size_t n_gone;
} xfer_skip_t;
int xfer_plan(coord_t *c, const ring_t *from, const ring_t *to, xfer_reason_t reason, xfer_skip_t *skip);
/* Starts the streams that may run now (concurrency, rate, retry times). */
void xfer_run_pulls(coord_t *c, const view_t *v);
bool xfer_pulls_done(const struct xfer *x, xfer_reason_t reason);

/* coord_xfer_handoff.c */
/* Starts a pass over the records self does not own: on v's owners' ring
 * with drop (they are dropped once their owners have them), on its next
 * ring without (a leave). Takes over the reference to v. */
void xfer_handoff_start(coord_t *c, view_t *v, bool drop);
/* The pass waits for the rate: goes on when tokens allow. */
void xfer_handoff_resume(coord_t *c);
void xfer_handoff_free(xfer_sweep_t *s);

/* coord_xfer_serve.c */
/* Serves the range requests that waited for the rate's tokens, while there
 * are tokens. */
void xfer_serve_resume(coord_t *c);

#endif
