/*
 * vv.c - version vectors (see vv.h).
 *
 * A sorted array of (node, counter): lookups are binary searches, and the
 * comparisons and the join are single merge walks over two vectors. Sorted
 * unique entries with non-zero counters make every vector's encoding unique,
 * which the decoder enforces in turn. Every mutation either completes or
 * leaves the vector as it was.
 */
#include "vv.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/node_id.h"

/* Smallest encoded entry: a 1-byte length, a 1-byte node id, a 1-byte counter. */
#define VV_MIN_ENTRY_BYTES 3

bool vv_node_valid(const char *s, size_t len) {
  return node_id_valid(s, len);
}

/* A NUL-terminated node id that is valid; the scan stops past VV_NODE_MAX. */
static bool node_ok(const char *node) {
  if (!node) return false;
  size_t len = 0;
  while (len <= VV_NODE_MAX && node[len])
    len++;
  return vv_node_valid(node, len);
}

void vv_init(vv_t *v) {
  v->e = NULL;
  v->n = 0;
  v->cap = 0;
}

void vv_free(vv_t *v) {
  free(v->e);
  vv_init(v);
}

void vv_clear(vv_t *v) {
  v->n = 0;
}

static int vv_grow(vv_t *v, size_t need) {
  if (need <= v->cap) return 0;
  size_t cap = v->cap ? v->cap * 2 : 4;
  if (cap < need) cap = need;
  vv_entry_t *e = realloc(v->e, cap * sizeof(*e));
  if (!e) return CHORUS_ENOMEM;
  v->e = e;
  v->cap = cap;
  return 0;
}

int vv_copy(vv_t *dst, const vv_t *src) {
  if (dst == src) return 0;
  if (vv_grow(dst, src->n)) return CHORUS_ENOMEM;
  if (src->n) memcpy(dst->e, src->e, src->n * sizeof(*src->e));
  dst->n = src->n;
  return 0;
}

/* Index of node in v, or the index where it would be inserted. */
static size_t vv_find(const vv_t *v, const char *node, bool *found) {
  size_t lo = 0, hi = v->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(v->e[mid].node, node);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

uint64_t vv_get(const vv_t *v, const char *node) {
  bool found;
  if (!node) return 0;
  size_t i = vv_find(v, node, &found);
  return found ? v->e[i].counter : 0;
}

int vv_set(vv_t *v, const char *node, uint64_t counter) {
  bool found;
  if (!node_ok(node)) return CHORUS_EINVAL;
  size_t i = vv_find(v, node, &found);
  if (found && counter) {
    v->e[i].counter = counter;
  } else if (found) {
    memmove(&v->e[i], &v->e[i + 1], (v->n - i - 1) * sizeof(*v->e));
    v->n--;
  } else if (counter) {
    if (v->n >= VV_MAX_ENTRIES) return CHORUS_ETOOBIG;
    if (vv_grow(v, v->n + 1)) return CHORUS_ENOMEM;
    memmove(&v->e[i + 1], &v->e[i], (v->n - i) * sizeof(*v->e));
    strcpy(v->e[i].node, node);
    v->e[i].counter = counter;
    v->n++;
  }
  return 0;
}

int vv_max_with(vv_t *v, const char *node, uint64_t counter) {
  if (!node_ok(node)) return CHORUS_EINVAL;
  return counter > vv_get(v, node) ? vv_set(v, node, counter) : 0;
}

int vv_tick(vv_t *v, const char *node, uint64_t *out) {
  if (!node_ok(node)) return CHORUS_EINVAL;
  uint64_t c = vv_get(v, node);
  if (c == UINT64_MAX) return CHORUS_ETOOBIG;
  int rc = vv_set(v, node, c + 1);
  if (rc == 0 && out) *out = c + 1;
  return rc;
}

int vv_join(vv_t *dst, const vv_t *src) {
  if (vv_descends(dst, src)) return 0;
  vv_t out;
  vv_init(&out);
  if (vv_grow(&out, dst->n + src->n)) return CHORUS_ENOMEM;
  size_t i = 0, j = 0;
  while (i < dst->n || j < src->n) {
    int c = i == dst->n ? 1 : j == src->n ? -1 : strcmp(dst->e[i].node, src->e[j].node);
    vv_entry_t e = c <= 0 ? dst->e[i] : src->e[j];
    if (c == 0 && src->e[j].counter > e.counter) e.counter = src->e[j].counter;
    out.e[out.n++] = e;
    i += c <= 0;
    j += c >= 0;
  }
  if (out.n > VV_MAX_ENTRIES) {
    vv_free(&out);
    return CHORUS_ETOOBIG;
  }
  vv_free(dst);
  *dst = out;
  return 0;
}

/* One merge walk: whether a has some counter above b's and b some above a's. */
static void vv_walk(const vv_t *a, const vv_t *b, bool *a_ahead, bool *b_ahead) {
  size_t i = 0, j = 0;
  *a_ahead = *b_ahead = false;
  while (i < a->n || j < b->n) {
    int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->e[i].node, b->e[j].node);
    uint64_t ca = c <= 0 ? a->e[i].counter : 0;
    uint64_t cb = c >= 0 ? b->e[j].counter : 0;
    if (ca > cb) *a_ahead = true;
    if (cb > ca) *b_ahead = true;
    i += c <= 0;
    j += c >= 0;
  }
}

bool vv_descends(const vv_t *a, const vv_t *b) {
  bool a_ahead, b_ahead;
  vv_walk(a, b, &a_ahead, &b_ahead);
  return !b_ahead;
}

vv_order_t vv_compare(const vv_t *a, const vv_t *b) {
  bool a_ahead, b_ahead;
  vv_walk(a, b, &a_ahead, &b_ahead);
  if (a_ahead && b_ahead) return VV_CONCURRENT;
  if (a_ahead) return VV_AFTER;
  if (b_ahead) return VV_BEFORE;
  return VV_EQUAL;
}

bool vv_equal(const vv_t *a, const vv_t *b) {
  if (a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (a->e[i].counter != b->e[i].counter || strcmp(a->e[i].node, b->e[i].node) != 0) return false;
  return true;
}

bool vv_covers(const vv_t *v, const char *node, uint64_t counter) {
  return vv_get(v, node) >= counter;
}

void vv_encode_node(const char *node, buf_t *out) {
  buf_put_lbytes(out, node, strlen(node));
}

int vv_decode_node(buf_reader_t *r, char out[VV_NODE_MAX + 1]) {
  size_t len;
  const uint8_t *node = buf_read_lbytes(r, VV_NODE_MAX, &len);
  if (!node || !vv_node_valid((const char *)node, len)) return CHORUS_ECORRUPT;
  memcpy(out, node, len);
  out[len] = '\0';
  return 0;
}

void vv_encode(const vv_t *v, buf_t *out) {
  buf_put_varint(out, v->n);
  for (size_t i = 0; i < v->n; i++) {
    vv_encode_node(v->e[i].node, out);
    buf_put_varint(out, v->e[i].counter);
  }
}

/* Reads entry i of a vector being decoded, checking it against entry i-1. */
static int vv_decode_entry(buf_reader_t *r, vv_t *v) {
  vv_entry_t *e = &v->e[v->n];
  if (vv_decode_node(r, e->node)) return CHORUS_ECORRUPT;
  e->counter = buf_read_varint(r);
  if (r->err || e->counter == 0) return CHORUS_ECORRUPT;
  if (v->n > 0 && strcmp(v->e[v->n - 1].node, e->node) >= 0) return CHORUS_ECORRUPT;
  v->n++;
  return 0;
}

int vv_decode(buf_reader_t *r, vv_t *v) {
  vv_clear(v);
  uint64_t n = buf_read_varint(r);
  if (r->err || n > VV_MAX_ENTRIES || n > r->left / VV_MIN_ENTRY_BYTES) return CHORUS_ECORRUPT;
  if (vv_grow(v, (size_t)n)) return CHORUS_ENOMEM;
  for (uint64_t i = 0; i < n; i++) {
    int rc = vv_decode_entry(r, v);
    if (rc) {
      vv_clear(v);
      return rc;
    }
  }
  return 0;
}
