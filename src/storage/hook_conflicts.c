/*
 * hook_conflicts.c - the conflict index ('c' key -> u32be sibling count):
 * the keys holding concurrent siblings, kept in the batch that changes
 * their record, so the index is exactly as durable as the records.
 *
 * The conflicts_now gauge moves only when the batch commits: a failed
 * group leaves it as it was, like the index on disk.
 */
#include <stdlib.h>

#include "../common/err.h"
#include "engine_internal.h"

typedef struct {
  engine_t *e;
  int64_t delta; /* keys that gained (+1) or lost (-1) their conflict in this group */
} conflicts_t;

static void begin(void *st) {
  ((conflicts_t *)st)->delta = 0;
}

static void capture(void *st, const engine_change_t *c, void *slot) {
  (void)st;
  *(uint8_t *)slot = dvv_has_conflict(c->state);
}

static int record(void *st, engine_t *e, const engine_change_t *c, const void *slot) {
  conflicts_t *h = st;
  bool had = *(const uint8_t *)slot != 0;
  bool conflict = dvv_has_conflict(c->state);
  if (!conflict && !had) return 0;
  dbkey_t k;
  dbkey_bytes(&k, KEY_CONFLICT, c->key, c->key_len);
  if (conflict) {
    uint32_t n = (uint32_t)c->state->n;
    char cnt[4] = {(char)(n >> 24), (char)(n >> 16), (char)(n >> 8), (char)n};
    engine_batch_put(e, k.b, k.len, cnt, sizeof cnt);
  } else {
    engine_batch_delete(e, k.b, k.len);
  }
  if (conflict != had) h->delta += conflict ? 1 : -1;
  return 0;
}

static void commit(void *st) {
  conflicts_t *h = st;
  atomic_fetch_add_explicit(&h->e->stats.conflicts_now, (uint64_t)h->delta, memory_order_relaxed);
}

static void close_hook(void *st) {
  free(st);
}

static const engine_hook_ops_t ops = {
    .begin = begin, .capture = capture, .record = record, .commit = commit, .close = close_hook};

/* Counts the index's entries for the gauge. */
static int count(engine_t *e, uint64_t *n) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char p = KEY_CONFLICT;
  const char *k;
  size_t klen;
  *n = 0;
  for (leveldb_iter_seek(it, &p, 1); engine_iter_in(it, &p, 1, &k, &klen); leveldb_iter_next(it))
    (*n)++;
  return engine_iter_end(it, "count conflicts");
}

int hook_conflicts_open(engine_t *e, engine_batch_hook_t *out) {
  uint64_t n;
  int rc = count(e, &n);
  if (rc) return rc;
  conflicts_t *h = calloc(1, sizeof *h);
  if (!h) return CHORUS_ENOMEM;
  h->e = e;
  atomic_store(&e->stats.conflicts_now, n);
  *out = (engine_batch_hook_t){.ops = &ops, .st = h};
  return 0;
}
