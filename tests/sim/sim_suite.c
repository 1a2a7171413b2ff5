/*
 * sim_suite.c - the small suite (see sim_suite.h).
 *
 * One assertion group per (scenario, N): a group passes when every one of
 * its expectations holds, and every group also demands a clean run: no
 * codec or core fault, view counters that survive the audit, and a first
 * convergence. Seeds are fixed so that a failure replays with
 * `swim_sim --scenario NAME --nodes N --seed S ...`.
 *
 * Bounds (sim_scenarios.c): a newcomer, a leave and a restarted node reach
 * every node within SIM_SPREAD_C (5) x log2(N) probe periods; a crashed
 * node is DEAD everywhere within the largest suspicion timeout,
 * 6 x suspicion_mult x log10(N + 1) probe periods, plus one probe period; a
 * healed partition is one view again within 2 reconnect intervals plus
 * 5 x log2(N) probe periods. At N = 50 the timed cases run again with
 * the largest ids and hosts.
 *
 * Every case runs its full length (10 simulated minutes at 10% loss, at
 * N = 50 and N = 200); the whole suite takes seconds of real time.
 */
#include "sim_suite.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "sim_scenarios.h"

typedef struct {
  char name[64];
  char why[768];
  bool failed;
} group_t;

typedef struct {
  unsigned passed, failed;
} tally_t;

typedef struct {
  uint32_t nodes;
  uint64_t seed;
  double loss_minutes; /* the 10% loss case */
  double calm_minutes; /* the 0% loss case */
} suite_case_t;

static const suite_case_t cases[] = {
    {.nodes = 50, .seed = 50501, .loss_minutes = 10, .calm_minutes = 5},
    {.nodes = 200, .seed = 200201, .loss_minutes = 10, .calm_minutes = 5},
};

static group_t group_begin(const char *scenario, const sim_opts_t *o) {
  group_t g = {.failed = false};
  snprintf(g.name, sizeof(g.name), "%s N=%u%s", scenario, o->nodes, o->long_names ? " long names" : "");
  return g;
}

static void expect(group_t *g, bool ok, const char *fmt, ...) {
  if (ok) return;
  g->failed = true;
  size_t used = strlen(g->why);
  if (used + 3 >= sizeof(g->why)) return;
  if (used) {
    strcat(g->why, "; ");
    used += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g->why + used, sizeof(g->why) - used, fmt, ap);
  va_end(ap);
}

static void group_end(tally_t *t, const group_t *g) {
  if (g->failed) {
    t->failed++;
    printf("FAIL %s: %s\n", g->name, g->why);
  } else {
    t->passed++;
    printf("PASS %s\n", g->name);
  }
  fflush(stdout);
}

static void expect_clean(group_t *g, const sim_result_t *r) {
  expect(g, sim_faults_total(&r->faults) == 0, "%" PRIu64 " codec/core faults", sim_faults_total(&r->faults));
  expect(g, r->audit_bad == 0, "view audit found %" PRId64 " wrong counters", r->audit_bad);
  expect(g, r->converge_ms != SIM_NEVER, "the bring-up never reached one view");
}

static void expect_within(group_t *g, const char *what, uint64_t ms, uint64_t bound) {
  if (ms == SIM_NEVER)
    expect(g, false, "%s never happened", what);
  else
    expect(g, ms <= bound, "%s took %" PRIu64 " ms > bound %" PRIu64 " ms", what, ms, bound);
}

/* Runs one scenario; a run that cannot complete fails its group. */
static bool run(group_t *g, sim_scenario_fn fn, const sim_opts_t *o, sim_result_t *r) {
  int rc = fn(o, r);
  if (rc < 0) {
    expect(g, false, "run failed: %s", chorus_strerror(rc));
    return false;
  }
  sim_result_print(r, false);
  expect_clean(g, r);
  return true;
}

/* A scenario whose headline is one duration with a bound, at 0% loss. */
typedef struct {
  const char *name;
  sim_scenario_fn fn;
  const char *goal;
  size_t ms_at, bound_at; /* offsetof(sim_result_t, ...) of the duration and its bound */
} timed_case_t;

static const timed_case_t timed_cases[] = {
    {"join", sim_scenario_join, "newcomer known by all", offsetof(sim_result_t, newcomer_ms),
     offsetof(sim_result_t, newcomer_bound_ms)},
    {"dissemination", sim_scenario_dissemination, "leave reaching all", offsetof(sim_result_t, dissem_ms),
     offsetof(sim_result_t, dissem_bound_ms)},
    {"crash", sim_scenario_crash, "crashed node dead at all", offsetof(sim_result_t, dead_all_ms),
     offsetof(sim_result_t, dead_bound_ms)},
};

static uint64_t field_at(const sim_result_t *r, size_t at) {
  uint64_t v;
  memcpy(&v, (const char *)r + at, sizeof(v));
  return v;
}

static void suite_timed(tally_t *t, const sim_opts_t *o, const timed_case_t *tc) {
  sim_result_t r;
  group_t g = group_begin(tc->name, o);
  if (run(&g, tc->fn, o, &r)) {
    expect_within(&g, tc->goal, field_at(&r, tc->ms_at), field_at(&r, tc->bound_at));
    expect(&g, r.run_false_dead == 0, "%" PRIu64 " false dead at 0%% loss", r.run_false_dead);
    if (r.kind == SIM_CRASH)
      expect_within(&g, "restarted node known alive by all", r.rejoin_ms, r.rejoin_bound_ms);
  }
  group_end(t, &g);
}

static void suite_loss(tally_t *t, const sim_opts_t *base, double loss, double minutes) {
  sim_result_t r;
  sim_opts_t o = *base;
  o.loss = loss;
  o.minutes = minutes;
  char name[32];
  snprintf(name, sizeof(name), "loss %.0f%% %.0f min", loss * 100, minutes);
  group_t g = group_begin(name, &o);
  if (run(&g, sim_scenario_loss, &o, &r)) {
    expect(&g, r.false_dead == 0, "%" PRIu64 " false dead under loss", r.false_dead);
    expect(&g, r.run_false_dead == 0, "%" PRIu64 " false dead in the run", r.run_false_dead);
    if (loss == 0)
      expect(&g, r.false_suspect == 0, "%" PRIu64 " false suspicions at 0%% loss", r.false_suspect);
    expect(&g, r.recover_ms != SIM_NEVER, "no single view again after the loss stopped");
  }
  group_end(t, &g);
}

static void suite_partition(tally_t *t, const sim_opts_t *o) {
  sim_result_t r;
  group_t g = group_begin("partition", o);
  if (run(&g, sim_scenario_partition, o, &r)) {
    expect(&g, r.split_dead * 2 >= r.split_pairs,
           "the cut was hardly seen: %" PRIu64 " of %" PRIu64 " dead verdicts", r.split_dead, r.split_pairs);
    expect_within(&g, "re-merge after heal", r.heal_ms, r.heal_bound_ms);
    /* The cut outlasts every rumor of the split, so a running node marked
     * DEAD after the heal comes from merging the other side's stale table.
     * A merge that only suspects gives the member time to refute; the rare
     * refutation that misses one observer before its timeout is tolerated,
     * a merge that kills outright (O(N^2) verdicts) is not. */
    uint64_t most = o->nodes / 10;
    expect(&g, r.false_dead <= most,
           "%" PRIu64 " DEAD verdicts about running nodes after the heal (> %" PRIu64 ")", r.false_dead,
           most);
  }
  group_end(t, &g);
}

static void suite_determinism(tally_t *t, const sim_opts_t *o) {
  sim_result_t r;
  bool same = false;
  group_t g = group_begin("determinism (crash twice)", o);
  int rc = sim_check_determinism(sim_scenario_crash, o, &r, &same);
  expect(&g, rc >= 0, "run failed: %s", chorus_strerror(rc));
  expect(&g, rc < 0 || same, "two runs with seed %" PRIu64 " differ", o->seed);
  group_end(t, &g);
}

int sim_suite_small(void) {
  tally_t t = {0, 0};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    sim_opts_t o;
    sim_opts_default(&o);
    o.nodes = cases[i].nodes;
    o.seed = cases[i].seed;
    o.audit = true;
    for (size_t k = 0; k < sizeof(timed_cases) / sizeof(timed_cases[0]); k++)
      suite_timed(&t, &o, &timed_cases[k]);
    suite_loss(&t, &o, 0, cases[i].calm_minutes);
    suite_loss(&t, &o, 0.10, cases[i].loss_minutes);
    suite_partition(&t, &o);
    if (i == 0) {
      suite_determinism(&t, &o);
      /* Largest ids and hosts: the fewest updates fit in a packet. */
      sim_opts_t wide = o;
      wide.long_names = true;
      for (size_t k = 0; k < sizeof(timed_cases) / sizeof(timed_cases[0]); k++)
        suite_timed(&t, &wide, &timed_cases[k]);
    }
  }
  printf("%u passed, %u failed\n", t.passed, t.failed);
  return t.failed ? 1 : 0;
}
