/*
 * hook_keys.c - the count of keys holding a live value (not only
 * tombstones), stored as 'm' "keys" (u64be) in the batch that changes it,
 * so it is exactly as durable as the records it counts; the keys gauge
 * moves when that batch commits.
 *
 * A store written before the count existed is counted once at open by
 * decoding every record (O(keys), once).
 */
#include <stdlib.h>

#include "../common/be.h"
#include "../common/err.h"
#include "engine_internal.h"
#include "record.h"

static const char KEYS_META[] = {KEY_META, 'k', 'e', 'y', 's'};

typedef struct {
  engine_t *e;
  uint64_t keys; /* as of the last commit */
  int64_t delta; /* keys that gained (+1) or lost (-1) their last live value in this group */
} keys_t;

static void begin(void *st) {
  ((keys_t *)st)->delta = 0;
}

static void capture(void *st, const engine_change_t *c, void *slot) {
  (void)st;
  *(uint8_t *)slot = dvv_live_count(c->state) > 0;
}

static int record(void *st, engine_t *e, const engine_change_t *c, const void *slot) {
  (void)e;
  keys_t *h = st;
  bool was = *(const uint8_t *)slot != 0, live = dvv_live_count(c->state) > 0;
  if (live != was) h->delta += live ? 1 : -1;
  return 0;
}

static int seal(void *st, engine_t *e) {
  keys_t *h = st;
  if (!h->delta) return 0;
  uint64_t n = (uint64_t)((int64_t)h->keys + h->delta);
  char v[8];
  be_put_u64(v, n);
  engine_batch_put(e, KEYS_META, sizeof KEYS_META, v, sizeof v);
  return 0;
}

static void commit(void *st) {
  keys_t *h = st;
  h->keys = (uint64_t)((int64_t)h->keys + h->delta);
  atomic_store(&h->e->stats.keys, h->keys);
}

static void close_hook(void *st) {
  free(st);
}

static const engine_hook_ops_t ops = {.begin = begin,
                                      .capture = capture,
                                      .record = record,
                                      .seal = seal,
                                      .commit = commit,
                                      .close = close_hook};

static int count_live(void *arg, uint64_t token, const char *key, size_t key_len, const dvv_t *d) {
  (void)token;
  (void)key;
  (void)key_len;
  if (dvv_live_count(d) > 0) (*(uint64_t *)arg)++;
  return 0;
}

static int count_records(engine_t *e, uint64_t *n) {
  *n = 0;
  return engine_each_record(e, NULL, count_live, n, NULL);
}

int hook_keys_open(engine_t *e, engine_batch_hook_t *out) {
  char *err = NULL;
  size_t vlen = 0;
  char *v = leveldb_get(e->db, e->ropts, KEYS_META, sizeof KEYS_META, &vlen, &err);
  if (err) return engine_ldb_err(err, "read key count", NULL);
  uint64_t n = 0;
  int rc = v && vlen == 8 ? 0 : count_records(e, &n);
  if (v && vlen == 8) n = be_get_u64(v);
  leveldb_free(v);
  if (rc) return rc;
  keys_t *h = calloc(1, sizeof *h);
  if (!h) return CHORUS_ENOMEM;
  h->e = e;
  h->keys = n;
  atomic_store(&e->stats.keys, n);
  *out = (engine_batch_hook_t){.ops = &ops, .st = h};
  return 0;
}
