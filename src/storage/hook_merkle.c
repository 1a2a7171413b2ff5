/*
 * hook_merkle.c - the anti-entropy tree (merkle.h) kept in step with the
 * records, in the same WriteBatch (DESIGN §9).
 *
 * Records are stored in token order (KEY_DATA, token, key), so a segment's
 * keys are one scan of the records themselves and the tree needs no index.
 * What the hook stores is the leaves, in forms whose writes are sequential
 * (a LevelDB memtable insert at a random key is the costly part of a write;
 * a random-keyed entry per record change halved write throughput):
 *   'J' u64be seq    -> journal entry (treelog.h): the leaves one committed
 *                       batch changed, and the record count after it
 *   'L' u32be chunk  -> checkpoint chunk: TREELOG_CHUNK leaves, absent when
 *                       all of them are 0
 *   'm' "tree"       -> u8 layout (2), u8 bits, u64be records: the shape,
 *                       and the record count at the last checkpoint
 * A batch that changes leaves adds one journal entry, after its records.
 * When the journal holds as many leaves as the tree has segments, that
 * batch writes a checkpoint instead: every chunk changed since the last
 * one, and deletes the journal. The stored leaves are the chunks with the
 * journal replayed over them in order, so at every commit they describe
 * exactly the records on disk: after a crash the tree is loaded, never
 * rebuilt. A store without the shape (written before the tree, or under
 * another shape, or when an operator asks: opts.tree_rebuild,
 * --rebuild-merkle-tree) gets the tree built once at open from the records.
 *
 * A record change from hash h0 to h1 (0: no record) XORs h0 ^ h1 into its
 * segment's pending delta; seal writes the group's new leaves; commit
 * applies the deltas to the in-memory tree, fail drops them. The in-memory
 * tree is read by other threads (engine_tree.c) under mu; the writer takes
 * mu only to apply a committed group's deltas.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../ring/ring.h"
#include "engine_internal.h"
#include "record.h"
#include "treelog.h"

static const char TREE_META[] = {KEY_META, 't', 'r', 'e', 'e'};
#define TREE_LAYOUT 2    /* 1: a token index and one entry per leaf */
#define TREE_META_LEN 10 /* layout, bits, u64be records */

#define DELTAS_KEEP_CAP 4096 /* pending deltas kept allocated between groups */

static void summary_of(const dvv_t *d, buf_t *out) {
  buf_reset(out);
  for (size_t i = 0; i < d->n; i++) {
    const dvv_sibling_t *s = &d->s[i];
    buf_put_lbytes(out, s->node, strlen(s->node));
    buf_put_varint(out, s->counter);
    buf_put_u8(out, s->tombstone ? 1 : 0);
  }
}

uint64_t engine_tree_item_hash(const char *key, size_t key_len, const dvv_t *d, buf_t *scratch) {
  if (!d || d->n == 0) return 0;
  summary_of(d, scratch);
  if (scratch->err) return 0;
  return merkle_item_hash(key, key_len, scratch->data, scratch->len);
}

uint64_t engine_tree_record_hash(const char *key, size_t key_len, const char *v, size_t vlen, dvv_t *d,
                                 buf_t *scratch) {
  if (record_decode(v, vlen, d) != 0) return 0;
  return engine_tree_item_hash(key, key_len, d, scratch);
}

uint32_t engine_tree_chunk_leaves(const merkle_t *tree) {
  uint32_t n = merkle_segments(tree);
  return n < TREELOG_CHUNK ? n : TREELOG_CHUNK;
}

static void chunk_key(char out[5], uint32_t chunk) {
  out[0] = KEY_TREE_CHUNK;
  be_put_u32(out + 1, chunk);
}

static void journal_key(char out[9], uint64_t seq) {
  out[0] = KEY_TREE_JOURNAL;
  be_put_u64(out + 1, seq);
}

static void meta_value(uint8_t out[TREE_META_LEN], unsigned bits, uint64_t records) {
  out[0] = TREE_LAYOUT;
  out[1] = (uint8_t)bits;
  be_put_u64(out + 2, records);
}

static uint32_t chunk_of(const engine_tree_t *t, uint32_t segment) {
  return segment / engine_tree_chunk_leaves(t->tree);
}

static void begin(void *st) {
  ((engine_tree_t *)st)->n_deltas = 0;
}

static void capture(void *st, const engine_change_t *c, void *slot) {
  engine_tree_t *t = st;
  uint64_t h = engine_tree_item_hash(c->key, c->key_len, c->state, &t->scratch);
  memcpy(slot, &h, sizeof h);
}

static int add_delta(engine_tree_t *t, uint32_t segment, uint64_t delta) {
  for (size_t i = t->n_deltas; i-- > 0;)
    if (t->deltas[i].segment == segment) {
      t->deltas[i].delta ^= delta;
      return 0;
    }
  if (t->n_deltas == t->cap_deltas) {
    size_t cap = t->cap_deltas ? t->cap_deltas * 2 : 64;
    engine_tree_delta_t *d = realloc(t->deltas, cap * sizeof *d);
    if (!d) return CHORUS_ENOMEM;
    t->deltas = d;
    t->cap_deltas = cap;
  }
  t->deltas[t->n_deltas++] = (engine_tree_delta_t){segment, delta};
  return 0;
}

static int record(void *st, engine_t *e, const engine_change_t *c, const void *slot) {
  (void)e;
  engine_tree_t *t = st;
  uint64_t h0, h1 = engine_tree_item_hash(c->key, c->key_len, c->state, &t->scratch);
  memcpy(&h0, slot, sizeof h0);
  if (t->scratch.err) return CHORUS_ENOMEM;
  if (h0 == h1) return 0;
  t->keys_delta += (h1 != 0) - (h0 != 0);
  return add_delta(t, merkle_segment(t->tree, c->token), h0 ^ h1);
}

static int cmp_delta(const void *a, const void *b) {
  uint32_t x = ((const engine_tree_delta_t *)a)->segment, y = ((const engine_tree_delta_t *)b)->segment;
  return x < y ? -1 : x > y;
}

/* The group's leaves as one journal entry. */
static int write_entry(engine_tree_t *t, engine_t *e, uint64_t keys, size_t changed) {
  buf_reset(&t->entry);
  size_t start = treelog_entry_begin(&t->entry, keys);
  unsigned depth = merkle_depth(t->tree);
  for (size_t i = 0; i < t->n_deltas; i++) {
    const engine_tree_delta_t *d = &t->deltas[i];
    if (d->delta)
      treelog_entry_add(&t->entry, d->segment, merkle_node(t->tree, depth, d->segment) ^ d->delta);
  }
  treelog_entry_finish(&t->entry, start, (uint32_t)changed);
  if (t->entry.err) return CHORUS_ENOMEM;
  char k[9];
  journal_key(k, t->journal_next);
  engine_batch_put(e, k, sizeof k, t->entry.data, t->entry.len);
  t->wrote = TREE_WROTE_ENTRY;
  return 0;
}

/* Every chunk changed since the last checkpoint or by this group, with the
 * group's deltas (sorted by segment here) applied; the journal deleted. */
static int write_checkpoint(engine_tree_t *t, engine_t *e, uint64_t keys) {
  if (t->n_deltas) qsort(t->deltas, t->n_deltas, sizeof *t->deltas, cmp_delta);
  for (size_t i = 0; i < t->n_deltas; i++)
    t->dirty[chunk_of(t, t->deltas[i].segment)] = 1;
  uint32_t per = engine_tree_chunk_leaves(t->tree), chunks = merkle_segments(t->tree) / per;
  unsigned depth = merkle_depth(t->tree);
  uint64_t leaves[TREELOG_CHUNK];
  size_t d = 0;
  for (uint32_t c = 0; c < chunks; c++) {
    if (!t->dirty[c]) continue;
    bool any = false;
    for (uint32_t i = 0; i < per; i++) {
      uint32_t s = c * per + i;
      leaves[i] = merkle_node(t->tree, depth, s);
      while (d < t->n_deltas && t->deltas[d].segment < s)
        d++;
      if (d < t->n_deltas && t->deltas[d].segment == s) leaves[i] ^= t->deltas[d].delta;
      any |= leaves[i] != 0;
    }
    char k[5];
    chunk_key(k, c);
    if (any) {
      buf_reset(&t->entry);
      treelog_chunk_encode(&t->entry, leaves, per);
      if (t->entry.err) return CHORUS_ENOMEM;
      engine_batch_put(e, k, sizeof k, t->entry.data, t->entry.len);
    } else {
      engine_batch_delete(e, k, sizeof k);
    }
  }
  for (uint64_t s = t->journal_first; s < t->journal_next; s++) {
    char k[9];
    journal_key(k, s);
    engine_batch_delete(e, k, sizeof k);
  }
  uint8_t v[TREE_META_LEN];
  meta_value(v, merkle_bits(t->tree), keys);
  engine_batch_put(e, TREE_META, sizeof TREE_META, v, sizeof v);
  t->wrote = TREE_WROTE_CHECKPOINT;
  return 0;
}

/* Reads the committed leaves without mu: only this thread changes them. */
static int seal(void *st, engine_t *e) {
  engine_tree_t *t = st;
  t->wrote = TREE_WROTE_NOTHING;
  size_t changed = 0;
  for (size_t i = 0; i < t->n_deltas; i++)
    changed += t->deltas[i].delta != 0;
  if (!changed) return 0;
  uint64_t keys = (uint64_t)((int64_t)t->keys + t->keys_delta);
  if (t->journal_pairs + changed >= merkle_segments(t->tree)) return write_checkpoint(t, e, keys);
  return write_entry(t, e, keys, changed);
}

static void end_group(engine_tree_t *t) {
  t->n_deltas = 0;
  t->keys_delta = 0;
  t->wrote = TREE_WROTE_NOTHING;
  if (t->cap_deltas > DELTAS_KEEP_CAP) {
    free(t->deltas);
    t->deltas = NULL;
    t->cap_deltas = 0;
  }
}

static void commit(void *st) {
  engine_tree_t *t = st;
  pthread_mutex_lock(&t->mu);
  for (size_t i = 0; i < t->n_deltas; i++)
    merkle_apply(t->tree, t->deltas[i].segment, t->deltas[i].delta);
  t->keys = (uint64_t)((int64_t)t->keys + t->keys_delta);
  pthread_mutex_unlock(&t->mu);
  if (t->wrote == TREE_WROTE_CHECKPOINT) {
    memset(t->dirty, 0, merkle_segments(t->tree) / engine_tree_chunk_leaves(t->tree));
    t->journal_first = t->journal_next = 0;
    t->journal_pairs = 0;
  } else if (t->wrote == TREE_WROTE_ENTRY) {
    for (size_t i = 0; i < t->n_deltas; i++)
      if (t->deltas[i].delta) {
        t->dirty[chunk_of(t, t->deltas[i].segment)] = 1;
        t->journal_pairs++;
      }
    t->journal_next++;
  }
  end_group(t);
}

static void fail(void *st) {
  end_group(st);
}

static void close_hook(void *st) {
  engine_tree_t *t = st;
  if (!t) return;
  t->e->tree = NULL;
  merkle_free(t->tree);
  free(t->deltas);
  free(t->dirty);
  buf_free(&t->scratch);
  buf_free(&t->entry);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

static const engine_hook_ops_t ops = {.begin = begin,
                                      .capture = capture,
                                      .record = record,
                                      .seal = seal,
                                      .commit = commit,
                                      .fail = fail,
                                      .close = close_hook};

/* ---- the stored leaves ---- */

static int read_chunks(engine_t *e, leveldb_readoptions_t *ro, merkle_t *tree, uint64_t *damaged) {
  uint32_t per = engine_tree_chunk_leaves(tree), chunks = merkle_segments(tree) / per;
  uint64_t leaves[TREELOG_CHUNK];
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, ro);
  const char p = KEY_TREE_CHUNK;
  const char *k;
  size_t klen;
  for (leveldb_iter_seek(it, &p, 1); engine_iter_in(it, &p, 1, &k, &klen); leveldb_iter_next(it)) {
    size_t vlen = 0;
    const char *v = leveldb_iter_value(it, &vlen);
    uint32_t c = klen == 5 ? be_get_u32(k + 1) : UINT32_MAX;
    if (c >= chunks || treelog_chunk_decode(v, vlen, leaves, per) != 0) {
      (*damaged)++;
      continue;
    }
    for (uint32_t i = 0; i < per; i++)
      merkle_load_leaf(tree, c * per + i, leaves[i]);
  }
  return engine_iter_end(it, "read tree chunks");
}

static int read_journal(engine_t *e, leveldb_readoptions_t *ro, merkle_t *tree, engine_tree_t *t,
                        uint64_t *keys, uint64_t *damaged) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, ro);
  const char p = KEY_TREE_JOURNAL;
  const char *k;
  size_t klen;
  bool first = true;
  for (leveldb_iter_seek(it, &p, 1); engine_iter_in(it, &p, 1, &k, &klen); leveldb_iter_next(it)) {
    size_t vlen = 0;
    const char *v = leveldb_iter_value(it, &vlen);
    treelog_entry_t je;
    if (klen != 9 || treelog_entry_decode(v, vlen, merkle_segments(tree), &je) != 0) {
      (*damaged)++;
      continue;
    }
    *keys = je.keys;
    uint64_t seq = be_get_u64(k + 1);
    for (size_t i = 0; i < je.n; i++) {
      uint32_t s;
      uint64_t leaf;
      treelog_entry_pair(&je, i, &s, &leaf);
      merkle_load_leaf(tree, s, leaf);
      if (t) t->dirty[chunk_of(t, s)] = 1;
    }
    if (t) {
      if (first) t->journal_first = seq;
      t->journal_next = seq + 1;
      t->journal_pairs += je.n;
    }
    first = false;
  }
  return engine_iter_end(it, "read tree journal");
}

/* The stored shape: bits and the record count at the last checkpoint;
 * false when there is none in this layout. */
static int read_meta(engine_t *e, leveldb_readoptions_t *ro, bool *found, unsigned *bits, uint64_t *keys) {
  char *err = NULL;
  size_t vlen = 0;
  char *v = leveldb_get(e->db, ro, TREE_META, sizeof TREE_META, &vlen, &err);
  if (err) return engine_ldb_err(err, "read tree shape", NULL);
  *found = v && vlen == TREE_META_LEN && (uint8_t)v[0] == TREE_LAYOUT;
  if (*found) {
    *bits = (uint8_t)v[1];
    *keys = be_get_u64(v + 2);
  }
  leveldb_free(v);
  return 0;
}

int engine_tree_read_stored(engine_t *e, leveldb_readoptions_t *ro, merkle_t *tree, engine_tree_t *t,
                            uint64_t *damaged) {
  uint64_t bad = 0, keys = 0;
  bool found;
  unsigned bits;
  int rc = read_meta(e, ro, &found, &bits, &keys);
  if (!rc && (!found || bits != merkle_bits(tree))) bad++;
  if (!rc) rc = read_chunks(e, ro, tree, &bad);
  if (!rc) rc = read_journal(e, ro, tree, t, &keys, &bad);
  merkle_rehash(tree);
  if (t) t->keys = keys;
  if (damaged) *damaged = bad;
  if (!rc && bad && !damaged) {
    log_error("storage: the stored anti-entropy tree is damaged; start with --rebuild-merkle-tree");
    rc = CHORUS_ECORRUPT;
  }
  return rc;
}

/* ---- build and drop, at open, before the writer starts ---- */

#define BULK_BATCH 10000

typedef struct {
  engine_t *e;
  leveldb_writebatch_t *wb;
  size_t n;
  int rc;
} bulk_t;

static void bulk_flush(bulk_t *b, bool sync) {
  char *err = NULL;
  leveldb_write(b->e->db, sync ? b->e->wsync : b->e->wnosync, b->wb, &err);
  leveldb_writebatch_clear(b->wb);
  b->n = 0;
  int rc = engine_ldb_err(err, "write tree", NULL);
  if (!b->rc) b->rc = rc;
}

/* v NULL: a delete. */
static void bulk_add(bulk_t *b, const char *k, size_t klen, const void *v, size_t vlen) {
  if (v)
    leveldb_writebatch_put(b->wb, k, klen, v, vlen);
  else
    leveldb_writebatch_delete(b->wb, k, klen);
  if (++b->n == BULK_BATCH) bulk_flush(b, false);
}

static int add_record(void *arg, uint64_t token, const char *key, size_t key_len, const dvv_t *d) {
  engine_tree_t *t = arg;
  uint64_t h = engine_tree_item_hash(key, key_len, d, &t->scratch);
  if (!h) return t->scratch.err ? CHORUS_ENOMEM : 0;
  merkle_apply(t->tree, merkle_segment(t->tree, token), h);
  t->keys++;
  return 0;
}

/* The tree from the records, stored as a checkpoint (every non-empty
 * chunk), then the shape. A damaged record is left out; verify names it. */
int engine_tree_build(engine_t *e, engine_tree_t *t) {
  merkle_clear(t->tree);
  t->keys = 0;
  int rc = engine_each_record(e, NULL, add_record, t, NULL);
  if (rc) return rc;
  bulk_t b = {.e = e, .wb = leveldb_writebatch_create()};
  uint32_t per = engine_tree_chunk_leaves(t->tree), chunks = merkle_segments(t->tree) / per;
  unsigned depth = merkle_depth(t->tree);
  uint64_t leaves[TREELOG_CHUNK];
  for (uint32_t c = 0; c < chunks && !b.rc; c++) {
    bool any = false;
    for (uint32_t i = 0; i < per; i++) {
      leaves[i] = merkle_node(t->tree, depth, c * per + i);
      any |= leaves[i] != 0;
    }
    if (!any) continue;
    char k[5];
    chunk_key(k, c);
    buf_reset(&t->entry);
    treelog_chunk_encode(&t->entry, leaves, per);
    if (t->entry.err) b.rc = CHORUS_ENOMEM;
    if (!b.rc) bulk_add(&b, k, sizeof k, t->entry.data, t->entry.len);
  }
  uint8_t v[TREE_META_LEN];
  meta_value(v, merkle_bits(t->tree), t->keys);
  if (!b.rc) bulk_add(&b, TREE_META, sizeof TREE_META, v, sizeof v);
  if (!b.rc) bulk_flush(&b, true);
  leveldb_writebatch_destroy(b.wb);
  return b.rc;
}

/* Deletes every stored part of the tree, of this layout and the one before. */
int engine_tree_drop(engine_t *e) {
  bulk_t b = {.e = e, .wb = leveldb_writebatch_create()};
  static const char prefixes[] = {KEY_TREE_CHUNK, KEY_TREE_JOURNAL, KEY_TREE_INDEX_V2, KEY_TREE_LEAF_V2};
  int rc = 0;
  for (size_t i = 0; i < sizeof prefixes && !rc && !b.rc; i++) {
    leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
    const char *k;
    size_t klen;
    for (leveldb_iter_seek(it, &prefixes[i], 1); !b.rc && engine_iter_in(it, &prefixes[i], 1, &k, &klen);
         leveldb_iter_next(it))
      bulk_add(&b, k, klen, NULL, 0);
    rc = engine_iter_end(it, "drop tree");
  }
  if (!rc) {
    bulk_add(&b, TREE_META, sizeof TREE_META, NULL, 0);
    bulk_flush(&b, true);
    rc = b.rc;
  }
  leveldb_writebatch_destroy(b.wb);
  return rc;
}

int hook_merkle_open(engine_t *e, engine_batch_hook_t *out) {
  if (e->opts.tree_off) return CHORUS_ENOTFOUND; /* no hook: the tree is not kept */
  engine_tree_t *t = calloc(1, sizeof *t);
  if (!t) return CHORUS_ENOMEM;
  t->e = e;
  buf_init(&t->scratch);
  buf_init(&t->entry);
  pthread_mutex_init(&t->mu, NULL);
  unsigned bits = e->opts.tree_bits ? e->opts.tree_bits : MERKLE_BITS_DEFAULT, stored_bits = 0;
  int rc = merkle_create(bits, &t->tree);
  if (!rc) {
    t->dirty = calloc(merkle_segments(t->tree) / engine_tree_chunk_leaves(t->tree), 1);
    if (!t->dirty) rc = CHORUS_ENOMEM;
  }
  bool found = false;
  uint64_t keys;
  if (!rc) rc = read_meta(e, e->ropts, &found, &stored_bits, &keys);
  if (!rc) {
    if (found && stored_bits == bits && !e->opts.tree_rebuild) {
      rc = engine_tree_read_stored(e, e->ropts, t->tree, t, NULL);
    } else {
      rc = engine_tree_drop(e);
      if (!rc) rc = engine_tree_build(e, t);
      if (!rc && t->keys)
        log_info("storage: built the anti-entropy tree (%u segments) from %llu records", 1u << bits,
                 (unsigned long long)t->keys);
    }
  }
  if (rc) {
    close_hook(t);
    return rc;
  }
  e->tree = t;
  *out = (engine_batch_hook_t){.ops = &ops, .st = t};
  return 0;
}
