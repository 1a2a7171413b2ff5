/*
 * kv_node.c - a simulated node's life and the non-network half of its
 * coordinator's env (see kv_node.h).
 *
 * The store applies jobs one at a time in submission order, each 1-3 ms
 * after it was queued but never before the job queued ahead of it (the
 * writer thread's order), then calls the job's engine_hook_t like the
 * engine does. Worker-pool items run 1 ms after they were queued (run,
 * then after, on the one simulated thread). Wake-ups coalesce into one
 * drain event at the current ms; ticks follow what coord_tick asks for,
 * and fast_ticks pulls the next one in to COORD_TICK_MS.
 *
 * A crash: the coordinator owns its jobs, so the store hands the queued
 * ones back unapplied (CHORUS_ESHUTDOWN) and coord_drain frees them; its
 * calls fail and its worker items are cancelled the same way. Failing one
 * thing may start another (a read's repair job, a hint job), which is
 * queued, never refused at once: the coordinator does not survive a
 * submit or a request that fails inside the call that made it while it
 * is finishing a reply (coord_client.c: a read reply's repair frees the
 * op under its caller - seed 389 showed it). So the teardown fails what
 * is queued, drains, and repeats until nothing is left, then frees the
 * coordinator; only then do submits fail at once.
 */
#include "kv_node.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kv_client.h"
#include "kv_peer.h"
#include "sim_addr.h"

#define STORE_LATENCY_MS 1 /* plus 0..2 */
#define WORK_LATENCY_MS 1
#define TEARDOWN_ROUNDS_MAX 64
#define LEAVE_LINGER_MS 2000

struct kv_job {
  kv_job_t *next;
  engine_job_t *job;
  uint64_t id;
};

typedef struct {
  uint32_t node;
  void (*run)(void *arg);
  void (*after)(void *arg, int status);
  void *arg;
} kv_work_t;

static void fatal(kv_cluster_t *kc, int rc) {
  if (rc && !kc->fatal) kc->fatal = rc;
}

static int schedule_node(kv_node_t *n, uint64_t at, kv_ev_type_t type, uint64_t id) {
  return kv_schedule(n->kc, at, type, n->idx, n->idx, n->epoch, id, NULL, 0);
}

/* ---- the env ---- */

static uint64_t env_now(void *state) {
  return kv_now(((kv_node_t *)state)->kc);
}

/* While the node goes down, a job is queued without an event: the
 * teardown hands it back (kv_node_crash). */
static int env_submit(void *state, engine_job_t *job) {
  kv_node_t *n = state;
  if (!n->coord) return CHORUS_ESHUTDOWN;
  kv_job_t *q = malloc(sizeof *q);
  if (!q) return CHORUS_ENOMEM;
  uint64_t at = kv_now(n->kc) + STORE_LATENCY_MS + rng_below(&n->kc->rng, 3);
  if (at < n->last_job_at) at = n->last_job_at;
  *q = (kv_job_t){.job = job, .id = ++n->job_seq};
  int rc = n->up ? schedule_node(n, at, KV_EV_JOB, q->id) : 0;
  if (rc) {
    free(q);
    return rc;
  }
  n->last_job_at = at;
  if (n->jobs_tail)
    n->jobs_tail->next = q;
  else
    n->jobs = q;
  n->jobs_tail = q;
  return 0;
}

static int env_clock(void *state, vv_t *out) {
  return kv_store_clock(((kv_node_t *)state)->store, out);
}

static int env_hints(void *state, const char *owner, size_t limit, engine_hint_t **out, size_t *n) {
  return kv_store_hints(((kv_node_t *)state)->store, owner, limit, out, n);
}

static int env_hint_counts(void *state, engine_hint_count_t **out, size_t *n) {
  return kv_store_hint_counts(((kv_node_t *)state)->store, out, n);
}

static void env_tree_info(void *state, engine_tree_info_t *out) {
  kv_store_tree_info(((kv_node_t *)state)->store, out);
}

static int env_tree_hashes(void *state, const merkle_range_t *r, size_t nr, unsigned level,
                           const uint64_t *idx, size_t n, uint64_t *out) {
  return kv_store_tree_hashes(((kv_node_t *)state)->store, r, nr, level, idx, n, out);
}

static int env_tree_keys(void *state, const merkle_range_t *r, size_t nr, const uint32_t *segs, size_t n,
                         buf_t *out) {
  return kv_store_tree_keys(((kv_node_t *)state)->store, r, nr, segs, n, out);
}

static int env_record_read(void *state, const char *key, size_t key_len, dvv_t *out) {
  return kv_store_record_read(((kv_node_t *)state)->store, key, key_len, out);
}

static int env_tombstones(void *state, uint64_t before_ms, size_t limit, engine_tombstone_t **out,
                          size_t *n) {
  return kv_store_tombstones(((kv_node_t *)state)->store, before_ms, limit, out, n);
}

static int env_records_in(void *state, const merkle_range_t *r, size_t nr, const engine_cursor_t *from,
                          engine_range_fn fn, void *arg) {
  return kv_store_records_in(((kv_node_t *)state)->store, r, nr, from, fn, arg);
}

static int env_xfer_save(void *state, const uint8_t *p, size_t len) {
  kv_node_t *n = state;
  buf_reset(&n->xfer_state);
  buf_put(&n->xfer_state, p, len);
  return n->xfer_state.err;
}

static int env_xfer_load(void *state, buf_t *out) {
  kv_node_t *n = state;
  if (!n->xfer_state.len) return CHORUS_ENOTFOUND;
  buf_put(out, n->xfer_state.data, n->xfer_state.len);
  return out->err;
}

static void env_set_phase(void *state, swim_phase_t phase) {
  kv_node_t *n = state;
  fatal(n->kc, sim_cluster_set_phase(n->kc->sim, n->idx, phase));
}

/* The leave is done: LEFT is announced, and the node stops once it had
 * time to spread (LEAVE_LINGER_MS, as chorusd). */
static void env_leave(void *state) {
  kv_node_t *n = state;
  n->gone = true;
  fatal(n->kc, sim_cluster_leave(n->kc->sim, n->idx));
  fatal(n->kc, schedule_node(n, kv_now(n->kc) + LEAVE_LINGER_MS, KV_EV_STOP, 0));
}

static bool env_joined(void *state) {
  kv_node_t *n = state;
  return sim_cluster_joined(n->kc->sim, n->idx);
}

static int env_work(void *state, void (*run)(void *arg), void (*after)(void *arg, int status), void *arg) {
  kv_node_t *n = state;
  if (!n->coord) return CHORUS_ESHUTDOWN;
  kv_work_t *w = malloc(sizeof *w);
  if (!w) return CHORUS_ENOMEM;
  *w = (kv_work_t){.node = n->idx, .run = run, .after = after, .arg = arg};
  uint64_t id;
  int rc = kv_table_add(&n->kc->works, w, &id);
  if (!rc && n->up) rc = schedule_node(n, kv_now(n->kc) + WORK_LATENCY_MS, KV_EV_WORK, id);
  if (rc) {
    kv_table_take(&n->kc->works, id);
    free(w);
  }
  return rc;
}

static void env_wake(void *state) {
  kv_node_t *n = state;
  if (!n->up || n->drain_due) return;
  n->drain_due = true;
  fatal(n->kc, schedule_node(n, kv_now(n->kc), KV_EV_DRAIN, 0));
}

static void schedule_tick(kv_node_t *n, uint64_t at) {
  n->tick_at = at;
  fatal(n->kc, schedule_node(n, at, KV_EV_TICK, ++n->tick_gen));
}

static void env_fast_ticks(void *state) {
  kv_node_t *n = state;
  uint64_t soon = kv_now(n->kc) + COORD_TICK_MS;
  if (n->up && n->tick_at > soon) schedule_tick(n, soon);
}

/* ---- events ---- */

static void apply_job(kv_node_t *n, uint64_t id) {
  kv_job_t *q = n->jobs;
  if (!q || q->id != id) return; /* queued in an earlier life */
  n->jobs = q->next;
  if (!n->jobs) n->jobs_tail = NULL;
  kv_store_apply(n->store, q->job, kv_now(n->kc));
  n->kc->st.store_jobs++;
  engine_job_t *job = q->job;
  free(q);
  ((engine_hook_t *)job->user)->done(job);
}

static void run_work(kv_cluster_t *kc, uint64_t id) {
  kv_work_t *w = kv_table_take(&kc->works, id);
  if (!w) return; /* cancelled by a crash */
  w->run(w->arg);
  w->after(w->arg, 0);
  free(w);
}

int kv_node_on_event(kv_cluster_t *kc, kv_ev_type_t type, const sim_event_t *ev, const kv_ev_t *p) {
  kv_node_t *n = &kc->nodes[ev->node];
  if (!n->up || p->epoch != n->epoch) return 0;
  switch (type) {
  case KV_EV_DRAIN:
    n->drain_due = false;
    coord_drain(n->coord);
    break;
  case KV_EV_TICK:
    if (p->id == n->tick_gen) schedule_tick(n, kv_now(kc) + coord_tick(n->coord, kv_now(kc)));
    break;
  case KV_EV_JOB: apply_job(n, p->id); break;
  case KV_EV_WORK: run_work(kc, p->id); break;
  case KV_EV_STOP: kv_node_crash(kc, ev->node); break;
  default: return CHORUS_EINVAL;
  }
  return 0;
}

/* ---- life ---- */

int kv_node_init(kv_cluster_t *kc, uint32_t i, double sabotage, uint64_t store_seed) {
  kv_node_t *n = &kc->nodes[i];
  n->kc = kc;
  n->idx = i;
  sim_node_id(i, false, n->id);
  sim_node_addr(i, false, &n->addr);
  n->tick_at = SIM_NEVER;
  buf_init(&n->xfer_state);
  int rc = kv_store_create(n->id, sabotage, store_seed, &n->store);
  if (!rc) kv_store_set_hint_ttl(n->store, kc->cfg.hint_ttl_ms);
  return rc;
}

void kv_node_fini(kv_cluster_t *kc, uint32_t i) {
  kv_node_t *n = &kc->nodes[i];
  if (n->up) kv_node_crash(kc, i);
  kv_store_destroy(n->store);
  n->store = NULL;
  buf_free(&n->xfer_state);
}

void kv_node_publish(kv_cluster_t *kc, uint32_t i) {
  kv_node_t *n = &kc->nodes[i];
  const swim_t *core = kc->sim->cores[i];
  if (!n->up || !n->view || !core) return;
  size_t cnt = swim_member_count(core);
  swim_member_t *m = malloc((cnt ? cnt : 1) * sizeof *m);
  if (!m) {
    fatal(kc, CHORUS_ENOMEM);
    return;
  }
  size_t k = 0;
  while (k < cnt && swim_member_at(core, k, &m[k]))
    k++;
  fatal(kc, view_holder_publish(n->view, m, k));
  free(m);
}

int kv_node_start(kv_cluster_t *kc, uint32_t i, int64_t seed) {
  kv_node_t *n = &kc->nodes[i];
  if (n->up) return CHORUS_EINVAL;
  int rc =
      view_holder_create(n->id, &n->addr, (uint32_t)kc->cfg.vnodes, (uint32_t)kc->cfg.replicas, &n->view);
  if (rc) return rc;
  coord_env_t env = {.state = n,
                     .now_ms = env_now,
                     .wall_ms = env_now, /* the stores' timestamps are simulated time too */
                     .submit = env_submit,
                     .clock = env_clock,
                     .hints = env_hints,
                     .hint_counts = env_hint_counts,
                     .work = env_work,
                     .wake = env_wake,
                     .fast_ticks = env_fast_ticks,
                     .tree_info = env_tree_info,
                     .tree_hashes = env_tree_hashes,
                     .tree_keys = env_tree_keys,
                     .record_read = env_record_read,
                     .tombstones = env_tombstones,
                     .joined = env_joined,
                     .records_in = env_records_in,
                     .xfer_save = env_xfer_save,
                     .xfer_load = env_xfer_load,
                     .set_phase = env_set_phase,
                     .leave = env_leave};
  kv_peer_env(&env);
  /* a store that holds nothing, joining through a seed: a new node, or one that lost its disk (chorusd's
   * rule) */
  bool fresh = seed >= 0 && kv_store_empty(n->store);
  coord_opts_t co = {.cfg = &kc->cfg, .node_id = n->id, .view = n->view, .fresh = fresh};
  rc = coord_create(&env, &co, &n->coord);
  if (rc) {
    view_holder_destroy(n->view);
    n->view = NULL;
    return rc;
  }
  n->epoch++;
  n->up = true;
  n->started = true;
  n->drain_due = false;
  n->last_job_at = 0;
  sim_cluster_set_phase(kc->sim, i, coord_phase(n->coord)); /* what its start announces */
  rc = sim_cluster_start(kc->sim, i, seed);
  schedule_tick(n, kv_now(kc) + COORD_TICK_MS);
  return rc ? rc : kc->fatal;
}

/* Hands the queued store jobs back unapplied: the crash lost them. */
static size_t drop_jobs(kv_node_t *n) {
  size_t k = 0;
  for (; n->jobs; k++) {
    kv_job_t *q = n->jobs;
    n->jobs = q->next;
    engine_job_t *job = q->job;
    free(q);
    job->err = CHORUS_ESHUTDOWN;
    n->kc->st.store_dropped++;
    ((engine_hook_t *)job->user)->done(job);
  }
  n->jobs_tail = NULL;
  return k;
}

static size_t cancel_work(kv_cluster_t *kc, uint32_t i) {
  size_t n = 0;
  for (size_t k = 0; k < kc->works.n; k++) {
    kv_work_t *w = kc->works.v[k];
    if (!w || w->node != i) continue;
    kc->works.v[k] = NULL;
    w->after(w->arg, CHORUS_ESHUTDOWN);
    free(w);
    n++;
  }
  return n;
}

static void add_coord_stats(kv_stats_t *st, const coord_stats_t *cs) {
  st->writes += atomic_load(&cs->writes);
  st->reads += atomic_load(&cs->reads);
  st->forwarded += atomic_load(&cs->forwarded);
  st->quorum_failures += atomic_load(&cs->quorum_failures);
  st->read_repairs += atomic_load(&cs->read_repairs);
  st->hints_kept += atomic_load(&cs->hints_kept);
  st->hints_delivered += atomic_load(&cs->hints_delivered);
}

void kv_node_crash(kv_cluster_t *kc, uint32_t i) {
  kv_node_t *n = &kc->nodes[i];
  if (!n->up) return;
  sim_cluster_crash(kc->sim, i);
  n->up = false;
  n->epoch++;
  n->crashes++;
  coord_shutdown(n->coord);
  /* What fails may start more (a read's repair, a hint job): round after
   * round until nothing is left, never failing anything inside the call
   * that starts it (TEARDOWN_ROUNDS_MAX: the coordinator does not stop). */
  size_t round = 0, left;
  do {
    left = kv_peer_fail_calls(kc, i) + cancel_work(kc, i) + drop_jobs(n);
    coord_drain(n->coord);
  } while (left && ++round < TEARDOWN_ROUNDS_MAX);
  if (left) fatal(kc, CHORUS_EBUSY);
  add_coord_stats(&kc->st,
                  coord_stats(n->coord)); /* what the drain below finishes failed: it counts nothing */
  coord_free(n->coord);
  n->coord = NULL;
  view_holder_destroy(n->view);
  n->view = NULL;
  n->tick_at = SIM_NEVER;
}
