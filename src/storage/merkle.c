/*
 * merkle.c - the anti-entropy tree (see merkle.h).
 *
 * Owns one allocation per tree: the header and every level's hashes, level
 * l starting at node offset (16^l - 1) / 15, so the root is h[0] and the
 * leaves are the last 2^bits entries. Invariant: every node is the XOR of
 * its 16 children. merkle_apply keeps it by XOR-ing the same delta into a
 * leaf and all its ancestors; merkle_load_leaf breaks it until
 * merkle_rehash; merge XORs whole trees, which keeps it level by level.
 *
 * A node's token span depends only on its level: node i of level l holds
 * the tokens [i << (64 - 4l), that + 2^(64 - 4l) - 1], and the root all of
 * them (the one span whose width does not fit in 64 bits). Views never
 * allocate: they walk the tree with the window of ranges that meet the
 * node at hand, narrowing it child by child, and stop at nodes wholly
 * inside one range (read from the tree) or outside all (0).
 */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "../common/be.h"
#include "../common/err.h"
#include "../common/sha256.h"

struct merkle {
  unsigned bits, depth;
  size_t n_nodes; /* over all levels: (16^(depth + 1) - 1) / 15 */
  uint64_t h[];   /* level by level, root first */
};

/* Items whose hash input fits here are hashed in one call (keys are at
 * most 1024 bytes, summaries small); larger ones are streamed. */
#define ITEM_STACK_BYTES 2048

static size_t level_offset(unsigned level) {
  return (((size_t)1 << (MERKLE_FANOUT_BITS * level)) - 1) / (MERKLE_FANOUT - 1);
}

/* Where node i of level lies in h. */
static size_t at(unsigned level, uint64_t i) {
  return level_offset(level) + (size_t)i;
}

int merkle_create(unsigned bits, merkle_t **out) {
  *out = NULL;
  if (bits < MERKLE_BITS_MIN || bits > MERKLE_BITS_MAX || bits % MERKLE_FANOUT_BITS) return CHORUS_EINVAL;
  unsigned depth = bits / MERKLE_FANOUT_BITS;
  size_t n_nodes = level_offset(depth + 1);
  merkle_t *t = calloc(1, sizeof(*t) + n_nodes * sizeof(uint64_t));
  if (!t) return CHORUS_ENOMEM;
  t->bits = bits;
  t->depth = depth;
  t->n_nodes = n_nodes;
  *out = t;
  return 0;
}

void merkle_free(merkle_t *t) {
  free(t);
}

unsigned merkle_bits(const merkle_t *t) {
  return t->bits;
}

unsigned merkle_depth(const merkle_t *t) {
  return t->depth;
}

uint32_t merkle_segments(const merkle_t *t) {
  return (uint32_t)1 << t->bits;
}

uint64_t merkle_level_width(const merkle_t *t, unsigned level) {
  return level > t->depth ? 0 : (uint64_t)1 << (MERKLE_FANOUT_BITS * level);
}

size_t merkle_memory(const merkle_t *t) {
  return t->n_nodes * sizeof(uint64_t);
}

uint32_t merkle_segment(const merkle_t *t, uint64_t token) {
  return (uint32_t)(token >> (64 - t->bits));
}

uint64_t merkle_segment_first(const merkle_t *t, uint32_t s) {
  return (uint64_t)s << (64 - t->bits);
}

uint64_t merkle_segment_last(const merkle_t *t, uint32_t s) {
  return merkle_segment_first(t, s) | (((uint64_t)1 << (64 - t->bits)) - 1);
}

/* SHA-256 of prefix || key || summary without a buffer. OpenSSL 3 marks
 * the low-level streaming calls deprecated in favour of EVP, but an EVP
 * context lives on the heap and so could fail where this cannot: they are
 * the one way to hash an oversized item with no allocation. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void sha256_parts(const uint8_t prefix[4], const void *key, size_t key_len, const void *summary,
                         size_t summary_len, uint8_t md[SHA256_BYTES]) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, prefix, 4);
  if (key_len) SHA256_Update(&c, key, key_len);
  if (summary_len) SHA256_Update(&c, summary, summary_len);
  SHA256_Final(md, &c);
}
#pragma GCC diagnostic pop

uint64_t merkle_item_hash(const void *key, size_t key_len, const void *summary, size_t summary_len) {
  uint8_t md[SHA256_BYTES];
  uint8_t buf[ITEM_STACK_BYTES];
  be_put_u32(buf, (uint32_t)key_len);
  if (key_len <= sizeof(buf) - 4 && summary_len <= sizeof(buf) - 4 - key_len) {
    if (key_len) memcpy(buf + 4, key, key_len);
    if (summary_len) memcpy(buf + 4 + key_len, summary, summary_len);
    sha256_digest(buf, 4 + key_len + summary_len, md);
  } else {
    sha256_parts(buf, key, key_len, summary, summary_len, md);
  }
  uint64_t h = be_get_u64(md);
  return h ? h : 1;
}

void merkle_apply(merkle_t *t, uint32_t s, uint64_t delta) {
  if (s >= merkle_segments(t)) return;
  for (unsigned l = 0; l <= t->depth; l++)
    t->h[at(l, s >> (MERKLE_FANOUT_BITS * (t->depth - l)))] ^= delta;
}

void merkle_load_leaf(merkle_t *t, uint32_t s, uint64_t hash) {
  if (s < merkle_segments(t)) t->h[at(t->depth, s)] = hash;
}

void merkle_rehash(merkle_t *t) {
  for (unsigned l = t->depth; l-- > 0;) {
    uint64_t *up = t->h + at(l, 0);
    const uint64_t *down = t->h + at(l + 1, 0);
    uint64_t width = merkle_level_width(t, l);
    for (uint64_t i = 0; i < width; i++) {
      uint64_t x = 0;
      for (unsigned c = 0; c < MERKLE_FANOUT; c++)
        x ^= down[i * MERKLE_FANOUT + c];
      up[i] = x;
    }
  }
}

void merkle_clear(merkle_t *t) {
  memset(t->h, 0, t->n_nodes * sizeof(uint64_t));
}

uint64_t merkle_node(const merkle_t *t, unsigned level, uint64_t i) {
  if (level > t->depth || i >= merkle_level_width(t, level)) return 0;
  return t->h[at(level, i)];
}

uint64_t merkle_root(const merkle_t *t) {
  return t->h[0];
}

int merkle_merge(merkle_t *dst, const merkle_t *src) {
  if (dst->bits != src->bits) return CHORUS_EINVAL;
  for (size_t i = 0; i < dst->n_nodes; i++)
    dst->h[i] ^= src->h[i];
  return 0;
}

bool merkle_equal(const merkle_t *a, const merkle_t *b) {
  if (a == b) return true;
  if (!a || !b || a->bits != b->bits) return false;
  return memcmp(a->h, b->h, a->n_nodes * sizeof(uint64_t)) == 0;
}

static int cmp_range(const void *pa, const void *pb) {
  const merkle_range_t *a = pa, *b = pb;
  if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
  return a->hi < b->hi ? -1 : a->hi > b->hi;
}

void merkle_ranges_normalize(merkle_range_t *r, size_t *n) {
  size_t k = 0;
  for (size_t i = 0; i < *n; i++)
    if (r[i].lo <= r[i].hi) r[k++] = r[i];
  if (k > 1) qsort(r, k, sizeof(*r), cmp_range);
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    /* merges overlapping and adjacent ones; nothing is adjacent past UINT64_MAX */
    if (m && (r[m - 1].hi == UINT64_MAX || r[i].lo <= r[m - 1].hi + 1)) {
      if (r[i].hi > r[m - 1].hi) r[m - 1].hi = r[i].hi;
    } else {
      r[m++] = r[i];
    }
  }
  *n = m;
}

/* The index of the first range ending at or after token (n if none). */
static size_t first_ending_from(const merkle_range_t *r, size_t n, uint64_t token) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r[mid].hi < token)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

bool merkle_ranges_contain(const merkle_range_t *r, size_t n, uint64_t token) {
  size_t i = first_ending_from(r, n, token);
  return i < n && r[i].lo <= token;
}

/* Appends s to out unless it is the last one listed; counts it either way. */
static void list_partial(uint32_t s, uint32_t *out, size_t max, size_t *count, uint32_t *last) {
  if (*count && *last == s) return;
  if (*count < max) out[*count] = s;
  *last = s;
  (*count)++;
}

size_t merkle_view_partials(const merkle_t *t, const merkle_range_t *r, size_t n, uint32_t *out, size_t max) {
  size_t count = 0;
  uint32_t last = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t first_seg = merkle_segment(t, r[i].lo), last_seg = merkle_segment(t, r[i].hi);
    /* ranges are not adjacent: a segment a range leaves partly uncovered is
     * partly outside all of them */
    if (r[i].lo != merkle_segment_first(t, first_seg) || r[i].hi < merkle_segment_last(t, first_seg))
      list_partial(first_seg, out, max, &count, &last);
    if (r[i].hi != merkle_segment_last(t, last_seg) || r[i].lo > merkle_segment_first(t, last_seg))
      list_partial(last_seg, out, max, &count, &last);
  }
  return count;
}

/* The tokens of node i of level l (see the top of this file). */
static uint64_t node_lo(unsigned l, uint64_t i) {
  return l ? i << (64 - MERKLE_FANOUT_BITS * l) : 0;
}

static uint64_t node_hi(unsigned l, uint64_t i) {
  return l ? node_lo(l, i) | (((uint64_t)1 << (64 - MERKLE_FANOUT_BITS * l)) - 1) : UINT64_MAX;
}

/* The ranges [a, b) of a view: those that may meet the node at hand. */
typedef struct {
  size_t a, b;
} window_t;

/* Narrows w, the window of node i of level l's parent (or every range), to
 * the ranges that meet the node. */
static window_t narrow(const merkle_view_t *v, window_t w, unsigned l, uint64_t i) {
  uint64_t lo = node_lo(l, i), hi = node_hi(l, i);
  while (w.a < w.b && v->ranges[w.a].hi < lo)
    w.a++;
  size_t b = w.a;
  while (b < w.b && v->ranges[b].lo <= hi)
    b++;
  w.b = b;
  return w;
}

static int cmp_partial(const void *key, const void *elem) {
  uint32_t s = *(const uint32_t *)key, e = ((const merkle_partial_t *)elem)->segment;
  return s < e ? -1 : s > e;
}

static uint64_t partial_hash(const merkle_view_t *v, uint64_t i) {
  uint32_t s = (uint32_t)i;
  const merkle_partial_t *p =
      v->n_partials ? bsearch(&s, v->partials, v->n_partials, sizeof(*v->partials), cmp_partial) : NULL;
  return p ? p->hash : 0;
}

static bool covers(const merkle_range_t *r, unsigned l, uint64_t i) {
  return r->lo <= node_lo(l, i) && r->hi >= node_hi(l, i);
}

static void view_children_in(const merkle_view_t *v, window_t w, unsigned l, uint64_t i,
                             uint64_t out[MERKLE_FANOUT], window_t cw[MERKLE_FANOUT]);

/* The view's node i of level l, w being exactly the ranges that meet it. */
static uint64_t view_node_in(const merkle_view_t *v, window_t w, unsigned l, uint64_t i) {
  if (w.a == w.b) return 0;
  if (covers(&v->ranges[w.a], l, i)) return merkle_node(v->tree, l, i);
  if (l == v->tree->depth) return partial_hash(v, i);
  uint64_t child[MERKLE_FANOUT], x = 0;
  window_t cw[MERKLE_FANOUT];
  view_children_in(v, w, l, i, child, cw);
  for (unsigned c = 0; c < MERKLE_FANOUT; c++)
    x ^= child[c];
  return x;
}

/* The children of the view's node i of level l < depth, and their windows;
 * w is the node's window. */
static void view_children_in(const merkle_view_t *v, window_t w, unsigned l, uint64_t i,
                             uint64_t out[MERKLE_FANOUT], window_t cw[MERKLE_FANOUT]) {
  for (unsigned c = 0; c < MERKLE_FANOUT; c++) {
    uint64_t ci = i * MERKLE_FANOUT + c;
    cw[c] = narrow(v, w, l + 1, ci);
    out[c] = view_node_in(v, cw[c], l + 1, ci);
    w.a = cw[c].a; /* children ascend: no later child meets an earlier range */
  }
}

static bool view_ok(const merkle_view_t *v, unsigned level, uint64_t i) {
  return v && v->tree && level <= v->tree->depth && i < merkle_level_width(v->tree, level);
}

static window_t window_of(const merkle_view_t *v, unsigned level, uint64_t i) {
  window_t all = {first_ending_from(v->ranges, v->n_ranges, node_lo(level, i)), v->n_ranges};
  return narrow(v, all, level, i);
}

uint64_t merkle_view_node(const merkle_view_t *v, unsigned level, uint64_t i) {
  if (!view_ok(v, level, i)) return 0;
  return view_node_in(v, window_of(v, level, i), level, i);
}

void merkle_view_children(const merkle_view_t *v, unsigned level, uint64_t i, uint64_t out[MERKLE_FANOUT]) {
  window_t cw[MERKLE_FANOUT];
  if (!view_ok(v, level, i) || level == v->tree->depth) {
    memset(out, 0, MERKLE_FANOUT * sizeof(uint64_t));
    return;
  }
  view_children_in(v, window_of(v, level, i), level, i, out, cw);
}

typedef struct {
  const merkle_view_t *a, *b;
  uint32_t *out;
  size_t max, count;
} diff_t;

/* Node i of level l differs between the views; wa and wb are its windows. */
static void diff_in(diff_t *d, unsigned l, uint64_t i, window_t wa, window_t wb) {
  if (l == d->a->tree->depth) {
    if (d->count < d->max) d->out[d->count] = (uint32_t)i;
    d->count++;
    return;
  }
  uint64_t ha[MERKLE_FANOUT], hb[MERKLE_FANOUT];
  window_t ca[MERKLE_FANOUT], cb[MERKLE_FANOUT];
  view_children_in(d->a, wa, l, i, ha, ca);
  view_children_in(d->b, wb, l, i, hb, cb);
  for (unsigned c = 0; c < MERKLE_FANOUT; c++)
    if (ha[c] != hb[c]) diff_in(d, l + 1, i * MERKLE_FANOUT + c, ca[c], cb[c]);
}

size_t merkle_diff(const merkle_view_t *a, const merkle_view_t *b, uint32_t *out, size_t max) {
  if (!view_ok(a, 0, 0) || !view_ok(b, 0, 0) || a->tree->bits != b->tree->bits) return 0;
  diff_t d = {a, b, out, max, 0};
  window_t wa = window_of(a, 0, 0), wb = window_of(b, 0, 0);
  if (view_node_in(a, wa, 0, 0) != view_node_in(b, wb, 0, 0)) diff_in(&d, 0, 0, wa, wb);
  return d.count;
}
