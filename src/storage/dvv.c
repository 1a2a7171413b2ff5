/*
 * dvv.c - dotted version vectors (see dvv.h).
 *
 * Siblings live in an array sorted by dot. Both mutations (update and sync)
 * first decide which siblings survive and allocate everything the new state
 * needs, and only then free the dropped siblings and move the kept ones into
 * a fresh array: a failed allocation never leaves a half-merged state, and
 * kept values are moved, never copied.
 */
#include "dvv.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

static bool node_ok(const char *node, size_t max) {
  return node && vv_node_valid(node, strnlen(node, max));
}

static int dot_cmp(const dvv_sibling_t *a, const dvv_sibling_t *b) {
  int c = strcmp(a->node, b->node);
  if (c) return c;
  return a->counter < b->counter ? -1 : a->counter > b->counter;
}

/* s is obsolete once some other write's context covers its dot. */
static bool obsoletes(const dvv_sibling_t *by, const dvv_sibling_t *s) {
  return vv_covers(&by->ctx, s->node, s->counter);
}

static int u64_cmp(uint64_t a, uint64_t b) {
  return a < b ? -1 : a > b;
}

/* A total order on vectors, used only to break ties deterministically. */
static int ctx_cmp(const vv_t *a, const vv_t *b) {
  if (a->n != b->n) return u64_cmp(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    int c = strcmp(a->e[i].node, b->e[i].node);
    if (c) return c;
    c = u64_cmp(a->e[i].counter, b->e[i].counter);
    if (c) return c;
  }
  return 0;
}

/* A total order on everything but the dot. Two different writes can share a
 * dot only if a node lost its state and reused counters; ordering them lets
 * every replica keep the same one, so that sync stays commutative. */
static int content_cmp(const dvv_sibling_t *a, const dvv_sibling_t *b) {
  int c = u64_cmp(a->ts_ms, b->ts_ms);
  if (!c) c = (int)a->tombstone - (int)b->tombstone;
  if (!c) c = u64_cmp(a->value_len, b->value_len);
  if (!c && a->value_len) c = memcmp(a->value, b->value, a->value_len);
  if (!c) c = ctx_cmp(&a->ctx, &b->ctx);
  return c;
}

static void sibling_free(dvv_sibling_t *s) {
  vv_free(&s->ctx);
  free(s->value);
  s->value = NULL;
}

/* Fills an uninitialised sibling; on error nothing is left allocated. */
static int sibling_set(dvv_sibling_t *s, const char *node, uint64_t counter, const vv_t *ctx, uint64_t ts_ms,
                       bool tombstone, const void *value, size_t value_len) {
  memset(s, 0, sizeof(*s));
  strcpy(s->node, node);
  s->counter = counter;
  s->ts_ms = ts_ms;
  s->tombstone = tombstone;
  vv_init(&s->ctx);
  if (value_len) {
    s->value = malloc(value_len);
    if (!s->value) return CHORUS_ENOMEM;
    memcpy(s->value, value, value_len);
    s->value_len = value_len;
  }
  if (ctx && vv_copy(&s->ctx, ctx)) {
    sibling_free(s);
    return CHORUS_ENOMEM;
  }
  return 0;
}

static int sibling_copy(dvv_sibling_t *dst, const dvv_sibling_t *src) {
  return sibling_set(dst, src->node, src->counter, &src->ctx, src->ts_ms, src->tombstone, src->value,
                     src->value_len);
}

/* Frees what the n siblings own, not the array holding them. */
static void siblings_clear(dvv_sibling_t *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    sibling_free(&s[i]);
}

/* Replaces d's siblings by the n in s (which d now owns). */
static void dvv_adopt(dvv_t *d, dvv_sibling_t *s, size_t n) {
  free(d->s);
  d->s = s;
  d->n = n;
  d->cap = n;
}

void dvv_init(dvv_t *d) {
  d->s = NULL;
  d->n = 0;
  d->cap = 0;
}

void dvv_free(dvv_t *d) {
  siblings_clear(d->s, d->n);
  free(d->s);
  dvv_init(d);
}

int dvv_copy(dvv_t *dst, const dvv_t *src) {
  if (dst == src) return 0;
  dvv_sibling_t *s = src->n ? calloc(src->n, sizeof(*s)) : NULL;
  if (src->n && !s) return CHORUS_ENOMEM;
  for (size_t i = 0; i < src->n; i++) {
    if (sibling_copy(&s[i], &src->s[i])) {
      siblings_clear(s, i);
      free(s);
      return CHORUS_ENOMEM;
    }
  }
  siblings_clear(dst->s, dst->n);
  dvv_adopt(dst, s, src->n);
  return 0;
}

int dvv_context(const dvv_t *d, vv_t *out) {
  vv_t v;
  vv_init(&v);
  for (size_t i = 0; i < d->n; i++) {
    int rc = vv_join(&v, &d->s[i].ctx);
    if (!rc) rc = vv_max_with(&v, d->s[i].node, d->s[i].counter);
    if (rc) {
      vv_free(&v);
      return rc;
    }
  }
  vv_free(out);
  *out = v;
  return 0;
}

/* The highest counter of node that d or ctx knows of. Counting contexts as
 * well as dots keeps a new dot unseen even when the sibling that carried the
 * previous one was dropped, and keeps it outside its own context. */
static uint64_t max_counter(const dvv_t *d, const vv_t *ctx, const char *node) {
  uint64_t c = ctx ? vv_get(ctx, node) : 0;
  for (size_t i = 0; i < d->n; i++) {
    const dvv_sibling_t *s = &d->s[i];
    if (strcmp(s->node, node) == 0 && s->counter > c) c = s->counter;
    uint64_t k = vv_get(&s->ctx, node);
    if (k > c) c = k;
  }
  return c;
}

uint64_t dvv_max_counter(const dvv_t *d, const char *node) {
  return max_counter(d, NULL, node);
}

int dvv_update(dvv_t *d, const vv_t *ctx, const char *node, const void *value, size_t value_len,
               bool tombstone, uint64_t ts_ms, uint64_t *dot_counter) {
  return dvv_update_above(d, ctx, node, 0, value, value_len, tombstone, ts_ms, dot_counter, NULL);
}

void dvv_dots_free(dvv_dots_t *l) {
  free(l->d);
  l->d = NULL;
  l->n = 0;
}

void dvv_dots_encode(const dvv_dot_t *dot, const dvv_dots_t *replaced, buf_t *out) {
  size_t n = dot->counter ? 1 + replaced->n : 0;
  buf_put_varint(out, n);
  for (size_t i = 0; i < n; i++) {
    const dvv_dot_t *d = i ? &replaced->d[i - 1] : dot;
    vv_encode_node(d->node, out);
    buf_put_varint(out, d->counter);
  }
}

static int read_dot(buf_reader_t *r, dvv_dot_t *d) {
  if (vv_decode_node(r, d->node)) return CHORUS_ECORRUPT;
  d->counter = buf_read_varint(r);
  return r->err || !d->counter ? CHORUS_ECORRUPT : 0;
}

int dvv_dots_decode(buf_reader_t *r, dvv_dot_t *dot, dvv_dots_t *replaced) {
  memset(dot, 0, sizeof *dot);
  dvv_dots_free(replaced);
  uint64_t n = buf_read_varint(r);
  if (r->err || n > DVV_DOTS_MAX + 1) return CHORUS_ECORRUPT;
  if (!n) return 0;
  int rc = read_dot(r, dot);
  if (!rc && n > 1) {
    replaced->d = malloc((n - 1) * sizeof *replaced->d);
    rc = replaced->d ? 0 : CHORUS_ENOMEM;
  }
  for (size_t i = 0; !rc && i + 1 < n; i++) {
    rc = read_dot(r, &replaced->d[i]);
    replaced->n = i + 1;
  }
  if (rc) {
    memset(dot, 0, sizeof *dot);
    dvv_dots_free(replaced);
  }
  return rc;
}

int dvv_dots_copy(dvv_dots_t *dst, const dvv_dots_t *src) {
  dvv_dots_free(dst);
  if (!src->n) return 0;
  dst->d = malloc(src->n * sizeof *dst->d);
  if (!dst->d) return CHORUS_ENOMEM;
  memcpy(dst->d, src->d, src->n * sizeof *dst->d);
  dst->n = src->n;
  return 0;
}

int dvv_update_above(dvv_t *d, const vv_t *ctx, const char *node, uint64_t floor, const void *value,
                     size_t value_len, bool tombstone, uint64_t ts_ms, uint64_t *dot_counter,
                     dvv_dots_t *replaced) {
  if (replaced) dvv_dots_free(replaced);
  if (!node_ok(node, VV_NODE_MAX + 1) || (value_len && !value) || (tombstone && value_len))
    return CHORUS_EINVAL;
  uint64_t c = max_counter(d, ctx, node);
  if (floor > c) c = floor;
  if (c == UINT64_MAX) return CHORUS_ETOOBIG;
  dvv_sibling_t w;
  int rc = sibling_set(&w, node, c + 1, ctx, ts_ms, tombstone, value, value_len);
  if (!rc && !ctx) rc = dvv_context(d, &w.ctx);
  if (rc) {
    sibling_free(&w);
    return rc;
  }
  size_t kept = 0;
  for (size_t i = 0; i < d->n; i++)
    kept += !obsoletes(&w, &d->s[i]);
  dvv_sibling_t *s = malloc((kept + 1) * sizeof(*s));
  dvv_dot_t *gone = replaced && kept < d->n ? malloc((d->n - kept) * sizeof *gone) : NULL;
  if (!s || (replaced && kept < d->n && !gone)) {
    free(s);
    sibling_free(&w);
    return CHORUS_ENOMEM;
  }
  size_t n = 0, n_gone = 0;
  bool placed = false;
  for (size_t i = 0; i < d->n; i++) {
    if (obsoletes(&w, &d->s[i])) {
      if (gone) {
        memcpy(gone[n_gone].node, d->s[i].node, sizeof gone[n_gone].node);
        gone[n_gone++].counter = d->s[i].counter;
      }
      sibling_free(&d->s[i]);
      continue;
    }
    if (!placed && dot_cmp(&w, &d->s[i]) < 0) {
      s[n++] = w;
      placed = true;
    }
    s[n++] = d->s[i];
  }
  if (!placed) s[n++] = w;
  dvv_adopt(d, s, n);
  if (dot_counter) *dot_counter = c + 1;
  if (replaced) *replaced = (dvv_dots_t){gone, n_gone};
  return 0;
}

/* One sibling of the union being merged. */
typedef struct {
  const dvv_sibling_t *s;
  size_t dst_index; /* SIZE_MAX when it comes from src */
  bool keep;        /* survives the merge */
  bool shadowed;    /* dst's copy of a dot whose src copy won: takes no part */
} candidate_t;

/* Union of both sorted sibling lists by dot into c (every dst sibling appears,
 * so the caller can free the ones not kept); returns the count. */
static size_t merge_candidates(const dvv_t *dst, const dvv_t *src, candidate_t *c) {
  size_t i = 0, j = 0, n = 0;
  while (i < dst->n || j < src->n) {
    int cmp = i == dst->n ? 1 : j == src->n ? -1 : dot_cmp(&dst->s[i], &src->s[j]);
    if (cmp == 0 && content_cmp(&dst->s[i], &src->s[j]) <= 0) {
      j++; /* one write held by both (or the lesser of two claiming the dot): keep dst's */
      cmp = -1;
    } else if (cmp == 0) {
      c[n++] = (candidate_t){&dst->s[i], i, false, true};
      i++;
      cmp = 1;
    }
    if (cmp < 0) {
      c[n++] = (candidate_t){&dst->s[i], i, true, false};
      i++;
    } else {
      c[n++] = (candidate_t){&src->s[j], SIZE_MAX, true, false};
      j++;
    }
  }
  return n;
}

/* Marks obsolete candidates; returns how many survive. */
static size_t drop_obsolete(candidate_t *c, size_t n) {
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < n && c[i].keep; j++)
      if (j != i && !c[j].shadowed && obsoletes(c[j].s, c[i].s)) c[i].keep = false;
    kept += c[i].keep;
  }
  return kept;
}

/* Copies src's survivors into their final slots of s; on error frees the
 * copies already made. */
static int copy_src_survivors(const candidate_t *c, size_t n, dvv_sibling_t *s) {
  size_t k = 0;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    if (!c[i].keep) continue;
    if (c[i].dst_index == SIZE_MAX) rc = sibling_copy(&s[k], c[i].s);
    if (!rc) k++;
  }
  for (size_t i = 0, m = 0; rc && m < k; i++) {
    if (!c[i].keep) continue;
    if (c[i].dst_index == SIZE_MAX) sibling_free(&s[m]);
    m++;
  }
  return rc;
}

int dvv_sync(dvv_t *dst, const dvv_t *src) {
  if (dst == src || src->n == 0) return 0;
  candidate_t *c = malloc((dst->n + src->n) * sizeof(*c));
  if (!c) return CHORUS_ENOMEM;
  size_t n = merge_candidates(dst, src, c);
  size_t kept = drop_obsolete(c, n);
  dvv_sibling_t *s = malloc((kept ? kept : 1) * sizeof(*s));
  if (!s || copy_src_survivors(c, n, s)) {
    free(s);
    free(c);
    return CHORUS_ENOMEM;
  }
  /* Nothing can fail from here on: move dst's survivors, free the rest. */
  for (size_t i = 0, k = 0; i < n; i++) {
    size_t d = c[i].dst_index;
    if (c[i].keep && d != SIZE_MAX) s[k] = dst->s[d];
    if (!c[i].keep && d != SIZE_MAX) sibling_free(&dst->s[d]);
    k += c[i].keep;
  }
  free(c);
  dvv_adopt(dst, s, kept);
  return 0;
}

/* a covers b when a merge would keep a as it is: each of b's writes is in a
 * (same dot) or made obsolete by one of a's, and none of b's makes one of
 * a's obsolete. Dots alone decide (a dot names one write), so values play no
 * part and either side may be without them. */
bool dvv_covers(const dvv_t *a, const dvv_t *b) {
  for (size_t j = 0; j < b->n; j++) {
    bool held = false;
    for (size_t i = 0; i < a->n && !held; i++)
      held = dot_cmp(&a->s[i], &b->s[j]) == 0 || obsoletes(&a->s[i], &b->s[j]);
    if (!held) return false;
    for (size_t i = 0; i < a->n; i++)
      if (dot_cmp(&a->s[i], &b->s[j]) != 0 && obsoletes(&b->s[j], &a->s[i])) return false;
  }
  return true;
}

bool dvv_equal(const dvv_t *a, const dvv_t *b) {
  if (a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (dot_cmp(&a->s[i], &b->s[i]) != 0 || content_cmp(&a->s[i], &b->s[i]) != 0) return false;
  return true;
}

bool dvv_valid(const dvv_t *d) {
  for (size_t i = 0; i < d->n; i++) {
    const dvv_sibling_t *s = &d->s[i];
    if (!node_ok(s->node, sizeof(s->node)) || s->counter == 0) return false;
    if ((s->tombstone && s->value_len) || (s->value_len && !s->value)) return false;
    if (i > 0 && dot_cmp(&d->s[i - 1], s) >= 0) return false;
    for (size_t j = 0; j < d->n; j++)
      if (j != i && obsoletes(&d->s[j], s)) return false;
  }
  return true;
}

size_t dvv_live_count(const dvv_t *d) {
  size_t n = 0;
  for (size_t i = 0; i < d->n; i++)
    n += !d->s[i].tombstone;
  return n;
}

bool dvv_has_conflict(const dvv_t *d) {
  return d->n > 1;
}

const dvv_sibling_t *dvv_newest_live(const dvv_t *d) {
  const dvv_sibling_t *best = NULL;
  /* Siblings are sorted by dot, so a later one with an equal ts has the greater dot. */
  for (size_t i = 0; i < d->n; i++)
    if (!d->s[i].tombstone && (!best || d->s[i].ts_ms >= best->ts_ms)) best = &d->s[i];
  return best;
}
