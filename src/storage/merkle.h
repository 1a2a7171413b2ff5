/*
 * merkle.h - the anti-entropy tree (DESIGN §9): a hash tree over fixed
 * segments of the 64-bit token space, updated by deltas.
 *
 * Pure module: no I/O, no clock, no global state.
 *
 * Shape: 2^bits leaves (segments); segment s holds the tokens
 * [s << (64 - bits), ((s + 1) << (64 - bits)) - 1], so a token's segment is
 * token >> (64 - bits). Above the leaves, every node has MERKLE_FANOUT
 * children: level 0 is the root (one node), level l has 2^(l * 4) nodes and
 * level depth = bits / 4 is the leaves. Node i of level l covers the
 * segments [i << (4 * (depth - l)), ((i + 1) << (4 * (depth - l))) - 1].
 *
 * Hashes: an item (a key and its version summary) hashes to a 64-bit
 * value (merkle_item_hash, SHA-256 based, never 0). A leaf is the XOR of
 * its items' hashes, and every node above is the XOR of its children (so
 * of every item below it). A change of an item from hash h0 to h1 (0 for
 * "absent") therefore changes its leaf and every ancestor by the delta
 * h0 ^ h1, in O(depth), and no node is ever "dirty". Trees over disjoint
 * item sets merge by XOR. An empty tree is all zeroes.
 *
 * Views: two replicas compare only the token ranges they share. A view is
 * a tree seen through a set of token ranges: a segment wholly inside the
 * ranges counts with its leaf, a segment outside them counts as 0, and a
 * segment cut by a range boundary (a partial segment) counts with a hash
 * the caller computed from the items of that segment that lie inside the
 * ranges (merkle_view_partials lists them; the caller scans them). A view's
 * node is the XOR of what its segments count with; nodes wholly inside
 * the ranges are read from the tree, so computing one costs O(depth *
 * fanout) per range boundary below it, not O(segments).
 *
 * Invariants of a merkle_t: every node equals the XOR of its children;
 * a tree built from items equals, node for node, one updated from empty by
 * merkle_apply with the same items in any order.
 */
#ifndef CHORUS_MERKLE_H
#define CHORUS_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_FANOUT_BITS 4
#define MERKLE_FANOUT 16
#define MERKLE_BITS_MIN 4
#define MERKLE_BITS_MAX 24
#define MERKLE_BITS_DEFAULT 20 /* 1,048,576 segments: about one key per segment at a million keys */

typedef struct merkle merkle_t;

/* An inclusive token interval [lo, hi], lo <= hi. */
typedef struct {
  uint64_t lo, hi;
} merkle_range_t;

/* The hash of a partial segment's items inside the ranges. */
typedef struct {
  uint32_t segment;
  uint64_t hash;
} merkle_partial_t;

/* A tree seen through ranges (normalised: sorted by lo, disjoint, not
 * adjacent - merkle_ranges_normalize) with the hashes of the partial
 * segments, sorted by segment, one per partial segment (a missing one
 * counts as 0). Borrowed pointers; nothing is allocated. */
typedef struct {
  const merkle_t *tree;
  const merkle_range_t *ranges;
  size_t n_ranges;
  const merkle_partial_t *partials;
  size_t n_partials;
} merkle_view_t;

/* A tree of 2^bits leaves, all zero. bits is a multiple of
 * MERKLE_FANOUT_BITS within [MERKLE_BITS_MIN, MERKLE_BITS_MAX]; else
 * CHORUS_EINVAL. CHORUS_ENOMEM. */
int merkle_create(unsigned bits, merkle_t **out);
void merkle_free(merkle_t *t); /* NULL is a no-op */

unsigned merkle_bits(const merkle_t *t);
unsigned merkle_depth(const merkle_t *t);                       /* bits / 4: the leaves' level */
uint32_t merkle_segments(const merkle_t *t);                    /* 2^bits */
uint64_t merkle_level_width(const merkle_t *t, unsigned level); /* nodes at level: 16^level */
/* Bytes the tree holds (every level's hashes). */
size_t merkle_memory(const merkle_t *t);

/* The segment of a token. */
uint32_t merkle_segment(const merkle_t *t, uint64_t token);
/* The first and last token of segment s (s < merkle_segments). */
uint64_t merkle_segment_first(const merkle_t *t, uint32_t s);
uint64_t merkle_segment_last(const merkle_t *t, uint32_t s);

/* The hash of an item: the first 8 bytes, big-endian, of SHA-256 over
 *   u32be key_len || key || summary
 * with 1 substituted for 0 (0 means "absent"). key may be NULL when
 * key_len is 0, summary when summary_len is 0. */
uint64_t merkle_item_hash(const void *key, size_t key_len, const void *summary, size_t summary_len);

/* Segment s's leaf and every ancestor ^= delta (h_old ^ h_new). s out of
 * range: no-op. */
void merkle_apply(merkle_t *t, uint32_t s, uint64_t delta);
/* Sets leaf s without touching the levels above (loading a stored tree);
 * call merkle_rehash once every leaf is set. */
void merkle_load_leaf(merkle_t *t, uint32_t s, uint64_t hash);
/* Recomputes every level above the leaves from the leaves: O(segments). */
void merkle_rehash(merkle_t *t);
/* Every node to 0. */
void merkle_clear(merkle_t *t);

/* Node i of level (0 when out of range). Level depth is the leaves. */
uint64_t merkle_node(const merkle_t *t, unsigned level, uint64_t i);
uint64_t merkle_root(const merkle_t *t);

/* dst ^= src node for node: the tree of the union of two disjoint item
 * sets. CHORUS_EINVAL when the shapes differ. */
int merkle_merge(merkle_t *dst, const merkle_t *src);
bool merkle_equal(const merkle_t *a, const merkle_t *b);

/* Sorts r[0..*n) by lo and merges overlapping and adjacent intervals in
 * place; *n becomes the count left. Intervals with lo > hi are dropped. */
void merkle_ranges_normalize(merkle_range_t *r, size_t *n);
/* Whether token lies in the normalised ranges (binary search). */
bool merkle_ranges_contain(const merkle_range_t *r, size_t n, uint64_t token);

/* The partial segments of normalised ranges (segments that hold tokens both
 * inside and outside them), ascending and unique, into out[0..max); returns
 * how many there are in all (which may exceed max: call again with more
 * room). At most 2 per range. */
size_t merkle_view_partials(const merkle_t *t, const merkle_range_t *r, size_t n, uint32_t *out, size_t max);

/* The view's node i of level (see the top of this file). */
uint64_t merkle_view_node(const merkle_view_t *v, unsigned level, uint64_t i);
/* The MERKLE_FANOUT children of the view's node i of level (level < depth). */
void merkle_view_children(const merkle_view_t *v, unsigned level, uint64_t i, uint64_t out[MERKLE_FANOUT]);

/* The segments where views a and b differ, ascending, into out[0..max),
 * descending only into nodes whose hashes differ; returns how many differ
 * in all (may exceed max; only the first max are written). The two views'
 * trees must have the same shape (else 0). */
size_t merkle_diff(const merkle_view_t *a, const merkle_view_t *b, uint32_t *out, size_t max);

#endif
