/*
 * hook_tombs.c - the index of keys whose record holds only tombstones, in
 * the order of their newest delete, kept in the batch that changes the
 * record:
 *   'g' u64be ts_ms key -> "" (ts_ms: the newest tombstone's timestamp)
 * so tombstone collection (coord_gc.c) finds the deletes older than its
 * grace period with one bounded scan instead of reading every record.
 * A key that is written again leaves the index in the same batch; one
 * whose record is dropped (reap) too.
 *
 * A store written before the index is indexed once at open by decoding
 * every record (O(keys), once), marked by 'm' "tombs".
 */
#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"
#include "engine_internal.h"

static const char TOMBS_META[] = {KEY_META, 't', 'o', 'm', 'b', 's'};

typedef struct {
  uint8_t is; /* the record holds only tombstones */
  uint64_t ts;
} tomb_t;

/* Whether d holds only tombstones, and the newest one's timestamp. */
static tomb_t tomb_of(const dvv_t *d) {
  tomb_t t = {0, 0};
  if (!d || d->n == 0 || dvv_live_count(d)) return t;
  t.is = 1;
  for (size_t i = 0; i < d->n; i++)
    if (d->s[i].ts_ms > t.ts) t.ts = d->s[i].ts_ms;
  return t;
}

static void capture(void *st, const engine_change_t *c, void *slot) {
  (void)st;
  tomb_t t = tomb_of(c->state);
  memcpy(slot, &t, sizeof t);
}

static int record(void *st, engine_t *e, const engine_change_t *c, const void *slot) {
  (void)st;
  tomb_t was, now = tomb_of(c->state);
  memcpy(&was, slot, sizeof was);
  if (was.is == now.is && was.ts == now.ts) return 0;
  dbkey_t k;
  if (was.is) {
    dbkey_u64_bytes(&k, KEY_TOMBSTONE, was.ts, c->key, c->key_len);
    engine_batch_delete(e, k.b, k.len);
  }
  if (now.is) {
    dbkey_u64_bytes(&k, KEY_TOMBSTONE, now.ts, c->key, c->key_len);
    engine_batch_put(e, k.b, k.len, "", 0);
  }
  return 0;
}

static const engine_hook_ops_t ops = {.capture = capture, .record = record};

static int index_one(void *arg, uint64_t token, const char *key, size_t key_len, const dvv_t *d) {
  (void)token;
  tomb_t t = tomb_of(d);
  if (!t.is) return 0;
  dbkey_t tk;
  dbkey_u64_bytes(&tk, KEY_TOMBSTONE, t.ts, key, key_len);
  leveldb_writebatch_put(arg, tk.b, tk.len, "", 0);
  return 0;
}

static int index_records(engine_t *e) {
  leveldb_writebatch_t *wb = leveldb_writebatch_create();
  int rc = engine_each_record(e, NULL, index_one, wb, NULL);
  char *err = NULL;
  if (!rc) {
    leveldb_writebatch_put(wb, TOMBS_META, sizeof TOMBS_META, "1", 1);
    leveldb_write(e->db, e->wsync, wb, &err);
    rc = engine_ldb_err(err, "write tombstone index", NULL);
  }
  leveldb_writebatch_destroy(wb);
  return rc;
}

int hook_tombs_open(engine_t *e, engine_batch_hook_t *out) {
  char *err = NULL;
  size_t vlen = 0;
  char *v = leveldb_get(e->db, e->ropts, TOMBS_META, sizeof TOMBS_META, &vlen, &err);
  if (err) return engine_ldb_err(err, "read tombstone index", NULL);
  int rc = v ? 0 : index_records(e);
  leveldb_free(v);
  if (rc) return rc;
  *out = (engine_batch_hook_t){.ops = &ops, .st = NULL};
  return 0;
}

int engine_tombstones(engine_t *e, uint64_t before_ms, size_t limit, engine_tombstone_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  engine_tombstone_t *list = limit ? calloc(limit, sizeof *list) : NULL;
  if (limit && !list) return CHORUS_ENOMEM;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char p = KEY_TOMBSTONE;
  const char *k;
  size_t klen, got = 0;
  int rc = 0;
  for (leveldb_iter_seek(it, &p, 1); got < limit && engine_iter_in(it, &p, 1, &k, &klen);
       leveldb_iter_next(it)) {
    if (klen < 10) continue;
    uint64_t ts = be_get_u64(k + 1);
    if (ts >= before_ms) break; /* in ts order: the rest are younger */
    char *key = malloc(klen - 9 + 1);
    if (!key) {
      rc = CHORUS_ENOMEM;
      break;
    }
    memcpy(key, k + 9, klen - 9);
    key[klen - 9] = '\0';
    list[got++] = (engine_tombstone_t){key, klen - 9, ts};
  }
  int end = engine_iter_end(it, "list tombstones");
  if (!rc) rc = end;
  if (rc) {
    engine_tombstones_free(list, got);
    return rc;
  }
  *out = list;
  *n = got;
  return 0;
}

void engine_tombstones_free(engine_tombstone_t *t, size_t n) {
  for (size_t i = 0; t && i < n; i++)
    free(t[i].key);
  free(t);
}
