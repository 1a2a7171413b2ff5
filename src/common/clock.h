/*
 * clock.h - the node's two clocks, read in one place.
 *
 * Wall time (CLOCK_REALTIME) stamps what a person reads: events, hint ages,
 * start times. Monotonic time (CLOCK_MONOTONIC) measures intervals: sync
 * deadlines, latencies, stalls; it never goes back when the wall clock is
 * set. Protocol cores never call these: their shells pass the time in.
 */
#ifndef CHORUS_CLOCK_H
#define CHORUS_CLOCK_H

#include <stdint.h>

uint64_t clock_wall_ms(void);
uint64_t clock_mono_ms(void);
uint64_t clock_mono_ns(void);

#endif
