/*
 * engine_tree.c - reads of the anti-entropy tree from any thread (engine.h):
 * its shape and root, view hashes over token ranges, the keys of segments,
 * a stored record, and verify - a scan that checks the stored tree against
 * the records it describes.
 *
 * The tree (hook_merkle.c) is read under its mutex; partial segments and
 * key lists are read from the token index by LevelDB iterators, without
 * the mutex, so a reply may mix a write's effect on one part with its
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

/* The token of the index entry the iterator is on, and its key, if it is
 * an index entry at or before last. */
static bool index_entry(leveldb_iterator_t *it, uint64_t last, uint64_t *token, const char **key,
                        size_t *klen, uint64_t *hash) {
  const char p = KEY_TREE_INDEX;
  const char *k;
  size_t n;
  if (!engine_iter_in(it, &p, 1, &k, &n) || n < 10) return false;
  *token = u64_from_be(k + 1);
  if (*token > last) return false;
  size_t vlen = 0;
  const char *v = leveldb_iter_value(it, &vlen);
  if (merkle_leaf_decode(v, vlen, hash) != 0) *hash = 0; /* damaged: counts as absent; verify names it */
  *key = k + 9;
  *klen = n - 9;
  return true;
}

static void seek_token(leveldb_iterator_t *it, uint64_t token) {
  char k[9];
  k[0] = KEY_TREE_INDEX;
  for (int i = 0; i < 8; i++)
    k[1 + i] = (char)(token >> (56 - 8 * i));
  leveldb_iter_seek(it, k, sizeof k);
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
  leveldb_iterator_t *it = np ? leveldb_create_iterator(e->db, e->ropts) : NULL;
  for (size_t i = 0; i < np; i++) {
    uint64_t under = (uint64_t)segs[i] >> shift;
    if (!n || !bsearch(&under, sorted, n, sizeof *sorted, cmp_u64)) continue; /* not below a node asked for */
    uint64_t h = 0, first = merkle_segment_first(t->tree, segs[i]),
             last = merkle_segment_last(t->tree, segs[i]);
    uint64_t token, ih;
    const char *key;
    size_t klen;
    for (seek_token(it, first); index_entry(it, last, &token, &key, &klen, &ih); leveldb_iter_next(it))
      if (merkle_ranges_contain(r, nr, token)) h ^= ih;
    parts[k++] = (merkle_partial_t){segs[i], h};
  }
  if (it) rc = engine_iter_end(it, "tree partial segments");
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
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  for (size_t i = 0; i < n && !out->err; i++) {
    if (segs[i] >= merkle_segments(t->tree)) continue;
    uint64_t first = merkle_segment_first(t->tree, segs[i]), last = merkle_segment_last(t->tree, segs[i]);
    uint64_t token, h;
    const char *key;
    size_t klen;
    for (seek_token(it, first); index_entry(it, last, &token, &key, &klen, &h); leveldb_iter_next(it)) {
      if (!h || !merkle_ranges_contain(r, nr, token)) continue;
      treekeys_add(out, key, klen, h);
      count++;
    }
  }
  int rc = engine_iter_end(it, "tree keys");
  treekeys_finish(out, start, count);
  if (!rc && out->err) rc = CHORUS_ENOMEM;
  return rc;
}

int engine_record_read(engine_t *e, const char *key, size_t key_len, dvv_t *out) {
  if (!key || key_len == 0 || key_len > ENGINE_KEY_MAX) return CHORUS_EINVAL;
  dbkey_t k;
  dbkey_bytes(&k, KEY_DATA, key, key_len);
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
  merkle_t *records, *index, *leaves;
} verify_trees_t;

static void trees_free(verify_trees_t *v) {
  merkle_free(v->records);
  merkle_free(v->index);
  merkle_free(v->leaves);
}

typedef struct {
  merkle_t *tree;
  buf_t scratch;
  uint64_t n;
} tally_tree_t;

/* A record's item in a tree (verify, build). */
static int add_item(void *arg, const char *key, size_t key_len, const dvv_t *d) {
  tally_tree_t *t = arg;
  uint64_t h = engine_tree_item_hash(key, key_len, d, &t->scratch);
  merkle_apply(t->tree, merkle_segment(t->tree, ring_key_token(key, key_len)), h);
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

static int scan_index(engine_t *e, leveldb_readoptions_t *ro, merkle_t *tree, engine_tree_verify_t *out) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, ro);
  uint64_t token, h;
  const char *key;
  size_t klen;
  const char p = KEY_TREE_INDEX;
  for (leveldb_iter_seek(it, &p, 1); index_entry(it, UINT64_MAX, &token, &key, &klen, &h);
       leveldb_iter_next(it)) {
    out->indexed++;
    if (!h || ring_key_token(key, klen) != token) out->index_damaged++;
    merkle_apply(tree, merkle_segment(tree, token), h);
  }
  return engine_iter_end(it, "verify index");
}

static int scan_leaves(engine_t *e, leveldb_readoptions_t *ro, merkle_t *tree, engine_tree_verify_t *out) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, ro);
  const char p = KEY_TREE_LEAF;
  const char *k;
  size_t klen;
  for (leveldb_iter_seek(it, &p, 1); engine_iter_in(it, &p, 1, &k, &klen); leveldb_iter_next(it)) {
    size_t vlen = 0;
    const char *v = leveldb_iter_value(it, &vlen);
    uint64_t h;
    uint32_t s = engine_tree_leaf_segment(k, klen);
    if (s >= merkle_segments(tree) || merkle_leaf_decode(v, vlen, &h) != 0) {
      out->leaves_damaged++;
      continue;
    }
    merkle_load_leaf(tree, s, h);
  }
  merkle_rehash(tree);
  return engine_iter_end(it, "verify leaves");
}

static size_t diff_all(const merkle_t *a, const merkle_t *b) {
  const merkle_range_t all = {0, UINT64_MAX};
  merkle_view_t va = {.tree = a, .ranges = &all, .n_ranges = 1},
                vb = {.tree = b, .ranges = &all, .n_ranges = 1};
  return merkle_diff(&va, &vb, NULL, 0);
}

int engine_tree_verify(engine_t *e, engine_tree_verify_t *out) {
  memset(out, 0, sizeof *out);
  engine_tree_t *t = e->tree;
  if (!t) return CHORUS_ENOTFOUND;
  uint64_t started = clock_mono_ms();
  unsigned bits = merkle_bits(t->tree);
  verify_trees_t v = {0};
  int rc = merkle_create(bits, &v.records);
  if (!rc) rc = merkle_create(bits, &v.index);
  if (!rc) rc = merkle_create(bits, &v.leaves);
  if (rc) {
    trees_free(&v);
    return rc;
  }
  const leveldb_snapshot_t *snap = leveldb_create_snapshot(e->db);
  leveldb_readoptions_t *ro = leveldb_readoptions_create();
  leveldb_readoptions_set_verify_checksums(ro, 1);
  leveldb_readoptions_set_fill_cache(ro, 0);
  leveldb_readoptions_set_snapshot(ro, snap);
  rc = scan_records(e, ro, v.records, out);
  if (!rc) rc = scan_index(e, ro, v.index, out);
  if (!rc) rc = scan_leaves(e, ro, v.leaves, out);
  leveldb_readoptions_destroy(ro);
  leveldb_release_snapshot(e->db, snap);
  if (!rc) {
    out->index_segments_differing = diff_all(v.records, v.index);
    out->leaf_segments_differing = diff_all(v.records, v.leaves);
    out->root = merkle_root(v.records);
    out->clean = !out->damaged_records && !out->index_damaged && !out->leaves_damaged &&
                 !out->index_segments_differing && !out->leaf_segments_differing;
  }
  trees_free(&v);
  out->elapsed_ms = clock_mono_ms() - started;
  return rc;
}
