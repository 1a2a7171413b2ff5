/*
 * kv_run.h - one seeded run of the key-value simulator and its figures.
 *
 * Phases, in simulated time: bring-up (node 0, then the others joining
 * through it, until every SWIM table holds every node alive); chaos
 * (clients read-modify-write while the faults of kv_faults.h happen);
 * quiet (clients stop, faults are over, hinted handoff and SWIM settle);
 * then the check (kv_check.h). A run is a function of its options alone:
 * the same seed gives the same figures and the same trace hash.
 *
 * Bounds: the run ends at bring-up + chaos + quiet in simulated time, and
 * stops with CHORUS_ETOOBIG past max_steps events (a run that never goes
 * quiet is a failure, not a hang).
 */
#ifndef CHORUS_KV_RUN_H
#define CHORUS_KV_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "kv_check.h"
#include "kv_cluster.h"

typedef struct {
  uint64_t seed;
  double sabotage; /* kv_store.h; 0 for a real run */
  uint32_t chaos_s, quiet_s;
  uint32_t clients, keys;
  uint64_t max_steps;
  bool membership; /* ownership moves during the chaos: a join, a leave, a removal (kv_faults.h) */
} kv_opts_t;

typedef struct {
  uint64_t seed;
  int rc; /* 0, or why the run stopped early */
  kv_check_t check;
  kv_stats_t st;
  uint64_t reads, reads_failed, sabotaged, crashes;
  uint64_t hash, steps;
  uint64_t bringup_ms;
  double sim_s, wall_s;
  char faults[320];
} kv_result_t;

void kv_opts_default(kv_opts_t *o);
int kv_run(const kv_opts_t *o, kv_result_t *r);
/* Whether the run passed: it completed, nothing was lost or made up, every
 * request was answered. */
bool kv_result_ok(const kv_result_t *r);
void kv_result_print(const kv_result_t *r);

#endif
