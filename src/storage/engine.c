/*
 * engine.c - LevelDB store, writer thread and group commit (see engine.h).
 *
 * The writer thread is the only code that changes LevelDB, the event
 * sequence and the node clock. A group is applied in three steps: every job
 * computes its result against LevelDB overlaid by the group's earlier jobs
 * (so two writes to one key in one group see each other), the whole group is
 * written in one WriteBatch (synced once when the fsync mode asks for it),
 * and only then are jobs completed. If the write fails, the event sequence
 * and the clock are rolled back and every job of the group fails: nothing a
 * client was told succeeded is missing from disk. Effects outside LevelDB
 * (the hint counts) are collected per group and applied only after the
 * commit, so they too describe exactly what is on disk.
 *
 * A job whose own input or record is at fault (a damaged record, a state too
 * large to encode, a clock that cannot grow) fails alone, before it adds
 * anything to the batch, and the rest of its group commits.
 *
 * The record cache (rowcache.h, writer thread only) holds committed record
 * bytes only (no bytes for a key without a record; an encoded record is
 * never empty): a record read from LevelDB is cached at once, a record written
 * is staged with its group and cached only after the group commits, so a
 * failed group leaves the cache as it was. A failure to stage empties the
 * cache rather than leave an older record in it.
 */
#include "engine.h"

#include <errno.h>
#include <leveldb/c.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/err.h"
#include "../common/log.h"
#include "record.h"
#include "reqlog.h"
#include "rowcache.h"

#define KEY_DATA 'd'
#define KEY_EVENT 'e'
#define KEY_CONFLICT 'c'
#define KEY_REQUEST 'r'
#define KEY_REQSEQ 'q'
#define KEY_META 'm'
#define KEY_HINT 'h'
#define STORE_FORMAT "1"
#define HINT_HEADER 8 /* u64be stored_at_ms before the record */
/* the record cache's staging of a group's records (commit_records) */
#define STAGE_KEEP 1
#define STAGE_DROP 2
#define STAGE_KEEP_CAP (1u << 20) /* bytes of staging buffer kept between groups */

/* A LevelDB key: prefix byte + up to ENGINE_KEY_MAX bytes, or a hint's
 * prefix, owner, NUL and key. */
typedef struct {
  char b[1 + VV_NODE_MAX + 1 + ENGINE_KEY_MAX];
  size_t len;
} dbkey_t;

/* owner -> count, sorted by owner, no zero entries: the hints held per
 * owner, and a group's pending changes to them. */
typedef struct {
  char owner[VV_NODE_MAX + 1];
  int64_t n;
} tally_entry_t;

typedef struct {
  tally_entry_t *e;
  size_t n, cap;
} tally_t;

struct engine {
  engine_opts_t opts;
  char node_id[VV_NODE_MAX + 1];
  leveldb_t *db;
  leveldb_options_t *options;
  leveldb_cache_t *cache;
  leveldb_filterpolicy_t *filter;
  leveldb_writeoptions_t *wsync, *wnosync;
  leveldb_readoptions_t *ropts;
  leveldb_writebatch_t *wb;

  /* queue: mu guards head, tail and closing */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  engine_job_t *head, *tail;
  bool closing;
  pthread_t thread;
  bool thread_started;

  /* writer-thread state */
  uint64_t event_seq;   /* id of the newest committed event */
  uint64_t keys;        /* keys holding a live value, as of the last commit (writer thread) */
  uint64_t request_seq; /* sequence of the newest request-log entry */
  vv_t clock;           /* node clock, Fidge/Mattern */
  bool unsynced;        /* fsync=batch: writes since the last synced write */
  bool read_only;       /* a write failed: no further writes until restart */
  bool read_only_no_space;
  uint64_t last_sync_ms;
  rowcache_t records; /* committed records of recently used keys */

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

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void dbkey_bytes(dbkey_t *k, char prefix, const void *p, size_t n) {
  k->b[0] = prefix;
  memcpy(k->b + 1, p, n);
  k->len = n + 1;
}

static void dbkey_u64(dbkey_t *k, char prefix, uint64_t v) {
  k->b[0] = prefix;
  for (int i = 0; i < 8; i++)
    k->b[1 + i] = (char)(v >> (56 - 8 * i));
  k->len = 9;
}

/* 'h' owner 0x00 key: owner ids cannot hold a NUL, so the split is unambiguous. */
static void dbkey_hint(dbkey_t *k, const char *owner, const char *key, size_t n) {
  size_t olen = strlen(owner);
  k->b[0] = KEY_HINT;
  memcpy(k->b + 1, owner, olen);
  k->b[1 + olen] = '\0';
  memcpy(k->b + 2 + olen, key, n);
  k->len = 2 + olen + n;
}

static bool node_ok(const char *id) {
  return id && vv_node_valid(id, strnlen(id, VV_NODE_MAX + 1));
}

static uint64_t u64_from_be(const char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | (uint8_t)p[i];
  return v;
}

/* Logs a LevelDB error once and maps it to a code; frees the message. */
static int ldb_err(char *err, const char *what, bool *no_space) {
  if (!err) return 0;
  if (no_space) *no_space = strstr(err, "No space") != NULL;
  log_error("storage: %s: %s", what, err);
  leveldb_free(err);
  return CHORUS_EIO;
}

static void stat_max(atomic_uint_fast64_t *a, uint64_t v) {
  uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
  while (v > cur && !atomic_compare_exchange_weak(a, &cur, v)) {
  }
}

/* ---- per-group overlay: the pending results of earlier jobs ---- */

typedef struct {
  engine_job_t **jobs; /* jobs of this group that wrote or read a key or a hint, newest last */
  size_t n;
} overlay_t;

static bool is_hint_op(engine_op_t op) {
  return op == ENGINE_HINT_PUT || op == ENGINE_HINT_DELETE;
}

/* Whether two jobs address the same stored state: one key's record, or the
 * hint one owner has for that key. */
static bool same_slot(const engine_job_t *a, const engine_job_t *b) {
  bool hint = is_hint_op(a->op);
  if (hint != is_hint_op(b->op) || a->key_len != b->key_len || memcmp(a->key, b->key, a->key_len) != 0)
    return false;
  return !hint || strcmp(a->hint_owner, b->hint_owner) == 0;
}

/* The newest earlier job in the group for this job's slot, or NULL.
 * O(group size): groups are at most ENGINE_MAX_BATCH jobs. */
static engine_job_t *overlay_find_slot(const overlay_t *o, const engine_job_t *job) {
  for (size_t i = o->n; i-- > 0;) {
    engine_job_t *j = o->jobs[i];
    if (same_slot(j, job)) return j;
  }
  return NULL;
}

static engine_job_t *overlay_find_request(const overlay_t *o, const char *rid) {
  for (size_t i = o->n; i-- > 0;) {
    engine_job_t *j = o->jobs[i];
    if (j->request_logged && strcmp(j->request_id, rid) == 0) return j;
  }
  return NULL;
}

/* ---- reading state ---- */

/* A value stored in LevelDB (malloc'd by LevelDB) or NULL when absent. */
static int db_get(engine_t *e, const dbkey_t *k, const char *what, char **v, size_t *vlen) {
  char *err = NULL;
  *vlen = 0;
  *v = leveldb_get(e->db, e->ropts, k->b, k->len, vlen, &err);
  return ldb_err(err, what, NULL);
}

static int load_state(engine_t *e, const overlay_t *o, engine_job_t *job, dvv_t *out) {
  engine_job_t *prev = overlay_find_slot(o, job);
  if (prev) {
    job->overlaid = true;
    return dvv_copy(out, &prev->state);
  }
  const uint8_t *cached;
  size_t vlen;
  int rc;
  if (rowcache_get(&e->records, job->key, job->key_len, &cached, &vlen)) {
    rc = vlen ? record_decode(cached, vlen, out) : 0; /* no bytes: the key has no record */
  } else {
    dbkey_t k;
    dbkey_bytes(&k, KEY_DATA, job->key, job->key_len);
    char *v;
    rc = db_get(e, &k, "read", &v, &vlen);
    if (rc) return rc;
    atomic_fetch_add_explicit(&e->stats.reads, 1, memory_order_relaxed);
    if (!v) return rowcache_put(&e->records, job->key, job->key_len, NULL, 0), 0;
    rc = record_decode(v, vlen, out);
    /* committed bytes: cache them unless they are damaged (a failed put leaves the key absent) */
    if (!rc) (void)rowcache_put(&e->records, job->key, job->key_len, v, vlen);
    leveldb_free(v);
  }
  if (rc == CHORUS_ECORRUPT) log_error("storage: record of a key (%zu bytes) is corrupt", job->key_len);
  return rc;
}

/* A hint's value: u64be stored_at_ms, then the record. */
static int hint_decode(const char *v, size_t vlen, dvv_t *state, uint64_t *stored_at) {
  if (vlen < HINT_HEADER) return CHORUS_ECORRUPT;
  *stored_at = u64_from_be(v);
  return record_decode(v + HINT_HEADER, vlen - HINT_HEADER, state);
}

/* The hint held for the job's (owner, key) into job->state and
 * job->stored_at_ms, and whether one exists (job->hint_exists). A hint that
 * does not decode exists but reads as empty, so the next hint_put replaces
 * it: it could never be delivered anyway. */
static int load_hint(engine_t *e, const overlay_t *o, engine_job_t *job) {
  engine_job_t *prev = overlay_find_slot(o, job);
  if (prev) {
    job->hint_exists = prev->hint_exists;
    job->stored_at_ms = prev->stored_at_ms;
    return dvv_copy(&job->state, &prev->state);
  }
  dbkey_t k;
  dbkey_hint(&k, job->hint_owner, job->key, job->key_len);
  char *v;
  size_t vlen;
  int rc = db_get(e, &k, "read hint", &v, &vlen);
  if (rc || !v) return rc;
  job->hint_exists = true;
  rc = hint_decode(v, vlen, &job->state, &job->stored_at_ms);
  leveldb_free(v);
  if (rc == CHORUS_ECORRUPT) {
    log_error("storage: a hint for %s (key of %zu bytes) is corrupt; it will be replaced", job->hint_owner,
              job->key_len);
    job->stored_at_ms = 0;
    return 0;
  }
  return rc;
}

static int copy_replay(engine_job_t *job, int status, const uint8_t *body, size_t len) {
  job->replay = malloc(len ? len : 1);
  if (!job->replay) return CHORUS_ENOMEM;
  memcpy(job->replay, body, len);
  job->replay_len = len;
  job->replay_status = status;
  return 0;
}

/* The request-log entry an earlier job of the group wrote. */
static void entry_of_job(const engine_job_t *j, reqlog_entry_t *entry) {
  bool merge = j->op == ENGINE_MERGE;
  *entry = (reqlog_entry_t){.status = merge ? REQLOG_REPLICATED : j->replay_status,
                            .op = (uint8_t)(merge ? j->request_op : j->op),
                            .key = j->key,
                            .key_len = j->key_len,
                            .body = j->replay,
                            .body_len = j->replay_len};
}

/* The request-log entry of rid, from the group's earlier jobs or LevelDB:
 * 1 found (*entry points into *raw, which the caller frees with
 * leveldb_free, or into an earlier job), 0 none. */
static int lookup_request(engine_t *e, const overlay_t *o, const char *rid, reqlog_entry_t *entry, char **raw) {
  *raw = NULL;
  engine_job_t *prev = overlay_find_request(o, rid);
  if (prev) {
    entry_of_job(prev, entry);
    return 1;
  }
  dbkey_t k;
  dbkey_bytes(&k, KEY_REQUEST, rid, strlen(rid));
  size_t vlen;
  int rc = db_get(e, &k, "read request log", raw, &vlen);
  if (rc || !*raw) return rc;
  rc = reqlog_decode(*raw, vlen, entry);
  if (rc) {
    log_error("storage: the request-log entry of a request id is corrupt");
    leveldb_free(*raw);
    *raw = NULL;
    return rc;
  }
  return 1;
}

/* A retry of the same operation on the same key gets the stored reply, or,
 * when a replica applied it, is marked so (replicated_request); the id used
 * for anything else is refused rather than answered with a reply that
 * belongs to another request. */
static int use_stored(engine_job_t *job, const reqlog_entry_t *entry) {
  bool replicated = entry->status == REQLOG_REPLICATED;
  bool same_op = entry->op == job->op || (replicated && entry->op == 0);
  if (!same_op || entry->key_len != job->key_len || memcmp(entry->key, job->key, job->key_len) != 0) {
    job->err = CHORUS_EINVAL;
    job->request_reused = true;
    return 1;
  }
  if (replicated) {
    job->replicated_request = true;
    return 1;
  }
  int rc = copy_replay(job, entry->status, entry->body, entry->body_len);
  return rc ? rc : 1;
}

/* 1 when this request id was seen before (job answered), 0 when it is new. */
static int find_replay(engine_t *e, const overlay_t *o, engine_job_t *job) {
  reqlog_entry_t entry;
  char *raw;
  int rc = lookup_request(e, o, job->request_id, &entry, &raw);
  if (rc == 1) rc = use_stored(job, &entry);
  leveldb_free(raw);
  return rc;
}

/* ---- writing ---- */

typedef struct {
  bool has_writes;
  buf_t scratch;   /* the encoding being added to the batch */
  buf_t reply;     /* a reply being stored in the request log */
  vv_t next_clock; /* the clock the current job's event will carry (prepare_clock) */
  dvv_t before;    /* a job's state before its merge, to tell whether it changed */
  /* records written by the group, for the record cache once it commits:
   * (STAGE_KEEP, key, record | STAGE_DROP, key)*, each field length-prefixed */
  buf_t cache_stage;
  int64_t keys_delta; /* keys that gained (+1) or lost (-1) their last live value */
  /* hint bookkeeping of the group, applied to the counts after the commit */
  tally_t deltas;
  int64_t hints_delta;
  uint64_t hints_stored, hints_deleted, hints_expired;
} group_t;

/* Client-level failures of one job (its record is damaged, its result cannot
 * be encoded, its clock cannot grow): set on the job, the group goes on.
 * Anything else fails the group. */
static int fail_job(engine_job_t *job, int rc) {
  if (rc != CHORUS_ECORRUPT && rc != CHORUS_ETOOBIG) return rc;
  job->err = rc;
  return 0;
}

/* Encodes state (after a u64be stored_at when it is not NULL) as the value of k. */
static int put_state(engine_t *e, group_t *g, const dbkey_t *k, const dvv_t *state, const uint64_t *stored_at) {
  buf_reset(&g->scratch);
  if (stored_at) buf_put_u64be(&g->scratch, *stored_at);
  int rc = record_encode(state, &g->scratch);
  if (rc) return rc;
  if (g->scratch.err) return g->scratch.err;
  leveldb_writebatch_put(e->wb, k->b, k->len, (const char *)g->scratch.data, g->scratch.len);
  g->has_writes = true;
  return 0;
}

/* Keeps the conflict index ('c' key -> sibling count) in step with the state. */
static void update_conflict_index(engine_t *e, const engine_job_t *job, bool had_conflict) {
  bool conflict = dvv_has_conflict(&job->state);
  if (!conflict && !had_conflict) return;
  dbkey_t k;
  dbkey_bytes(&k, KEY_CONFLICT, job->key, job->key_len);
  if (conflict) {
    char cnt[4] = {(char)(job->state.n >> 24), (char)(job->state.n >> 16), (char)(job->state.n >> 8),
                   (char)job->state.n};
    leveldb_writebatch_put(e->wb, k.b, k.len, cnt, sizeof cnt);
  } else {
    leveldb_writebatch_delete(e->wb, k.b, k.len);
  }
  if (conflict != had_conflict) {
    if (conflict)
      atomic_fetch_add_explicit(&e->stats.conflicts_now, 1, memory_order_relaxed);
    else
      atomic_fetch_sub_explicit(&e->stats.conflicts_now, 1, memory_order_relaxed);
  }
}

/* What put_record needs to know of the key's state before the job. */
typedef struct {
  bool conflict, live;
} before_t;

static before_t before_of(const dvv_t *state) {
  return (before_t){dvv_has_conflict(state), dvv_live_count(state) > 0};
}

/* Writes the job's state as the key's record, with its conflict index entry,
 * and counts a key that gains or loses its last live value. */
static int put_record(engine_t *e, group_t *g, const engine_job_t *job, before_t before) {
  dbkey_t k;
  dbkey_bytes(&k, KEY_DATA, job->key, job->key_len);
  int rc = put_state(e, g, &k, &job->state, NULL);
  if (rc) return rc;
  if (e->records.max_bytes) { /* a record too large to cache is not copied, only dropped */
    bool keep = rowcache_would_keep(&e->records, job->key_len, g->scratch.len);
    buf_put_u8(&g->cache_stage, keep ? STAGE_KEEP : STAGE_DROP);
    buf_put_lbytes(&g->cache_stage, job->key, job->key_len);
    if (keep) buf_put_lbytes(&g->cache_stage, g->scratch.data, g->scratch.len);
  }
  update_conflict_index(e, job, before.conflict);
  bool live = dvv_live_count(&job->state) > 0;
  if (live != before.live) g->keys_delta += live ? 1 : -1;
  atomic_fetch_add_explicit(&e->stats.writes, 1, memory_order_relaxed);
  return 0;
}

static event_type_t event_type_of(const engine_job_t *job) {
  switch (job->op) {
  case ENGINE_PUT: return EVENT_PUT;
  case ENGINE_DELETE: return EVENT_DELETE;
  case ENGINE_MERGE: return job->event_type ? job->event_type : EVENT_REPLICATE;
  case ENGINE_HINT_PUT: return EVENT_HINT_STORED;
  case ENGINE_RECEIVE: return job->event_type;
  default: return EVENT_GET;
  }
}

static bool records_event(engine_op_t op) {
  return op != ENGINE_HINT_DELETE && op != ENGINE_HINT_EXPIRE;
}

/* The event shows the value written, read or received. */
static int set_event_preview(event_t *ev, const engine_job_t *job) {
  if (job->op == ENGINE_PUT) return event_set_preview(ev, job->value, job->value_len);
  const dvv_sibling_t *live = NULL;
  if (job->op == ENGINE_GET) live = dvv_newest_live(&job->state);
  if (job->op == ENGINE_MERGE || job->op == ENGINE_HINT_PUT) live = dvv_newest_live(job->incoming);
  return live ? event_set_preview(ev, live->value, live->value_len) : 0;
}

/* Computes in g->next_clock the clock the job's event will carry: the node
 * clock joined with the clock of the message that caused the job (a
 * receive event dominates its send), ticked. Done before the job adds
 * anything to the batch, so a clock that cannot grow fails the job alone. */
static int prepare_clock(engine_t *e, group_t *g, const engine_job_t *job) {
  int rc = vv_copy(&g->next_clock, &e->clock);
  if (!rc && job->remote_clock) rc = vv_join(&g->next_clock, job->remote_clock);
  if (!rc) rc = vv_tick(&g->next_clock, e->node_id, NULL);
  return rc;
}

/* Adopts the prepared clock and adds the job's event to the group, pruning
 * the event that falls out of the retention window so the log stays bounded. */
static int record_event(engine_t *e, group_t *g, engine_job_t *job, uint64_t ts) {
  vv_t prev = e->clock;
  e->clock = g->next_clock;
  g->next_clock = prev;
  event_t ev;
  event_init(&ev);
  ev.id = e->event_seq + 1;
  ev.type = event_type_of(job);
  ev.ts_ms = ts;
  memcpy(ev.node, e->node_id, sizeof ev.node);
  const char *peer = job->peer && job->peer[0] ? job->peer : job->op == ENGINE_HINT_PUT ? job->hint_owner : "";
  snprintf(ev.peer, sizeof ev.peer, "%s", peer);
  ev.key = (char *)job->key; /* borrowed for encoding only */
  ev.key_len = job->key_len;
  int rc = set_event_preview(&ev, job);
  if (!rc) rc = vv_copy(&ev.clock, &e->clock);
  if (!rc) rc = vv_copy(&job->clock, &e->clock);
  if (!rc) {
    buf_reset(&g->scratch);
    rc = event_encode(&ev, &g->scratch);
    if (!rc) rc = g->scratch.err;
  }
  ev.key = NULL;
  ev.key_len = 0;
  event_free(&ev);
  if (rc) return rc;
  dbkey_t k;
  dbkey_u64(&k, KEY_EVENT, e->event_seq + 1);
  leveldb_writebatch_put(e->wb, k.b, k.len, (const char *)g->scratch.data, g->scratch.len);
  e->event_seq++;
  if (e->event_seq > e->opts.event_retention) {
    dbkey_u64(&k, KEY_EVENT, e->event_seq - e->opts.event_retention);
    leveldb_writebatch_delete(e->wb, k.b, k.len);
  }
  job->event_id = e->event_seq;
  return 0;
}

/* Adds a request-log entry for the job's request id, and drops the entry
 * that falls out of the request-log window. */
static int log_request(engine_t *e, group_t *g, engine_job_t *job, const reqlog_entry_t *entry) {
  buf_reset(&g->scratch);
  int rc = reqlog_encode(entry, &g->scratch);
  if (rc) return rc;
  size_t idlen = strlen(job->request_id);
  dbkey_t k;
  dbkey_bytes(&k, KEY_REQUEST, job->request_id, idlen);
  leveldb_writebatch_put(e->wb, k.b, k.len, (const char *)g->scratch.data, g->scratch.len);
  e->request_seq++;
  dbkey_u64(&k, KEY_REQSEQ, e->request_seq);
  leveldb_writebatch_put(e->wb, k.b, k.len, job->request_id, idlen);
  g->has_writes = true;
  job->request_logged = true;
  if (e->request_seq <= ENGINE_REQUEST_LOG_RETENTION) return 0;
  dbkey_u64(&k, KEY_REQSEQ, e->request_seq - ENGINE_REQUEST_LOG_RETENTION);
  char *old;
  size_t vlen;
  rc = db_get(e, &k, "read request log", &old, &vlen);
  if (rc) return rc;
  leveldb_writebatch_delete(e->wb, k.b, k.len);
  if (old && vlen <= ENGINE_REQUEST_ID_MAX) {
    dbkey_t rk;
    dbkey_bytes(&rk, KEY_REQUEST, old, vlen);
    leveldb_writebatch_delete(e->wb, rk.b, rk.len);
  }
  leveldb_free(old);
  return 0;
}

/* Stores the formatted response of a put or delete carrying a request id. */
static int record_request(engine_t *e, group_t *g, engine_job_t *job) {
  buf_reset(&g->reply);
  int status = e->opts.format(job, &g->reply, e->opts.state);
  if (g->reply.err) return g->reply.err;
  /* keep a copy on the job so a retry later in this group gets the same answer */
  int rc = copy_replay(job, status, g->reply.data, g->reply.len);
  if (rc) return rc;
  reqlog_entry_t entry = {.status = status,
                          .op = (uint8_t)job->op,
                          .key = job->key,
                          .key_len = job->key_len,
                          .body = g->reply.data,
                          .body_len = g->reply.len};
  return log_request(e, g, job, &entry);
}

/* Marks the request id of a merged write as applied here, unless the id is
 * known already (a stored reply is worth more than the mark; a merge is
 * idempotent, so it is applied either way). */
static int record_replicated(engine_t *e, group_t *g, const overlay_t *o, engine_job_t *job) {
  reqlog_entry_t entry;
  char *raw;
  int found = lookup_request(e, o, job->request_id, &entry, &raw);
  leveldb_free(raw);
  if (found == CHORUS_ECORRUPT || found == 1) return 0;
  if (found) return found;
  entry = (reqlog_entry_t){
      .status = REQLOG_REPLICATED, .op = (uint8_t)job->request_op, .key = job->key, .key_len = job->key_len};
  return log_request(e, g, job, &entry);
}

static bool has_request_id(const engine_t *e, const engine_job_t *job) {
  return e->opts.format && job->request_id && job->request_id[0];
}

/* Put, get and delete of a client. Client-level outcomes (not found) are set
 * in job->err and are not failures of the group. */
static int apply_client(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  bool has_rid = has_request_id(e, job) && job->op != ENGINE_GET;
  if (has_rid) {
    int found = find_replay(e, o, job);
    if (found < 0) return found;
    if (found) {
      if (job->replay || job->replicated_request)
        atomic_fetch_add_explicit(&e->stats.replays, 1, memory_order_relaxed);
      /* applied by replication: answered from the key's current state */
      /* applied before (here or by replication): the key's current state,
       * which a coordinator replicates again */
      return fail_job(job, load_state(e, o, job, &job->state));
    }
  }
  int rc = load_state(e, o, job, &job->state);
  /* a damaged record fails this job alone and is never overwritten blindly */
  if (rc) return fail_job(job, rc);
  before_t before = before_of(&job->state);
  if (job->op == ENGINE_GET || job->op == ENGINE_DELETE) {
    if (dvv_live_count(&job->state) == 0) job->err = CHORUS_ENOTFOUND;
  }
  if (!job->err && job->op != ENGINE_GET) {
    bool tomb = job->op == ENGINE_DELETE;
    rc = dvv_update(&job->state, job->ctx, e->node_id, tomb ? NULL : job->value, tomb ? 0 : job->value_len,
                    tomb, ts, NULL);
    if (!rc) rc = put_record(e, g, job, before);
    if (rc) return fail_job(job, rc);
  }
  rc = record_event(e, g, job, ts);
  if (!rc && has_rid) rc = record_request(e, g, job);
  if (rc) return rc;
  o->jobs[o->n++] = job;
  return 0;
}

/* job->state = sync(job->state, incoming); job->changed says whether that
 * changed it. */
static int merge_incoming(group_t *g, engine_job_t *job) {
  int rc = dvv_copy(&g->before, &job->state);
  if (!rc) rc = dvv_sync(&job->state, job->incoming);
  if (!rc) job->changed = !dvv_equal(&g->before, &job->state);
  return rc;
}

/* A state another node produced, merged into the key's. The record is
 * written only when it changed; the event always, as a message was received
 * (so the group is a write for the fsync mode either way). */
static int apply_merge(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  int rc = load_state(e, o, job, &job->state);
  if (rc) return fail_job(job, rc);
  before_t before = before_of(&job->state);
  rc = merge_incoming(g, job);
  if (!rc && job->changed) rc = put_record(e, g, job, before);
  if (rc) return fail_job(job, rc);
  rc = record_event(e, g, job, ts);
  if (!rc && has_request_id(e, job)) rc = record_replicated(e, g, o, job);
  if (rc) return rc;
  g->has_writes = true;
  atomic_fetch_add_explicit(&e->stats.merges, 1, memory_order_relaxed);
  if (job->changed) atomic_fetch_add_explicit(&e->stats.merges_changed, 1, memory_order_relaxed);
  o->jobs[o->n++] = job;
  return 0;
}

/* Adds delta to owner's entry, inserting it, or removing it at 0. */
static int tally_add(tally_t *t, const char *owner, int64_t delta) {
  size_t i = 0;
  int cmp = 1;
  while (i < t->n && (cmp = strcmp(t->e[i].owner, owner)) < 0)
    i++;
  if (i == t->n || cmp != 0) {
    if (t->n == t->cap) {
      size_t cap = t->cap ? 2 * t->cap : 8;
      tally_entry_t *grown = realloc(t->e, cap * sizeof *grown);
      if (!grown) return CHORUS_ENOMEM;
      t->e = grown;
      t->cap = cap;
    }
    memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof *t->e);
    snprintf(t->e[i].owner, sizeof t->e[i].owner, "%s", owner);
    t->e[i].n = 0;
    t->n++;
  }
  t->e[i].n += delta;
  if (!t->e[i].n) {
    memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof *t->e);
    t->n--;
  }
  return 0;
}

/* Notes a change of owner's hint count for after the commit. */
static int add_hint_delta(group_t *g, const char *owner, int64_t delta) {
  int rc = tally_add(&g->deltas, owner, delta);
  if (!rc) g->hints_delta += delta;
  return rc;
}

/* Keeps a state for a replica that is down, merged into the hint already
 * held for that owner and key (stored_at stays the first store's time). A
 * new hint is refused once max_hints are held. */
static int apply_hint_put(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  int rc = load_hint(e, o, job);
  if (rc) return fail_job(job, rc);
  bool existed = job->hint_exists;
  uint64_t held = atomic_load_explicit(&e->stats.hints, memory_order_relaxed) + (uint64_t)g->hints_delta;
  if (!existed && held >= e->opts.max_hints) {
    job->err = CHORUS_EBUSY;
    atomic_fetch_add_explicit(&e->stats.hints_refused_total, 1, memory_order_relaxed);
    return 0;
  }
  if (!job->state.n) job->stored_at_ms = ts; /* new, or replacing an unreadable one */
  rc = merge_incoming(g, job);
  job->changed |= !existed;
  if (!rc && job->changed) {
    dbkey_t k;
    dbkey_hint(&k, job->hint_owner, job->key, job->key_len);
    rc = put_state(e, g, &k, &job->state, &job->stored_at_ms);
  }
  if (rc) return fail_job(job, rc);
  rc = record_event(e, g, job, ts);
  if (!rc && !existed) rc = add_hint_delta(g, job->hint_owner, 1);
  if (rc) return rc;
  job->hint_exists = true;
  g->has_writes = true;
  g->hints_stored++;
  o->jobs[o->n++] = job;
  return 0;
}

static int delete_hint(engine_t *e, group_t *g, const char *k, size_t klen, const char *owner) {
  leveldb_writebatch_delete(e->wb, k, klen);
  g->has_writes = true;
  return add_hint_delta(g, owner, -1);
}

/* Drops a delivered hint, unless a newer state was merged into it since
 * the delivery began (that one must still be delivered). */
static int apply_hint_delete(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job) {
  int rc = load_hint(e, o, job);
  if (rc) return fail_job(job, rc);
  if (job->hint_exists && dvv_equal(&job->state, job->incoming)) {
    dbkey_t k;
    dbkey_hint(&k, job->hint_owner, job->key, job->key_len);
    rc = delete_hint(e, g, k.b, k.len, job->hint_owner);
    if (rc) return rc;
    dvv_free(&job->state);
    job->stored_at_ms = 0;
    job->hint_exists = false;
    job->changed = true;
    g->hints_deleted++;
  }
  o->jobs[o->n++] = job;
  return 0;
}

/* Splits a hint's LevelDB key ('h' owner 0x00 key) into its owner (copied)
 * and key; false when it is not one. */
static bool hint_key_split(const char *k, size_t klen, char owner[VV_NODE_MAX + 1], const char **key,
                           size_t *key_len) {
  if (klen < 2 || k[0] != KEY_HINT) return false;
  size_t max = klen - 1 < VV_NODE_MAX + 1 ? klen - 1 : VV_NODE_MAX + 1;
  const char *nul = memchr(k + 1, '\0', max);
  if (!nul) return false;
  size_t olen = (size_t)(nul - (k + 1));
  if (!vv_node_valid(k + 1, olen)) return false;
  memcpy(owner, k + 1, olen);
  owner[olen] = '\0';
  *key = nul + 1;
  *key_len = klen - 2 - olen;
  return *key_len >= 1 && *key_len <= ENGINE_KEY_MAX;
}

/* The iterator is on a LevelDB key starting with prefix[0..n). */
static bool iter_in(leveldb_iterator_t *it, const char *prefix, size_t n, const char **key, size_t *klen) {
  if (!leveldb_iter_valid(it)) return false;
  *key = leveldb_iter_key(it, klen);
  return *klen >= n && memcmp(*key, prefix, n) == 0;
}

/* Deletes up to ENGINE_HINT_EXPIRE_MAX hints stored hint_ttl_ms or longer
 * ago, and any that can never be delivered (a value too short to say its
 * age, a key that is not a hint's). Hints are ordered by owner and key, not
 * by age, so this scans them all; it runs alone in its group (see
 * writer_main), as the scan does not see a group's pending writes. */
static int apply_hint_expire(engine_t *e, group_t *g, engine_job_t *job, uint64_t ts) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char prefix = KEY_HINT;
  const char *k;
  size_t klen;
  int rc = 0;
  for (leveldb_iter_seek(it, &prefix, 1); iter_in(it, &prefix, 1, &k, &klen) && !rc; leveldb_iter_next(it)) {
    if (job->count == ENGINE_HINT_EXPIRE_MAX) break;
    char owner[VV_NODE_MAX + 1];
    const char *key;
    size_t key_len, vlen = 0;
    bool is_hint = hint_key_split(k, klen, owner, &key, &key_len);
    const char *v = leveldb_iter_value(it, &vlen);
    uint64_t stored_at = vlen >= HINT_HEADER ? u64_from_be(v) : 0;
    bool young = stored_at > ts || ts - stored_at < e->opts.hint_ttl_ms;
    if (is_hint && vlen >= HINT_HEADER && young) continue;
    if (is_hint) {
      rc = delete_hint(e, g, k, klen, owner);
    } else { /* never counted */
      leveldb_writebatch_delete(e->wb, k, klen);
      g->has_writes = true;
    }
    job->count++;
  }
  leveldb_iter_destroy(it);
  g->hints_expired += job->count;
  return rc;
}

/* Computes one job's result and adds its writes to the group. */
static int apply_job(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  int rc = records_event(job->op) ? prepare_clock(e, g, job) : 0;
  if (rc) return fail_job(job, rc);
  switch (job->op) {
  case ENGINE_MERGE: rc = apply_merge(e, g, o, job, ts); break;
  case ENGINE_HINT_PUT: rc = apply_hint_put(e, g, o, job, ts); break;
  case ENGINE_HINT_DELETE: rc = apply_hint_delete(e, g, o, job); break;
  case ENGINE_HINT_EXPIRE: rc = apply_hint_expire(e, g, job, ts); break;
  case ENGINE_RECEIVE: rc = record_event(e, g, job, ts); break;
  default: rc = apply_client(e, g, o, job, ts); break;
  }
  /* a job without an event still hands back the clock to send on with */
  if (!rc && !job->event_id && !job->err) rc = vv_copy(&job->clock, &e->clock);
  return rc;
}

static void publish_clock(engine_t *e) {
  pthread_mutex_lock(&e->clock_mu);
  int rc = vv_copy(&e->published_clock, &e->clock);
  pthread_mutex_unlock(&e->clock_mu);
  if (rc) log_warn("storage: cannot publish the node clock: %s", chorus_strerror(rc));
  atomic_store(&e->event_count, e->event_seq);
}

/* The group's batch did not reach disk. Writes fail; a read fails only if
 * it saw a write of this group, otherwise its answer came from disk and
 * stands (only its event is lost), so reads keep working on a full disk. */
static void fail_group(engine_t *e, engine_job_t *jobs, int rc, bool no_space) {
  for (engine_job_t *j = jobs; j; j = j->next) {
    j->event_id = 0;
    j->changed = false;
    j->count = 0;
    if (j->op == ENGINE_GET && !j->overlaid && !j->replay && vv_copy(&j->clock, &e->clock) == 0) continue;
    vv_clear(&j->clock);
    j->err = rc;
    j->no_space = no_space;
  }
}

/* After a failed write LevelDB's log may end in a partial record; writing
 * on past it could put acknowledged records behind it that recovery would
 * skip. So the engine stops writing (reads go on, without events) until a
 * restart recovers the log cleanly. */
static void run_read_only(engine_t *e, engine_job_t *jobs, overlay_t *o) {
  o->n = 0;
  for (engine_job_t *j = jobs; j; j = j->next) {
    if (j->op != ENGINE_GET) {
      j->err = CHORUS_EIO;
      j->no_space = e->read_only_no_space;
      continue;
    }
    int rc = load_state(e, o, j, &j->state);
    if (!rc) rc = vv_copy(&j->clock, &e->clock);
    if (rc)
      j->err = rc;
    else if (dvv_live_count(&j->state) == 0)
      j->err = CHORUS_ENOTFOUND;
  }
}

static void enter_read_only(engine_t *e, bool no_space) {
  if (e->read_only) return;
  e->read_only = true;
  e->read_only_no_space = no_space;
  e->unsynced = false;
  atomic_store(&e->stats.read_only, 1);
  log_error("storage: writes are disabled after a failed write%s; restart the node to resume writing",
            no_space ? " (the disk is full)" : "");
}

/* The group committed: its hint changes become visible. */
static void commit_hints(engine_t *e, const group_t *g) {
  int rc = 0;
  pthread_mutex_lock(&e->hint_mu);
  for (size_t i = 0; i < g->deltas.n; i++)
    rc |= tally_add(&e->hint_counts, g->deltas.e[i].owner, g->deltas.e[i].n);
  pthread_mutex_unlock(&e->hint_mu);
  if (rc) log_warn("storage: out of memory: the hint counts per owner are incomplete until restart");
  atomic_fetch_add_explicit(&e->stats.hints, (uint64_t)g->hints_delta, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->stats.hints_stored_total, g->hints_stored, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->stats.hints_deleted_total, g->hints_deleted, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->stats.hints_expired_total, g->hints_expired, memory_order_relaxed);
}

static const char KEYS_META[] = {KEY_META, 'k', 'e', 'y', 's'};

/* The live-key count rides in the batch that changes it, so it is exactly
 * as durable as the records it counts. */
static int put_key_count(engine_t *e, group_t *g, uint64_t n) {
  buf_reset(&g->scratch);
  buf_put_u64be(&g->scratch, n);
  if (g->scratch.err) return g->scratch.err;
  leveldb_writebatch_put(e->wb, KEYS_META, sizeof KEYS_META, (const char *)g->scratch.data, g->scratch.len);
  return 0;
}

/* The group committed: its records, staged in order, become the cached
 * ones (a later write to a key replaces an earlier one). */
static void commit_records(engine_t *e, group_t *g) {
  if (g->cache_stage.err) {
    rowcache_clear(&e->records); /* some record could not be staged: keep none */
  } else {
    buf_reader_t r;
    buf_reader_init(&r, g->cache_stage.data, g->cache_stage.len);
    while (r.left && !r.err) {
      size_t klen, vlen = 0;
      uint8_t tag = buf_read_u8(&r);
      const uint8_t *key = buf_read_lbytes(&r, ENGINE_KEY_MAX, &klen);
      const uint8_t *val = tag == STAGE_KEEP ? buf_read_lbytes(&r, SIZE_MAX, &vlen) : NULL;
      if (r.err) {
        rowcache_clear(&e->records);
        break;
      }
      if (tag == STAGE_KEEP)
        (void)rowcache_put(&e->records, key, klen, val, vlen);
      else
        rowcache_erase(&e->records, key, klen);
    }
  }
  /* a group of large records leaves a large buffer: do not keep it */
  if (g->cache_stage.cap > STAGE_KEEP_CAP) buf_free(&g->cache_stage);
  atomic_store_explicit(&e->stats.record_cache_hits, e->records.hits, memory_order_relaxed);
  atomic_store_explicit(&e->stats.record_cache_misses, e->records.misses, memory_order_relaxed);
  atomic_store_explicit(&e->stats.record_cache_bytes, e->records.bytes, memory_order_relaxed);
  atomic_store_explicit(&e->stats.record_cache_entries, e->records.count, memory_order_relaxed);
}

static void reset_group(group_t *g) {
  buf_reset(&g->cache_stage);
  g->has_writes = false;
  g->keys_delta = 0;
  g->deltas.n = 0;
  g->hints_delta = 0;
  g->hints_stored = g->hints_deleted = g->hints_expired = 0;
}

static void complete_group(engine_t *e, engine_job_t *jobs, size_t count) {
  atomic_fetch_add_explicit(&e->stats.batches, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->stats.jobs, count, memory_order_relaxed);
  atomic_store(&e->stats.events, e->event_seq);
  stat_max(&e->stats.batch_jobs_max, count);
  while (jobs) {
    engine_job_t *next = jobs->next;
    jobs->next = NULL;
    e->opts.on_done(jobs, e->opts.state);
    jobs = next;
  }
}

/* Applies and commits one group, then completes its jobs. */
static void run_group(engine_t *e, engine_job_t *jobs, size_t count, overlay_t *o, group_t *g) {
  if (e->read_only) {
    run_read_only(e, jobs, o);
    complete_group(e, jobs, count);
    return;
  }
  uint64_t saved_seq = e->event_seq, saved_req = e->request_seq;
  vv_t saved_clock;
  vv_init(&saved_clock);
  int rc = vv_copy(&saved_clock, &e->clock);
  bool saved = rc == 0;
  uint64_t ts = now_ms();
  o->n = 0;
  reset_group(g);
  leveldb_writebatch_clear(e->wb);
  for (engine_job_t *j = jobs; j && !rc; j = j->next)
    rc = apply_job(e, g, o, j, ts);

  bool no_space = false;
  bool sync = false;
  if (!rc && g->keys_delta) rc = put_key_count(e, g, (uint64_t)((int64_t)e->keys + g->keys_delta));
  if (!rc) {
    uint64_t now = mono_ms();
    if (e->opts.fsync == FSYNC_ALWAYS) sync = g->has_writes;
    if (e->opts.fsync == FSYNC_BATCH) {
      e->unsynced |= g->has_writes;
      sync = e->unsynced && now - e->last_sync_ms >= ENGINE_BATCH_SYNC_MS;
    }
    char *err = NULL;
    leveldb_write(e->db, sync ? e->wsync : e->wnosync, e->wb, &err);
    rc = ldb_err(err, "write", &no_space);
    if (!rc && sync) {
      e->unsynced = false;
      e->last_sync_ms = now;
      atomic_fetch_add_explicit(&e->stats.fsyncs, 1, memory_order_relaxed);
    }
  }
  if (rc) {
    /* nothing of the group reached disk: undo its effect on the sequences and clock */
    e->event_seq = saved_seq;
    e->request_seq = saved_req;
    if (saved) vv_copy(&e->clock, &saved_clock);
    fail_group(e, jobs, rc, no_space);
    atomic_fetch_add_explicit(&e->stats.errors, 1, memory_order_relaxed);
    if (rc == CHORUS_EIO) enter_read_only(e, no_space);
  } else {
    commit_hints(e, g);
    commit_records(e, g);
    e->keys = (uint64_t)((int64_t)e->keys + g->keys_delta);
    atomic_store(&e->stats.keys, e->keys);
  }
  vv_free(&saved_clock);
  publish_clock(e);
  complete_group(e, jobs, count);
}

static void sync_now(engine_t *e) {
  leveldb_writebatch_t *empty = leveldb_writebatch_create();
  char *err = NULL;
  leveldb_write(e->db, e->wsync, empty, &err);
  leveldb_writebatch_destroy(empty);
  bool no_space = false;
  if (ldb_err(err, "sync", &no_space)) {
    enter_read_only(e, no_space);
  } else {
    e->unsynced = false;
    e->last_sync_ms = mono_ms();
    atomic_fetch_add_explicit(&e->stats.fsyncs, 1, memory_order_relaxed);
  }
}

static void deadline_in(struct timespec *ts, uint64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += (time_t)(ms / 1000);
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

static void *writer_main(void *arg) {
  engine_t *e = arg;
  engine_job_t *slots[ENGINE_MAX_BATCH];
  overlay_t o = {.jobs = slots, .n = 0};
  group_t g = {.has_writes = false};
  buf_init(&g.scratch);
  buf_init(&g.reply);
  buf_init(&g.cache_stage);
  vv_init(&g.next_clock);
  dvv_init(&g.before);
  pthread_mutex_lock(&e->mu);
  for (;;) {
    while (!e->head && !e->closing) {
      if (e->unsynced) {
        struct timespec dl;
        deadline_in(&dl, ENGINE_BATCH_SYNC_MS);
        if (pthread_cond_timedwait(&e->cond, &e->mu, &dl) == ETIMEDOUT && !e->head) {
          pthread_mutex_unlock(&e->mu);
          sync_now(e);
          pthread_mutex_lock(&e->mu);
        }
      } else {
        pthread_cond_wait(&e->cond, &e->mu);
      }
    }
    if (!e->head) break; /* closing and drained */
    engine_job_t *jobs = e->head, *last = jobs;
    size_t count = 1;
    /* hint_expire scans LevelDB, which does not see a group's pending
     * writes: it runs in a group of its own */
    while (last->op != ENGINE_HINT_EXPIRE && last->next && last->next->op != ENGINE_HINT_EXPIRE &&
           count < ENGINE_MAX_BATCH) {
      last = last->next;
      count++;
    }
    e->head = last->next;
    if (!e->head) e->tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&e->mu);
    run_group(e, jobs, count, &o, &g);
    pthread_mutex_lock(&e->mu);
  }
  pthread_mutex_unlock(&e->mu);
  if (e->unsynced) sync_now(e);
  buf_free(&g.scratch);
  buf_free(&g.reply);
  buf_free(&g.cache_stage);
  vv_free(&g.next_clock);
  dvv_free(&g.before);
  free(g.deltas.e);
  return NULL;
}

/* ---- open: recover sequences and clock from the newest entries ---- */

/* The newest LevelDB key with this prefix byte, as an iterator positioned on
 * it, or NULL when there is none. */
static leveldb_iterator_t *seek_last(engine_t *e, char prefix) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  char next = (char)(prefix + 1);
  leveldb_iter_seek(it, &next, 1);
  if (leveldb_iter_valid(it))
    leveldb_iter_prev(it);
  else
    leveldb_iter_seek_to_last(it);
  size_t klen = 0;
  if (leveldb_iter_valid(it)) {
    const char *k = leveldb_iter_key(it, &klen);
    if (klen >= 1 && k[0] == prefix) return it;
  }
  leveldb_iter_destroy(it);
  return NULL;
}

static int recover_events(engine_t *e) {
  leveldb_iterator_t *it = seek_last(e, KEY_EVENT);
  if (!it) return 0;
  size_t klen = 0, vlen = 0;
  const char *k = leveldb_iter_key(it, &klen);
  const char *v = leveldb_iter_value(it, &vlen);
  event_t ev;
  event_init(&ev);
  int rc = klen == 9 ? event_decode(v, vlen, &ev) : CHORUS_ECORRUPT;
  if (!rc && ev.id == u64_from_be(k + 1)) {
    e->event_seq = ev.id;
    rc = vv_copy(&e->clock, &ev.clock);
  } else if (!rc) {
    rc = CHORUS_ECORRUPT;
  }
  event_free(&ev);
  leveldb_iter_destroy(it);
  if (rc) log_error("storage: the newest event log entry is unreadable: %s", chorus_strerror(rc));
  return rc;
}

/* Deletes events older than the retention window (it may have shrunk since
 * the last run), in batches so a huge backlog does not build one giant batch. */
static int prune_events(engine_t *e) {
  if (e->event_seq <= e->opts.event_retention) return 0;
  uint64_t cutoff = e->event_seq - e->opts.event_retention; /* delete ids <= cutoff */
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  dbkey_t k;
  dbkey_u64(&k, KEY_EVENT, 0);
  leveldb_iter_seek(it, k.b, k.len);
  leveldb_writebatch_t *wb = leveldb_writebatch_create();
  int rc = 0, n = 0;
  for (; leveldb_iter_valid(it) && !rc; leveldb_iter_next(it)) {
    size_t klen = 0;
    const char *key = leveldb_iter_key(it, &klen);
    if (klen != 9 || key[0] != KEY_EVENT || u64_from_be(key + 1) > cutoff) break;
    leveldb_writebatch_delete(wb, key, klen);
    if (++n % 10000 == 0) {
      char *err = NULL;
      leveldb_write(e->db, e->wnosync, wb, &err);
      rc = ldb_err(err, "prune events", NULL);
      leveldb_writebatch_clear(wb);
    }
  }
  if (!rc) {
    char *err = NULL;
    leveldb_write(e->db, e->wnosync, wb, &err);
    rc = ldb_err(err, "prune events", NULL);
  }
  leveldb_writebatch_destroy(wb);
  leveldb_iter_destroy(it);
  if (!rc && n)
    log_info("storage: pruned %d events beyond the retention of %llu", n,
             (unsigned long long)e->opts.event_retention);
  return rc;
}

static int recover_requests(engine_t *e) {
  leveldb_iterator_t *it = seek_last(e, KEY_REQSEQ);
  if (!it) return 0;
  size_t klen = 0;
  const char *k = leveldb_iter_key(it, &klen);
  int rc = klen == 9 ? 0 : CHORUS_ECORRUPT;
  if (!rc) e->request_seq = u64_from_be(k + 1);
  leveldb_iter_destroy(it);
  return rc;
}

static int count_conflicts(engine_t *e) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  char p = KEY_CONFLICT;
  uint64_t n = 0;
  for (leveldb_iter_seek(it, &p, 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
    size_t klen = 0;
    const char *k = leveldb_iter_key(it, &klen);
    if (!klen || k[0] != KEY_CONFLICT) break;
    n++;
  }
  leveldb_iter_destroy(it);
  atomic_store(&e->stats.conflicts_now, n);
  return 0;
}

/* The live-key count: stored with the records since it was introduced;
 * a store without it is counted once by decoding every record. */
static int count_keys(engine_t *e) {
  char *err = NULL;
  size_t vlen = 0;
  char *v = leveldb_get(e->db, e->ropts, KEYS_META, sizeof KEYS_META, &vlen, &err);
  if (err) return ldb_err(err, "read key count", NULL);
  if (v && vlen == 8) {
    e->keys = u64_from_be(v);
  } else {
    leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
    char p = KEY_DATA;
    dvv_t d;
    dvv_init(&d);
    e->keys = 0;
    for (leveldb_iter_seek(it, &p, 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
      size_t klen = 0, rlen = 0;
      const char *k = leveldb_iter_key(it, &klen);
      if (!klen || k[0] != KEY_DATA) break;
      const char *r = leveldb_iter_value(it, &rlen);
      if (record_decode(r, rlen, &d) == 0 && dvv_live_count(&d) > 0) e->keys++;
    }
    dvv_free(&d);
    leveldb_iter_destroy(it);
  }
  if (v) leveldb_free(v);
  atomic_store(&e->stats.keys, e->keys);
  return 0;
}

/* Rebuilds the hint counts from the 'h' keys (a key that is not a hint's is
 * left out: hint_expire drops it). */
static int count_hints(engine_t *e) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char prefix = KEY_HINT;
  const char *k, *key;
  size_t klen, key_len;
  uint64_t n = 0;
  int rc = 0;
  for (leveldb_iter_seek(it, &prefix, 1); iter_in(it, &prefix, 1, &k, &klen) && !rc; leveldb_iter_next(it)) {
    char owner[VV_NODE_MAX + 1];
    if (!hint_key_split(k, klen, owner, &key, &key_len)) continue;
    pthread_mutex_lock(&e->hint_mu);
    rc = tally_add(&e->hint_counts, owner, 1);
    pthread_mutex_unlock(&e->hint_mu);
    n++;
  }
  leveldb_iter_destroy(it);
  atomic_store(&e->stats.hints, n);
  return rc;
}

/* Refuses a store written in a format this build does not know; stamps a new one. */
static int check_format(engine_t *e) {
  const char key[] = {KEY_META, 'f', 'o', 'r', 'm', 'a', 't'};
  char *err = NULL;
  size_t vlen = 0;
  char *v = leveldb_get(e->db, e->ropts, key, sizeof key, &vlen, &err);
  if (err) return ldb_err(err, "read format", NULL);
  if (v) {
    bool ok = vlen == strlen(STORE_FORMAT) && memcmp(v, STORE_FORMAT, vlen) == 0;
    if (!ok) log_error("storage: %s holds data in an unknown format '%.*s'", e->opts.dir, (int)vlen, v);
    leveldb_free(v);
    return ok ? 0 : CHORUS_ECORRUPT;
  }
  leveldb_put(e->db, e->wsync, key, sizeof key, STORE_FORMAT, strlen(STORE_FORMAT), &err);
  return ldb_err(err, "write format", NULL);
}

static int open_db(engine_t *e) {
  e->options = leveldb_options_create();
  e->cache = leveldb_cache_create_lru(64u << 20);
  e->filter = leveldb_filterpolicy_create_bloom(10);
  e->wsync = leveldb_writeoptions_create();
  e->wnosync = leveldb_writeoptions_create();
  e->ropts = leveldb_readoptions_create();
  e->wb = leveldb_writebatch_create();
  if (!e->options || !e->cache || !e->filter || !e->wsync || !e->wnosync || !e->ropts || !e->wb)
    return CHORUS_ENOMEM;
  leveldb_options_set_create_if_missing(e->options, 1);
  leveldb_options_set_cache(e->options, e->cache);
  leveldb_options_set_filter_policy(e->options, e->filter);
  leveldb_options_set_write_buffer_size(e->options, 16u << 20);
  leveldb_writeoptions_set_sync(e->wsync, 1);
  leveldb_writeoptions_set_sync(e->wnosync, 0);
  char *err = NULL;
  e->db = leveldb_open(e->options, e->opts.dir, &err);
  if (err) {
    log_error("storage: cannot open %s: %s", e->opts.dir, err);
    leveldb_free(err);
    return CHORUS_EIO;
  }
  return 0;
}

static void destroy(engine_t *e) {
  if (e->db) leveldb_close(e->db);
  if (e->wb) leveldb_writebatch_destroy(e->wb);
  if (e->ropts) leveldb_readoptions_destroy(e->ropts);
  if (e->wsync) leveldb_writeoptions_destroy(e->wsync);
  if (e->wnosync) leveldb_writeoptions_destroy(e->wnosync);
  if (e->options) leveldb_options_destroy(e->options);
  if (e->filter) leveldb_filterpolicy_destroy(e->filter);
  if (e->cache) leveldb_cache_destroy(e->cache);
  rowcache_free(&e->records);
  vv_free(&e->clock);
  vv_free(&e->published_clock);
  free(e->hint_counts.e);
  pthread_mutex_destroy(&e->mu);
  pthread_mutex_destroy(&e->clock_mu);
  pthread_mutex_destroy(&e->hint_mu);
  pthread_cond_destroy(&e->cond);
  free(e);
}

int engine_open(const engine_opts_t *opts, engine_t **out) {
  if (!opts || !opts->node_id || !opts->dir || !opts->on_done || !opts->event_retention ||
      !vv_node_valid(opts->node_id, strlen(opts->node_id)))
    return CHORUS_EINVAL;
  engine_t *e = calloc(1, sizeof *e);
  if (!e) return CHORUS_ENOMEM;
  e->opts = *opts;
  snprintf(e->node_id, sizeof e->node_id, "%s", opts->node_id);
  e->opts.node_id = e->node_id;
  if (!e->opts.max_hints) e->opts.max_hints = ENGINE_MAX_HINTS_DEFAULT;
  if (!e->opts.hint_ttl_ms) e->opts.hint_ttl_ms = ENGINE_HINT_TTL_MS_DEFAULT;
  if (!e->opts.record_cache_bytes) e->opts.record_cache_bytes = ENGINE_RECORD_CACHE_DEFAULT;
  vv_init(&e->clock);
  vv_init(&e->published_clock);
  pthread_mutex_init(&e->mu, NULL);
  pthread_mutex_init(&e->clock_mu, NULL);
  pthread_mutex_init(&e->hint_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->cond, &ca);
  pthread_condattr_destroy(&ca);
  e->last_sync_ms = mono_ms();

  uint8_t seed[SIPHASH_KEY_BYTES];
  int rc = RAND_bytes(seed, sizeof seed) == 1 ? 0 : CHORUS_EIO;
  if (!rc) rc = rowcache_init(&e->records, opts->record_cache_off ? 0 : e->opts.record_cache_bytes, seed);
  if (!rc) rc = open_db(e);
  if (!rc) rc = check_format(e);
  if (!rc) rc = recover_events(e);
  if (!rc) rc = prune_events(e);
  if (!rc) rc = recover_requests(e);
  if (!rc) rc = count_conflicts(e);
  if (!rc) rc = count_keys(e);
  if (!rc) rc = count_hints(e);
  if (!rc) publish_clock(e);
  if (!rc && pthread_create(&e->thread, NULL, writer_main, e) != 0) rc = CHORUS_ENOMEM;
  if (rc) {
    destroy(e);
    return rc;
  }
  e->thread_started = true;
  atomic_store(&e->stats.events, e->event_seq);
  *out = e;
  return 0;
}

void engine_close(engine_t *e) {
  if (!e) return;
  pthread_mutex_lock(&e->mu);
  e->closing = true;
  pthread_cond_signal(&e->cond);
  pthread_mutex_unlock(&e->mu);
  if (e->thread_started) pthread_join(e->thread, NULL);
  destroy(e);
}

/* What the job's op needs from its inputs (engine.h), checked before it is
 * queued so the writer never meets an input it cannot apply or record. */
static bool job_valid(const engine_job_t *job) {
  engine_op_t op = job->op;
  if (op < ENGINE_PUT || op > ENGINE_RECEIVE) return false;
  if (op != ENGINE_HINT_EXPIRE && (!job->key || job->key_len == 0 || job->key_len > ENGINE_KEY_MAX)) return false;
  if (job->request_id && strnlen(job->request_id, ENGINE_REQUEST_ID_MAX + 1) > ENGINE_REQUEST_ID_MAX) return false;
  if (job->peer && job->peer[0] && !node_ok(job->peer)) return false;
  if (op == ENGINE_MERGE || op == ENGINE_HINT_PUT || op == ENGINE_HINT_DELETE) {
    if (!job->incoming || !job->incoming->n || !dvv_valid(job->incoming)) return false;
  }
  if (is_hint_op(op) && !node_ok(job->hint_owner)) return false;
  if (op == ENGINE_MERGE) {
    event_type_t t = job->event_type;
    engine_op_t r = job->request_op;
    if (t && t != EVENT_REPLICATE && t != EVENT_READ_REPAIR && t != EVENT_HINT_DELIVERED) return false;
    if (r && r != ENGINE_PUT && r != ENGINE_DELETE) return false;
  }
  if (op == ENGINE_RECEIVE) {
    if (job->event_type != EVENT_ACK && job->event_type != EVENT_READ_REPLY) return false;
    if (!job->peer || !job->peer[0] || !job->remote_clock) return false;
  }
  return true;
}

int engine_submit(engine_t *e, engine_job_t *job) {
  if (!job_valid(job)) return CHORUS_EINVAL;
  job->next = NULL;
  pthread_mutex_lock(&e->mu);
  if (e->closing) {
    pthread_mutex_unlock(&e->mu);
    return CHORUS_ESHUTDOWN;
  }
  bool was_empty = e->head == NULL;
  if (e->tail)
    e->tail->next = job;
  else
    e->head = job;
  e->tail = job;
  if (was_empty) pthread_cond_signal(&e->cond);
  pthread_mutex_unlock(&e->mu);
  return 0;
}

void engine_hook_done(engine_job_t *job, void *state) {
  (void)state;
  ((engine_hook_t *)job->user)->done(job);
}

void engine_job_init(engine_job_t *job) {
  memset(job, 0, sizeof *job);
  dvv_init(&job->state);
  vv_init(&job->clock);
}

void engine_job_release(engine_job_t *job) {
  dvv_free(&job->state);
  vv_free(&job->clock);
  free(job->replay);
  job->replay = NULL;
  job->replay_len = 0;
}

const engine_stats_t *engine_stats(const engine_t *e) {
  return &e->stats;
}

uint64_t engine_event_count(const engine_t *e) {
  return atomic_load(&e->event_count);
}

int engine_clock(engine_t *e, vv_t *out) {
  pthread_mutex_lock(&e->clock_mu);
  int rc = vv_copy(out, &e->published_clock);
  pthread_mutex_unlock(&e->clock_mu);
  return rc;
}

int engine_events(engine_t *e, uint64_t since, size_t limit, event_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (limit == 0) return 0;
  event_t *evs = calloc(limit, sizeof *evs);
  if (!evs) return CHORUS_ENOMEM;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  dbkey_t k;
  dbkey_u64(&k, KEY_EVENT, since == UINT64_MAX ? since : since + 1);
  int rc = 0;
  size_t cnt = 0;
  for (leveldb_iter_seek(it, k.b, k.len); leveldb_iter_valid(it) && cnt < limit; leveldb_iter_next(it)) {
    size_t klen = 0, vlen = 0;
    const char *key = leveldb_iter_key(it, &klen);
    if (klen != 9 || key[0] != KEY_EVENT) break;
    const char *v = leveldb_iter_value(it, &vlen);
    event_init(&evs[cnt]);
    rc = event_decode(v, vlen, &evs[cnt]);
    if (rc) {
      log_error("storage: event %llu is unreadable: %s", (unsigned long long)u64_from_be(key + 1),
                chorus_strerror(rc));
      break;
    }
    cnt++;
  }
  leveldb_iter_destroy(it);
  if (rc) {
    for (size_t i = 0; i < cnt; i++)
      event_free(&evs[i]);
    free(evs);
    return rc;
  }
  *out = evs;
  *n = cnt;
  return 0;
}

int engine_conflicts(engine_t *e, size_t limit, engine_conflict_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (limit == 0) return 0;
  engine_conflict_t *cs = calloc(limit, sizeof *cs);
  if (!cs) return CHORUS_ENOMEM;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  char p = KEY_CONFLICT;
  int rc = 0;
  size_t cnt = 0;
  for (leveldb_iter_seek(it, &p, 1); leveldb_iter_valid(it) && cnt < limit; leveldb_iter_next(it)) {
    size_t klen = 0, vlen = 0;
    const char *key = leveldb_iter_key(it, &klen);
    if (!klen || key[0] != KEY_CONFLICT) break;
    const char *v = leveldb_iter_value(it, &vlen);
    cs[cnt].key = malloc(klen);
    if (!cs[cnt].key) {
      rc = CHORUS_ENOMEM;
      break;
    }
    memcpy(cs[cnt].key, key + 1, klen - 1);
    cs[cnt].key[klen - 1] = '\0';
    cs[cnt].key_len = klen - 1;
    cs[cnt].siblings =
        vlen == 4 ? (uint32_t)((uint8_t)v[0] << 24 | (uint8_t)v[1] << 16 | (uint8_t)v[2] << 8 | (uint8_t)v[3])
                  : 0;
    cnt++;
  }
  leveldb_iter_destroy(it);
  if (rc) {
    for (size_t i = 0; i < cnt; i++)
      free(cs[i].key);
    free(cs);
    return rc;
  }
  *out = cs;
  *n = cnt;
  return 0;
}

char *engine_property(engine_t *e, const char *name) {
  return leveldb_property_value(e->db, name);
}

int engine_hint_counts(engine_t *e, engine_hint_count_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  pthread_mutex_lock(&e->hint_mu);
  size_t cnt = e->hint_counts.n;
  engine_hint_count_t *c = cnt ? malloc(cnt * sizeof *c) : NULL;
  for (size_t i = 0; c && i < cnt; i++) {
    memcpy(c[i].owner, e->hint_counts.e[i].owner, sizeof c[i].owner);
    c[i].count = e->hint_counts.e[i].n > 0 ? (uint64_t)e->hint_counts.e[i].n : 0;
  }
  pthread_mutex_unlock(&e->hint_mu);
  if (cnt && !c) return CHORUS_ENOMEM;
  *out = c;
  *n = cnt;
  return 0;
}

void engine_hints_free(engine_hint_t *hints, size_t n) {
  for (size_t i = 0; hints && i < n; i++) {
    free(hints[i].key);
    dvv_free(&hints[i].state);
  }
  free(hints);
}

/* Decodes the hint under the iterator into h (key and state); CHORUS_ECORRUPT
 * when it is not a readable hint. */
static int read_hint(leveldb_iterator_t *it, const char *k, size_t klen, engine_hint_t *h) {
  char owner[VV_NODE_MAX + 1];
  const char *key;
  size_t key_len, vlen = 0;
  if (!hint_key_split(k, klen, owner, &key, &key_len)) return CHORUS_ECORRUPT;
  const char *v = leveldb_iter_value(it, &vlen);
  dvv_init(&h->state);
  int rc = hint_decode(v, vlen, &h->state, &h->stored_at_ms);
  if (!rc && !h->state.n) rc = CHORUS_ECORRUPT;
  if (!rc) h->key = malloc(key_len + 1);
  if (!rc && !h->key) rc = CHORUS_ENOMEM;
  if (rc) {
    dvv_free(&h->state);
    return rc;
  }
  memcpy(h->key, key, key_len);
  h->key[key_len] = '\0';
  h->key_len = key_len;
  return 0;
}

int engine_hints(engine_t *e, const char *owner, size_t limit, engine_hint_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!node_ok(owner)) return CHORUS_EINVAL;
  if (limit == 0) return 0;
  engine_hint_t *hs = calloc(limit, sizeof *hs);
  if (!hs) return CHORUS_ENOMEM;
  dbkey_t prefix;
  size_t olen = strlen(owner);
  prefix.b[0] = KEY_HINT;
  memcpy(prefix.b + 1, owner, olen);
  prefix.b[1 + olen] = '\0';
  prefix.len = olen + 2;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char *k;
  size_t klen, cnt = 0;
  int rc = 0;
  for (leveldb_iter_seek(it, prefix.b, prefix.len); cnt < limit && iter_in(it, prefix.b, prefix.len, &k, &klen);
       leveldb_iter_next(it)) {
    rc = read_hint(it, k, klen, &hs[cnt]);
    if (rc == CHORUS_ECORRUPT) {
      atomic_fetch_add_explicit(&e->stats.hints_unreadable_total, 1, memory_order_relaxed);
      log_warn("storage: skipped an unreadable hint for %s", owner);
      rc = 0;
      continue;
    }
    if (rc) break;
    cnt++;
  }
  leveldb_iter_destroy(it);
  if (rc) {
    engine_hints_free(hs, cnt);
    return rc;
  }
  *out = hs;
  *n = cnt;
  return 0;
}
