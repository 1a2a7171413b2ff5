/*
 * engine_tree.c - reads of the anti-entropy tree from any thread (engine.h):
 * its shape and root, view hashes over token ranges, the keys of segments,
 * a stored record, and verify - a scan that checks the stored tree against
 * the records it describes.
 *
 * The tree (hook_merkle.c) is read under its mutex; partial segments and
 * key lists are read from the records (stored in token order) by LevelDB
 * iterators, without the mutex, so a reply may mix a write's effect on one part with its
 * absence on another: a transient difference the next exchange settles.
 * verify reads one LevelDB snapshot, so what it compares is consistent.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/err.h"
#include "../ring/ring.h"
#include "engine_internal.h"
#include "record.h"
#include "treekeys.h"

void engine_tree_info(engine_t *e, engine_tree_info_t *out) {
  memset(out, 0, sizeof *out);
  engine_tree_t *t = e->tree;
  if (!t) return;
  out->enabled = true;
  pthread_mutex_lock(&t->mu);
  out->bits = merkle_bits(t->tree);
  out->depth = merkle_depth(t->tree);
  out->segments = merkle_segments(t->tree);
  out->memory = merkle_memory(t->tree);
  out->root = merkle_root(t->tree);
  out->keys = t->keys;
  pthread_mutex_unlock(&t->mu);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* A reader of the records of one segment, in token order. */
typedef struct {
  leveldb_iterator_t *it;
  dvv_t d;
  buf_t scratch;
} seg_reader_t;

static void seg_reader_init(seg_reader_t *r, engine_t *e, leveldb_readoptions_t *ro) {
  r->it = leveldb_create_iterator(e->db, ro ? ro : e->ropts);
  dvv_init(&r->d);
  buf_init(&r->scratch);
}

static int seg_reader_end(seg_reader_t *r, const char *what) {
  dvv_free(&r->d);
  buf_free(&r->scratch);
  return engine_iter_end(r->it, what);
}

static void seg_reader_seek(seg_reader_t *r, uint64_t token) {
  dbkey_t k;
  dbkey_record_seek(&k, token);
  leveldb_iter_seek(r->it, k.b, k.len);
}

/* The record the reader is on, if it is one at or before last: its token,
 * key and item hash (0 when it does not decode: it counts as absent, and
 * verify names it). */
static bool seg_reader_entry(seg_reader_t *r, uint64_t last, uint64_t *token, const char **key, size_t *klen,
                             uint64_t *hash) {
  const char p = KEY_DATA;
  const char *k;
  size_t n;
  if (!engine_iter_in(r->it, &p, 1, &k, &n) || !record_key_split(k, n, token, key, klen) || *token > last)
    return false;
  size_t vlen = 0;
  const char *v = leveldb_iter_value(r->it, &vlen);
  *hash = engine_tree_record_hash(*key, *klen, v, vlen, &r->d, &r->scratch);
  return true;
}

int engine_tree_hashes(engine_t *e, const merkle_range_t *r, size_t nr, unsigned level, const uint64_t *idx,
                       size_t n, uint64_t *out) {
  engine_tree_t *t = e->tree;
  if (!t) return CHORUS_ENOTFOUND;
  if (level > merkle_depth(t->tree)) return CHORUS_EINVAL;
  size_t np = merkle_view_partials(t->tree, r, nr, NULL, 0);
  uint32_t *segs = np ? malloc(np * sizeof *segs) : NULL;
  merkle_partial_t *parts = np ? malloc(np * sizeof *parts) : NULL;
  uint64_t *sorted = n ? malloc(n * sizeof *sorted) : NULL;
  if ((np && (!segs || !parts)) || (n && !sorted)) {
    free(segs);
    free(parts);
    free(sorted);
    return CHORUS_ENOMEM;
  }
  (void)merkle_view_partials(t->tree, r, nr, segs, np);
  if (n) {
    memcpy(sorted, idx, n * sizeof *idx);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
  }
  unsigned shift = MERKLE_FANOUT_BITS * (merkle_depth(t->tree) - level);
  size_t k = 0;
  int rc = 0;
  seg_reader_t sr = {0};
  if (np) seg_reader_init(&sr, e, NULL);
  for (size_t i = 0; i < np; i++) {
    uint64_t under = (uint64_t)segs[i] >> shift;
    if (!n || !bsearch(&under, sorted, n, sizeof *sorted, cmp_u64)) continue; /* not below a node asked for */
    uint64_t h = 0, first = merkle_segment_first(t->tree, segs[i]),
             last = merkle_segment_last(t->tree, segs[i]);
    uint64_t token, ih;
    const char *key;
    size_t klen;
    for (seg_reader_seek(&sr, first); seg_reader_entry(&sr, last, &token, &key, &klen, &ih);
         leveldb_iter_next(sr.it))
      if (merkle_ranges_contain(r, nr, token)) h ^= ih;
    parts[k++] = (merkle_partial_t){segs[i], h};
  }
  if (np) rc = seg_reader_end(&sr, "tree partial segments");
  if (!rc) {
    merkle_view_t v = {.tree = t->tree, .ranges = r, .n_ranges = nr, .partials = parts, .n_partials = k};
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < n; i++)
      out[i] = merkle_view_node(&v, level, idx[i]);
    pthread_mutex_unlock(&t->mu);
  }
  free(segs);
  free(parts);
  free(sorted);
  return rc;
}

int engine_tree_keys(engine_t *e, const merkle_range_t *r, size_t nr, const uint32_t *segs, size_t n,
                     buf_t *out) {
  engine_tree_t *t = e->tree;
  if (!t) return CHORUS_ENOTFOUND;
  size_t start = treekeys_begin(out);
  uint32_t count = 0;
  seg_reader_t sr;
  seg_reader_init(&sr, e, NULL);
  for (size_t i = 0; i < n && !out->err; i++) {
    if (segs[i] >= merkle_segments(t->tree)) continue;
    uint64_t first = merkle_segment_first(t->tree, segs[i]), last = merkle_segment_last(t->tree, segs[i]);
    uint64_t token, h;
    const char *key;
    size_t klen;
    for (seg_reader_seek(&sr, first); seg_reader_entry(&sr, last, &token, &key, &klen, &h);
         leveldb_iter_next(sr.it)) {
      if (!h || !merkle_ranges_contain(r, nr, token)) continue;
      treekeys_add(out, key, klen, h);
      count++;
    }
  }
  int rc = seg_reader_end(&sr, "tree keys");
  treekeys_finish(out, start, count);
  if (!rc && out->err) rc = CHORUS_ENOMEM;
  return rc;
}

int engine_record_read(engine_t *e, const char *key, size_t key_len, dvv_t *out) {
  if (!key || key_len == 0 || key_len > ENGINE_KEY_MAX) return CHORUS_EINVAL;
  dbkey_t k;
  (void)dbkey_record(&k, key, key_len);
  char *v = NULL;
  size_t vlen = 0;
  int rc = engine_db_get(e, &k, "read record", &v, &vlen);
  if (rc) return rc;
  if (!v) return CHORUS_ENOTFOUND;
  rc = record_decode(v, vlen, out);
  leveldb_free(v);
  return rc;
}

/* ---- verify ---- */

typedef struct {
  merkle_t *tree;
  buf_t scratch;
  uint64_t n;
} tally_tree_t;

/* A record's item in the tree of the records. */
static int add_item(void *arg, uint64_t token, const char *key, size_t key_len, const dvv_t *d) {
  tally_tree_t *t = arg;
  uint64_t h = engine_tree_item_hash(key, key_len, d, &t->scratch);
  merkle_apply(t->tree, merkle_segment(t->tree, token), h);
  t->n++;
  return 0;
}

static int scan_records(engine_t *e, leveldb_readoptions_t *ro, merkle_t *tree, engine_tree_verify_t *out) {
  tally_tree_t t = {.tree = tree};
  buf_init(&t.scratch);
  int rc = engine_each_record(e, ro, add_item, &t, &out->damaged_records);
  out->records = t.n + out->damaged_records;
  buf_free(&t.scratch);
  return rc;
}

int engine_tree_verify(engine_t *e, engine_tree_verify_t *out) {
  memset(out, 0, sizeof *out);
  engine_tree_t *t = e->tree;
  if (!t) return CHORUS_ENOTFOUND;
  uint64_t started = clock_mono_ms();
  unsigned bits = merkle_bits(t->tree);
  merkle_t *records = NULL, *stored = NULL;
  int rc = merkle_create(bits, &records);
  if (!rc) rc = merkle_create(bits, &stored);
  if (rc) {
    merkle_free(records);
    return rc;
  }
  const leveldb_snapshot_t *snap = leveldb_create_snapshot(e->db);
  leveldb_readoptions_t *ro = leveldb_readoptions_create();
  leveldb_readoptions_set_verify_checksums(ro, 1);
  leveldb_readoptions_set_fill_cache(ro, 0);
  leveldb_readoptions_set_snapshot(ro, snap);
  rc = scan_records(e, ro, records, out);
  if (!rc) rc = engine_tree_read_stored(e, ro, stored, NULL, &out->leaves_damaged);
  leveldb_readoptions_destroy(ro);
  leveldb_release_snapshot(e->db, snap);
  if (!rc) {
    const merkle_range_t all = {0, UINT64_MAX};
    merkle_view_t va = {.tree = records, .ranges = &all, .n_ranges = 1},
                  vb = {.tree = stored, .ranges = &all, .n_ranges = 1};
    out->leaf_segments_differing = merkle_diff(&va, &vb, NULL, 0);
    out->root = merkle_root(records);
    out->clean = !out->damaged_records && !out->leaves_damaged && !out->leaf_segments_differing;
  }
  merkle_free(records);
  merkle_free(stored);
  out->elapsed_ms = clock_mono_ms() - started;
  return rc;
}
