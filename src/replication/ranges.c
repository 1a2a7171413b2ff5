/*
 * ranges.c - the token ranges two members share (ranges.h). One pass over
 * the vnodes: each vnode's preference list decides its range, and
 * normalising merges the neighbours.
 */
#include "ranges.h"

#include <stdlib.h>

#include "../common/err.h"

static bool holds(const uint32_t *pref, size_t n, uint32_t m) {
  for (size_t i = 0; i < n; i++)
    if (pref[i] == m) return true;
  return false;
}

int ranges_shared(const ring_t *r, uint32_t n, const char *a, const char *b, merkle_range_t **out,
                  size_t *count) {
  if (!r || !a || !b || !out || !count || n == 0) return CHORUS_EINVAL;
  *out = NULL;
  *count = 0;
  uint32_t ia, ib;
  if (ring_member_find(r, a, &ia) != 0 || ring_member_find(r, b, &ib) != 0) return 0;
  size_t nv = ring_vnode_count(r);
  if (nv == 0) return 0;
  if (n > RING_MEMBERS_MAX) n = RING_MEMBERS_MAX;
  uint32_t *pref = malloc(n * sizeof *pref);
  merkle_range_t *res = malloc((nv + 1) * sizeof *res);
  if (!pref || !res) {
    free(pref);
    free(res);
    return CHORUS_ENOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < nv; i++) {
    const ring_vnode_t *v = ring_vnode(r, i);
    size_t got = ring_preference(r, v->token, pref, n);
    if (!holds(pref, got, ia) || !holds(pref, got, ib)) continue;
    if (i > 0) {
      uint64_t prev = ring_vnode(r, i - 1)->token;
      if (prev != v->token) res[k++] = (merkle_range_t){prev + 1, v->token};
    } else {
      /* vnode 0: [0, token 0] and past the last token */
      uint64_t last = ring_vnode(r, nv - 1)->token;
      res[k++] = (merkle_range_t){0, v->token};
      if (last != UINT64_MAX) res[k++] = (merkle_range_t){last + 1, UINT64_MAX};
    }
  }
  free(pref);
  merkle_ranges_normalize(res, &k);
  if (k == 0) {
    free(res);
    return 0;
  }
  *out = res;
  *count = k;
  return 0;
}

uint64_t ranges_tokens(const merkle_range_t *r, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t w = r[i].hi - r[i].lo; /* + 1, below, may overflow */
    if (w == UINT64_MAX || sum > UINT64_MAX - w - 1) return UINT64_MAX;
    sum += w + 1;
  }
  return sum;
}
