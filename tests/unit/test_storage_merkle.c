/*
 * test_storage_merkle.c - the anti-entropy tree: its shape, item hashes and
 * stored leaves, then random item sets (fixed seeds) checked against brute
 * force: delta updates against rebuilds, merges against unions, diffs
 * against the segments that changed, and views through random token ranges
 * against the XOR of the items inside them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/sha256.h"
#include "storage/merkle.h"

/* xorshift64*: a fixed sequence per seed. */
static uint64_t rng_state;

static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint64_t below(uint64_t n) {
  return n ? rnd() % n : 0;
}

typedef struct {
  uint64_t token, hash; /* hash 0: absent */
} item_t;

static merkle_t *new_tree(unsigned bits) {
  merkle_t *t = NULL;
  assert_int_equal(merkle_create(bits, &t), 0);
  assert_non_null(t);
  return t;
}

/* The hash of an item with random key and summary bytes. */
static uint64_t random_item_hash(void) {
  uint8_t key[16], summary[8];
  size_t key_len = 1 + below(sizeof(key)), summary_len = below(sizeof(summary) + 1);
  for (size_t i = 0; i < key_len; i++)
    key[i] = (uint8_t)rnd();
  for (size_t i = 0; i < summary_len; i++)
    summary[i] = (uint8_t)rnd();
  uint64_t h = merkle_item_hash(key, key_len, summary, summary_len);
  assert_int_not_equal(h, 0);
  return h;
}

/* A token, often at an edge of the token space or of a segment. */
static uint64_t random_token(const merkle_t *t) {
  uint32_t s = (uint32_t)below(merkle_segments(t));
  switch (below(8)) {
  case 0: return below(4);
  case 1: return UINT64_MAX - below(4);
  case 2: return merkle_segment_first(t, s) + below(4);
  case 3: return merkle_segment_last(t, s) - below(4);
  default: return rnd();
  }
}

static void random_items(const merkle_t *t, item_t *it, size_t n) {
  for (size_t i = 0; i < n; i++) {
    it[i].token = random_token(t);
    it[i].hash = random_item_hash();
  }
}

static void shuffle(size_t *order, size_t n) {
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  for (size_t i = n; i > 1; i--) {
    size_t j = below(i), tmp = order[i - 1];
    order[i - 1] = order[j];
    order[j] = tmp;
  }
}

static void apply_item(merkle_t *t, const item_t *it, uint64_t old_hash) {
  merkle_apply(t, merkle_segment(t, it->token), old_hash ^ it->hash);
}

/* Inserts the present items into t in a random order. */
static void apply_shuffled(merkle_t *t, const item_t *it, size_t n) {
  size_t *order = malloc(n * sizeof(*order));
  assert_non_null(order);
  shuffle(order, n);
  for (size_t i = 0; i < n; i++)
    if (it[order[i]].hash) apply_item(t, &it[order[i]], 0);
  free(order);
}

/* The rebuilt tree of the present items: XOR-ed leaves, then a rehash. */
static merkle_t *rebuilt(unsigned bits, const item_t *it, size_t n) {
  merkle_t *t = new_tree(bits);
  uint32_t segs = merkle_segments(t);
  uint64_t *leaf = calloc(segs, sizeof(*leaf));
  assert_non_null(leaf);
  for (size_t i = 0; i < n; i++)
    leaf[merkle_segment(t, it[i].token)] ^= it[i].hash;
  for (uint32_t s = 0; s < segs; s++)
    merkle_load_leaf(t, s, leaf[s]);
  merkle_rehash(t);
  free(leaf);
  return t;
}

static void assert_nodes_are_xor_of_children(const merkle_t *t) {
  for (unsigned l = 0; l < merkle_depth(t); l++)
    for (uint64_t i = 0; i < merkle_level_width(t, l); i++) {
      uint64_t x = 0;
      for (unsigned c = 0; c < MERKLE_FANOUT; c++)
        x ^= merkle_node(t, l + 1, i * MERKLE_FANOUT + c);
      assert_int_equal(merkle_node(t, l, i), x);
    }
}

/* ---- shape ---- */

static void test_create_accepts_multiples_of_four_up_to_the_maximum(void **state) {
  static const unsigned bad[] = {0, 1, 2, 3, 5, 7, 25, 28, 32, 64};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    merkle_t *before = new_tree(4), *t = before;
    assert_int_equal(merkle_create(bad[i], &t), CHORUS_EINVAL);
    assert_null(t);
    merkle_free(before);
  }
  /* 24 reserves about 143 MB but touches only the pages read below */
  for (unsigned bits = MERKLE_BITS_MIN; bits <= MERKLE_BITS_MAX; bits += MERKLE_FANOUT_BITS) {
    merkle_t *t = new_tree(bits);
    unsigned depth = bits / 4;
    size_t nodes = 0;
    assert_int_equal(merkle_bits(t), bits);
    assert_int_equal(merkle_depth(t), depth);
    assert_int_equal(merkle_segments(t), (uint32_t)1 << bits);
    for (unsigned l = 0; l <= depth; l++) {
      assert_int_equal(merkle_level_width(t, l), (uint64_t)1 << (4 * l));
      nodes += (size_t)1 << (4 * l);
    }
    assert_int_equal(merkle_level_width(t, depth + 1), 0);
    assert_int_equal(merkle_memory(t), nodes * sizeof(uint64_t));
    assert_int_equal(merkle_root(t), 0);
    assert_int_equal(merkle_node(t, depth, merkle_segments(t) - 1), 0);
    merkle_apply(t, merkle_segments(t) - 1, 0xabc);
    for (unsigned l = 0; l <= depth; l++)
      assert_int_equal(merkle_node(t, l, merkle_level_width(t, l) - 1), 0xabc);
    merkle_free(t);
  }
  merkle_free(NULL);
}

static void test_segments_split_the_token_space_evenly(void **state) {
  for (unsigned bits = 4; bits <= 20; bits += 8) {
    merkle_t *t = new_tree(bits);
    uint32_t last = merkle_segments(t) - 1;
    assert_int_equal(merkle_segment_first(t, 0), 0);
    assert_int_equal(merkle_segment_last(t, last), UINT64_MAX);
    assert_int_equal(merkle_segment(t, 0), 0);
    assert_int_equal(merkle_segment(t, UINT64_MAX), last);
    assert_int_equal(merkle_segment_last(t, 0), (UINT64_MAX >> bits));
    rng_state = 0x5e6 + bits;
    for (int k = 0; k < 1000; k++) {
      uint32_t s = (uint32_t)below(last);
      assert_int_equal(merkle_segment(t, merkle_segment_first(t, s)), s);
      assert_int_equal(merkle_segment(t, merkle_segment_last(t, s)), s);
      assert_int_equal(merkle_segment_last(t, s) + 1, merkle_segment_first(t, s + 1));
      uint64_t token = rnd();
      assert_true(merkle_segment_first(t, merkle_segment(t, token)) <= token);
      assert_true(merkle_segment_last(t, merkle_segment(t, token)) >= token);
    }
    merkle_free(t);
  }
}

static void test_out_of_range_nodes_and_segments_are_ignored(void **state) {
  merkle_t *t = new_tree(8), *empty = new_tree(8);
  merkle_apply(t, 256, 0x1234);
  merkle_load_leaf(t, 1000, 0x1234);
  merkle_rehash(t);
  assert_true(merkle_equal(t, empty));
  merkle_apply(t, 255, 0x1234);
  assert_int_equal(merkle_node(t, 2, 255), 0x1234);
  assert_int_equal(merkle_node(t, 1, 15), 0x1234);
  assert_int_equal(merkle_root(t), 0x1234);
  assert_int_equal(merkle_node(t, 2, 256), 0);
  assert_int_equal(merkle_node(t, 3, 0), 0);
  assert_int_equal(merkle_node(t, 1, 16), 0);
  assert_false(merkle_equal(t, empty));
  merkle_clear(t);
  assert_true(merkle_equal(t, empty));
  merkle_free(t);
  merkle_free(empty);
}

/* ---- item hashes and stored leaves ---- */

static uint64_t reference_hash(const void *key, size_t key_len, const void *summary, size_t summary_len) {
  uint8_t *buf = malloc(4 + key_len + summary_len), md[SHA256_BYTES];
  assert_non_null(buf);
  buf[0] = (uint8_t)(key_len >> 24);
  buf[1] = (uint8_t)(key_len >> 16);
  buf[2] = (uint8_t)(key_len >> 8);
  buf[3] = (uint8_t)key_len;
  memcpy(buf + 4, key, key_len);
  memcpy(buf + 4 + key_len, summary, summary_len);
  sha256_digest(buf, 4 + key_len + summary_len, md);
  free(buf);
  uint64_t h = 0;
  for (int i = 0; i < 8; i++)
    h = h << 8 | md[i];
  return h ? h : 1;
}

static void test_item_hash_is_the_sha256_prefix_of_length_key_and_summary(void **state) {
  assert_int_equal(merkle_item_hash("ab", 2, "c", 1), merkle_item_hash("ab", 2, "c", 1));
  assert_int_not_equal(merkle_item_hash("ab", 2, "c", 1), merkle_item_hash("a", 1, "bc", 2));
  assert_int_not_equal(merkle_item_hash("abc", 3, NULL, 0), merkle_item_hash(NULL, 0, "abc", 3));
  assert_int_equal(merkle_item_hash("ab", 2, "c", 1), reference_hash("ab", 2, "c", 1));
  assert_int_equal(merkle_item_hash(NULL, 0, NULL, 0), reference_hash("", 0, "", 0));
  /* around the size hashed in one piece, and far beyond it */
  static const size_t key_lens[] = {1024, 2040, 2044, 2045, 5000, 70000};
  static const size_t summary_lens[] = {0, 4, 5, 300};
  uint8_t *key = malloc(70000), summary[300];
  assert_non_null(key);
  rng_state = 0x17e3;
  for (size_t i = 0; i < 70000; i++)
    key[i] = (uint8_t)rnd();
  for (size_t i = 0; i < sizeof(summary); i++)
    summary[i] = (uint8_t)rnd();
  for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++)
    for (size_t s = 0; s < sizeof(summary_lens) / sizeof(summary_lens[0]); s++)
      assert_int_equal(merkle_item_hash(key, key_lens[k], summary, summary_lens[s]),
                       reference_hash(key, key_lens[k], summary, summary_lens[s]));
  free(key);
  for (int k = 0; k < 10000; k++)
    assert_int_not_equal(random_item_hash(), 0);
}

/* ---- delta updates, merges ---- */

static void check_deltas_equal_rebuild(unsigned bits, uint64_t seed) {
  enum { N = 600 };
  rng_state = seed;
  merkle_t *t = new_tree(bits);
  item_t it[N], now[N]; /* it: every version drawn; now: what the tree should hold */
  random_items(t, it, N);
  memset(now, 0, sizeof(now));
  /* random inserts, updates (a new summary) and removals */
  for (int step = 0; step < 4 * N; step++) {
    size_t i = below(N);
    item_t next = {it[i].token, 0};
    switch (below(3)) {
    case 0: next.hash = it[i].hash; break;
    case 1: next.hash = random_item_hash(); break;
    default: break; /* removed */
    }
    apply_item(t, &next, now[i].hash);
    now[i] = next;
    if (step % 500 == 0) assert_nodes_are_xor_of_children(t);
  }
  merkle_t *r = rebuilt(bits, now, N), *other = new_tree(bits);
  assert_true(merkle_equal(t, r));
  apply_shuffled(other, now, N);
  assert_true(merkle_equal(t, other));
  uint64_t all = 0;
  for (size_t i = 0; i < N; i++)
    all ^= now[i].hash;
  assert_int_equal(merkle_root(t), all);
  /* one item more tells them apart */
  item_t extra = {random_token(t), random_item_hash()};
  apply_item(other, &extra, 0);
  assert_false(merkle_equal(t, other));
  apply_item(other, &(item_t){extra.token, 0}, extra.hash);
  assert_true(merkle_equal(t, other));
  merkle_free(t);
  merkle_free(r);
  merkle_free(other);
}

static void test_delta_updates_equal_a_rebuild_in_any_order(void **state) {
  check_deltas_equal_rebuild(8, 0xde17a);
  check_deltas_equal_rebuild(12, 0xde17b);
  check_deltas_equal_rebuild(4, 0xde17c);
}

static void test_every_node_is_the_xor_of_its_children(void **state) {
  enum { N = 3000 };
  static item_t it[N];
  rng_state = 0xc41d;
  merkle_t *t = new_tree(12);
  random_items(t, it, N);
  apply_shuffled(t, it, N);
  assert_int_not_equal(merkle_root(t), 0);
  assert_nodes_are_xor_of_children(t);
  /* a rebuild after loading the leaves restores the invariant */
  merkle_load_leaf(t, 77, merkle_node(t, 3, 77) ^ 0xff);
  merkle_rehash(t);
  assert_nodes_are_xor_of_children(t);
  merkle_free(t);
}

static void test_merge_of_disjoint_trees_is_the_tree_of_the_union(void **state) {
  enum { N = 800 };
  item_t it[N];
  rng_state = 0x3e76e;
  merkle_t *a = new_tree(8), *b = new_tree(8), *wide = new_tree(12);
  random_items(a, it, N);
  apply_shuffled(a, it, N / 3);
  apply_shuffled(b, it + N / 3, N - N / 3);
  merkle_t *u = rebuilt(8, it, N), *b_before = rebuilt(8, it + N / 3, N - N / 3);
  assert_false(merkle_equal(a, u));
  assert_int_equal(merkle_merge(a, b), 0);
  assert_true(merkle_equal(a, u));
  assert_true(merkle_equal(b, b_before));
  assert_nodes_are_xor_of_children(a);
  /* shapes must agree; a mismatch changes nothing */
  assert_int_equal(merkle_merge(a, wide), CHORUS_EINVAL);
  assert_int_equal(merkle_merge(wide, a), CHORUS_EINVAL);
  assert_true(merkle_equal(a, u));
  assert_false(merkle_equal(wide, a));
  merkle_free(a);
  merkle_free(b);
  merkle_free(u);
  merkle_free(b_before);
  merkle_free(wide);
}

/* ---- ranges ---- */

static void assert_ranges(const merkle_range_t *r, size_t n, const merkle_range_t *expect, size_t n_expect) {
  assert_int_equal(n, n_expect);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(r[i].lo, expect[i].lo);
    assert_int_equal(r[i].hi, expect[i].hi);
  }
}

static void test_normalize_sorts_merges_and_drops_empty_ranges(void **state) {
  merkle_range_t r[] = {{50, 60}, {10, 20}, {15, 30}, {31, 40}, {9, 3}, {100, 100}, {102, 110}, {70, 70}};
  size_t n = sizeof(r) / sizeof(r[0]);
  merkle_ranges_normalize(r, &n);
  const merkle_range_t want[] = {{10, 40}, {50, 60}, {70, 70}, {100, 100}, {102, 110}};
  assert_ranges(r, n, want, 5);

  merkle_range_t top[] = {{UINT64_MAX, UINT64_MAX}, {5, UINT64_MAX}, {0, 4}, {UINT64_MAX - 1, UINT64_MAX}};
  n = 4;
  merkle_ranges_normalize(top, &n);
  assert_ranges(top, n, (const merkle_range_t[]){{0, UINT64_MAX}}, 1);

  merkle_range_t edge[] = {{UINT64_MAX, UINT64_MAX}, {0, 0}, {UINT64_MAX - 5, UINT64_MAX - 2}, {1, 0}};
  n = 4;
  merkle_ranges_normalize(edge, &n);
  const merkle_range_t want_edge[] = {{0, 0}, {UINT64_MAX - 5, UINT64_MAX - 2}, {UINT64_MAX, UINT64_MAX}};
  assert_ranges(edge, n, want_edge, 3);

  merkle_range_t dropped[] = {{2, 1}, {UINT64_MAX, 0}};
  n = 2;
  merkle_ranges_normalize(dropped, &n);
  assert_int_equal(n, 0);
  n = 0;
  merkle_ranges_normalize(NULL, &n);
  assert_int_equal(n, 0);
}

static void test_contain_finds_tokens_at_the_boundaries(void **state) {
  const merkle_range_t r[] = {{0, 0}, {10, 20}, {UINT64_MAX - 1, UINT64_MAX}};
  assert_false(merkle_ranges_contain(NULL, 0, 5));
  assert_true(merkle_ranges_contain(r, 3, 0));
  assert_false(merkle_ranges_contain(r, 3, 1));
  assert_false(merkle_ranges_contain(r, 3, 9));
  assert_true(merkle_ranges_contain(r, 3, 10));
  assert_true(merkle_ranges_contain(r, 3, 20));
  assert_false(merkle_ranges_contain(r, 3, 21));
  assert_false(merkle_ranges_contain(r, 3, UINT64_MAX - 2));
  assert_true(merkle_ranges_contain(r, 3, UINT64_MAX - 1));
  assert_true(merkle_ranges_contain(r, 3, UINT64_MAX));
  assert_false(merkle_ranges_contain(r, 2, UINT64_MAX));
}

static bool in_raw(const merkle_range_t *raw, size_t n, uint64_t token) {
  for (size_t i = 0; i < n; i++)
    if (raw[i].lo <= token && token <= raw[i].hi) return true;
  return false;
}

/* Up to max_n raw ranges of every awkward kind; returns how many. */
static size_t random_raw_ranges(const merkle_t *t, merkle_range_t *r, size_t max_n) {
  size_t n = below(max_n + 1);
  uint32_t segs = merkle_segments(t);
  for (size_t i = 0; i < n; i++) {
    uint32_t s = (uint32_t)below(segs), s2 = (uint32_t)(s + below(segs - s));
    uint64_t a = rnd(), b = rnd();
    switch (below(10)) {
    case 0: r[i] = (merkle_range_t){0, a % 4 ? a >> below(64) : 0}; break;
    case 1: r[i] = (merkle_range_t){UINT64_MAX - (a >> below(64)), UINT64_MAX}; break;
    case 2: r[i] = (merkle_range_t){a, a}; break;
    case 3: r[i] = (merkle_range_t){merkle_segment_first(t, s), merkle_segment_last(t, s2)}; break;
    case 4: /* inside one segment */
      a = merkle_segment_first(t, s) + (a >> (merkle_bits(t) + 1));
      r[i] = (merkle_range_t){a, a + (b >> (merkle_bits(t) + 2))};
      break;
    case 5: /* adjacent to the previous one */
      if (i && r[i - 1].hi != UINT64_MAX) {
        r[i] = (merkle_range_t){r[i - 1].hi + 1, r[i - 1].hi + 1 + (b >> below(64))};
        if (r[i].hi < r[i].lo) r[i].hi = UINT64_MAX;
        break;
      }
      /* fall through */
    case 6:
      r[i] = (merkle_range_t){merkle_segment_first(t, s) + below(3), merkle_segment_last(t, s2) - below(3)};
      break;
    case 7: r[i] = (merkle_range_t){b, a}; break; /* dropped when b > a */
    default: r[i] = a < b ? (merkle_range_t){a, b} : (merkle_range_t){b, a}; break;
    }
  }
  return n;
}

static void test_normalized_ranges_hold_exactly_the_tokens_of_the_raw_ones(void **state) {
  merkle_range_t raw[16], r[16];
  merkle_t *t = new_tree(8);
  rng_state = 0x4a46e;
  for (int round = 0; round < 2000; round++) {
    size_t n_raw = random_raw_ranges(t, raw, 16), n = n_raw;
    memcpy(r, raw, sizeof(raw));
    merkle_ranges_normalize(r, &n);
    for (size_t i = 0; i < n; i++) {
      assert_true(r[i].lo <= r[i].hi);
      if (i) assert_true(r[i].lo > r[i - 1].hi && r[i].lo - r[i - 1].hi >= 2); /* disjoint, not adjacent */
    }
    for (size_t i = 0; i < n_raw; i++) {
      if (raw[i].lo > raw[i].hi) continue;
      const uint64_t probe[] = {raw[i].lo - 1, raw[i].lo, raw[i].hi, raw[i].hi + 1,
                                raw[i].lo + (raw[i].hi - raw[i].lo) / 2};
      for (size_t k = 0; k < 5; k++)
        assert_int_equal(merkle_ranges_contain(r, n, probe[k]), in_raw(raw, n_raw, probe[k]));
    }
    for (int k = 0; k < 20; k++) {
      uint64_t token = random_token(t);
      assert_int_equal(merkle_ranges_contain(r, n, token), in_raw(raw, n_raw, token));
    }
  }
  merkle_free(t);
}

/* ---- partial segments ---- */

/* Whether segment s holds tokens both inside and outside the normalised
 * ranges, by counting the tokens inside. */
static bool partial_by_count(const merkle_t *t, const merkle_range_t *r, size_t n, uint32_t s) {
  uint64_t first = merkle_segment_first(t, s), last = merkle_segment_last(t, s), inside = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t lo = r[i].lo > first ? r[i].lo : first, hi = r[i].hi < last ? r[i].hi : last;
    if (lo <= hi) inside += hi - lo + 1;
  }
  return inside && inside != last - first + 1;
}

static void assert_partials_by_count(const merkle_t *t, const merkle_range_t *r, size_t n) {
  uint32_t out[40], segs = merkle_segments(t);
  size_t total = merkle_view_partials(t, r, n, out, 40), k = 0;
  assert_true(total <= 2 * n);
  for (uint32_t s = 0; s < segs; s++) {
    if (!partial_by_count(t, r, n, s)) continue;
    assert_true(k < total);
    assert_int_equal(out[k], s);
    k++;
  }
  assert_int_equal(k, total);
}

static void test_view_partials_are_the_segments_cut_by_a_boundary(void **state) {
  merkle_t *t = new_tree(8);
  uint64_t seg = merkle_segment_first(t, 1);
  /* whole segments are not partial, one cut twice is listed once */
  const merkle_range_t r[] = {{0, 0},
                              {seg, 4 * seg - 1},
                              {5 * seg + 10, 5 * seg + 20},
                              {5 * seg + 30, 6 * seg + 5},
                              {7 * seg, 7 * seg},
                              {UINT64_MAX, UINT64_MAX}};
  uint32_t out[12];
  assert_int_equal(merkle_view_partials(t, r, 6, out, 12), 5);
  const uint32_t want[] = {0, 5, 6, 7, 255};
  assert_memory_equal(out, want, sizeof(want));
  assert_partials_by_count(t, r, 6);
  /* the whole token space, and nothing, have none */
  const merkle_range_t all = {0, UINT64_MAX};
  assert_int_equal(merkle_view_partials(t, &all, 1, out, 12), 0);
  assert_int_equal(merkle_view_partials(t, NULL, 0, out, 12), 0);

  merkle_range_t raw[16];
  for (unsigned bits = 4; bits <= 12; bits += 4) {
    merkle_t *u = new_tree(bits);
    rng_state = 0x9a71 + bits;
    for (int round = 0; round < 1500; round++) {
      size_t n = random_raw_ranges(u, raw, 16);
      merkle_ranges_normalize(raw, &n);
      assert_partials_by_count(u, raw, n);
    }
    merkle_free(u);
  }
  merkle_free(t);
}

static void test_view_partials_count_all_but_write_only_max(void **state) {
  merkle_t *t = new_tree(8);
  merkle_range_t r[8];
  for (uint32_t i = 0; i < 8; i++) /* each inside its own segment 3i */
    r[i] = (merkle_range_t){merkle_segment_first(t, 3 * i) + 1, merkle_segment_first(t, 3 * i) + 2};
  uint32_t all[8], few[5] = {0, 0, 0, 99, 99};
  assert_int_equal(merkle_view_partials(t, r, 8, all, 8), 8);
  for (uint32_t i = 0; i < 8; i++)
    assert_int_equal(all[i], 3 * i);
  assert_int_equal(merkle_view_partials(t, r, 8, few, 3), 8);
  assert_memory_equal(few, all, 3 * sizeof(uint32_t));
  assert_int_equal(few[3], 99);
  assert_int_equal(merkle_view_partials(t, r, 8, NULL, 0), 8);
  merkle_free(t);
}

/* ---- views and diffs ---- */

/* What a view of the items through ranges should hold. */
typedef struct {
  merkle_t *tree;
  merkle_range_t r[24];
  size_t n;
  merkle_partial_t partials[48];
  merkle_view_t view;
  uint64_t *seg;   /* per segment: XOR of the items inside the ranges */
  uint64_t inside; /* XOR of every item inside the ranges */
} viewed_t;

/* Builds the tree of the items by deltas and its view through the
 * normalised ranges r (partial hashes scanned from the items). */
static void view_items(viewed_t *v, unsigned bits, const item_t *it, size_t n_items, const merkle_range_t *r,
                       size_t n) {
  v->tree = new_tree(bits);
  apply_shuffled(v->tree, it, n_items);
  memcpy(v->r, r, n * sizeof(*r));
  v->n = n;
  uint32_t segs = merkle_segments(v->tree), list[48];
  v->seg = calloc(segs, sizeof(*v->seg));
  assert_non_null(v->seg);
  v->inside = 0;
  for (size_t i = 0; i < n_items; i++)
    if (in_raw(r, n, it[i].token)) {
      v->seg[merkle_segment(v->tree, it[i].token)] ^= it[i].hash;
      v->inside ^= it[i].hash;
    }
  size_t n_partials = merkle_view_partials(v->tree, r, n, list, 48);
  assert_true(n_partials <= 48);
  for (size_t p = 0; p < n_partials; p++)
    v->partials[p] = (merkle_partial_t){list[p], v->seg[list[p]]};
  v->view = (merkle_view_t){v->tree, v->r, n, v->partials, n_partials};
}

static void unview(viewed_t *v) {
  merkle_free(v->tree);
  free(v->seg);
}

/* Every node of the view is the XOR of what its segments hold inside the
 * ranges; children agree with nodes. */
static void assert_view_by_brute_force(const viewed_t *v) {
  const merkle_t *t = v->tree;
  unsigned depth = merkle_depth(t);
  uint32_t segs = merkle_segments(t);
  uint64_t *want = malloc(segs * sizeof(*want));
  assert_non_null(want);
  memcpy(want, v->seg, segs * sizeof(*want));
  assert_int_equal(merkle_view_node(&v->view, 0, 0), v->inside);
  for (unsigned l = depth + 1; l-- > 0;) {
    uint64_t width = merkle_level_width(t, l);
    for (uint64_t i = 0; i < width; i++) {
      if (l < depth) {
        uint64_t children[MERKLE_FANOUT], x = 0;
        merkle_view_children(&v->view, l, i, children);
        for (unsigned c = 0; c < MERKLE_FANOUT; c++) {
          assert_int_equal(children[c], want[i * MERKLE_FANOUT + c]);
          x ^= want[i * MERKLE_FANOUT + c];
        }
        want[i] = x; /* level l overwrites what level l + 1 has read */
      }
      assert_int_equal(merkle_view_node(&v->view, l, i), want[i]);
    }
  }
  assert_int_equal(want[0], v->inside);
  assert_int_equal(merkle_view_node(&v->view, depth + 1, 0), 0);
  assert_int_equal(merkle_view_node(&v->view, 0, 1), 0);
  free(want);
}

/* merkle_diff of the two views is exactly the segments whose brute-force
 * values differ, ascending; the count is the same with no room. */
static void assert_diff_by_brute_force(const viewed_t *a, const viewed_t *b) {
  uint32_t segs = merkle_segments(a->tree);
  uint32_t *out = malloc(segs * sizeof(*out));
  assert_non_null(out);
  size_t n = merkle_diff(&a->view, &b->view, out, segs), k = 0;
  for (uint32_t s = 0; s < segs; s++) {
    if (a->seg[s] == b->seg[s]) continue;
    assert_true(k < n);
    assert_int_equal(out[k], s);
    k++;
  }
  assert_int_equal(k, n);
  assert_int_equal(merkle_diff(&a->view, &b->view, NULL, 0), n);
  assert_int_equal(merkle_diff(&b->view, &a->view, NULL, 0), n);
  free(out);
}

/* Random ranges, normalised. */
static size_t random_ranges(const merkle_t *t, merkle_range_t *r, size_t max_n) {
  size_t n = random_raw_ranges(t, r, max_n);
  merkle_ranges_normalize(r, &n);
  return n;
}

static void check_views(unsigned bits, uint64_t seed, int rounds) {
  enum { N = 400 };
  item_t it[N], changed[N];
  merkle_range_t r[24];
  rng_state = seed;
  merkle_t *shape = new_tree(bits);
  for (int round = 0; round < rounds; round++) {
    random_items(shape, it, N);
    size_t n = random_ranges(shape, r, 24);
    for (size_t i = 0; i < N; i++) /* put some items on the range boundaries */
      if (n && below(4) == 0) {
        const merkle_range_t *x = &r[below(n)];
        it[i].token = below(2) ? x->lo - below(2) : x->hi + below(2);
      }
    viewed_t a, b;
    view_items(&a, bits, it, N, r, n);
    assert_view_by_brute_force(&a);

    /* changes outside the ranges are invisible */
    memcpy(changed, it, sizeof(it));
    size_t outside = 0;
    for (size_t i = 0; i < N; i++)
      if (!in_raw(r, n, changed[i].token) && below(2)) {
        changed[i].hash = below(3) ? random_item_hash() : 0;
        outside++;
      }
    view_items(&b, bits, changed, N, r, n);
    assert_int_equal(merkle_diff(&a.view, &b.view, NULL, 0), 0);
    if (outside) assert_false(merkle_equal(a.tree, b.tree));
    unview(&b);

    /* changes inside show as exactly their segments */
    size_t k = 1 + below(12);
    for (size_t c = 0; c < k; c++) {
      size_t i = below(N);
      if (in_raw(r, n, changed[i].token)) changed[i].hash = below(3) ? random_item_hash() : 0;
    }
    view_items(&b, bits, changed, N, r, n);
    assert_view_by_brute_force(&b);
    assert_diff_by_brute_force(&a, &b);
    unview(&b);
    unview(&a);
  }
  merkle_free(shape);
}

static void test_views_equal_the_xor_of_the_items_inside_the_ranges(void **state) {
  check_views(8, 0x71e3, 300);
  check_views(12, 0x71e4, 60);
  check_views(4, 0x71e5, 300);
}

static void test_views_through_everything_or_nothing(void **state) {
  enum { N = 500 };
  item_t it[N];
  rng_state = 0xa11;
  merkle_t *t = new_tree(8);
  random_items(t, it, N);
  apply_shuffled(t, it, N);
  const merkle_range_t all = {0, UINT64_MAX};
  merkle_view_t whole = {t, &all, 1, NULL, 0}, none = {t, NULL, 0, NULL, 0};
  for (unsigned l = 0; l <= 2; l++)
    for (uint64_t i = 0; i < merkle_level_width(t, l); i++) {
      assert_int_equal(merkle_view_node(&whole, l, i), merkle_node(t, l, i));
      assert_int_equal(merkle_view_node(&none, l, i), 0);
    }
  uint64_t children[MERKLE_FANOUT];
  merkle_view_children(&whole, 2, 0, children); /* leaves have no children */
  for (unsigned c = 0; c < MERKLE_FANOUT; c++)
    assert_int_equal(children[c], 0);
  size_t filled = 0; /* nothing differs from nothing but the segments holding items */
  for (uint32_t s = 0; s < merkle_segments(t); s++)
    filled += merkle_node(t, 2, s) != 0;
  assert_true(filled > 0 && filled < merkle_segments(t));
  assert_int_equal(merkle_diff(&whole, &none, NULL, 0), filled);
  assert_int_equal(merkle_diff(&none, &none, NULL, 0), 0);
  merkle_free(t);
}

static void test_a_partial_segment_without_a_hash_counts_as_zero(void **state) {
  merkle_t *t = new_tree(8);
  uint64_t seg = merkle_segment_first(t, 1);
  /* items in segments 2 (whole), 4 and 6 (both cut) */
  merkle_apply(t, 2, 0x20);
  merkle_apply(t, 4, 0x40);
  merkle_apply(t, 6, 0x60);
  const merkle_range_t r[] = {{2 * seg, 4 * seg + 5}, {6 * seg + 1, 6 * seg + 9}};
  uint32_t list[4];
  assert_int_equal(merkle_view_partials(t, r, 2, list, 4), 2);
  assert_int_equal(list[0], 4);
  assert_int_equal(list[1], 6);
  const merkle_partial_t both[] = {{4, 0x4}, {6, 0x6}}, only_6[] = {{6, 0x6}}, only_4[] = {{4, 0x4}};
  merkle_view_t v = {t, r, 2, both, 2};
  assert_int_equal(merkle_view_node(&v, 0, 0), 0x20 ^ 0x4 ^ 0x6);
  v = (merkle_view_t){t, r, 2, only_6, 1};
  assert_int_equal(merkle_view_node(&v, 0, 0), 0x20 ^ 0x6);
  assert_int_equal(merkle_view_node(&v, 2, 4), 0);
  v = (merkle_view_t){t, r, 2, only_4, 1};
  assert_int_equal(merkle_view_node(&v, 0, 0), 0x20 ^ 0x4);
  assert_int_equal(merkle_view_node(&v, 2, 6), 0);
  v = (merkle_view_t){t, r, 2, NULL, 0};
  assert_int_equal(merkle_view_node(&v, 0, 0), 0x20);
  /* a hash given for a segment that is not partial is never read */
  const merkle_partial_t stray[] = {{2, 0x99}, {3, 0x99}, {4, 0x4}, {6, 0x6}, {7, 0x99}};
  v = (merkle_view_t){t, r, 2, stray, 5};
  assert_int_equal(merkle_view_node(&v, 0, 0), 0x20 ^ 0x4 ^ 0x6);
  merkle_free(t);
}

static void test_diff_finds_exactly_the_changed_segments(void **state) {
  enum { N = 1000 };
  static item_t it[N], changed[N];
  const merkle_range_t all = {0, UINT64_MAX};
  for (unsigned bits = 8; bits <= 12; bits += 4) {
    rng_state = 0xd1ff + bits;
    for (int round = 0; round < 40; round++) {
      merkle_t *shape = new_tree(bits);
      random_items(shape, it, N);
      merkle_free(shape);
      memcpy(changed, it, sizeof(it));
      size_t k = below(40);
      for (size_t c = 0; c < k; c++)
        changed[below(N)].hash = below(4) ? random_item_hash() : 0;
      viewed_t a, b;
      view_items(&a, bits, it, N, &all, 1);
      view_items(&b, bits, changed, N, &all, 1);
      assert_diff_by_brute_force(&a, &b);
      size_t total = merkle_diff(&a.view, &b.view, NULL, 0);
      assert_true(total <= k);
      if (k) assert_true(total > 0); /* item hashes never collide here */
      /* more than max: the first max, the total returned, nothing past max written */
      uint32_t full[40], some[41];
      memset(some, 0xee, sizeof(some));
      size_t max = total / 2;
      assert_int_equal(merkle_diff(&a.view, &b.view, full, 40), total);
      assert_int_equal(merkle_diff(&a.view, &b.view, some, max), total);
      assert_memory_equal(some, full, max * sizeof(uint32_t));
      assert_int_equal(some[max], 0xeeeeeeee);
      for (size_t i = 1; i < total; i++)
        assert_true(full[i - 1] < full[i]);
      assert_int_equal(merkle_diff(&a.view, &a.view, full, 40), 0);
      unview(&a);
      unview(&b);
    }
  }
  /* different shapes never compare */
  merkle_t *x = new_tree(8), *y = new_tree(12);
  merkle_apply(x, 3, 1);
  merkle_view_t vx = {x, &all, 1, NULL, 0}, vy = {y, &all, 1, NULL, 0};
  assert_int_equal(merkle_diff(&vx, &vy, NULL, 0), 0);
  merkle_free(x);
  merkle_free(y);
}

/* ---- the default size ---- */

static void test_a_tree_of_a_million_segments(void **state) {
  enum { N = 20000, R = 300 };
  static item_t it[N];
  static merkle_range_t r[R];
  rng_state = 0x20b17;
  merkle_t *t = new_tree(MERKLE_BITS_DEFAULT);
  assert_int_equal(merkle_segments(t), 1u << 20);
  assert_int_equal(merkle_memory(t), 1118481 * sizeof(uint64_t)); /* (16^6 - 1) / 15 nodes */
  random_items(t, it, N);
  apply_shuffled(t, it, N);
  merkle_t *r_tree = rebuilt(MERKLE_BITS_DEFAULT, it, N);
  assert_true(merkle_equal(t, r_tree));
  assert_nodes_are_xor_of_children(t);
  merkle_free(r_tree);

  /* a view through R ranges */
  for (size_t i = 0; i < R; i++) {
    uint64_t a = rnd(), b = a + (rnd() >> 12);
    r[i] = (merkle_range_t){a, b < a ? UINT64_MAX : b};
  }
  size_t n = R;
  merkle_ranges_normalize(r, &n);
  uint32_t *list = malloc(2 * n * sizeof(*list));
  merkle_partial_t *partials = malloc(2 * n * sizeof(*partials));
  assert_non_null(list);
  assert_non_null(partials);
  size_t n_partials = merkle_view_partials(t, r, n, list, 2 * n);
  assert_true(n_partials <= 2 * n);
  uint64_t inside = 0;
  for (size_t p = 0; p < n_partials; p++)
    partials[p] = (merkle_partial_t){list[p], 0};
  for (size_t i = 0; i < N; i++) {
    if (!in_raw(r, n, it[i].token)) continue;
    inside ^= it[i].hash;
    uint32_t s = merkle_segment(t, it[i].token);
    for (size_t p = 0; p < n_partials; p++)
      if (partials[p].segment == s) partials[p].hash ^= it[i].hash;
  }
  merkle_view_t v = {t, r, n, partials, n_partials};
  assert_int_equal(merkle_view_node(&v, 0, 0), inside);
  free(list);
  free(partials);
  merkle_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_accepts_multiples_of_four_up_to_the_maximum),
      cmocka_unit_test(test_segments_split_the_token_space_evenly),
      cmocka_unit_test(test_out_of_range_nodes_and_segments_are_ignored),
      cmocka_unit_test(test_item_hash_is_the_sha256_prefix_of_length_key_and_summary),
      cmocka_unit_test(test_delta_updates_equal_a_rebuild_in_any_order),
      cmocka_unit_test(test_every_node_is_the_xor_of_its_children),
      cmocka_unit_test(test_merge_of_disjoint_trees_is_the_tree_of_the_union),
      cmocka_unit_test(test_normalize_sorts_merges_and_drops_empty_ranges),
      cmocka_unit_test(test_contain_finds_tokens_at_the_boundaries),
      cmocka_unit_test(test_normalized_ranges_hold_exactly_the_tokens_of_the_raw_ones),
      cmocka_unit_test(test_view_partials_are_the_segments_cut_by_a_boundary),
      cmocka_unit_test(test_view_partials_count_all_but_write_only_max),
      cmocka_unit_test(test_views_equal_the_xor_of_the_items_inside_the_ranges),
      cmocka_unit_test(test_views_through_everything_or_nothing),
      cmocka_unit_test(test_a_partial_segment_without_a_hash_counts_as_zero),
      cmocka_unit_test(test_diff_finds_exactly_the_changed_segments),
      cmocka_unit_test(test_a_tree_of_a_million_segments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
