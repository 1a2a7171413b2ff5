/*
 * chorus_hist.h - a log-linear latency histogram (HdrHistogram's layout)
 * for `chorus bench`.
 *
 * Values are unsigned 64-bit (the bench records nanoseconds). Values below
 * 2^CHORUS_HIST_SUB_BITS are counted exactly; above, each power of two is
 * split into 2^(CHORUS_HIST_SUB_BITS-1) equal sub-buckets, so a bucket is
 * never wider than 1/64 of the values it holds: any percentile read back is
 * within 1.6% of the true value (reported as the bucket's highest value,
 * never above the largest value recorded). Min, max, count and sum are
 * exact. The counts live inside the struct (about 30 KB): recording never
 * allocates and cannot fail, and two histograms merge by adding counts.
 */
#ifndef CHORUS_CMD_HIST_H
#define CHORUS_CMD_HIST_H

#include <stddef.h>
#include <stdint.h>

#define CHORUS_HIST_SUB_BITS 7
#define CHORUS_HIST_HALF (1u << (CHORUS_HIST_SUB_BITS - 1))
/* exact buckets [0, 2^S), then one half-range per exponent 1..64-S+1 */
#define CHORUS_HIST_BUCKETS ((64 - CHORUS_HIST_SUB_BITS + 2) * CHORUS_HIST_HALF)

typedef struct {
  uint64_t counts[CHORUS_HIST_BUCKETS];
  uint64_t total;
  uint64_t min, max; /* exact; min is UINT64_MAX while empty */
  double sum;        /* for the mean */
} chorus_hist_t;

void chorus_hist_init(chorus_hist_t *h);
void chorus_hist_record(chorus_hist_t *h, uint64_t v);
/* Adds every count of src to dst. */
void chorus_hist_merge(chorus_hist_t *dst, const chorus_hist_t *src);
/* The value at percentile p (0..100): the highest value of the bucket that
 * holds the r-th smallest value, r = p% of total rounded (at least 1), capped at max; p >= 100
 * gives max, p <= 0 gives min. 0 when the histogram is empty. */
uint64_t chorus_hist_percentile(const chorus_hist_t *h, double p);
double chorus_hist_mean(const chorus_hist_t *h);
/* Values counted in [lo, hi), at bucket resolution: a bucket counts when its
 * lowest value lies in the range. */
uint64_t chorus_hist_count_between(const chorus_hist_t *h, uint64_t lo, uint64_t hi);
/* The bucket of v and that bucket's lowest and highest values (exposed for tests). */
size_t chorus_hist_index(uint64_t v);
uint64_t chorus_hist_bucket_low(size_t index);
uint64_t chorus_hist_bucket_high(size_t index);

#endif
