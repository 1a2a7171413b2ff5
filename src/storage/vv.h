/*
 * vv.h - version vectors: a map node id -> counter, the building block of
 * dotted version vectors (causal contexts) and of the per-node Fidge/Mattern
 * event clock.
 *
 * Invariants of a vv_t: entries sorted by node id (strcmp order), node ids
 * unique and valid (vv_node_valid), every counter > 0 (a missing entry means
 * 0). Two equal vectors therefore have byte-identical encodings.
 */
#ifndef CHORUS_VV_H
#define CHORUS_VV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define VV_NODE_MAX 64      /* longest node id, bytes */
#define VV_MAX_ENTRIES 4096 /* decoders reject vectors with more entries */

typedef struct {
  char node[VV_NODE_MAX + 1]; /* NUL-terminated */
  uint64_t counter;           /* > 0 */
} vv_entry_t;

typedef struct {
  vv_entry_t *e; /* owned */
  size_t n;
  size_t cap;
} vv_t;

typedef enum { VV_EQUAL, VV_BEFORE, VV_AFTER, VV_CONCURRENT } vv_order_t;

/* Node ids: 1..VV_NODE_MAX bytes of [A-Za-z0-9._:-]. */
bool vv_node_valid(const char *s, size_t len);

void vv_init(vv_t *v);
void vv_free(vv_t *v);                            /* frees and re-initialises */
void vv_clear(vv_t *v);                           /* n = 0, keeps the allocation */
int vv_copy(vv_t *dst, const vv_t *src);          /* dst must be initialised; replaced */
uint64_t vv_get(const vv_t *v, const char *node); /* 0 when absent */
/* Sets node's counter (inserting in order). counter 0 removes the entry.
 * CHORUS_EINVAL for an invalid node id. Here and in vv_max_with, vv_tick and
 * vv_join, CHORUS_ETOOBIG when the result would exceed VV_MAX_ENTRIES entries
 * (it could not be decoded) or a counter would overflow; v is then unchanged. */
int vv_set(vv_t *v, const char *node, uint64_t counter);
/* Raises node's counter to at least counter. */
int vv_max_with(vv_t *v, const char *node, uint64_t counter);
/* node's counter += 1; *out (may be NULL) gets the new value. */
int vv_tick(vv_t *v, const char *node, uint64_t *out);
/* dst = pointwise max(dst, src). */
int vv_join(vv_t *dst, const vv_t *src);
/* a >= b pointwise. */
bool vv_descends(const vv_t *a, const vv_t *b);
vv_order_t vv_compare(const vv_t *a, const vv_t *b);
bool vv_equal(const vv_t *a, const vv_t *b);
/* The dot (node, counter) is part of the history v describes: v[node] >= counter. */
bool vv_covers(const vv_t *v, const char *node, uint64_t counter);

/* Wire/disk form: varint n, then n times (lbytes node, varint counter). */
void vv_encode(const vv_t *v, buf_t *out);
/* Reads one vector; rejects (CHORUS_ECORRUPT) more than VV_MAX_ENTRIES
 * entries, invalid or unsorted/duplicate node ids, zero counters. On error
 * v is left empty. v must be initialised. */
int vv_decode(buf_reader_t *r, vv_t *v);
/* One node id in the same form (lbytes), for the codecs that embed node ids.
 * The decoder copies it NUL-terminated into out; CHORUS_ECORRUPT unless it is
 * a valid id (so an id with a NUL inside cannot pass for a shorter one). */
void vv_encode_node(const char *node, buf_t *out);
int vv_decode_node(buf_reader_t *r, char out[VV_NODE_MAX + 1]);

#endif
