/*
 * engine.h - the node's LevelDB store and its single writer thread.
 *
 * LevelDB key space (one byte prefix, then the rest):
 *   'd' key             -> record (record.h): the versions of a key
 *   'e' u64be id        -> event (event.h): the node's event log
 *   'c' key             -> u32be sibling count: keys holding concurrent siblings
 *   'r' request id      -> request-log entry (reqlog.h): the reply, for retries
 *   'q' u64be seq       -> request id: request-log order, for pruning
 *   'm' name            -> node metadata ("format")
 *
 * All operations on keys (put, get, delete) run on one writer thread, in
 * submission order. It takes every job queued while it was busy (up to
 * ENGINE_MAX_BATCH), applies them in order against LevelDB plus the batch's
 * own pending writes, and commits the data, the events and the request-log
 * entries of the whole group in one WriteBatch with at most one fsync
 * (group commit). So a read sees every write acknowledged before it, an
 * event is durable exactly when the data it describes is, and the event
 * log's ids and clock are owned by this thread alone.
 *
 * fsync modes: always - a group containing writes is synced before any job of
 * it completes; batch - writes complete once in the OS, and a synced write
 * follows within ENGINE_BATCH_SYNC_MS; never - LevelDB never syncs. Groups
 * of reads only (their get events) are never synced.
 *
 * Threads: engine_submit may be called from any thread; completions are
 * delivered by calling opts.on_done on the writer thread (the caller hands
 * them on to its own thread). Everything else in engine_t is private.
 */
#ifndef CHORUS_ENGINE_H
#define CHORUS_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "dvv.h"
#include "event.h"
#include "vv.h"

#define ENGINE_MAX_BATCH 256
#define ENGINE_BATCH_SYNC_MS 100
#define ENGINE_REQUEST_LOG_RETENTION 100000
#define ENGINE_REQUEST_ID_MAX 128
#define ENGINE_KEY_MAX 1024

typedef enum { ENGINE_PUT = 1, ENGINE_GET = 2, ENGINE_DELETE = 3 } engine_op_t;

typedef struct engine_job engine_job_t;

/* Formats the response stored for a request id: called on the writer thread
 * for jobs carrying a request id, after the job's outputs are set. Appends
 * the body to out and returns the HTTP status. */
typedef int (*engine_format_fn)(const engine_job_t *job, buf_t *out, void *state);
typedef void (*engine_done_fn)(engine_job_t *job, void *state);

struct engine_job {
  /* inputs, owned by the submitter until completion */
  engine_op_t op;
  const char *key; /* key_len bytes, valid UTF-8, no NUL */
  size_t key_len;
  const uint8_t *value; /* PUT only */
  size_t value_len;
  const vv_t *ctx;        /* NULL = no context (see dvv_update) */
  const char *request_id; /* NULL or "" = none */

  /* outputs, set by the engine before on_done */
  int err; /* 0, CHORUS_ENOTFOUND (get/delete of a key with no live value), CHORUS_EIO, CHORUS_ENOSPC-like:
              see err_detail */
  bool no_space;       /* the disk is full (err is CHORUS_EIO) */
  bool request_reused; /* the request id was used before for another op or key (err is CHORUS_EINVAL) */
  dvv_t state;         /* the key's versions after the operation (empty if none) */
  uint64_t event_id;   /* the event recorded for this job (0 if none) */
  uint8_t *replay;     /* a repeated request id: the stored body (malloc'd, job owns) */
  size_t replay_len;
  int replay_status;

  /* plumbing */
  void *user;
  engine_job_t *next;
  bool overlaid; /* engine-private: the state came from an earlier job of the same group */
};

typedef struct {
  const char *node_id;
  const char *dir; /* LevelDB directory */
  fsync_mode_t fsync;
  uint64_t event_retention;
  engine_done_fn on_done;
  engine_format_fn format; /* may be NULL: then request ids are ignored */
  void *state;             /* passed to on_done and format */
} engine_opts_t;

typedef struct {
  atomic_uint_fast64_t batches, writes, reads, fsyncs, jobs, errors, events, conflicts_now;
  atomic_uint_fast64_t batch_jobs_max, replays;
  atomic_uint_fast64_t read_only; /* 1 after a failed write: writes refused until restart */
} engine_stats_t;

typedef struct engine engine_t;

/* Opens (creating if needed) the store and starts the writer thread. */
int engine_open(const engine_opts_t *opts, engine_t **out);
/* Finishes every submitted job, syncs, stops the thread, closes LevelDB. */
void engine_close(engine_t *e);
/* Queues a job (initialise its outputs with engine_job_init first).
 * CHORUS_ESHUTDOWN once closing. Never blocks on I/O. */
int engine_submit(engine_t *e, engine_job_t *job);
void engine_job_init(engine_job_t *job);
void engine_job_release(engine_job_t *job); /* frees the outputs */

const engine_stats_t *engine_stats(const engine_t *e);
/* The id of the newest event (= events recorded so far). */
uint64_t engine_event_count(const engine_t *e);
/* Copies the node clock as of the last committed group into out (replaced). */
int engine_clock(engine_t *e, vv_t *out);

/* Event log read (any thread): up to limit events with id > since, in id
 * order. *out is a malloc'd array of *n events (caller frees each with
 * event_free, then the array). */
int engine_events(engine_t *e, uint64_t since, size_t limit, event_t **out, size_t *n);

typedef struct {
  char *key; /* malloc'd, NUL-terminated */
  size_t key_len;
  uint32_t siblings;
} engine_conflict_t;
/* Up to limit keys holding concurrent siblings (caller frees keys and array). */
int engine_conflicts(engine_t *e, size_t limit, engine_conflict_t **out, size_t *n);
/* A LevelDB property ("leveldb.approximate-memory-usage" ...), malloc'd or NULL. */
char *engine_property(engine_t *e, const char *name);

#endif
