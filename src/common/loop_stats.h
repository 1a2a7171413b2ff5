/*
 * loop_stats.h - how long the node's loop thread went without getting back
 * to its poll: the loop measures (src/cmd/loop.c), the metrics and status
 * routes read, from any thread.
 *
 * A stall is one loop iteration's busy time: every timer, I/O and async
 * callback it ran, without the time it slept in poll. No timer of the loop
 * (a SWIM probe's timeout, a request's deadline) can fire during a stall,
 * so the longest one must stay well below the probe timeout.
 */
#ifndef CHORUS_LOOP_STATS_H
#define CHORUS_LOOP_STATS_H

#include <stdatomic.h>

#define LOOP_STALL_SLOW_NS (50u * 1000 * 1000) /* a stall counted as slow: 50 ms */

typedef struct {
  atomic_uint_fast64_t iterations;
  atomic_uint_fast64_t busy_ns;      /* busy time, all iterations */
  atomic_uint_fast64_t stall_max_ns; /* the longest iteration since start */
  atomic_uint_fast64_t slow_stalls;  /* iterations busy LOOP_STALL_SLOW_NS or longer */
} loop_stats_t;

#endif
