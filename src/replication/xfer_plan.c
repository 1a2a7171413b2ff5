/*
 * xfer_plan.c - ranges gained in an ownership change (xfer_plan.h).
 *
 * The token space is cut at every vnode token of both rings; inside one
 * piece neither ring changes owner, so one preference lookup per ring (at
 * the piece's last token, which wraps like any token past the last vnode)
 * decides the whole piece. Cost: O((Vf + Vt) log(Vf + Vt)) for the sort and
 * one lookup per piece in each ring.
 */
#include "xfer_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The ids of the first n members clockwise from token on r. */
static size_t pref_ids(const ring_t *r, uint64_t token, uint32_t n, const char **ids) {
  uint32_t idx[PLAN_MAX_REPLICAS];
  size_t got = ring_preference(r, token, idx, n);
  for (size_t i = 0; i < got; i++)
    ids[i] = ring_member_id(r, idx[i]);
  return got;
}

static bool in(const char *const *ids, size_t n, const char *id) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(ids[i], id) == 0) return true;
  return false;
}

void xfer_gains_free(xfer_gain_t *g, size_t count) {
  for (size_t i = 0; g && i < count; i++)
    free(g[i].ranges);
  free(g);
}

typedef struct {
  xfer_gain_t *g;
  size_t n, cap;
  size_t *cap_ranges; /* per gain */
} gains_t;

static bool same_sources(const xfer_gain_t *g, const char *const *src, size_t n) {
  if (g->n_sources != n) return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(g->sources[i], src[i]) != 0) return false;
  return true;
}

static int add_range(gains_t *gs, const char *const *src, size_t n_src, uint64_t lo, uint64_t hi) {
  size_t k = 0;
  while (k < gs->n && !same_sources(&gs->g[k], src, n_src))
    k++;
  if (k == gs->n) {
    if (gs->n == gs->cap) {
      size_t cap = gs->cap ? gs->cap * 2 : 8;
      xfer_gain_t *g = realloc(gs->g, cap * sizeof *g);
      if (!g) return CHORUS_ENOMEM;
      gs->g = g;
      size_t *c = realloc(gs->cap_ranges, cap * sizeof *c);
      if (!c) return CHORUS_ENOMEM;
      gs->cap_ranges = c;
      gs->cap = cap;
    }
    memset(&gs->g[k], 0, sizeof gs->g[k]);
    gs->cap_ranges[k] = 0;
    for (size_t i = 0; i < n_src; i++)
      snprintf(gs->g[k].sources[i], sizeof gs->g[k].sources[i], "%s", src[i]);
    gs->g[k].n_sources = n_src;
    gs->n++;
  }
  xfer_gain_t *g = &gs->g[k];
  if (g->nr == gs->cap_ranges[k]) {
    size_t cap = g->nr ? g->nr * 2 : 16;
    merkle_range_t *r = realloc(g->ranges, cap * sizeof *r);
    if (!r) return CHORUS_ENOMEM;
    g->ranges = r;
    gs->cap_ranges[k] = cap;
  }
  g->ranges[g->nr++] = (merkle_range_t){lo, hi};
  return 0;
}

/* The sources of a piece self gains (see xfer_plan.h), skip applied. */
static size_t sources(const char *const *from, size_t nf, const char *const *to, size_t nt, const char *self,
                      xfer_skip_fn skip, void *arg, const char **out) {
  const char *losers[PLAN_MAX_REPLICAS], *keepers[PLAN_MAX_REPLICAS];
  size_t nl = 0, nk = 0, mine = 0, k = 0;
  for (size_t i = 0; i < nf; i++) {
    if (in(to, nt, from[i]))
      keepers[nk++] = from[i];
    else
      losers[nl++] = from[i];
  }
  for (size_t i = 0, g = 0; i < nt; i++) {
    if (in(from, nf, to[i])) continue;
    if (strcmp(to[i], self) == 0) mine = g;
    g++;
  }
  const char *order[2 * PLAN_MAX_REPLICAS];
  size_t n = 0;
  if (mine < nl) order[n++] = losers[mine];
  for (size_t i = 0; i < nl; i++)
    if (i != mine) order[n++] = losers[i];
  for (size_t i = 0; i < nk; i++)
    order[n++] = keepers[i];
  for (size_t i = 0; i < n; i++)
    if (strcmp(order[i], self) != 0 && !(skip && skip(order[i], arg))) out[k++] = order[i];
  return k;
}

int xfer_plan_gains(const ring_t *from, const ring_t *to, uint32_t n, const char *self, xfer_skip_fn skip,
                    void *arg, xfer_gain_t **out, size_t *count) {
  if (!from || !to || !self || !out || !count || n < 1 || n > PLAN_MAX_REPLICAS) return CHORUS_EINVAL;
  *out = NULL;
  *count = 0;
  if (ring_member_find(to, self, NULL) != 0) return 0;
  size_t nv = ring_vnode_count(from) + ring_vnode_count(to);
  uint64_t *cuts = malloc((nv + 1) * sizeof *cuts);
  if (!cuts) return CHORUS_ENOMEM;
  size_t nc = 0;
  for (size_t i = 0; i < ring_vnode_count(from); i++)
    cuts[nc++] = ring_vnode(from, i)->token;
  for (size_t i = 0; i < ring_vnode_count(to); i++)
    cuts[nc++] = ring_vnode(to, i)->token;
  qsort(cuts, nc, sizeof *cuts, cmp_u64);
  size_t u = 0;
  for (size_t i = 0; i < nc; i++)
    if (u == 0 || cuts[u - 1] != cuts[i]) cuts[u++] = cuts[i];
  nc = u;
  if (nc == 0 || cuts[nc - 1] != UINT64_MAX) cuts[nc++] = UINT64_MAX;
  gains_t gs = {0};
  int rc = 0;
  uint64_t lo = 0;
  for (size_t i = 0; i < nc && !rc; i++) {
    uint64_t hi = cuts[i];
    const char *pf[PLAN_MAX_REPLICAS], *pt[PLAN_MAX_REPLICAS], *src[2 * PLAN_MAX_REPLICAS];
    size_t nf = pref_ids(from, hi, n, pf), nt = pref_ids(to, hi, n, pt);
    if (in(pt, nt, self) && !in(pf, nf, self)) {
      size_t ns = sources(pf, nf, pt, nt, self, skip, arg, src);
      rc = add_range(&gs, src, ns, lo, hi);
    }
    lo = hi + 1;
  }
  free(cuts);
  free(gs.cap_ranges);
  if (rc) {
    xfer_gains_free(gs.g, gs.n);
    return rc;
  }
  for (size_t i = 0; i < gs.n; i++)
    merkle_ranges_normalize(gs.g[i].ranges, &gs.g[i].nr);
  *out = gs.g;
  *count = gs.n;
  return 0;
}
