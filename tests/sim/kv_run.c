/*
 * kv_run.c - one seeded run (see kv_run.h).
 *
 * Who draws what: the SWIM cores and the network have the generators
 * sim_cluster seeds from the seed; the store latencies, the clients and
 * the faults share the cluster's key-value generator (kv_cluster.c); each
 * store's sabotage has its own. All of them start from the seed, so the
 * seed alone decides the run.
 */
#include "kv_run.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "kv_faults.h"
#include "kv_node.h"
#include "sim_watch.h"

#define STAGGER_MS 50
#define BRINGUP_MAX_MS 60000

void kv_opts_default(kv_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->chaos_s = 60;
  o->quiet_s = 120;
  o->clients = 4;
  o->keys = 12;
  o->max_steps = 20000000;
}

static bool converged(const sim_cluster_t *c, const void *arg) {
  return c->view.n_up == *(const uint32_t *)arg && sim_view_converged(&c->view);
}

/* Every node, or all but the joiner with membership changes. */
static int bring_up(kv_cluster_t *kc, const kv_opts_t *o, kv_result_t *r) {
  uint64_t t0 = kv_now(kc);
  uint32_t first = o->membership ? KV_JOINER : KV_NODES;
  int rc = kv_node_start(kc, 0, -1);
  for (uint32_t i = 1; i < first && !rc; i++) {
    rc = sim_cluster_run(kc->sim, kv_now(kc) + STAGGER_MS, NULL, NULL);
    if (rc >= 0) rc = kv_node_start(kc, i, 0);
  }
  if (rc < 0) return rc;
  rc = sim_cluster_run(kc->sim, t0 + BRINGUP_MAX_MS, converged, &first);
  if (rc < 0) return rc;
  if (rc == 0) return CHORUS_ETIMEDOUT;
  r->bringup_ms = kv_now(kc) - t0;
  return 0;
}

static int run_phases(kv_cluster_t *kc, kv_clients_t *cl, kv_faults_t *faults, const kv_opts_t *o,
                      kv_result_t *r) {
  int rc = bring_up(kc, o, r);
  if (rc) return rc;
  uint64_t chaos = (uint64_t)o->chaos_s * 1000;
  kv_faults_draw(&kc->rng, chaos, o->membership, faults);
  kv_faults_describe(faults, r->faults, sizeof r->faults);
  rc = kv_faults_schedule(kc, faults);
  if (!rc) rc = kv_clients_start(cl);
  if (!rc) rc = sim_cluster_run(kc->sim, kv_now(kc) + chaos, NULL, NULL);
  if (rc < 0) return rc;
  kv_clients_stop(cl);
  rc = sim_cluster_run(kc->sim, kv_now(kc) + (uint64_t)o->quiet_s * 1000, NULL, NULL);
  if (rc < 0) return rc;
  if (!kv_clients_idle(cl)) return CHORUS_ETIMEDOUT;
  return kv_check(kc, cl, &r->check);
}

int kv_run(const kv_opts_t *o, kv_result_t *r) {
  memset(r, 0, sizeof *r);
  r->seed = o->seed;
  double wall0 = sim_wall_s();
  kv_cluster_opts_t co = {.seed = o->seed, .sabotage = o->sabotage, .delay_ms = 1, .jitter_ms = 4};
  kv_cluster_t *kc;
  kv_clients_t *cl = NULL;
  kv_faults_t faults;
  int rc = kv_cluster_create(&co, &kc);
  if (rc) return r->rc = rc;
  kc->max_steps = o->max_steps;
  rc = kv_clients_create(kc, o->clients, o->keys, &cl);
  if (!rc) rc = run_phases(kc, cl, &faults, o, r);
  r->rc = rc;
  r->hash = kc->sim->hash;
  r->steps = kc->sim->steps;
  r->sim_s = (double)kc->sim->now / 1000.0;
  for (uint32_t i = 0; i < KV_NODES; i++) {
    r->sabotaged += kv_store_sabotaged(kc->nodes[i].store);
    r->crashes += kc->nodes[i].crashes;
    kv_node_crash(kc, i); /* the end: answers what is in flight, sums the coordinators' counters */
  }
  r->st = kc->st;
  if (cl) {
    r->reads = kv_clients_log(cl)->reads;
    r->reads_failed = kv_clients_log(cl)->reads_failed;
  }
  kv_cluster_destroy(kc); /* the clients go after it: its shutdown answers their requests */
  kv_clients_destroy(cl);
  r->wall_s = sim_wall_s() - wall0;
  return rc;
}

bool kv_result_ok(const kv_result_t *r) {
  return r->rc == 0 && r->check.lost == 0 && r->check.phantom == 0 && r->check.resurrected == 0 &&
         r->check.pending == 0 && r->check.divergent == 0 && r->check.stray == 0 &&
         r->st.peer_codec_errors == 0;
}

void kv_result_print(const kv_result_t *r) {
  const kv_check_t *c = &r->check;
  printf("seed=%" PRIu64 " rc=%d writes=%" PRIu64 " acked=%" PRIu64 " failed=%" PRIu64 " lost=%" PRIu64
         " phantom=%" PRIu64 " resurrected=%" PRIu64 " divergent=%" PRIu64 "/%" PRIu64 " stray=%" PRIu64
         " hints_left=%" PRIu64 " reaped=%" PRIu64 " reads=%" PRIu64 " reads_failed=%" PRIu64
         " crashes=%" PRIu64 " hash=%016" PRIx64 " steps=%" PRIu64 " sim_s=%.1f wall_s=%.2f\n",
         r->seed, r->rc, c->writes, c->acked, c->failed, c->lost, c->phantom, c->resurrected, c->divergent,
         c->keys, c->stray, c->hints_left, c->reaped, r->reads, r->reads_failed, r->crashes, r->hash,
         r->steps, r->sim_s, r->wall_s);
  printf("  faults: %s\n", r->faults);
  printf("  coord: writes=%" PRIu64 " reads=%" PRIu64 " forwarded=%" PRIu64 " quorum_failures=%" PRIu64
         " read_repairs=%" PRIu64 " hints_kept=%" PRIu64 " hints_delivered=%" PRIu64 "\n",
         r->st.writes, r->st.reads, r->st.forwarded, r->st.quorum_failures, r->st.read_repairs,
         r->st.hints_kept, r->st.hints_delivered);
  printf("  peer: msgs=%" PRIu64 " lost=%" PRIu64 " cut=%" PRIu64 " refused=%" PRIu64 " timeouts=%" PRIu64
         " codec_errors=%" PRIu64 " garbled=%" PRIu64 "; store: jobs=%" PRIu64 " dropped_by_crash=%" PRIu64
         " sabotaged=%" PRIu64 "; bring-up %.1fs\n",
         r->st.peer_msgs, r->st.peer_lost, r->st.peer_cut, r->st.peer_refused, r->st.peer_timeouts,
         r->st.peer_codec_errors, r->st.peer_garbled, r->st.store_jobs, r->st.store_dropped, r->sabotaged,
         (double)r->bringup_ms / 1000.0);
}
