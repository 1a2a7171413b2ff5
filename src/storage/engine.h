/*
 * engine.h - the node's LevelDB store and its single writer thread.
 *
 * LevelDB key space (one byte prefix, then the rest):
 *   'd' key             -> record (record.h): the versions of a key
 *   'e' u64be id        -> event (event.h): the node's event log
 *   'c' key             -> u32be sibling count: keys holding concurrent siblings
 *   'r' request id      -> request-log entry (reqlog.h): the outcome, for retries,
 *                          or a mark that a replica applied the request
 *   'q' u64be seq       -> request id: request-log order, for pruning
 *   't', 'l'            -> the anti-entropy tree (hook_merkle.c)
 *   'g' u64be ts key    -> "": keys holding only tombstones (hook_tombs.c)
 *   'h' owner 0x00 key  -> u64be stored_at_ms, record: a hint, a key's state
 *                          this node keeps for a replica (owner) that was down
 *   'm' name            -> node metadata ("format"; "keys": u64be count of keys
 *                          holding a live value, written in the batch that changes it)
 *
 * All operations on keys run on one writer thread, in submission order. It
 * takes every job queued while it was busy (up to ENGINE_MAX_BATCH), applies
 * them in order against LevelDB plus the batch's own pending writes, and
 * commits the data, the events and the request-log entries of the whole
 * group in one WriteBatch with at most one fsync (group commit). So a read
 * sees every write acknowledged before it, an event is durable exactly when
 * the data it describes is, and the event log's ids and clock are owned by
 * this thread alone.
 *
 * Operations: put, get and delete serve clients (the node coordinates).
 * merge folds a state another node produced into the key's (dvv_sync): a
 * replica applying a coordinator's write, a read repair or a delivered hint.
 * It is idempotent, so a repeated message changes nothing; it records its
 * event even then, because the message was received. hint_put keeps a state
 * for a replica that is down (merged into the hint already held for that
 * owner and key), hint_delete drops a hint once delivered unless a newer
 * state was merged into it meanwhile, hint_expire drops hints older than the
 * hint TTL, one slice of at most ENGINE_HINT_EXPIRE_SCAN hints per job from
 * a cursor the engine keeps (changed says the slice finished a pass).
 * hint_expire always runs alone in its group (it scans LevelDB, which does
 * not see a group's pending writes). reap drops a key's record when it is
 * exactly the tombstones it names (tombstone collection, once every
 * replica is known to hold them): a record that changed since is kept, so
 * a write racing the collection is never lost; the drop is a reap event. receive records only an
 * event: a coordinator receiving a replica's reply (ack or read reply), so
 * the reply's arrow has both ends in the event logs; like a get's event it
 * never makes its group a write that must be synced.
 *
 * Clocks: a job caused by a message carries the sender's node clock
 * (remote_clock); the writer joins it into the node clock before the job's
 * event ticks it, so the event's clock dominates the sender's (a Fidge/
 * Mattern receive event). The node clock after the job is handed back so the
 * caller can attach it to the messages the job causes.
 *
 * Request ids: a put or delete stores its outcome under its request id
 * (reqlog.h: data, not a rendered reply), committed in the same batch as
 * the write, and a retry gets that outcome (job->replay). A merge may carry the request id of the client
 * write it replicates; a later put or delete with that id on this node (the
 * client retried through it) is then not applied again: it answers with the
 * key's current state and replicated_request set.
 *
 * fsync modes: always - a group containing writes is synced before any job of
 * it completes; batch - writes complete once in the OS, and a synced write
 * follows within ENGINE_BATCH_SYNC_MS; never - LevelDB never syncs. Groups
 * of reads only (their get events) are never synced. A merge that changes
 * nothing still writes its event, so it is a write for this purpose.
 *
 * Threads: engine_submit may be called from any thread; completions are
 * delivered by calling opts.on_done on the writer thread (the caller hands
 * them on to its own thread). The read functions (engine_events,
 * engine_conflicts, engine_hints) use LevelDB iterators and may be called
 * from any thread; engine_hint_counts reads a table the writer updates after
 * each commit, guarded by one mutex (hint_mu). Everything else in engine_t is
 * private to the writer.
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
#include "merkle.h"
#include "vv.h"

#define ENGINE_MAX_BATCH 256
#define ENGINE_BATCH_SYNC_MS 100
#define ENGINE_REQUEST_LOG_RETENTION 100000
#define ENGINE_REQUEST_ID_MAX 128
#define ENGINE_KEY_MAX 1024
#define ENGINE_MAX_HINTS_DEFAULT 100000
#define ENGINE_HINT_TTL_MS_DEFAULT (3u * 3600u * 1000u)
#define ENGINE_RECORD_CACHE_DEFAULT (64u << 20) /* bytes */
#define ENGINE_HINT_EXPIRE_SCAN 1024            /* hint keys one hint_expire job looks at, at most */

typedef enum {
  ENGINE_PUT = 1,
  ENGINE_GET = 2,
  ENGINE_DELETE = 3,
  ENGINE_MERGE = 4,
  ENGINE_HINT_PUT = 5,
  ENGINE_HINT_DELETE = 6,
  ENGINE_HINT_EXPIRE = 7,
  ENGINE_RECEIVE = 8,
  ENGINE_REAP = 9,  /* tombstone collection: drop the record if it is exactly incoming (all tombstones) */
  ENGINE_DROP = 10, /* ownership handoff: drop the record if it is exactly incoming (no event) */
} engine_op_t;

typedef struct engine_job engine_job_t;

/* The outcome of a put or delete as its request id's first application
 * left it: what a retry is answered with (malloc'd by the engine, freed by
 * engine_job_release). */
typedef struct {
  int err;           /* 0 or CHORUS_ENOTFOUND (a delete of a key without a live value) */
  uint64_t event_id; /* the first application's event */
  dvv_t state;       /* the key's versions right after it */
  uint8_t *value;    /* a put's value (malloc'd, owned by the outcome) */
  size_t value_len;
  dvv_dot_t dot;       /* its dot (counter 0: none known) */
  dvv_dots_t replaced; /* the dots it replaced (owned) */
} engine_outcome_t;

typedef void (*engine_done_fn)(engine_job_t *job, void *state);

struct engine_job {
  /* inputs, owned by the submitter until completion */
  engine_op_t op;
  const char *key; /* key_len bytes, valid UTF-8, no NUL (not used by hint_expire) */
  size_t key_len;
  const uint8_t *value; /* PUT only */
  size_t value_len;
  const vv_t *ctx;        /* NULL = no context (see dvv_update) */
  const char *request_id; /* NULL or "" = none; put, delete, merge */
  /* The node clock carried by the message that caused this job (NULL when
   * none): joined into the node clock before the job's event. Any op with an
   * event (a forwarded client write too). */
  const vv_t *remote_clock;
  const char *peer; /* NULL or a node id: the event's peer (the other node of the message) */
  /* MERGE: the state to merge; HINT_PUT: the state to keep; HINT_DELETE: the
   * state that was delivered; REAP: the tombstones every replica holds.
   * Valid (dvv_valid) and non-empty. */
  const dvv_t *incoming;
  /* MERGE: REPLICATE (also for 0), READ_REPAIR or HINT_DELIVERED; RECEIVE: ACK or
   * READ_REPLY (RECEIVE also needs peer and remote_clock) */
  event_type_t event_type;
  /* MERGE with a request id: the client op of that request (ENGINE_PUT or
   * ENGINE_DELETE), or 0 when unknown (a retry on the same key then matches
   * either). */
  engine_op_t request_op;
  const char *hint_owner; /* HINT_PUT, HINT_DELETE: the node the hint is for */
  /* MERGE: record no event (an ownership transfer moves records by the
   * thousand; its progress is reported as a whole, not per key). */
  bool quiet;

  /* outputs, set by the engine before on_done */
  int err;       /* 0, CHORUS_ENOTFOUND (get/delete of a key with no live value), CHORUS_EIO (see no_space),
                    CHORUS_ECORRUPT (the key's record is damaged), CHORUS_EBUSY (hint_put: max_hints reached),
                    CHORUS_ETOOBIG (remote_clock would make the node clock too large) */
  bool no_space; /* the disk is full (err is CHORUS_EIO) */
  bool request_reused; /* the request id was used before for another op or key (err is CHORUS_EINVAL) */
  /* put/delete: the request id was applied here by replication; nothing was
   * applied again, state is the key's current state (err is 0, no event). */
  bool replicated_request;
  bool changed; /* MERGE, HINT_PUT: the stored state changed; HINT_DELETE: the hint was deleted;
                   REAP, DROP: the record was dropped (it was exactly incoming);
                   HINT_EXPIRE: the slice reached the last hint (the pass is finished) */
  /* The key's versions after the operation (empty if none); for HINT_PUT and
   * HINT_DELETE the hint's state after the operation (empty if none). */
  dvv_t state;
  /* PUT, DELETE applied now (not a replay): the write's own dot, and the dots
   * of the siblings it made obsolete (dot.counter 0: no write was applied). */
  dvv_dot_t dot;
  dvv_dots_t replaced;
  uint64_t stored_at_ms; /* HINT_PUT, HINT_DELETE: when the hint was first stored (0 if none) */
  uint64_t count;        /* HINT_EXPIRE: hints deleted by this slice */
  uint64_t event_id;     /* the event recorded for this job (0 if none) */
  /* The node clock right after this job's event: what to attach to the
   * messages the job causes. For a job without an event, the node clock as of
   * the job; empty when the job failed. */
  vv_t clock;
  /* A repeated request id: the outcome of its first application (job owns;
   * NULL otherwise). state is then the key's current state, event_id 0. */
  engine_outcome_t *replay;

  /* plumbing */
  void *user;
  engine_job_t *next;
  /* engine-private */
  bool overlaid;        /* the state came from an earlier job of the same group */
  bool request_logged;  /* this job wrote its request id to the request log */
  uint8_t request_kind; /* the reqlog_kind_t of the entry it wrote */
  bool hint_exists;     /* HINT_PUT, HINT_DELETE: a hint is stored for (owner, key) after the job */
};

/* A convention for engines with several kinds of submitters: each sets
 * job->user to a struct that begins with an engine_hook_t, and the engine's
 * on_done is engine_hook_done, which calls that hook (on the writer thread). */
typedef struct {
  void (*done)(engine_job_t *job);
} engine_hook_t;
void engine_hook_done(engine_job_t *job, void *state);

typedef struct {
  const char *node_id;
  const char *dir; /* LevelDB directory */
  fsync_mode_t fsync;
  uint64_t event_retention;
  engine_done_fn on_done;
  void *state;                 /* passed to on_done */
  uint64_t max_hints;          /* hints kept at most (0: ENGINE_MAX_HINTS_DEFAULT) */
  bool hints_off;              /* keep no hints at all: every hint_put is refused (anti-entropy repairs) */
  uint64_t hint_ttl_ms;        /* hint_expire drops hints older than this (0: ENGINE_HINT_TTL_MS_DEFAULT) */
  uint64_t record_cache_bytes; /* the record cache's bound (0: ENGINE_RECORD_CACHE_DEFAULT) */
  bool record_cache_off;       /* no record cache at all */
  /* A store created now gets a fresh actor for its dots, "<node_id>.<random
   * hex>", instead of the node id: the node may have held data under its id
   * before (engine_recover.c). Set for nodes that join a cluster. */
  bool new_actor;
  bool tree_off;      /* no anti-entropy tree (hook_merkle.c): for measuring its cost */
  unsigned tree_bits; /* the tree's segments: 2^tree_bits (0: MERKLE_BITS_DEFAULT) */
  bool tree_rebuild;  /* drop the stored tree and build it again from the records at open */
} engine_opts_t;

typedef struct {
  atomic_uint_fast64_t batches, writes, reads, fsyncs, jobs, errors, events, conflicts_now;
  atomic_uint_fast64_t batch_jobs_max, replays;
  atomic_uint_fast64_t read_only; /* 1 after a failed write: writes refused until restart */
  atomic_uint_fast64_t merges, merges_changed;
  atomic_uint_fast64_t keys;  /* keys holding a live value (not only tombstones) */
  atomic_uint_fast64_t hints; /* hints held now */
  atomic_uint_fast64_t hints_stored_total, hints_deleted_total, hints_expired_total, hints_refused_total;
  atomic_uint_fast64_t hints_unreadable_total; /* hints engine_hints skipped: they did not decode */
  /* the record cache, as of the last committed group */
  atomic_uint_fast64_t record_cache_hits, record_cache_misses, record_cache_bytes, record_cache_entries;
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
/* The node of the dots this store hands out: the node id, or for a store
 * created under new_actor "<node id>.<8 hex>". Fixed once open. */
const char *engine_actor(const engine_t *e);
/* Whether this open created the store (it held nothing before). */
bool engine_created(const engine_t *e);
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
typedef struct {
  char owner[VV_NODE_MAX + 1];
  uint64_t count;
} engine_hint_count_t;
/* The number of hints held per owner, as of the last committed group, in
 * owner order (owners without hints left out). *out is malloc'd (NULL when
 * *n is 0); the caller frees it. */
int engine_hint_counts(engine_t *e, engine_hint_count_t **out, size_t *n);

typedef struct {
  char *key; /* malloc'd, NUL-terminated */
  size_t key_len;
  dvv_t state;
  /* PUT, DELETE applied now (not a replay): the write's own dot, and the dots
   * of the siblings it made obsolete (dot.counter 0: no write was applied). */
  dvv_dot_t dot;
  dvv_dots_t replaced;
  uint64_t stored_at_ms;
} engine_hint_t;
/* Up to limit hints kept for owner, in key order. A hint that does not decode
 * is skipped (and counted in hints_unreadable_total). Free with
 * engine_hints_free. */
int engine_hints(engine_t *e, const char *owner, size_t limit, engine_hint_t **out, size_t *n);
void engine_hints_free(engine_hint_t *hints, size_t n);

/* ---- the anti-entropy tree (hook_merkle.c, engine_tree.c; any thread) ----
 * Kept in the batch of every record change ('t' token index, 'l' leaves),
 * unless opts.tree_off: then every function below says CHORUS_ENOTFOUND
 * (engine_tree_info: enabled false). */
typedef struct {
  bool enabled;
  unsigned bits, depth;
  uint32_t segments;
  uint64_t keys; /* keys with a record (live or tombstone) */
  uint64_t root;
  size_t memory; /* bytes of the in-memory tree */
} engine_tree_info_t;
void engine_tree_info(engine_t *e, engine_tree_info_t *out);
/* out[i] = the hash of node idx[i] of level of this store's tree seen
 * through the normalised ranges r[0..nr) (merkle_view_node); scans the
 * partial segments below the nodes asked for. */
int engine_tree_hashes(engine_t *e, const merkle_range_t *r, size_t nr, unsigned level, const uint64_t *idx,
                       size_t n, uint64_t *out);
/* Appends to out a treekeys list (treekeys.h) of the keys of segments
 * segs[0..n) whose tokens lie in the ranges, with their item hashes. */
int engine_tree_keys(engine_t *e, const merkle_range_t *r, size_t nr, const uint32_t *segs, size_t n,
                     buf_t *out);
/* The item hash of a key's state in the tree (merkle_item_hash over its
 * siblings' dots and tombstone flags, so equal versions hash equal), 0 for
 * none; scratch is the caller's buffer (0 too if it cannot grow). */
uint64_t engine_tree_item_hash(const char *key, size_t key_len, const dvv_t *d, buf_t *scratch);
/* A key's stored record (no event, no cache): CHORUS_ENOTFOUND, CHORUS_ECORRUPT. */
int engine_record_read(engine_t *e, const char *key, size_t key_len, dvv_t *out);

/* A position in the token-ordered records: (token, key). Not started: before
 * the first. */
typedef struct {
  bool started;
  uint64_t token;
  char key[ENGINE_KEY_MAX];
  size_t key_len;
} engine_cursor_t;
/* Called per record: its token, key and stored bytes (record.h, not
 * decoded here), valid during the call. Returns 0 to go on,
 * ENGINE_RANGE_STOP to stop there, or an error (passed back). */
#define ENGINE_RANGE_STOP 1
typedef int (*engine_range_fn)(void *arg, uint64_t token, const char *key, size_t key_len, const uint8_t *rec,
                               size_t rec_len);
/* The records whose tokens lie in the normalised ranges r[0..nr)
 * (merkle_ranges_normalize), in (token, key) order, strictly after from
 * (NULL or not started: from the start). 0 when the ranges were read to
 * their end, ENGINE_RANGE_STOP when fn stopped, or an error. Records under
 * a token their key does not hash to are skipped. Any thread. */
int engine_records_in(engine_t *e, const merkle_range_t *r, size_t nr, const engine_cursor_t *from,
                      engine_range_fn fn, void *arg);

typedef struct {
  uint64_t records, damaged_records; /* records, and those that do not decode or sit under a wrong token */
  uint64_t leaves_damaged;           /* stored chunks and journal entries that do not decode, no shape */
  uint64_t leaf_segments_differing;  /* segments where the stored leaves differ from the records */
  uint64_t root;                     /* of the tree the records make */
  bool clean;
  uint64_t elapsed_ms;
} engine_tree_verify_t;
/* Scans one snapshot: builds the tree the records make and compares it
 * with the stored leaves. O(keys); for an operator. */
int engine_tree_verify(engine_t *e, engine_tree_verify_t *out);

/* Tombstone collection (hook_tombs.c; any thread): up to limit keys whose
 * record holds only tombstones, the newest older than before_ms, oldest
 * first. Free with engine_tombstones_free. */
typedef struct {
  char *key; /* malloc'd, NUL-terminated */
  size_t key_len;
  uint64_t ts_ms; /* the newest tombstone's */
} engine_tombstone_t;
int engine_tombstones(engine_t *e, uint64_t before_ms, size_t limit, engine_tombstone_t **out, size_t *n);
void engine_tombstones_free(engine_tombstone_t *t, size_t n);

/* A LevelDB property ("leveldb.approximate-memory-usage" ...), malloc'd or NULL. */
char *engine_property(engine_t *e, const char *name);

#endif
