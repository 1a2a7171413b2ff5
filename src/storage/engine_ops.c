/*
 * engine_ops.c - the operations on records: a client's put, get and delete,
 * a merge of a state another node produced, and a receive (an event only).
 *
 * Every op computes its result against LevelDB overlaid by the group's
 * earlier jobs (overlay_t: two writes to one key in one group see each
 * other), then adds its record, its event and its request-log entry to the
 * group's batch. A record change goes through put_record, which tells the
 * batch hooks (engine_internal.h) the record's state before and after, so
 * whatever must stay in step with the records does so in the same batch.
 *
 * A job whose own input or record is at fault (a damaged record, a state
 * too large to encode, a clock that cannot grow) fails alone, before it adds
 * anything to the batch, and the rest of its group commits.
 */
#include <stdio.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "engine_internal.h"
#include "record.h"

/* Whether two jobs address the same stored state: one key's record, or the
 * hint one owner has for that key. */
static bool same_slot(const engine_job_t *a, const engine_job_t *b) {
  bool hint = engine_is_hint_op(a->op);
  if (hint != engine_is_hint_op(b->op) || a->key_len != b->key_len || memcmp(a->key, b->key, a->key_len) != 0)
    return false;
  return !hint || strcmp(a->hint_owner, b->hint_owner) == 0;
}

/* The newest earlier job in the group for this job's slot, or NULL.
 * O(group size): groups are at most ENGINE_MAX_BATCH jobs. */
engine_job_t *engine_overlay_find(const overlay_t *o, const engine_job_t *job) {
  for (size_t i = o->n; i-- > 0;) {
    engine_job_t *j = o->jobs[i];
    if (same_slot(j, job)) return j;
  }
  return NULL;
}

int engine_fail_job(engine_job_t *job, int rc) {
  if (rc != CHORUS_ECORRUPT && rc != CHORUS_ETOOBIG) return rc;
  job->err = rc;
  return 0;
}

int engine_load_state(engine_t *e, const overlay_t *o, engine_job_t *job, dvv_t *out) {
  engine_job_t *prev = engine_overlay_find(o, job);
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
    (void)dbkey_record(&k, job->key, job->key_len);
    char *v;
    rc = engine_db_get(e, &k, "read", &v, &vlen);
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

int engine_put_state(engine_t *e, group_t *g, const dbkey_t *k, const dvv_t *state,
                     const uint64_t *stored_at) {
  buf_reset(&g->scratch);
  if (stored_at) buf_put_u64be(&g->scratch, *stored_at);
  int rc = record_encode(state, &g->scratch);
  if (rc) return rc;
  if (g->scratch.err) return g->scratch.err;
  engine_batch_put(e, k->b, k->len, g->scratch.data, g->scratch.len);
  g->has_writes = true;
  return 0;
}

static engine_change_t change_of(const engine_job_t *job, uint64_t token) {
  return (engine_change_t){.key = job->key, .key_len = job->key_len, .token = token, .state = &job->state};
}

/* Lets every hook capture the key's state before the job changes it. */
static void capture_before(engine_t *e, group_t *g, const engine_job_t *job) {
  engine_change_t c = change_of(job, 0); /* no hook needs the token before */
  for (size_t i = 0; i < e->n_hooks; i++)
    if (e->hooks[i].ops->capture) e->hooks[i].ops->capture(e->hooks[i].st, &c, g->slots[i]);
}

/* Writes the job's state as the key's record and tells every hook. */
static int put_record(engine_t *e, group_t *g, const engine_job_t *job) {
  dbkey_t k;
  uint64_t token = dbkey_record(&k, job->key, job->key_len);
  int rc = engine_put_state(e, g, &k, &job->state, NULL);
  if (rc) return rc;
  engine_change_t c = change_of(job, token);
  c.encoded = g->scratch.data;
  c.encoded_len = g->scratch.len;
  for (size_t i = 0; i < e->n_hooks && !rc; i++)
    if (e->hooks[i].ops->record) rc = e->hooks[i].ops->record(e->hooks[i].st, e, &c, g->slots[i]);
  if (!rc) atomic_fetch_add_explicit(&e->stats.writes, 1, memory_order_relaxed);
  return rc;
}

static event_type_t event_type_of(const engine_job_t *job) {
  switch (job->op) {
  case ENGINE_PUT: return EVENT_PUT;
  case ENGINE_DELETE: return EVENT_DELETE;
  case ENGINE_MERGE: return job->event_type ? job->event_type : EVENT_REPLICATE;
  case ENGINE_HINT_PUT: return EVENT_HINT_STORED;
  case ENGINE_RECEIVE: return job->event_type;
  case ENGINE_REAP: return EVENT_REAP;
  default: return EVENT_GET;
  }
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
int engine_prepare_clock(engine_t *e, group_t *g, const engine_job_t *job) {
  int rc = vv_copy(&g->next_clock, &e->clock);
  if (!rc && job->remote_clock) rc = vv_join(&g->next_clock, job->remote_clock);
  if (!rc) rc = vv_tick(&g->next_clock, e->node_id, NULL);
  return rc;
}

/* Adopts the prepared clock and adds the job's event to the group, pruning
 * the event that falls out of the retention window so the log stays bounded. */
int engine_record_event(engine_t *e, group_t *g, engine_job_t *job, uint64_t ts) {
  vv_t prev = e->clock;
  e->clock = g->next_clock;
  g->next_clock = prev;
  event_t ev;
  event_init(&ev);
  ev.id = e->event_seq + 1;
  ev.type = event_type_of(job);
  ev.ts_ms = ts;
  memcpy(ev.node, e->node_id, sizeof ev.node);
  const char *peer = job->peer && job->peer[0]    ? job->peer
                     : job->op == ENGINE_HINT_PUT ? job->hint_owner
                                                  : "";
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
  engine_batch_put(e, k.b, k.len, g->scratch.data, g->scratch.len);
  e->event_seq++;
  if (e->event_seq > e->opts.event_retention) {
    dbkey_u64(&k, KEY_EVENT, e->event_seq - e->opts.event_retention);
    engine_batch_delete(e, k.b, k.len);
  }
  job->event_id = e->event_seq;
  return 0;
}

int engine_apply_client(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  bool has_rid = engine_has_request_id(job) && job->op != ENGINE_GET;
  if (has_rid) {
    int found = engine_find_replay(e, o, job);
    if (found < 0) return engine_fail_job(job, found);
    if (found) {
      if (job->replay || job->replicated_request)
        atomic_fetch_add_explicit(&e->stats.replays, 1, memory_order_relaxed);
      /* applied before (here or by replication): the key's current state,
       * which a coordinator replicates again */
      return engine_fail_job(job, engine_load_state(e, o, job, &job->state));
    }
  }
  int rc = engine_load_state(e, o, job, &job->state);
  /* a damaged record fails this job alone and is never overwritten blindly */
  if (rc) return engine_fail_job(job, rc);
  if (job->op == ENGINE_GET || job->op == ENGINE_DELETE) {
    if (dvv_live_count(&job->state) == 0) job->err = CHORUS_ENOTFOUND;
  }
  if (!job->err && job->op != ENGINE_GET) {
    capture_before(e, g, job);
    bool tomb = job->op == ENGINE_DELETE;
    /* above every dot of its own this node dropped: never handed out twice, even for a key it forgot */
    rc = dvv_update_above(&job->state, job->ctx, e->actor, e->drop_floor, tomb ? NULL : job->value,
                          tomb ? 0 : job->value_len, tomb, ts, &job->dot.counter, &job->replaced);
    if (!rc) memcpy(job->dot.node, e->actor, sizeof job->dot.node);
    if (!rc) rc = put_record(e, g, job);
    if (rc) return engine_fail_job(job, rc);
  }
  rc = engine_record_event(e, g, job, ts);
  if (!rc && has_rid) rc = engine_record_request(e, g, job);
  if (rc) return rc;
  o->jobs[o->n++] = job;
  return 0;
}

/* Drops the job's record (its state is already empty) and tells every hook. */
static int delete_record(engine_t *e, group_t *g, const engine_job_t *job) {
  dbkey_t k;
  uint64_t token = dbkey_record(&k, job->key, job->key_len);
  engine_batch_delete(e, k.b, k.len);
  g->has_writes = true;
  engine_change_t c = change_of(job, token);
  c.encoded = (const uint8_t *)""; /* no bytes: no record */
  int rc = 0;
  for (size_t i = 0; i < e->n_hooks && !rc; i++)
    if (e->hooks[i].ops->record) rc = e->hooks[i].ops->record(e->hooks[i].st, e, &c, g->slots[i]);
  if (!rc) atomic_fetch_add_explicit(&e->stats.writes, 1, memory_order_relaxed);
  return rc;
}

/* REAP (tombstones only, a reap event) and DROP (any record, no event):
 * the record goes only if it is exactly incoming, so a write that raced
 * the decision is kept. */
int engine_apply_reap(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  int rc = engine_load_state(e, o, job, &job->state);
  if (rc) return engine_fail_job(job, rc);
  bool reap = job->op == ENGINE_REAP;
  bool exact =
      job->state.n && (!reap || !dvv_live_count(&job->state)) && dvv_equal(&job->state, job->incoming);
  if (exact) {
    if (!reap) {
      rc = engine_raise_drop_floor(e, dvv_max_counter(&job->state, e->actor));
      if (rc) return engine_fail_job(job, rc);
    }
    capture_before(e, g, job);
    dvv_free(&job->state);
    rc = delete_record(e, g, job);
    if (rc) return engine_fail_job(job, rc);
    job->changed = true;
    if (reap) rc = engine_record_event(e, g, job, ts);
    if (rc) return rc;
  }
  o->jobs[o->n++] = job;
  return 0;
}

int engine_merge_incoming(group_t *g, engine_job_t *job) {
  int rc = dvv_copy(&g->before, &job->state);
  if (!rc) rc = dvv_sync(&job->state, job->incoming);
  if (!rc) job->changed = !dvv_equal(&g->before, &job->state);
  return rc;
}

/* A state another node produced, merged into the key's. The record is
 * written only when it changed; the event always, as a message was received
 * (so the group is a write for the fsync mode either way). */
int engine_apply_merge(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  int rc = engine_load_state(e, o, job, &job->state);
  if (rc) return engine_fail_job(job, rc);
  capture_before(e, g, job);
  rc = engine_merge_incoming(g, job);
  if (!rc && job->changed) rc = put_record(e, g, job);
  if (rc) return engine_fail_job(job, rc);
  if (!job->quiet) rc = engine_record_event(e, g, job, ts);
  if (!rc && engine_has_request_id(job)) rc = engine_record_replicated(e, g, o, job);
  if (rc) return rc;
  g->has_writes = true;
  atomic_fetch_add_explicit(&e->stats.merges, 1, memory_order_relaxed);
  if (job->changed) atomic_fetch_add_explicit(&e->stats.merges_changed, 1, memory_order_relaxed);
  o->jobs[o->n++] = job;
  return 0;
}
