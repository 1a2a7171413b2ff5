/*
 * sim_view.h - ground truth (which nodes run) and the aggregate of what the
 * running nodes believe about each other, kept incrementally.
 *
 * seen[s][st] counts the running observers o != s whose member table holds
 * s with status st. It changes only through the SWIM_EV_MEMBER and
 * SWIM_EV_REMOVED events the cores emit and when an observer stops (its
 * table is withdrawn once, O(its size)), so convergence checks after every
 * simulated event cost O(1) instead of a scan of N tables. sim_view_audit
 * recomputes everything from the tables (O(N^2)) to prove the events told
 * the truth.
 *
 * Invariants: alive_pairs = sum of seen[s][SWIM_ALIVE] over running s;
 * the cluster has one view exactly when alive_pairs = n_up * (n_up - 1).
 */
#ifndef CHORUS_SIM_VIEW_H
#define CHORUS_SIM_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "gossip/swim.h"

#define SIM_STATUS_SLOTS 5 /* indexed by swim_status_t; slot 0 unused */
#define SIM_NEVER UINT64_MAX

typedef struct {
  uint32_t n;
  uint32_t (*seen)[SIM_STATUS_SLOTS];
  uint8_t *up;       /* the node runs: started and not crashed */
  uint8_t *departed; /* it left or shut down: DEAD/LEFT verdicts about it are true */
  uint32_t n_up;
  uint64_t alive_pairs;
  uint64_t false_dead;    /* DEAD or LEFT verdicts about running, not departed nodes */
  uint64_t false_suspect; /* SUSPECT verdicts about running nodes */
  uint64_t unknown;       /* events about ids no simulated node has */
  uint64_t inconsistent;  /* a counter would have gone below zero */
  /* First verdicts about one watched node (the crash victim). */
  int64_t watch;
  uint64_t watch_suspect_at, watch_dead_at;
} sim_view_t;

int sim_view_init(sim_view_t *v, uint32_t n);
void sim_view_free(sim_view_t *v);
void sim_view_node_up(sim_view_t *v, uint32_t i);
/* Node i stops: it no longer counts as subject or observer; its table
 * (core, read once) is withdrawn from the counters. */
void sim_view_node_down(sim_view_t *v, uint32_t i, const swim_t *core);
/* An event emitted by running observer o at time now. */
void sim_view_apply(sim_view_t *v, uint32_t o, const swim_event_t *ev, uint64_t now);
void sim_view_watch(sim_view_t *v, int64_t node);
bool sim_view_converged(const sim_view_t *v);
/* Running observers other than s whose table holds s with status st. */
uint32_t sim_view_seen(const sim_view_t *v, uint32_t s, swim_status_t st);
/* Recounts from the tables of the running nodes (cores[i] for node i) and
 * returns how many counters disagree; CHORUS_ENOMEM. */
int64_t sim_view_audit(const sim_view_t *v, swim_t *const *cores);

#endif
