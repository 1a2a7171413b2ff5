/*
 * sim_scenarios.c - the five scenarios (see sim_scenarios.h).
 *
 * Every goal ("all know all", "every running node has X DEAD") is a
 * predicate over the O(1) counters of sim_view_t, checked after each event,
 * so a scenario costs what the protocol costs, not N table scans per event.
 * A phase that misses its goal within its timeout reports SIM_NEVER; the
 * run still completes so the other figures stay visible.
 */
#include "sim_scenarios.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define SIM_T0_MS 1000000ull /* virtual time of the first start; far from 0 on purpose */

/* Counters at the start of a measured phase. */
typedef struct {
  uint64_t t, node_ms, msgs, bytes, pps, pp_bytes, false_dead, false_suspect, refutes;
} phase_t;

/* "Every other running node sees node with status." */
typedef struct {
  uint32_t node;
  swim_status_t status;
} seen_goal_t;

const char *const sim_scenario_names[] = {"join", "dissemination", "crash", "loss", "partition", NULL};

static const sim_scenario_fn scenario_fns[] = {sim_scenario_join, sim_scenario_dissemination,
                                               sim_scenario_crash, sim_scenario_loss, sim_scenario_partition};

sim_scenario_fn sim_scenario_find(const char *name) {
  for (size_t i = 0; sim_scenario_names[i]; i++)
    if (strcmp(name, sim_scenario_names[i]) == 0) return scenario_fns[i];
  return NULL;
}

void sim_opts_default(sim_opts_t *o) {
  memset(o, 0, sizeof(*o));
  o->nodes = 50;
  o->seed = 1;
  o->loss = 0.10;
  o->minutes = 10;
  o->partition_s = 60;
  o->delay_ms = 5;
  o->jitter_ms = 5;
  o->stagger_ms = 5;
  o->probe_interval_ms = 1000;
  o->converge_timeout_s = 300;
  o->max_rss_mb = sim_default_rss_limit_mb();
}

static uint64_t sum_refutes(const sim_cluster_t *c) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < c->cfg.capacity; i++)
    if (c->view.up[i]) n += swim_stats(c->cores[i])->refutes;
  return n;
}

static void phase_begin(const sim_cluster_t *c, phase_t *p) {
  p->t = c->now;
  p->node_ms = c->node_ms;
  p->msgs = c->net.st.msgs;
  p->bytes = c->net.st.bytes;
  p->pps = c->net.st.pp_started;
  p->pp_bytes = c->net.st.pp_bytes;
  p->false_dead = c->view.false_dead;
  p->false_suspect = c->view.false_suspect;
  p->refutes = sum_refutes(c);
}

static void phase_end(const sim_cluster_t *c, const phase_t *p, sim_result_t *r) {
  double node_s = (double)(c->node_ms - p->node_ms) / 1000.0;
  r->phase_s = (double)(c->now - p->t) / 1000.0;
  if (node_s > 0) {
    r->msgs_node_s = (double)(c->net.st.msgs - p->msgs) / node_s;
    r->bytes_node_s = (double)(c->net.st.bytes - p->bytes) / node_s;
    r->pp_node_s = (double)(c->net.st.pp_started - p->pps) / node_s;
    r->pp_bytes_node_s = (double)(c->net.st.pp_bytes - p->pp_bytes) / node_s;
  }
  r->false_dead = c->view.false_dead - p->false_dead;
  r->false_suspect = c->view.false_suspect - p->false_suspect;
  r->refutes = sum_refutes(c) - p->refutes;
}

static bool pred_one_view(const sim_cluster_t *c, const void *arg) {
  return sim_view_converged(&c->view);
}

static bool pred_seen_by_all(const sim_cluster_t *c, const void *arg) {
  const seen_goal_t *g = arg;
  uint32_t others = c->view.n_up - (c->view.up[g->node] ? 1 : 0);
  return sim_view_seen(&c->view, g->node, g->status) == others;
}

/* Runs until pred holds or timeout_ms pass; *ms = time taken or SIM_NEVER. */
static int run_for(sim_cluster_t *c, uint64_t timeout_ms, sim_pred_t pred, const void *arg, uint64_t *ms) {
  uint64_t t = c->now;
  int rc = sim_cluster_run(c, t + timeout_ms, pred, arg);
  if (rc < 0) return rc;
  if (ms) *ms = rc == 1 ? c->now - t : SIM_NEVER;
  return 0;
}

static uint64_t timeout_ms(const sim_opts_t *o, uint64_t at_least) {
  uint64_t t = (uint64_t)o->converge_timeout_s * 1000;
  return t > at_least ? t : at_least;
}

static double log_n(double (*log_fn)(double), uint32_t n) {
  return log_fn(n > 1 ? (double)n : 1.0);
}

/* c x log2(N) probe periods. */
static uint64_t spread_bound_ms(const sim_cluster_t *c, uint32_t n) {
  return (uint64_t)(SIM_SPREAD_C * log_n(log2, n) * c->cfg.swim.probe_interval_ms);
}

/* The largest suspicion timeout (6 x min) plus one probe interval. */
static uint64_t suspicion_bound_ms(const sim_cluster_t *c, uint32_t n) {
  const swim_config_t *s = &c->cfg.swim;
  return (uint64_t)(6.0 * s->suspicion_mult * log_n(log10, n + 1) * s->probe_interval_ms) +
         s->probe_interval_ms;
}

/* A healed partition: one reconnect round to find the other side, a second
 * one for the members still marked dead after the first, and the time for
 * the refutations to spread. */
static uint64_t heal_bound_ms(const sim_cluster_t *c, uint32_t n) {
  return 2 * c->cfg.swim.reconnect_interval_ms + spread_bound_ms(c, n);
}

static void result_init(const sim_opts_t *o, sim_kind_t kind, sim_result_t *r) {
  memset(r, 0, sizeof(*r));
  r->kind = kind;
  r->nodes = o->nodes;
  r->seed = o->seed;
  r->converge_ms = r->newcomer_ms = r->dissem_ms = SIM_NEVER;
  r->suspect_first_ms = r->dead_first_ms = r->dead_all_ms = SIM_NEVER;
  r->heal_ms = r->recover_ms = r->rejoin_ms = SIM_NEVER;
  r->audit_bad = -1;
}

/* One scenario run in progress. */
typedef struct {
  sim_cluster_t *c;
  phase_t p; /* the measured phase; from the first start unless restarted */
  double wall0;
} run_t;

/* Creates the cluster (one spare slot for a newcomer) and starts nodes
 * 0..N-1, each joining through node 0, until one view or the timeout. */
static int begin(const sim_opts_t *o, sim_kind_t kind, sim_result_t *r, run_t *run) {
  run->wall0 = sim_wall_s();
  result_init(o, kind, r);
  sim_cluster_config_t cfg = {
      .capacity = o->nodes + 1,
      .seed = o->seed,
      .net = {.delay_ms = o->delay_ms, .jitter_ms = o->jitter_ms, .loss = 0},
      .t0_ms = SIM_T0_MS,
      .progress_ms = (uint64_t)(o->progress_s * 1000.0),
      .max_rss_mb = o->max_rss_mb,
      .long_names = o->long_names,
  };
  swim_config_default(&cfg.swim);
  if (o->probe_interval_ms) cfg.swim.probe_interval_ms = o->probe_interval_ms;
  int rc = sim_cluster_create(&cfg, &run->c);
  if (rc < 0) return rc;
  sim_cluster_t *c = run->c;
  phase_begin(c, &run->p);
  for (uint32_t i = 0; i < o->nodes && rc >= 0; i++) {
    rc = sim_cluster_run(c, SIM_T0_MS + (uint64_t)i * o->stagger_ms, NULL, NULL);
    if (rc >= 0) rc = sim_cluster_start(c, i, i ? 0 : -1);
  }
  uint64_t ms;
  if (rc >= 0) rc = run_for(c, timeout_ms(o, 0), pred_one_view, NULL, &ms);
  if (rc < 0) {
    sim_cluster_destroy(c);
    return rc;
  }
  r->converge_ms = ms == SIM_NEVER ? SIM_NEVER : c->now - SIM_T0_MS;
  return 0;
}

/* Fills the whole-run figures, destroys the cluster and returns the run's
 * outcome: rc if the scenario failed, else the audit's. */
static int finish(const sim_opts_t *o, run_t *run, sim_result_t *r, int rc) {
  sim_cluster_t *c = run->c;
  if (o->audit) {
    int64_t bad = sim_view_audit(&c->view, c->cores);
    if (bad < 0 && rc >= 0) rc = (int)bad;
    r->audit_bad = bad;
  }
  sim_cluster_faults(c, &r->faults);
  r->run_false_dead = c->view.false_dead;
  r->late_ticks = c->late;
  r->hash = c->hash;
  r->steps = c->steps;
  r->sim_s = (double)(c->now - SIM_T0_MS) / 1000.0;
  r->wall_s = sim_wall_s() - run->wall0;
  sim_cluster_destroy(c);
  return rc < 0 ? rc : 0;
}

int sim_scenario_join(const sim_opts_t *o, sim_result_t *r) {
  run_t run;
  int rc = begin(o, SIM_JOIN, r, &run);
  if (rc < 0) return rc;
  sim_cluster_t *c = run.c;
  /* The newcomer joins through a random member, not necessarily node 0. */
  seen_goal_t g = {.node = o->nodes, .status = SWIM_ALIVE};
  r->newcomer_bound_ms = spread_bound_ms(c, o->nodes + 1);
  rc = sim_cluster_start(c, g.node, (int64_t)rng_below(&c->rng, o->nodes));
  if (rc >= 0)
    rc = run_for(c, timeout_ms(o, 2 * r->newcomer_bound_ms), pred_seen_by_all, &g, &r->newcomer_ms);
  phase_end(c, &run.p, r);
  return finish(o, &run, r, rc);
}

int sim_scenario_dissemination(const sim_opts_t *o, sim_result_t *r) {
  run_t run;
  int rc = begin(o, SIM_DISSEM, r, &run);
  if (rc < 0) return rc;
  sim_cluster_t *c = run.c;
  phase_begin(c, &run.p);
  seen_goal_t g = {.node = (uint32_t)rng_below(&c->rng, o->nodes), .status = SWIM_LEFT};
  r->dissem_bound_ms = spread_bound_ms(c, o->nodes);
  rc = sim_cluster_leave(c, g.node);
  if (rc >= 0) rc = run_for(c, timeout_ms(o, 2 * r->dissem_bound_ms), pred_seen_by_all, &g, &r->dissem_ms);
  sim_cluster_crash(c, g.node);
  phase_end(c, &run.p, r);
  return finish(o, &run, r, rc);
}

int sim_scenario_crash(const sim_opts_t *o, sim_result_t *r) {
  run_t run;
  int rc = begin(o, SIM_CRASH, r, &run);
  if (rc < 0) return rc;
  sim_cluster_t *c = run.c;
  phase_begin(c, &run.p);
  seen_goal_t g = {.node = (uint32_t)rng_below(&c->rng, o->nodes), .status = SWIM_DEAD};
  r->dead_bound_ms = suspicion_bound_ms(c, o->nodes);
  sim_view_watch(&c->view, g.node);
  sim_cluster_crash(c, g.node);
  rc = run_for(c, timeout_ms(o, 3 * r->dead_bound_ms), pred_seen_by_all, &g, &r->dead_all_ms);
  if (c->view.watch_suspect_at != SIM_NEVER) r->suspect_first_ms = c->view.watch_suspect_at - run.p.t;
  if (c->view.watch_dead_at != SIM_NEVER) r->dead_first_ms = c->view.watch_dead_at - run.p.t;
  phase_end(c, &run.p, r);
  /* The victim restarts with its persisted incarnation and rejoins through
   * another node; the cluster has it DEAD at that incarnation, so it gets
   * back in only by refuting. */
  if (rc >= 0 && r->dead_all_ms != SIM_NEVER) {
    uint32_t k = (uint32_t)rng_below(&c->rng, o->nodes - 1);
    g.status = SWIM_ALIVE;
    r->rejoin_bound_ms = spread_bound_ms(c, o->nodes);
    rc = sim_cluster_start(c, g.node, k < g.node ? k : k + 1);
    if (rc >= 0) rc = run_for(c, timeout_ms(o, 2 * r->rejoin_bound_ms), pred_seen_by_all, &g, &r->rejoin_ms);
  }
  return finish(o, &run, r, rc);
}

int sim_scenario_loss(const sim_opts_t *o, sim_result_t *r) {
  run_t run;
  int rc = begin(o, SIM_LOSS, r, &run);
  if (rc < 0) return rc;
  sim_cluster_t *c = run.c;
  phase_begin(c, &run.p);
  sim_cluster_set_loss(c, o->loss);
  rc = run_for(c, (uint64_t)(o->minutes * 60000.0), NULL, NULL, NULL);
  r->one_view_at_end = sim_view_converged(&c->view);
  phase_end(c, &run.p, r);
  sim_cluster_set_loss(c, 0);
  if (rc >= 0) rc = run_for(c, timeout_ms(o, 0), pred_one_view, NULL, &r->recover_ms);
  return finish(o, &run, r, rc);
}

/* Puts a random half of the nodes in group 1; returns the size of that half. */
static int split(sim_cluster_t *c, uint32_t n, uint32_t *half) {
  uint32_t *order = malloc((size_t)n * sizeof(*order));
  if (!order) return CHORUS_ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    order[i] = i;
  for (uint32_t i = n - 1; i > 0; i--) {
    uint32_t j = (uint32_t)rng_below(&c->rng, (uint64_t)i + 1);
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  *half = n / 2;
  for (uint32_t i = 0; i < *half; i++)
    sim_cluster_set_group(c, order[i], 1);
  free(order);
  return 0;
}

int sim_scenario_partition(const sim_opts_t *o, sim_result_t *r) {
  run_t run;
  int rc = begin(o, SIM_PARTITION, r, &run);
  if (rc < 0) return rc;
  sim_cluster_t *c = run.c;
  uint32_t a = 0;
  rc = split(c, o->nodes, &a);
  if (rc >= 0) rc = run_for(c, (uint64_t)o->partition_s * 1000, NULL, NULL, NULL);
  if (rc >= 0) {
    for (uint32_t s = 0; s < o->nodes; s++)
      r->split_dead += sim_view_seen(&c->view, s, SWIM_DEAD);
    r->split_pairs = 2ull * a * (o->nodes - a);
    for (uint32_t i = 0; i < o->nodes; i++)
      sim_cluster_set_group(c, i, 0);
    phase_begin(c, &run.p);
    r->heal_bound_ms = heal_bound_ms(c, o->nodes);
    rc = run_for(c, timeout_ms(o, 3 * r->heal_bound_ms), pred_one_view, NULL, &r->heal_ms);
    phase_end(c, &run.p, r);
  }
  return finish(o, &run, r, rc);
}

int sim_check_determinism(sim_scenario_fn fn, const sim_opts_t *o, sim_result_t *r, bool *same) {
  sim_result_t again;
  int rc = fn(o, r);
  if (rc >= 0) rc = fn(o, &again);
  if (rc < 0) return rc;
  *same = r->hash == again.hash && r->steps == again.steps;
  return 0;
}
