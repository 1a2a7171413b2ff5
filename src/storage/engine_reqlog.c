/*
 * engine_reqlog.c - the request log: a put or delete carrying a request id
 * stores its outcome under that id ('r' id -> reqlog entry, 'q' seq -> id),
 * in the batch that applies it, and a retry is answered with that outcome
 * instead of being applied again.
 *
 * The outcome is data (reqlog.h), rendered by the API when it answers, and
 * it is handed to a retry only once read back from the log or from an
 * earlier job of the same group, never to the job that wrote it: a job's
 * own reply is always rendered from its own outputs, which a failed commit
 * overrides with the error. So nothing is answered as a success that did
 * not reach disk.
 *
 * The log is bounded: writing entry n deletes entry n - retention in the
 * same batch.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "engine_internal.h"
#include "record.h"
#include "reqlog.h"

bool engine_has_request_id(const engine_job_t *job) {
  return job->request_id && job->request_id[0];
}

static engine_job_t *overlay_find_request(const overlay_t *o, const char *rid) {
  for (size_t i = o->n; i-- > 0;) {
    engine_job_t *j = o->jobs[i];
    if (j->request_logged && strcmp(j->request_id, rid) == 0) return j;
  }
  return NULL;
}

void engine_outcome_free(engine_outcome_t *out) {
  if (!out) return;
  dvv_free(&out->state);
  dvv_dots_free(&out->replaced);
  free(out->value);
  free(out);
}

/* A new outcome for job->replay from its parts (copied, but for replaced,
 * which it takes over). */
static int set_replay(engine_job_t *job, int err, uint64_t event_id, const dvv_t *state, const uint8_t *value,
                      size_t value_len, const dvv_dot_t *dot, dvv_dots_t *replaced) {
  engine_outcome_t *out = calloc(1, sizeof *out);
  if (!out) {
    dvv_dots_free(replaced);
    return CHORUS_ENOMEM;
  }
  dvv_init(&out->state);
  out->err = err;
  out->event_id = event_id;
  out->dot = *dot;
  out->replaced = *replaced;
  *replaced = (dvv_dots_t){0};
  int rc = dvv_copy(&out->state, state);
  if (!rc && value_len) {
    out->value = malloc(value_len);
    if (out->value) memcpy(out->value, value, value_len);
    rc = out->value ? 0 : CHORUS_ENOMEM;
  }
  out->value_len = out->value ? value_len : 0;
  if (rc) {
    engine_outcome_free(out);
    return rc;
  }
  job->replay = out;
  return 0;
}

/* Whether the entry was made for the same op on the same key as job; an id
 * used for anything else is refused rather than answered with an outcome
 * that belongs to another request. A replication mark matches either op
 * when it does not know which. */
static bool same_request(const engine_job_t *job, uint8_t kind, uint8_t op, const char *key, size_t key_len) {
  bool same_op = op == job->op || (kind == REQLOG_REPLICATED && op == 0);
  return same_op && key_len == job->key_len && memcmp(key, job->key, key_len) == 0;
}

/* Answers job when the id's entry holds no outcome for it: the id was used
 * for another request (refused), or the request was applied by
 * replication (replicated_request). */
static bool answered_without_outcome(engine_job_t *job, uint8_t kind, uint8_t op, const char *key,
                                     size_t key_len) {
  if (!same_request(job, kind, op, key, key_len)) {
    job->err = CHORUS_EINVAL;
    job->request_reused = true;
    return true;
  }
  if (kind != REQLOG_REPLICATED) return false;
  job->replicated_request = true;
  return true;
}

/* 1 when an earlier job of the group logged rid (job answered), 0 when not. */
static int replay_from_group(const overlay_t *o, engine_job_t *job) {
  const engine_job_t *prev = overlay_find_request(o, job->request_id);
  if (!prev) return 0;
  uint8_t op = (uint8_t)(prev->op == ENGINE_MERGE ? prev->request_op : prev->op);
  if (answered_without_outcome(job, prev->request_kind, op, prev->key, prev->key_len)) return 1;
  dvv_dots_t replaced = {0};
  int rc = dvv_dots_copy(&replaced, &prev->replaced);
  if (!rc)
    rc = set_replay(job, prev->err, prev->event_id, &prev->state, prev->op == ENGINE_PUT ? prev->value : NULL,
                    prev->op == ENGINE_PUT ? prev->value_len : 0, &prev->dot, &replaced);
  return rc ? rc : 1;
}

/* The entry of rid in LevelDB into *entry (pointing into *raw, which the
 * caller frees with leveldb_free): 1 found, 0 none. */
static int lookup_stored(engine_t *e, const char *rid, reqlog_entry_t *entry, char **raw) {
  dbkey_t k;
  dbkey_bytes(&k, KEY_REQUEST, rid, strlen(rid));
  size_t vlen;
  int rc = engine_db_get(e, &k, "read request log", raw, &vlen);
  if (rc || !*raw) return rc;
  rc = reqlog_decode(*raw, vlen, entry);
  if (rc) {
    log_error("storage: the request-log entry of a request id is corrupt");
    return rc;
  }
  return 1;
}

static int replay_from_entry(engine_job_t *job, const reqlog_entry_t *entry) {
  if (answered_without_outcome(job, entry->kind, entry->op, entry->key, entry->key_len)) return 1;
  dvv_t state;
  dvv_init(&state);
  dvv_dot_t dot;
  dvv_dots_t replaced = {0};
  int rc = entry->record_len ? record_decode(entry->record, entry->record_len, &state) : 0;
  if (!rc) rc = reqlog_dots(entry, &dot, &replaced);
  if (!rc)
    rc = set_replay(job, entry->not_found ? CHORUS_ENOTFOUND : 0, entry->event_id, &state, entry->value,
                    entry->value_len, &dot, &replaced);
  dvv_free(&state);
  return rc ? rc : 1;
}

int engine_find_replay(engine_t *e, const overlay_t *o, engine_job_t *job) {
  int rc = replay_from_group(o, job);
  if (rc) return rc;
  reqlog_entry_t entry;
  char *raw = NULL;
  rc = lookup_stored(e, job->request_id, &entry, &raw);
  if (rc == 1) rc = replay_from_entry(job, &entry);
  leveldb_free(raw);
  return rc;
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
  engine_batch_put(e, k.b, k.len, g->scratch.data, g->scratch.len);
  e->request_seq++;
  dbkey_u64(&k, KEY_REQSEQ, e->request_seq);
  engine_batch_put(e, k.b, k.len, job->request_id, idlen);
  g->has_writes = true;
  job->request_logged = true;
  job->request_kind = entry->kind;
  if (e->request_seq <= ENGINE_REQUEST_LOG_RETENTION) return 0;
  dbkey_u64(&k, KEY_REQSEQ, e->request_seq - ENGINE_REQUEST_LOG_RETENTION);
  char *old;
  size_t vlen;
  rc = engine_db_get(e, &k, "read request log", &old, &vlen);
  if (rc) return rc;
  engine_batch_delete(e, k.b, k.len);
  if (old && vlen <= ENGINE_REQUEST_ID_MAX) {
    dbkey_t rk;
    dbkey_bytes(&rk, KEY_REQUEST, old, vlen);
    engine_batch_delete(e, rk.b, rk.len);
  }
  leveldb_free(old);
  return 0;
}

int engine_record_request(engine_t *e, group_t *g, engine_job_t *job) {
  buf_t *rec = &g->outcome;
  buf_reset(rec);
  int rc = job->state.n ? record_encode(&job->state, rec) : 0;
  if (!rc) rc = rec->err;
  bool put = job->op == ENGINE_PUT;
  buf_t dots;
  buf_init(&dots);
  dvv_dots_encode(&job->dot, &job->replaced, &dots);
  if (!rc) rc = dots.err;
  reqlog_entry_t entry = {.kind = REQLOG_OUTCOME,
                          .op = (uint8_t)job->op,
                          .key = job->key,
                          .key_len = job->key_len,
                          .not_found = job->err == CHORUS_ENOTFOUND,
                          .event_id = job->event_id,
                          .record = rec->data,
                          .record_len = rec->len,
                          .value = put ? job->value : NULL,
                          .value_len = put ? job->value_len : 0,
                          .dots = dots.data,
                          .dots_len = dots.len};
  if (!rc) rc = log_request(e, g, job, &entry);
  buf_free(&dots);
  return rc;
}

/* Marks the request id of a merged write as applied here, unless the id is
 * known already (an outcome is worth more than the mark; a merge is
 * idempotent, so it is applied either way). */
int engine_record_replicated(engine_t *e, group_t *g, const overlay_t *o, engine_job_t *job) {
  if (overlay_find_request(o, job->request_id)) return 0;
  reqlog_entry_t entry;
  char *raw = NULL;
  int found = lookup_stored(e, job->request_id, &entry, &raw);
  leveldb_free(raw);
  if (found == CHORUS_ECORRUPT || found == 1) return 0;
  if (found) return found;
  entry = (reqlog_entry_t){
      .kind = REQLOG_REPLICATED, .op = (uint8_t)job->request_op, .key = job->key, .key_len = job->key_len};
  return log_request(e, g, job, &entry);
}
