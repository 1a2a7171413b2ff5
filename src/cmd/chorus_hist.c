/*
 * chorus_hist.c - the log-linear histogram (see chorus_hist.h).
 *
 * Bucket index of v >= 2^S (S = CHORUS_HIST_SUB_BITS, H = 2^(S-1)): with e
 * = msb(v) - (S-1), the top S bits sub = v >> e lie in [H, 2H), and the
 * index is e*H + sub. Exponent e thus owns indexes [(e+1)H, (e+2)H), which
 * continue the exact buckets [0, 2H) without a gap, and a bucket of
 * exponent e is 2^e wide for values of at least H*2^e: the relative width
 * bound of the header. Reading a percentile walks the buckets once, O(3776).
 */
#include "chorus_hist.h"

#include <string.h>

void chorus_hist_init(chorus_hist_t *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

size_t chorus_hist_index(uint64_t v) {
  if (v < 2 * CHORUS_HIST_HALF) return (size_t)v;
  unsigned msb = 63u - (unsigned)__builtin_clzll(v);
  unsigned e = msb - (CHORUS_HIST_SUB_BITS - 1);
  return (size_t)e * CHORUS_HIST_HALF + (size_t)(v >> e);
}

uint64_t chorus_hist_bucket_low(size_t index) {
  if (index < 2 * CHORUS_HIST_HALF) return index;
  size_t e = index / CHORUS_HIST_HALF - 1;
  return (uint64_t)(index - e * CHORUS_HIST_HALF) << e;
}

uint64_t chorus_hist_bucket_high(size_t index) {
  if (index < 2 * CHORUS_HIST_HALF) return index;
  size_t e = index / CHORUS_HIST_HALF - 1;
  return chorus_hist_bucket_low(index) + ((UINT64_C(1) << e) - 1);
}

void chorus_hist_record(chorus_hist_t *h, uint64_t v) {
  h->counts[chorus_hist_index(v)]++;
  h->total++;
  h->sum += (double)v;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
}

void chorus_hist_merge(chorus_hist_t *dst, const chorus_hist_t *src) {
  for (size_t i = 0; i < CHORUS_HIST_BUCKETS; i++)
    dst->counts[i] += src->counts[i];
  dst->total += src->total;
  dst->sum += src->sum;
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
}

uint64_t chorus_hist_percentile(const chorus_hist_t *h, double p) {
  if (h->total == 0) return 0;
  if (p <= 0) return h->min;
  if (p >= 100) return h->max;
  /* rounded to the nearest rank, as HdrHistogram does: 99.9% of 1000 is the 999th, not the 1000th for a
   * product that comes out as 999.0000000000001 */
  uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < CHORUS_HIST_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      uint64_t v = chorus_hist_bucket_high(i);
      return v > h->max ? h->max : v < h->min ? h->min : v;
    }
  }
  return h->max;
}

double chorus_hist_mean(const chorus_hist_t *h) {
  return h->total ? h->sum / (double)h->total : 0.0;
}

uint64_t chorus_hist_count_between(const chorus_hist_t *h, uint64_t lo, uint64_t hi) {
  if (lo >= hi) return 0;
  uint64_t n = 0;
  for (size_t i = chorus_hist_index(lo); i < CHORUS_HIST_BUCKETS; i++) {
    uint64_t low = chorus_hist_bucket_low(i);
    if (low >= hi) break;
    if (low >= lo) n += h->counts[i];
  }
  return n;
}
