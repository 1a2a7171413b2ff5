/*
 * dvv.h - dotted version vectors: the versions of one key.
 *
 * A key's state is a set of siblings. Each sibling is one write: its dot
 * (the node that coordinated it and that node's counter for this key), the
 * causal context the writer had read (a version vector), a wall-clock
 * timestamp, a tombstone flag and the value. Pure module: no I/O, no clock;
 * the caller passes the time in.
 *
 * Invariants of a dvv_t (kept by every function here):
 *  - siblings sorted by dot (node id, then counter), dots unique;
 *  - no sibling's dot is covered by another sibling's context (it would be
 *    obsolete and is dropped);
 *  - tombstones have no value (value NULL, value_len 0).
 *
 * Semantics (DESIGN §5):
 *  - dvv_update with a context drops exactly the siblings whose dots the
 *    context covers and adds the new write as a sibling; so a write with the
 *    context of the latest read replaces, two writes with the same context
 *    become siblings, a context covering all siblings collapses them;
 *  - dvv_update without a context (ctx NULL) uses the join of everything this
 *    state holds: the write supersedes what the coordinating node holds;
 *  - dvv_sync merges two replicas' states: union of siblings minus obsolete
 *    ones; commutative, associative and idempotent.
 */
#ifndef CHORUS_DVV_H
#define CHORUS_DVV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vv.h"

typedef struct {
  char node[VV_NODE_MAX + 1]; /* dot: coordinating node */
  uint64_t counter;           /* dot: that node's counter for this key, > 0 */
  vv_t ctx;                   /* causal context the write was made with */
  uint64_t ts_ms;             /* wall clock of the coordinator, ms since epoch */
  bool tombstone;
  uint8_t *value; /* owned, NULL for tombstones and empty values */
  size_t value_len;
} dvv_sibling_t;

/* A dot alone: the node that coordinated a write and its counter. */
typedef vv_entry_t dvv_dot_t;

/* A list of dots (what a write replaced). */
typedef struct {
  dvv_dot_t *d; /* owned, NULL when n is 0 */
  size_t n;
} dvv_dots_t;

void dvv_dots_free(dvv_dots_t *l); /* frees and empties */
/* Disk form of a write's dots: varint n (0: no write), then n times (lbytes
 * node, varint counter > 0): its own dot, then those it replaced (at most
 * DVV_DOTS_MAX). The decoder fills *dot (counter 0 when n is 0) and a new
 * replaced list; CHORUS_ECORRUPT on anything else, with both left empty. */
#define DVV_DOTS_MAX 1024
void dvv_dots_encode(const dvv_dot_t *dot, const dvv_dots_t *replaced, buf_t *out);
int dvv_dots_decode(buf_reader_t *r, dvv_dot_t *dot, dvv_dots_t *replaced);
int dvv_dots_copy(dvv_dots_t *dst, const dvv_dots_t *src); /* dst freed first; on error left empty */

typedef struct {
  dvv_sibling_t *s; /* owned */
  size_t n;
  size_t cap;
} dvv_t;

void dvv_init(dvv_t *d);
void dvv_free(dvv_t *d);                    /* frees and re-initialises */
int dvv_copy(dvv_t *dst, const dvv_t *src); /* dst initialised; replaced */

/* out = join of every sibling's context and dot: what a reader of this state
 * has seen. This is the context handed to clients. out is replaced. */
int dvv_context(const dvv_t *d, vv_t *out);

/* Records a write coordinated by node. ctx NULL means "no context": the
 * write supersedes everything d holds. The new dot is node:(c+1) where c is
 * the highest counter of node anywhere in d (dots and contexts), so dots of a
 * node never repeat. *dot_counter (may be NULL) gets the new counter.
 * On error d is unchanged. */
int dvv_update(dvv_t *d, const vv_t *ctx, const char *node, const void *value, size_t value_len,
               bool tombstone, uint64_t ts_ms, uint64_t *dot_counter);
/* The same with the new counter above floor too. A node that forgot a key
 * (a record handed off to its new owners and dropped, DESIGN §9) would
 * otherwise count that key's dots from what it sees again and could reuse
 * a dot its peers hold: a new write would look old and be superseded
 * unseen (Riak's kv679). The store passes the highest of its own counters
 * it ever dropped. replaced (may be NULL; freed first) gets the dots of the
 * siblings the write made obsolete, in dot order: what a client that wrote
 * without a context superseded unseen (DESIGN §9). */
int dvv_update_above(dvv_t *d, const vv_t *ctx, const char *node, uint64_t floor, const void *value,
                     size_t value_len, bool tombstone, uint64_t ts_ms, uint64_t *dot_counter,
                     dvv_dots_t *replaced);

/* The highest counter of node in d: its dots and every context. */
uint64_t dvv_max_counter(const dvv_t *d, const char *node);

/* dst = merge(dst, src). On error dst is unchanged. */
int dvv_sync(dvv_t *dst, const dvv_t *src);

bool dvv_equal(const dvv_t *a, const dvv_t *b);
/* Whether merging b into a (dvv_sync) would leave a's versions as they
 * are: a already holds every version of b, or one that supersedes it, and
 * b supersedes none of a's. Dots decide (a dot names one value), so either
 * side may be without values. O(|a| |b|). */
bool dvv_covers(const dvv_t *a, const dvv_t *b);
/* Whether d keeps the invariants above, with valid node ids and non-zero
 * counters: what a decoder checks before accepting a state read from bytes. */
bool dvv_valid(const dvv_t *d);
size_t dvv_live_count(const dvv_t *d); /* siblings that are not tombstones */
/* Concurrent siblings exist (more than one sibling, tombstones included). */
bool dvv_has_conflict(const dvv_t *d);
/* The live sibling with the newest timestamp (ties: greatest dot), or NULL
 * when every sibling is a tombstone or d is empty. */
const dvv_sibling_t *dvv_newest_live(const dvv_t *d);

#endif
