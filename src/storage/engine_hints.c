/*
 * engine_hints.c - hints: the state of a key this node keeps for a replica
 * (its owner) that was down, 'h' owner 0x00 key -> u64be stored_at, record.
 *
 * hint_put merges into the hint already held for (owner, key), so one hint
 * per owner and key exists however many writes it missed; a new one is
 * refused once max_hints are held. hint_delete drops a delivered hint
 * unless a newer state was merged into it meanwhile. hint_expire walks the
 * hints with a cursor kept across jobs, ENGINE_HINT_EXPIRE_SCAN keys a job,
 * so no group holds the writer for long; a job says whether its slice
 * finished a pass over all hints (changed), and the caller starts the next
 * slice.
 *
 * The counts per owner change only after the group commits (commit), so
 * they describe exactly what is on disk; hint_mu guards them for readers on
 * other threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"
#include "../common/log.h"
#include "engine_internal.h"
#include "record.h"

bool engine_is_hint_op(engine_op_t op) {
  return op == ENGINE_HINT_PUT || op == ENGINE_HINT_DELETE;
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

/* A hint's value: u64be stored_at_ms, then the record. */
static int hint_decode(const char *v, size_t vlen, dvv_t *state, uint64_t *stored_at) {
  if (vlen < HINT_HEADER) return CHORUS_ECORRUPT;
  *stored_at = be_get_u64(v);
  return record_decode(v + HINT_HEADER, vlen - HINT_HEADER, state);
}

/* The hint held for the job's (owner, key) into job->state and
 * job->stored_at_ms, and whether one exists (job->hint_exists). A hint that
 * does not decode exists but reads as empty, so the next hint_put replaces
 * it: it could never be delivered anyway. */
static int load_hint(engine_t *e, const overlay_t *o, engine_job_t *job) {
  engine_job_t *prev = engine_overlay_find(o, job);
  if (prev) {
    job->hint_exists = prev->hint_exists;
    job->stored_at_ms = prev->stored_at_ms;
    return dvv_copy(&job->state, &prev->state);
  }
  dbkey_t k;
  dbkey_hint(&k, job->hint_owner, job->key, job->key_len);
  char *v;
  size_t vlen;
  int rc = engine_db_get(e, &k, "read hint", &v, &vlen);
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

int engine_apply_hint_put(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job, uint64_t ts) {
  int rc = load_hint(e, o, job);
  if (rc) return engine_fail_job(job, rc);
  bool existed = job->hint_exists;
  uint64_t held = atomic_load_explicit(&e->stats.hints, memory_order_relaxed) + (uint64_t)g->hints_delta;
  if (!existed && (e->opts.hints_off || held >= e->opts.max_hints)) {
    job->err = CHORUS_EBUSY;
    atomic_fetch_add_explicit(&e->stats.hints_refused_total, 1, memory_order_relaxed);
    return 0;
  }
  if (!job->state.n) job->stored_at_ms = ts; /* new, or replacing an unreadable one */
  rc = engine_merge_incoming(g, job);
  job->changed |= !existed;
  if (!rc && job->changed) {
    dbkey_t k;
    dbkey_hint(&k, job->hint_owner, job->key, job->key_len);
    rc = engine_put_state(e, g, &k, &job->state, &job->stored_at_ms);
  }
  if (rc) return engine_fail_job(job, rc);
  rc = engine_record_event(e, g, job, ts);
  if (!rc && !existed) rc = add_hint_delta(g, job->hint_owner, 1);
  if (rc) return rc;
  job->hint_exists = true;
  g->has_writes = true;
  g->hints_stored++;
  o->jobs[o->n++] = job;
  return 0;
}

static int delete_hint(engine_t *e, group_t *g, const char *k, size_t klen, const char *owner) {
  engine_batch_delete(e, k, klen);
  g->has_writes = true;
  return add_hint_delta(g, owner, -1);
}

int engine_apply_hint_delete(engine_t *e, group_t *g, overlay_t *o, engine_job_t *job) {
  int rc = load_hint(e, o, job);
  if (rc) return engine_fail_job(job, rc);
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

/* Remembers where the next slice of hint expiry starts: at key k, not yet
 * looked at (a key longer than the cursor holds is cut, which only makes
 * the next slice start a little earlier). */
static void expire_cursor_at(engine_t *e, const char *k, size_t klen) {
  if (klen > sizeof e->expire_from) klen = sizeof e->expire_from;
  memcpy(e->expire_from, k, klen);
  e->expire_from_len = klen;
}

/* One slice of hint expiry: looks at up to ENGINE_HINT_EXPIRE_SCAN hint
 * keys from the cursor and deletes those stored hint_ttl_ms or longer ago,
 * and any that can never be delivered (a value too short to say its age, a
 * key that is not a hint's). Runs alone in its group, as the scan does not
 * see a group's pending writes. */
int engine_apply_hint_expire(engine_t *e, group_t *g, engine_job_t *job, uint64_t ts) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char prefix = KEY_HINT;
  const char *k;
  size_t klen, looked = 0;
  int rc = 0;
  if (e->expire_from_len)
    leveldb_iter_seek(it, e->expire_from, e->expire_from_len);
  else
    leveldb_iter_seek(it, &prefix, 1);
  job->changed = true; /* the pass ends here unless the slice stops early */
  for (; engine_iter_in(it, &prefix, 1, &k, &klen) && !rc; leveldb_iter_next(it)) {
    if (looked++ == ENGINE_HINT_EXPIRE_SCAN) {
      expire_cursor_at(e, k, klen);
      job->changed = false;
      break;
    }
    char owner[VV_NODE_MAX + 1];
    const char *key;
    size_t key_len, vlen = 0;
    bool is_hint = hint_key_split(k, klen, owner, &key, &key_len);
    const char *v = leveldb_iter_value(it, &vlen);
    uint64_t stored_at = vlen >= HINT_HEADER ? be_get_u64(v) : 0;
    bool young = stored_at > ts || ts - stored_at < e->opts.hint_ttl_ms;
    if (is_hint && vlen >= HINT_HEADER && young) continue;
    if (is_hint) {
      rc = delete_hint(e, g, k, klen, owner);
    } else { /* never counted */
      engine_batch_delete(e, k, klen);
      g->has_writes = true;
    }
    job->count++;
  }
  int it_rc = engine_iter_end(it, "scan hints to expire");
  if (!rc) rc = it_rc;
  if (job->changed) e->expire_from_len = 0;
  g->hints_expired += job->count;
  return rc;
}

void engine_commit_hints(engine_t *e, const group_t *g) {
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

void engine_reset_hints(group_t *g) {
  g->deltas.n = 0;
  g->hints_delta = 0;
  g->hints_stored = g->hints_deleted = g->hints_expired = 0;
}

/* Rebuilds the hint counts from the 'h' keys (a key that is not a hint's is
 * left out: hint_expire drops it). */
int engine_count_hints(engine_t *e) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char prefix = KEY_HINT;
  const char *k, *key;
  size_t klen, key_len;
  uint64_t n = 0;
  int rc = 0;
  for (leveldb_iter_seek(it, &prefix, 1); engine_iter_in(it, &prefix, 1, &k, &klen) && !rc;
       leveldb_iter_next(it)) {
    char owner[VV_NODE_MAX + 1];
    if (!hint_key_split(k, klen, owner, &key, &key_len)) continue;
    pthread_mutex_lock(&e->hint_mu);
    rc = tally_add(&e->hint_counts, owner, 1);
    pthread_mutex_unlock(&e->hint_mu);
    n++;
  }
  int it_rc = engine_iter_end(it, "count hints");
  atomic_store(&e->stats.hints, n);
  return rc ? rc : it_rc;
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
  if (!engine_node_ok(owner)) return CHORUS_EINVAL;
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
  for (leveldb_iter_seek(it, prefix.b, prefix.len);
       cnt < limit && engine_iter_in(it, prefix.b, prefix.len, &k, &klen); leveldb_iter_next(it)) {
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
  int it_rc = engine_iter_end(it, "read hints");
  if (!rc) rc = it_rc;
  if (rc) {
    engine_hints_free(hs, cnt);
    return rc;
  }
  *out = hs;
  *n = cnt;
  return 0;
}
