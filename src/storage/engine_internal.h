/*
 * engine_internal.h - what the files of the storage engine share: the engine
 * struct, a group being applied, the key encoding and the batch hooks. Not
 * for use outside src/storage.
 *
 * The engine is one writer thread applying groups of jobs (engine.c: queue,
 * writer loop, group commit, open and close). Each concern has its own file:
 *   engine_keys.c    the LevelDB key space and small decoding helpers
 *   engine_ops.c     put, get, delete, merge and receive: records and events
 *   engine_reqlog.c  the request log: retries answered from a stored outcome
 *   engine_hints.c   hints kept for replicas that were down, their counts
 *   engine_recover.c start-up: format check, sequences and clock, pruning
 *   engine_query.c   reads from any thread: events, conflicts, properties
 *   hook_*.c         batch hooks (below)
 *
 * A batch hook keeps something in step with the records, in the same
 * WriteBatch: it is told a record's state before a job changes it (capture,
 * into a small fixed slot) and after (record, which may add to the batch),
 * may add its own last entries before the write (seal), and is told whether
 * the batch reached disk (commit) or not (fail). Effects a hook shows
 * outside LevelDB (a gauge, a cache) change only in commit, so they
 * describe exactly what is on disk. The writer calls the hooks in order; a
 * hook never reads another's state.
 */
#ifndef CHORUS_ENGINE_INTERNAL_H
#define CHORUS_ENGINE_INTERNAL_H

#include <leveldb/c.h>
#include <pthread.h>

#include "../common/tqueue.h"
#include "engine.h"
#include "merkle.h"
#include "rowcache.h"

#define KEY_DATA 'k'    /* u64be token, key: records in token order (format 3) */
#define KEY_DATA_V2 'd' /* key: records of formats 1 and 2, moved at open (engine_recover.c) */
#define KEY_EVENT 'e'
#define KEY_CONFLICT 'c'
#define KEY_REQUEST 'r'
#define KEY_REQSEQ 'q'
#define KEY_META 'm'
#define KEY_HINT 'h'
#define KEY_TREE_CHUNK 'L'    /* hook_merkle.c: u32be chunk -> leaves (treelog.h) */
#define KEY_TREE_JOURNAL 'J'  /* u64be seq -> the leaves one batch changed */
#define KEY_TREE_INDEX_V2 't' /* the tree of format 2, dropped at open */
#define KEY_TREE_LEAF_V2 'l'
#define KEY_TOMBSTONE 'g' /* hook_tombs.c */
#define HINT_HEADER 8     /* u64be stored_at_ms before the record */

/* A LevelDB key: prefix byte + up to ENGINE_KEY_MAX bytes, a record's
 * prefix, token and key, or a hint's prefix, owner, NUL and key. */
typedef struct {
  char b[1 + (VV_NODE_MAX + 1 > 8 ? VV_NODE_MAX + 1 : 8) + ENGINE_KEY_MAX];
  size_t len;
} dbkey_t;

/* owner -> count, sorted by owner, no zero entries */
typedef struct {
  char owner[VV_NODE_MAX + 1];
  int64_t n;
} tally_entry_t;

typedef struct {
  tally_entry_t *e;
  size_t n, cap;
} tally_t;

/* ---- batch hooks ---- */

#define ENGINE_HOOK_SLOT 64 /* bytes a hook may capture of a record's state before a change */
#define ENGINE_HOOKS_MAX 8

/* A record's state as a hook sees it: before or after a job's change. */
typedef struct {
  const char *key;
  size_t key_len;
  uint64_t token;     /* the key's (ring_key_token) */
  const dvv_t *state; /* empty when the key has no record */
  /* after a change only: the record's encoding as written; empty (len 0)
   * when the record was dropped (reap; state is then empty) */
  const uint8_t *encoded;
  size_t encoded_len;
} engine_change_t;

typedef struct {
  void (*begin)(void *st);                                         /* a group starts */
  void (*capture)(void *st, const engine_change_t *c, void *slot); /* before a change: fill slot */
  int (*record)(void *st, engine_t *e, const engine_change_t *c, const void *slot); /* after it */
  int (*seal)(void *st, engine_t *e); /* last additions to the batch */
  void (*commit)(void *st);           /* the batch is on disk */
  void (*fail)(void *st);             /* it is not */
  void (*close)(void *st);            /* frees the hook's state */
} engine_hook_ops_t;

typedef struct {
  const engine_hook_ops_t *ops;
  void *st;
} engine_batch_hook_t;

/* Adds to the group's batch; any hook or op may. */
void engine_batch_put(engine_t *e, const void *k, size_t klen, const void *v, size_t vlen);
void engine_batch_delete(engine_t *e, const void *k, size_t klen);

/* The built-in hooks, opened in this order by engine_open (each reads what
 * it needs from the store at open). */
int hook_conflicts_open(engine_t *e, engine_batch_hook_t *out);
int hook_keys_open(engine_t *e, engine_batch_hook_t *out);
int hook_cache_open(engine_t *e, engine_batch_hook_t *out);
int hook_tombs_open(engine_t *e, engine_batch_hook_t *out);
/* CHORUS_ENOTFOUND when the tree is switched off (opts.tree_off): no hook. */
int hook_merkle_open(engine_t *e, engine_batch_hook_t *out);

/* ---- the anti-entropy tree (hook_merkle.c; read by engine_tree.c) ---- */
typedef struct {
  uint32_t segment;
  uint64_t delta;
} engine_tree_delta_t;

typedef struct {
  engine_t *e;
  pthread_mutex_t mu; /* guards tree and keys against readers; the writer alone changes them */
  merkle_t *tree;     /* as of the last committed group */
  uint64_t keys;      /* records as of the last commit */
  /* writer only: the stored leaves (hook_merkle.c) */
  uint8_t *dirty;         /* per chunk: changed since the last checkpoint */
  uint64_t journal_first; /* seq of the oldest journal entry; == journal_next when none */
  uint64_t journal_next;
  uint64_t journal_pairs; /* leaves in the journal */
  /* writer only: the group's pending changes */
  engine_tree_delta_t *deltas; /* by segment, one each */
  size_t n_deltas, cap_deltas;
  int64_t keys_delta;
  enum { TREE_WROTE_NOTHING, TREE_WROTE_ENTRY, TREE_WROTE_CHECKPOINT } wrote;
  buf_t scratch, entry;
} engine_tree_t;
/* The leaves per stored chunk (TREELOG_CHUNK, or all of a smaller tree). */
uint32_t engine_tree_chunk_leaves(const merkle_t *tree);
/* Reads the stored leaves (checkpoint chunks, then the journal) into tree,
 * which must be empty; t (may be NULL) gets the journal's bounds and dirty
 * chunks and the record count. *damaged counts chunks and entries that do
 * not decode (then CHORUS_ECORRUPT unless damaged is non-NULL). */
int engine_tree_read_stored(engine_t *e, leveldb_readoptions_t *ro, merkle_t *tree, engine_tree_t *t,
                            uint64_t *damaged);
/* The item hash of a stored record's bytes; 0 when it does not decode. */
uint64_t engine_tree_record_hash(const char *key, size_t key_len, const char *v, size_t vlen, dvv_t *d,
                                 buf_t *scratch);
int engine_tree_build(engine_t *e, engine_tree_t *t);
int engine_tree_drop(engine_t *e);

/* ---- a group being applied ---- */

typedef struct {
  engine_job_t **jobs; /* jobs of this group that wrote or read a key or a hint, newest last */
  size_t n;
} overlay_t;

typedef struct {
  bool has_writes;
  buf_t scratch;   /* the encoding being added to the batch */
  buf_t outcome;   /* a request's outcome record, while its entry is encoded */
  vv_t next_clock; /* the clock the current job's event will carry (engine_prepare_clock) */
  dvv_t before;    /* a job's state before its merge, to tell whether it changed */
  uint8_t slots[ENGINE_HOOKS_MAX][ENGINE_HOOK_SLOT]; /* each hook's capture of the current job's record */
  /* hint bookkeeping of the group, applied to the counts after the commit */
  tally_t deltas;
  int64_t hints_delta;
  uint64_t hints_stored, hints_deleted, hints_expired;
} group_t;

struct engine {
  engine_opts_t opts;
  char node_id[VV_NODE_MAX + 1];
  char actor[VV_NODE_MAX + 1]; /* the node of the dots this store hands out (engine_recover.c) */
  bool created;                /* this open created the store (engine_recover.c) */
  uint64_t drop_floor;         /* the highest counter of actor in a record it dropped (ENGINE_DROP) */
  leveldb_t *db;
  leveldb_options_t *options;
  leveldb_cache_t *cache;
  leveldb_filterpolicy_t *filter;
  leveldb_writeoptions_t *wsync, *wnosync;
  leveldb_readoptions_t *ropts;
  leveldb_writebatch_t *wb;

  tqueue_t queue; /* jobs submitted, not yet taken by the writer */
  bool queue_ready;
  pthread_t thread;
  bool thread_started;

  engine_batch_hook_t hooks[ENGINE_HOOKS_MAX];
  size_t n_hooks;
  engine_tree_t *tree; /* the tree hook's state; NULL when opts.tree_off */

  /* writer-thread state */
  uint64_t event_seq;   /* id of the newest committed event */
  uint64_t request_seq; /* sequence of the newest request-log entry */
  vv_t clock;           /* node clock, Fidge/Mattern */
  bool unsynced;        /* fsync=batch: writes since the last synced write */
  bool read_only;       /* a write failed: no further writes until restart */
  bool read_only_no_space;
  uint64_t last_sync_ms;
  rowcache_t records;       /* committed records of recently used keys */
  uint64_t expire_from_len; /* hint expiry's cursor: the next 'h' key to look at */
  char expire_from[1 + VV_NODE_MAX + 1 + ENGINE_KEY_MAX];

  /* clock_mu guards published_clock, the clock as of the last committed group */
  pthread_mutex_t clock_mu;
  vv_t published_clock;
  atomic_uint_fast64_t event_count;

  /* hint_mu guards hint_counts: hints held per owner as of the last
   * committed group */
  pthread_mutex_t hint_mu;
  tally_t hint_counts;

  engine_stats_t stats;
};

/* ---- engine_keys.c ---- */
void dbkey_bytes(dbkey_t *k, char prefix, const void *p, size_t n);
void dbkey_u64(dbkey_t *k, char prefix, uint64_t v);
/* prefix, u64be v, p[0..n) (n <= ENGINE_KEY_MAX) */
void dbkey_u64_bytes(dbkey_t *k, char prefix, uint64_t v, const void *p, size_t n);
/* A record's key: KEY_DATA, the key's token, the key; returns the token. */
uint64_t dbkey_record(dbkey_t *k, const char *key, size_t n);
/* The first LevelDB key of the records at or after token. */
void dbkey_record_seek(dbkey_t *k, uint64_t token);
/* Splits a record's LevelDB key; false when it is not one (prefix, length). */
bool record_key_split(const char *k, size_t klen, uint64_t *token, const char **key, size_t *key_len);
void dbkey_hint(dbkey_t *k, const char *owner, const char *key, size_t n);
bool hint_key_split(const char *k, size_t klen, char owner[VV_NODE_MAX + 1], const char **key,
                    size_t *key_len);
bool engine_node_ok(const char *id);
/* Logs a LevelDB error once and maps it to a code; frees the message. */
int engine_ldb_err(char *err, const char *what, bool *no_space);
/* A value stored in LevelDB (malloc'd by LevelDB) or NULL when absent. */
int engine_db_get(engine_t *e, const dbkey_t *k, const char *what, char **v, size_t *vlen);
/* The iterator is on a LevelDB key starting with prefix[0..n). */
bool engine_iter_in(leveldb_iterator_t *it, const char *prefix, size_t n, const char **key, size_t *klen);
/* Destroys an iterator, returning the error it met (logged), if any: a scan
 * that ended early on an I/O error or a damaged block is not a short one. */
int engine_iter_end(leveldb_iterator_t *it, const char *what);
/* Calls fn for every record that decodes, in token order, read through ro
 * (NULL: the engine's); *damaged (may be NULL) counts those that do not,
 * and those stored under a token that is not their key's. A non-zero
 * return of fn stops the scan and is returned; otherwise the scan's error
 * (engine_iter_end). */
typedef int (*engine_record_fn)(void *arg, uint64_t token, const char *key, size_t key_len, const dvv_t *d);
int engine_each_record(engine_t *e, leveldb_readoptions_t *ro, engine_record_fn fn, void *arg,
                       uint64_t *damaged);

/* ---- engine_ops.c ---- */
/* The newest earlier job of the group on the same record or hint, or NULL. */
engine_job_t *engine_overlay_find(const overlay_t *o, const engine_job_t *job);
int engine_load_state(engine_t *e, const overlay_t *o, engine_job_t *job, dvv_t *out);
int engine_prepare_clock(engine_t *e, group_t *g, const engine_job_t *job);
int engine_record_event(engine_t *e, group_t *g, engine_job_t *job, uint64_t ts);
int engine_apply_client(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts);
int engine_apply_merge(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts);
int engine_apply_reap(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts);
/* Encodes state (after a u64be stored_at when it is not NULL) as the value of k. */
int engine_put_state(engine_t *e, group_t *g, const dbkey_t *k, const dvv_t *state,
                     const uint64_t *stored_at);
int engine_merge_incoming(group_t *g, engine_job_t *job);
/* Client-level failures of one job: set on the job, the group goes on. */
int engine_fail_job(engine_job_t *job, int rc);

/* ---- engine_reqlog.c ---- */
/* 1 when this request id was seen before (job answered), 0 when new. */
int engine_find_replay(engine_t *e, const overlay_t *o, engine_job_t *job);
int engine_record_request(engine_t *e, group_t *g, engine_job_t *job);
int engine_record_replicated(engine_t *e, group_t *g, const overlay_t *o, engine_job_t *job);
bool engine_has_request_id(const engine_job_t *job);
void engine_outcome_free(engine_outcome_t *out);

/* ---- engine_hints.c ---- */
int engine_apply_hint_put(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts);
int engine_apply_hint_delete(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job);
int engine_apply_hint_expire(engine_t *e, group_t *g, engine_job_t *job, uint64_t ts);
void engine_commit_hints(engine_t *e, const group_t *g);
void engine_reset_hints(group_t *g);
int engine_count_hints(engine_t *e);
bool engine_is_hint_op(engine_op_t op);

/* ---- engine_recover.c ---- */
int engine_recover(engine_t *e);

/* engine_recover.c: a record holding actor's counters up to counter is
 * dropped (ENGINE_DROP): the floor of its new dots rises to it, written in
 * the group's batch. */
int engine_raise_drop_floor(engine_t *e, uint64_t counter);

#endif
