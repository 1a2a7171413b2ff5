/*
 * sim_watch.h - what a long run tells while it runs: a progress line every
 * so many simulated seconds (to stderr, so stdout keeps only results), and
 * a guard that stops the run before the process outgrows the machine.
 *
 * The guard reads the resident size of the process; the cores' tables are
 * O(N) each, so a cluster is O(N^2) in memory and a large N can need more
 * than there is. Stopping with CHORUS_ETOOBIG and saying how far the run
 * got beats being killed by the kernel with nothing reported. Neither
 * function influences the simulation: wall time and memory are only shown.
 */
#ifndef CHORUS_SIM_WATCH_H
#define CHORUS_SIM_WATCH_H

#include <stdint.h>

typedef struct {
  uint64_t progress_ms; /* 0: no progress lines */
  uint64_t max_rss_mb;  /* 0: no limit */
  uint64_t next_progress_at, next_check_at;
  double wall0, wall_last;
  uint64_t sim_last;
} sim_watch_t;

/* Where the run is, as the watch reports it. */
typedef struct {
  uint64_t now_ms, t0_ms;
  uint32_t n_up;
  uint64_t alive_pairs;
  uint64_t steps;
} sim_watch_point_t;

void sim_watch_init(sim_watch_t *w, uint64_t progress_ms, uint64_t max_rss_mb, uint64_t now_ms);
/* Due at or after w->next_check_at; CHORUS_ETOOBIG once over the limit. */
int sim_watch_check(sim_watch_t *w, const sim_watch_point_t *p);
/* Monotonic wall-clock seconds, for reports only. */
double sim_wall_s(void);
/* Resident size of this process in MB (0 if unknown). */
uint64_t sim_rss_mb(void);
/* Three quarters of the physical memory, in MB. */
uint64_t sim_default_rss_limit_mb(void);

#endif
