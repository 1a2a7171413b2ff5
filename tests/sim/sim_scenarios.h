/*
 * sim_scenarios.h - the measured scenarios: join, dissemination, crash,
 * loss, partition.
 *
 * Each scenario builds a fresh cluster from the options, brings it up (node
 * 0 first, then every node joining through node 0, stagger_ms apart, until
 * every node knows every other alive), runs its own phase and fills a
 * sim_result_t. A scenario is a function of its options alone: the same
 * options give the same result and the same hash.
 */
#ifndef CHORUS_SIM_SCENARIOS_H
#define CHORUS_SIM_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_cluster.h"

/* Multiplier c of the join and dissemination bound c x log2(N) probe periods. */
#define SIM_SPREAD_C 5

typedef struct {
  uint32_t nodes;
  uint64_t seed;
  double loss;          /* loss scenario: packet loss 0..1 */
  double minutes;       /* loss scenario: length of the lossy phase */
  uint32_t partition_s; /* partition scenario: how long the sides stay apart */
  uint32_t delay_ms, jitter_ms;
  uint32_t stagger_ms;         /* between two node starts */
  uint32_t probe_interval_ms;  /* overrides the default swim_config */
  uint32_t converge_timeout_s; /* a phase waits this long at most for its goal */
  double progress_s;           /* progress line period in simulated seconds, 0 = none */
  uint64_t max_rss_mb;         /* stop a run that grows beyond this, 0 = no limit */
  bool long_names;             /* ids and hosts of the largest size */
  bool audit;                  /* recount the views from the tables at the end (O(N^2)) */
  bool quiet;                  /* key=value line only */
} sim_opts_t;

typedef enum { SIM_JOIN, SIM_DISSEM, SIM_CRASH, SIM_LOSS, SIM_PARTITION } sim_kind_t;

/* Durations are ms from the phase's start; SIM_NEVER = not reached. */
typedef struct {
  sim_kind_t kind;
  uint32_t nodes;
  uint64_t seed;
  uint64_t converge_ms; /* bring-up: first start -> one view */
  uint64_t newcomer_ms, newcomer_bound_ms;
  uint64_t dissem_ms, dissem_bound_ms;
  uint64_t suspect_first_ms, dead_first_ms, dead_all_ms, dead_bound_ms;
  uint64_t rejoin_ms, rejoin_bound_ms; /* crash: the victim restarted, known alive by all again */
  uint64_t split_dead;                 /* DEAD entries in the views of the running nodes at heal time */
  uint64_t
      split_pairs; /* (observer, member) pairs across the cut: what split_dead reaches when the cut is seen */
  uint64_t heal_ms, heal_bound_ms;
  uint64_t recover_ms; /* loss: back to one view once the loss stops */
  bool one_view_at_end;
  /* Over the scenario's measured phase. */
  double phase_s;
  uint64_t false_dead, false_suspect, refutes;
  double msgs_node_s, bytes_node_s;  /* UDP */
  double pp_node_s, pp_bytes_node_s; /* push-pull exchanges started, TCP state bytes */
  /* Over the whole run. */
  uint64_t run_false_dead;
  uint64_t late_ticks; /* swim_tick calls that left swim_next_deadline <= now */
  sim_faults_t faults;
  int64_t audit_bad; /* counters the audit found wrong; -1 if not audited */
  uint64_t hash, steps;
  double sim_s, wall_s;
} sim_result_t;

typedef int (*sim_scenario_fn)(const sim_opts_t *o, sim_result_t *r);

void sim_opts_default(sim_opts_t *o);
/* The scenario called name ("join", "dissemination", "crash", "loss",
 * "partition"), or NULL. */
sim_scenario_fn sim_scenario_find(const char *name);
/* Names in run order, NULL-terminated, for "all" and the usage text. */
extern const char *const sim_scenario_names[];

int sim_scenario_join(const sim_opts_t *o, sim_result_t *r);
int sim_scenario_dissemination(const sim_opts_t *o, sim_result_t *r);
int sim_scenario_crash(const sim_opts_t *o, sim_result_t *r);
int sim_scenario_loss(const sim_opts_t *o, sim_result_t *r);
int sim_scenario_partition(const sim_opts_t *o, sim_result_t *r);

/* Runs fn twice with the same options and compares the run hashes: *same.
 * r gets the first run's result. */
int sim_check_determinism(sim_scenario_fn fn, const sim_opts_t *o, sim_result_t *r, bool *same);

/* The key=value line and, unless quiet, a human summary. */
void sim_result_print(const sim_result_t *r, bool quiet);

#endif
