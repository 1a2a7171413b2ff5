/*
 * engine.c - the writer thread and group commit (see engine.h), and the
 * pipeline of batch hooks (engine_internal.h).
 *
 * The writer thread is the only code that changes LevelDB, the event
 * sequence and the node clock. A group is applied in three steps: every job
 * computes its result against LevelDB overlaid by the group's earlier jobs
 * (engine_ops.c, engine_hints.c), the hooks seal the batch and the whole
 * group is written in one WriteBatch (synced once when the fsync mode asks
 * for it), and only then are jobs completed. If the write fails, the event
 * sequence and the clock are rolled back, every hook is told, and every job
 * of the group fails: nothing a client was told succeeded is missing from
 * disk. Effects outside LevelDB (hint counts, gauges, the record cache)
 * change only after the commit, so they too describe exactly what is on
 * disk.
 */
#include "engine.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/tqueue.h"
#include "engine_internal.h"

static void stat_max(atomic_uint_fast64_t *a, uint64_t v) {
  uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
  while (v > cur && !atomic_compare_exchange_weak(a, &cur, v)) {
  }
}

void engine_batch_put(engine_t *e, const void *k, size_t klen, const void *v, size_t vlen) {
  leveldb_writebatch_put(e->wb, k, klen, v, vlen);
}

void engine_batch_delete(engine_t *e, const void *k, size_t klen) {
  leveldb_writebatch_delete(e->wb, k, klen);
}

/* ---- the hooks, in registration order ---- */

static void hooks_begin(engine_t *e) {
  for (size_t i = 0; i < e->n_hooks; i++)
    if (e->hooks[i].ops->begin) e->hooks[i].ops->begin(e->hooks[i].st);
}

static int hooks_seal(engine_t *e) {
  int rc = 0;
  for (size_t i = 0; i < e->n_hooks && !rc; i++)
    if (e->hooks[i].ops->seal) rc = e->hooks[i].ops->seal(e->hooks[i].st, e);
  return rc;
}

static void hooks_end(engine_t *e, bool committed) {
  for (size_t i = 0; i < e->n_hooks; i++) {
    const engine_hook_ops_t *ops = e->hooks[i].ops;
    void (*fn)(void *) = committed ? ops->commit : ops->fail;
    if (fn) fn(e->hooks[i].st);
  }
}

/* Computes one job's result and adds its writes to the group. */
static int apply_job(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  /* REAP: when it drops */
  bool has_event =
      job->op != ENGINE_HINT_DELETE && job->op != ENGINE_HINT_EXPIRE && job->op != ENGINE_DROP && !job->quiet;
  int rc = has_event ? engine_prepare_clock(e, g, job) : 0;
  if (rc) return engine_fail_job(job, rc);
  switch (job->op) {
  case ENGINE_MERGE: rc = engine_apply_merge(e, g, o, job, ts); break;
  case ENGINE_HINT_PUT: rc = engine_apply_hint_put(e, g, o, job, ts); break;
  case ENGINE_HINT_DELETE: rc = engine_apply_hint_delete(e, g, o, job); break;
  case ENGINE_HINT_EXPIRE: rc = engine_apply_hint_expire(e, g, job, ts); break;
  case ENGINE_RECEIVE: rc = engine_record_event(e, g, job, ts); break;
  case ENGINE_REAP:
  case ENGINE_DROP: rc = engine_apply_reap(e, g, o, job, ts); break;
  default: rc = engine_apply_client(e, g, o, job, ts); break;
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
    if (j->op == ENGINE_GET && !j->overlaid && vv_copy(&j->clock, &e->clock) == 0) continue;
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
    int rc = engine_load_state(e, o, j, &j->state);
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

/* Writes the group's batch, synced when the fsync mode asks for it. */
static int write_group(engine_t *e, const group_t *g, bool *no_space) {
  uint64_t now = clock_mono_ms();
  bool sync = false;
  if (e->opts.fsync == FSYNC_ALWAYS) sync = g->has_writes;
  if (e->opts.fsync == FSYNC_BATCH) {
    e->unsynced |= g->has_writes;
    sync = e->unsynced && now - e->last_sync_ms >= ENGINE_BATCH_SYNC_MS;
  }
  char *err = NULL;
  leveldb_write(e->db, sync ? e->wsync : e->wnosync, e->wb, &err);
  int rc = engine_ldb_err(err, "write", no_space);
  if (!rc && sync) {
    e->unsynced = false;
    e->last_sync_ms = now;
    atomic_fetch_add_explicit(&e->stats.fsyncs, 1, memory_order_relaxed);
  }
  return rc;
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
  uint64_t ts = clock_wall_ms();
  o->n = 0;
  g->has_writes = false;
  engine_reset_hints(g);
  hooks_begin(e);
  leveldb_writebatch_clear(e->wb);
  for (engine_job_t *j = jobs; j && !rc; j = j->next)
    rc = apply_job(e, g, o, j, ts);
  if (!rc) rc = hooks_seal(e);
  bool no_space = false;
  if (!rc) rc = write_group(e, g, &no_space);
  if (rc) {
    /* nothing of the group reached disk: undo its effect on the sequences and clock */
    e->event_seq = saved_seq;
    e->request_seq = saved_req;
    e->expire_from_len = 0; /* hint expiry starts its pass again */
    if (saved) vv_copy(&e->clock, &saved_clock);
    hooks_end(e, false);
    fail_group(e, jobs, rc, no_space);
    atomic_fetch_add_explicit(&e->stats.errors, 1, memory_order_relaxed);
    if (rc == CHORUS_EIO) enter_read_only(e, no_space);
  } else {
    engine_commit_hints(e, g);
    hooks_end(e, true);
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
  if (engine_ldb_err(err, "sync", &no_space)) {
    enter_read_only(e, no_space);
  } else {
    e->unsynced = false;
    e->last_sync_ms = clock_mono_ms();
    atomic_fetch_add_explicit(&e->stats.fsyncs, 1, memory_order_relaxed);
  }
}

/* hint_expire scans LevelDB, which does not see a group's pending writes:
 * it runs in a group of its own. */
static bool runs_alone(const void *job) {
  return ((const engine_job_t *)job)->op == ENGINE_HINT_EXPIRE;
}

static void *writer_main(void *arg) {
  engine_t *e = arg;
  engine_job_t *slots[ENGINE_MAX_BATCH];
  overlay_t o = {.jobs = slots, .n = 0};
  group_t g;
  memset(&g, 0, sizeof g);
  buf_init(&g.scratch);
  buf_init(&g.outcome);
  vv_init(&g.next_clock);
  dvv_init(&g.before);
  for (;;) {
    tqueue_wait_t w = tqueue_wait(&e->queue, e->unsynced ? ENGINE_BATCH_SYNC_MS : UINT64_MAX);
    if (w == TQUEUE_CLOSED) break; /* closing and drained */
    if (w == TQUEUE_TIMEOUT) {
      sync_now(e);
      continue;
    }
    size_t count;
    engine_job_t *jobs = tqueue_take(&e->queue, ENGINE_MAX_BATCH, runs_alone, &count);
    if (jobs) run_group(e, jobs, count, &o, &g);
  }
  if (e->unsynced) sync_now(e);
  buf_free(&g.scratch);
  buf_free(&g.outcome);
  vv_free(&g.next_clock);
  dvv_free(&g.before);
  free(g.deltas.e);
  return NULL;
}

/* ---- open and close ---- */

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
  /* a damaged block is an error, never read as other keys or as the end of a scan */
  leveldb_readoptions_set_verify_checksums(e->ropts, 1);
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
  for (size_t i = 0; i < e->n_hooks; i++)
    if (e->hooks[i].ops->close) e->hooks[i].ops->close(e->hooks[i].st);
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
  pthread_mutex_destroy(&e->clock_mu);
  pthread_mutex_destroy(&e->hint_mu);
  if (e->queue_ready) tqueue_destroy(&e->queue);
  free(e);
}

/* The batch hooks, in the order the writer calls them. */
static int open_hooks(engine_t *e) {
  static int (*const opens[])(engine_t *, engine_batch_hook_t *) = {
      hook_conflicts_open, hook_keys_open, hook_cache_open, hook_tombs_open, hook_merkle_open};
  int rc = 0;
  for (size_t i = 0; i < sizeof opens / sizeof *opens && !rc; i++) {
    rc = opens[i](e, &e->hooks[e->n_hooks]);
    if (!rc) e->n_hooks++;
    if (rc == CHORUS_ENOTFOUND) rc = 0; /* a hook switched off */
  }
  return rc;
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
  pthread_mutex_init(&e->clock_mu, NULL);
  pthread_mutex_init(&e->hint_mu, NULL);
  e->last_sync_ms = clock_mono_ms();
  if (tqueue_init(&e->queue, offsetof(engine_job_t, next)) != 0) {
    destroy(e);
    return CHORUS_ENOMEM;
  }
  e->queue_ready = true;

  uint8_t seed[SIPHASH_KEY_BYTES];
  int rc = RAND_bytes(seed, sizeof seed) == 1 ? 0 : CHORUS_EIO;
  if (!rc) rc = rowcache_init(&e->records, opts->record_cache_off ? 0 : e->opts.record_cache_bytes, seed);
  if (!rc) rc = open_db(e);
  if (!rc) rc = engine_recover(e);
  if (!rc) rc = open_hooks(e);
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

const char *engine_actor(const engine_t *e) {
  return e->actor;
}

bool engine_created(const engine_t *e) {
  return e->created;
}

void engine_close(engine_t *e) {
  if (!e) return;
  (void)tqueue_close(&e->queue, false); /* the writer finishes what is queued */
  if (e->thread_started) pthread_join(e->thread, NULL);
  destroy(e);
}

/* What the job's op needs from its inputs (engine.h), checked before it is
 * queued so the writer never meets an input it cannot apply or record. */
static bool job_valid(const engine_job_t *job) {
  engine_op_t op = job->op;
  if (op < ENGINE_PUT || op > ENGINE_DROP) return false;
  if (job->quiet && op != ENGINE_MERGE) return false;
  if (op != ENGINE_HINT_EXPIRE && (!job->key || job->key_len == 0 || job->key_len > ENGINE_KEY_MAX))
    return false;
  if (job->request_id && strnlen(job->request_id, ENGINE_REQUEST_ID_MAX + 1) > ENGINE_REQUEST_ID_MAX)
    return false;
  if (job->peer && job->peer[0] && !engine_node_ok(job->peer)) return false;
  if (op == ENGINE_MERGE || op == ENGINE_HINT_PUT || op == ENGINE_HINT_DELETE || op == ENGINE_REAP ||
      op == ENGINE_DROP) {
    if (!job->incoming || !job->incoming->n || !dvv_valid(job->incoming)) return false;
  }
  if (engine_is_hint_op(op) && !engine_node_ok(job->hint_owner)) return false;
  if (op == ENGINE_MERGE) {
    event_type_t t = job->event_type;
    engine_op_t r = job->request_op;
    if (t && t != EVENT_REPLICATE && t != EVENT_READ_REPAIR && t != EVENT_HINT_DELIVERED && t != EVENT_REPAIR)
      return false;
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
  return tqueue_push(&e->queue, job, NULL);
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
  dvv_dots_free(&job->replaced);
  vv_free(&job->clock);
  engine_outcome_free(job->replay);
  job->replay = NULL;
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
