/*
 * fuzz_merkle.c - the anti-entropy tree driven by arbitrary bytes.
 *
 * The input runs as a program over two trees of 256 segments (the stored
 * leaves' decoders have their own target, fuzz_treelog), each holding up to SLOTS
 * items: set, remove or copy an item (tokens often on segment edges), add
 * or clear token ranges, check. A check (also run at the end) aborts unless
 * each delta-updated tree equals the one rebuilt from its items, the ranges
 * normalise to the same tokens, the partial segments are exactly those the
 * ranges cut, every view leaf and root is the XOR of the items inside the
 * ranges, and merkle_diff returns exactly the segments whose view leaves
 * differ.
 *
 * An item's key starts with its token, as in the store a key determines
 * its token: one item hash in two segments would cancel in their common
 * ancestor and hide both from a diff, which the tree cannot and need not
 * detect.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/merkle.h"

#define BITS 8 /* depth 2: level 1's children are the leaves */
#define SEGS (1u << BITS)
#define SLOTS 32
#define MAX_RANGES 12
#define MAX_OPS 64

#define CHECK(c)                                                                                             \
  do {                                                                                                       \
    if (!(c)) abort();                                                                                       \
  } while (0)

typedef struct {
  uint64_t token, hash; /* hash 0: empty slot */
} item_t;

typedef struct {
  merkle_t *tree;
  item_t it[SLOTS];
  uint64_t seg[SEGS]; /* per segment: XOR of the items inside the ranges */
  merkle_partial_t partials[2 * MAX_RANGES];
  merkle_view_t view;
} side_t;

typedef struct {
  const uint8_t *p;
  size_t n;
} input_t;

static uint8_t take(input_t *in) {
  if (!in->n) return 0;
  in->n--;
  return *in->p++;
}

static uint64_t take_u64(input_t *in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | take(in);
  return v;
}

/* A token: raw, or a few tokens from the first or last of a segment. */
static uint64_t take_token(input_t *in) {
  uint8_t mode = take(in);
  uint64_t s = take(in), off = take(in);
  switch (mode % 3) {
  case 0: return (s << 56 | off << 48) ^ take_u64(in);
  case 1: return (s << (64 - BITS)) + off % 4;
  default: return ((s + 1) << (64 - BITS)) - 1 - off % 4; /* segment 255: the last tokens */
  }
}

static void set_item(side_t *x, size_t slot, uint64_t token, uint64_t hash) {
  item_t *it = &x->it[slot];
  if (it->hash) merkle_apply(x->tree, merkle_segment(x->tree, it->token), it->hash);
  it->token = token;
  it->hash = hash;
  if (hash) merkle_apply(x->tree, merkle_segment(x->tree, token), hash);
}

static bool in_raw(const merkle_range_t *r, size_t n, uint64_t token) {
  for (size_t i = 0; i < n; i++)
    if (r[i].lo <= token && token <= r[i].hi) return true;
  return false;
}

/* Whether segment s holds tokens both inside and outside the normalised
 * ranges, by counting the tokens inside. */
static bool cut(const merkle_range_t *r, size_t n, uint32_t s) {
  uint64_t first = (uint64_t)s << (64 - BITS), last = first | (UINT64_MAX >> BITS), inside = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t lo = r[i].lo > first ? r[i].lo : first, hi = r[i].hi < last ? r[i].hi : last;
    if (lo <= hi) inside += hi - lo + 1;
  }
  return inside && inside != last - first + 1;
}

static void check_rebuild(const side_t *x, merkle_t *scratch) {
  merkle_clear(scratch);
  uint64_t leaf[SEGS] = {0};
  for (size_t i = 0; i < SLOTS; i++)
    leaf[merkle_segment(scratch, x->it[i].token)] ^= x->it[i].hash;
  for (uint32_t s = 0; s < SEGS; s++)
    merkle_load_leaf(scratch, s, leaf[s]);
  merkle_rehash(scratch);
  CHECK(merkle_equal(x->tree, scratch));
}

/* Fills x's view through the normalised ranges r and checks it. */
static void check_view(side_t *x, const merkle_range_t *r, size_t n, const uint32_t *cuts, size_t n_cuts) {
  uint64_t inside = 0;
  memset(x->seg, 0, sizeof(x->seg));
  for (size_t i = 0; i < SLOTS; i++)
    if (in_raw(r, n, x->it[i].token)) {
      x->seg[merkle_segment(x->tree, x->it[i].token)] ^= x->it[i].hash;
      inside ^= x->it[i].hash;
    }
  for (size_t p = 0; p < n_cuts; p++)
    x->partials[p] = (merkle_partial_t){cuts[p], x->seg[cuts[p]]};
  x->view = (merkle_view_t){x->tree, r, n, x->partials, n_cuts};
  CHECK(merkle_view_node(&x->view, 0, 0) == inside);
  for (unsigned i = 0; i < MERKLE_FANOUT; i++) { /* level 1, and the leaves as its children */
    uint64_t leaf[MERKLE_FANOUT], x1 = 0;
    merkle_view_children(&x->view, 1, i, leaf);
    for (unsigned c = 0; c < MERKLE_FANOUT; c++) {
      CHECK(leaf[c] == x->seg[i * MERKLE_FANOUT + c]);
      x1 ^= leaf[c];
    }
    CHECK(merkle_view_node(&x->view, 1, i) == x1);
  }
  uint32_t s = merkle_segment(x->tree, x->it[0].token);
  CHECK(merkle_view_node(&x->view, BITS / MERKLE_FANOUT_BITS, s) == x->seg[s]);
}

static void check(side_t *x, merkle_t *scratch, const merkle_range_t *raw, size_t n_raw) {
  merkle_range_t r[MAX_RANGES];
  size_t n = n_raw;
  memcpy(r, raw, n_raw * sizeof(*r));
  merkle_ranges_normalize(r, &n);
  for (size_t i = 0; i < n; i++)
    CHECK(r[i].lo <= r[i].hi && (!i || r[i].lo > r[i - 1].hi + 1));
  for (size_t k = 0; k < 2; k++) {
    check_rebuild(&x[k], scratch);
    for (size_t i = 0; i < SLOTS; i++)
      CHECK(merkle_ranges_contain(r, n, x[k].it[i].token) == in_raw(raw, n_raw, x[k].it[i].token));
  }
  uint32_t cuts[2 * MAX_RANGES], out[SEGS];
  size_t n_cuts = merkle_view_partials(scratch, r, n, cuts, 2 * MAX_RANGES), k = 0;
  CHECK(n_cuts <= 2 * n);
  for (uint32_t s = 0; s < SEGS; s++)
    if (cut(r, n, s)) CHECK(k < n_cuts && cuts[k++] == s);
  CHECK(k == n_cuts);
  check_view(&x[0], r, n, cuts, n_cuts);
  check_view(&x[1], r, n, cuts, n_cuts);
  size_t n_diff = merkle_diff(&x[0].view, &x[1].view, out, SEGS);
  k = 0;
  for (uint32_t s = 0; s < SEGS; s++)
    if (x[0].seg[s] != x[1].seg[s]) CHECK(k < n_diff && out[k++] == s);
  CHECK(k == n_diff);
  CHECK(merkle_diff(&x[1].view, &x[0].view, NULL, 0) == n_diff);
  uint32_t some[SEGS / 2 + 1];
  some[n_diff / 2] = UINT32_MAX; /* past what may be written */
  CHECK(merkle_diff(&x[0].view, &x[1].view, some, n_diff / 2) == n_diff);
  CHECK(!memcmp(some, out, n_diff / 2 * sizeof(*out)) && some[n_diff / 2] == UINT32_MAX);
}

static void run(input_t in) {
  side_t x[2];
  merkle_t *scratch = NULL;
  memset(x, 0, sizeof(x));
  if (merkle_create(BITS, &x[0].tree) || merkle_create(BITS, &x[1].tree) || merkle_create(BITS, &scratch))
    abort();
  merkle_range_t raw[MAX_RANGES];
  size_t n_raw = 0;
  for (int ops = 0; in.n && ops < MAX_OPS; ops++) {
    uint8_t op = take(&in);
    side_t *side = &x[op >> 7];
    size_t slot = take(&in) % SLOTS;
    switch ((op & 0x7f) % 6) {
    case 0: { /* set an item: its token, up to 16 more key bytes, a one-byte summary */
      uint64_t token = take_token(&in);
      uint8_t key[8 + 16], key_len = 8 + take(&in) % 17, summary = take(&in);
      for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(token >> (56 - 8 * i));
      for (uint8_t i = 8; i < key_len; i++)
        key[i] = take(&in);
      set_item(side, slot, token, merkle_item_hash(key, key_len, &summary, 1));
      break;
    }
    case 1: set_item(side, slot, side->it[slot].token, 0); break;
    case 2: set_item(&x[1], slot, x[0].it[slot].token, x[0].it[slot].hash); break;
    case 3:
      if (n_raw < MAX_RANGES) {
        raw[n_raw].lo = take_token(&in);
        raw[n_raw].hi = take_token(&in);
        n_raw++;
      }
      break;
    case 4: n_raw = 0; break;
    default: check(x, scratch, raw, n_raw); break;
    }
  }
  check(x, scratch, raw, n_raw);
  merkle_free(x[0].tree);
  merkle_free(x[1].tree);
  merkle_free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  run((input_t){data, size});
  return 0;
}
