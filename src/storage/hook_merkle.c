/*
 * hook_merkle.c - the anti-entropy tree (merkle.h) kept in step with the
 * records, in the same WriteBatch (DESIGN §9).
 *
 * Stored, beside the records:
 *   't' u64be token key -> u64be item hash: the token index. A key's item
 *                          hash covers its versions' dots (tree_summary), so
 *                          two replicas holding the same versions agree;
 *                          ordered by token, so a segment's keys are one scan.
 *   'l' u32be segment   -> u64be leaf hash (merkle_leaf_encode), absent when 0
 *   'm' "tree"          -> u8 bits: the tree's shape; absent in a store
 *                          written before the tree, which is then built
 *                          once at open from the records (as it is, after
 *                          dropping the stored one, when an operator asks:
 *                          opts.tree_rebuild, --rebuild-merkle-tree).
 * A record change from hash h0 to h1 (0: no record) puts or deletes its
 * index entry and XORs h0 ^ h1 into its segment's pending delta; seal
 * writes each touched leaf as (committed leaf ^ delta); commit applies the
 * deltas to the in-memory tree, fail drops them. So the stored leaves, the
 * index and the in-memory tree always describe exactly the records on
 * disk: after a crash the tree is loaded, never rebuilt.
 *
 * The in-memory tree is read by other threads (engine_tree.c) under mu;
 * the writer takes mu only to apply a committed group's deltas.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../ring/ring.h"
#include "engine_internal.h"
#include "record.h"

static const char TREE_META[] = {KEY_META, 't', 'r', 'e', 'e'};

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

void engine_tree_index_key(dbkey_tree_t *k, uint64_t token, const char *key, size_t key_len) {
  k->b[0] = KEY_TREE_INDEX;
  for (int i = 0; i < 8; i++)
    k->b[1 + i] = (char)(token >> (56 - 8 * i));
  memcpy(k->b + 9, key, key_len);
  k->len = 9 + key_len;
}

uint32_t engine_tree_leaf_segment(const char *k, size_t klen) {
  if (klen != 5) return UINT32_MAX;
  return ((uint32_t)(uint8_t)k[1] << 24) | ((uint32_t)(uint8_t)k[2] << 16) | ((uint32_t)(uint8_t)k[3] << 8) |
         (uint32_t)(uint8_t)k[4];
}

void engine_tree_leaf_key(char out[5], uint32_t segment) {
  out[0] = KEY_TREE_LEAF;
  for (int i = 0; i < 4; i++)
    out[1 + i] = (char)(segment >> (24 - 8 * i));
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
  engine_tree_t *t = st;
  uint64_t h0, h1 = engine_tree_item_hash(c->key, c->key_len, c->state, &t->scratch);
  memcpy(&h0, slot, sizeof h0);
  if (t->scratch.err) return CHORUS_ENOMEM;
  if (h0 == h1) return 0;
  uint64_t token = ring_key_token(c->key, c->key_len);
  dbkey_tree_t k;
  engine_tree_index_key(&k, token, c->key, c->key_len);
  if (h1) {
    uint8_t v[8];
    merkle_leaf_encode(h1, v);
    engine_batch_put(e, k.b, k.len, v, sizeof v);
  } else {
    engine_batch_delete(e, k.b, k.len);
  }
  t->keys_delta += (h1 != 0) - (h0 != 0);
  return add_delta(t, merkle_segment(t->tree, token), h0 ^ h1);
}

static int seal(void *st, engine_t *e) {
  engine_tree_t *t = st;
  pthread_mutex_lock(&t->mu); /* the leaves as committed; only this thread changes them */
  for (size_t i = 0; i < t->n_deltas; i++) {
    const engine_tree_delta_t *d = &t->deltas[i];
    if (!d->delta) continue;
    uint64_t leaf = merkle_node(t->tree, merkle_depth(t->tree), d->segment) ^ d->delta;
    char k[5];
    engine_tree_leaf_key(k, d->segment);
    if (leaf) {
      uint8_t v[8];
      merkle_leaf_encode(leaf, v);
      engine_batch_put(e, k, sizeof k, v, sizeof v);
    } else {
      engine_batch_delete(e, k, sizeof k);
    }
  }
  pthread_mutex_unlock(&t->mu);
  return 0;
}

static void end_group(engine_tree_t *t) {
  t->n_deltas = 0;
  t->keys_delta = 0;
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
  buf_free(&t->scratch);
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

/* Loads the stored leaves (and counts the index) into t->tree. */
static int load(engine_tree_t *t) {
  engine_t *e = t->e;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char p = KEY_TREE_LEAF;
  const char *k;
  size_t klen;
  int rc = 0;
  for (leveldb_iter_seek(it, &p, 1); !rc && engine_iter_in(it, &p, 1, &k, &klen); leveldb_iter_next(it)) {
    size_t vlen = 0;
    const char *v = leveldb_iter_value(it, &vlen);
    uint64_t h;
    uint32_t s = engine_tree_leaf_segment(k, klen);
    if (s >= merkle_segments(t->tree) || merkle_leaf_decode(v, vlen, &h) != 0) {
      log_error("storage: a stored tree leaf is damaged; run a tree rebuild");
      rc = CHORUS_ECORRUPT;
      break;
    }
    merkle_load_leaf(t->tree, s, h);
  }
  int end = engine_iter_end(it, "load tree");
  if (rc || end) return rc ? rc : end;
  merkle_rehash(t->tree);
  const char ip = KEY_TREE_INDEX;
  it = leveldb_create_iterator(e->db, e->ropts);
  uint64_t n = 0;
  for (leveldb_iter_seek(it, &ip, 1); engine_iter_in(it, &ip, 1, &k, &klen); leveldb_iter_next(it))
    n++;
  t->keys = n;
  return engine_iter_end(it, "count tree keys");
}

/* Writes of a build or a drop, in batches of BULK_BATCH, outside the writer
 * (at open, before it starts). */
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
static void bulk_add(bulk_t *b, const char *k, size_t klen, const uint8_t *v, size_t vlen) {
  if (v)
    leveldb_writebatch_put(b->wb, k, klen, (const char *)v, vlen);
  else
    leveldb_writebatch_delete(b->wb, k, klen);
  if (++b->n == BULK_BATCH) bulk_flush(b, false);
}

typedef struct {
  engine_tree_t *t;
  bulk_t *b;
} build_t;

static int index_record(void *arg, const char *key, size_t key_len, const dvv_t *d) {
  build_t *x = arg;
  uint64_t h = engine_tree_item_hash(key, key_len, d, &x->t->scratch);
  if (!h) return x->t->scratch.err ? CHORUS_ENOMEM : 0;
  uint64_t token = ring_key_token(key, key_len);
  dbkey_tree_t tk;
  engine_tree_index_key(&tk, token, key, key_len);
  uint8_t v[8];
  merkle_leaf_encode(h, v);
  bulk_add(x->b, tk.b, tk.len, v, sizeof v);
  merkle_apply(x->t->tree, merkle_segment(x->t->tree, token), h);
  x->t->keys++;
  return x->b->rc;
}

/* A store written before the tree (or after a rebuild was asked for):
 * every record's index entry and leaf, written in batches, then the shape.
 * A damaged record is left out; verify names it. */
int engine_tree_build(engine_t *e, engine_tree_t *t) {
  merkle_clear(t->tree);
  t->keys = 0;
  bulk_t b = {.e = e, .wb = leveldb_writebatch_create()};
  build_t x = {t, &b};
  int rc = engine_each_record(e, NULL, index_record, &x, NULL);
  for (uint32_t s = 0; !rc && !b.rc && s < merkle_segments(t->tree); s++) {
    uint64_t h = merkle_node(t->tree, merkle_depth(t->tree), s);
    if (!h) continue;
    char lk[5];
    engine_tree_leaf_key(lk, s);
    uint8_t v[8];
    merkle_leaf_encode(h, v);
    bulk_add(&b, lk, sizeof lk, v, sizeof v);
  }
  if (!rc) {
    uint8_t bits = (uint8_t)merkle_bits(t->tree);
    bulk_add(&b, TREE_META, sizeof TREE_META, &bits, 1);
    bulk_flush(&b, true);
    rc = b.rc;
  }
  leveldb_writebatch_destroy(b.wb);
  return rc;
}

/* Deletes every stored index entry and leaf (before a rebuild). */
int engine_tree_drop(engine_t *e) {
  bulk_t b = {.e = e, .wb = leveldb_writebatch_create()};
  static const char prefixes[] = {KEY_TREE_INDEX, KEY_TREE_LEAF};
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
  pthread_mutex_init(&t->mu, NULL);
  unsigned bits = e->opts.tree_bits ? e->opts.tree_bits : MERKLE_BITS_DEFAULT;
  int rc = merkle_create(bits, &t->tree);
  char *err = NULL;
  size_t vlen = 0;
  char *v = NULL;
  if (!rc) {
    v = leveldb_get(e->db, e->ropts, TREE_META, sizeof TREE_META, &vlen, &err);
    if (err) rc = engine_ldb_err(err, "read tree shape", NULL);
  }
  if (!rc) {
    bool same = v && vlen == 1 && (unsigned)(uint8_t)v[0] == bits && !e->opts.tree_rebuild;
    if (same) {
      rc = load(t);
    } else {
      rc = v ? engine_tree_drop(e) : 0;
      if (!rc) rc = engine_tree_build(e, t);
      if (!rc && t->keys)
        log_info("storage: built the anti-entropy tree (%u segments) from %llu records", 1u << bits,
                 (unsigned long long)t->keys);
    }
  }
  leveldb_free(v);
  if (rc) {
    close_hook(t);
    return rc;
  }
  e->tree = t;
  *out = (engine_batch_hook_t){.ops = &ops, .st = t};
  return 0;
}
