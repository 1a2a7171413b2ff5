/*
 * loop.c - the node's libuv loop, its signal handling and the measure of
 * its stalls (see loop.h and common/loop_stats.h).
 *
 * Stalls are measured without a timer of their own: libuv counts the time
 * the loop sleeps in poll (UV_METRICS_IDLE_TIME), and a prepare handle,
 * which runs once per iteration just before the poll, takes the wall time
 * of the iteration that just ended minus the sleep in it. Cost: two clock
 * reads and a few atomic stores per iteration.
 */
#include "loop.h"

#include <signal.h>
#include <stdlib.h>

#include "../common/err.h"

struct loop {
  uv_loop_t uv;
  uv_signal_t sigint, sigterm, sighup;
  uv_prepare_t prepare;
  uint64_t last_ns, last_idle_ns; /* at the previous prepare */
  loop_stats_t stats;
  loop_signal_fn on_signal;
  void *state;
};

static void on_signal(uv_signal_t *s, int signum) {
  loop_t *l = s->data;
  if (l->on_signal) l->on_signal(l, signum, l->state);
}

static void on_prepare(uv_prepare_t *p) {
  loop_t *l = p->data;
  uint64_t now = uv_hrtime(), idle = uv_metrics_idle_time(&l->uv);
  uint64_t span = now - l->last_ns, slept = idle - l->last_idle_ns;
  uint64_t busy = span > slept ? span - slept : 0;
  l->last_ns = now;
  l->last_idle_ns = idle;
  atomic_fetch_add_explicit(&l->stats.iterations, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&l->stats.busy_ns, busy, memory_order_relaxed);
  if (busy >= LOOP_STALL_SLOW_NS) atomic_fetch_add_explicit(&l->stats.slow_stalls, 1, memory_order_relaxed);
  if (busy > atomic_load_explicit(&l->stats.stall_max_ns, memory_order_relaxed))
    atomic_store_explicit(&l->stats.stall_max_ns, busy, memory_order_relaxed);
}

int loop_create(loop_t **out, loop_signal_fn sig, void *state) {
  loop_t *l = calloc(1, sizeof *l);
  if (!l) return CHORUS_ENOMEM;
  if (uv_loop_init(&l->uv) != 0) {
    free(l);
    return CHORUS_EIO;
  }
  uv_loop_configure(&l->uv, UV_METRICS_IDLE_TIME);
  l->on_signal = sig;
  l->state = state;
  uv_signal_init(&l->uv, &l->sigint);
  uv_signal_init(&l->uv, &l->sigterm);
  uv_signal_init(&l->uv, &l->sighup);
  l->sigint.data = l->sigterm.data = l->sighup.data = l;
  uv_signal_start(&l->sigint, on_signal, SIGINT);
  uv_signal_start(&l->sigterm, on_signal, SIGTERM);
  uv_signal_start(&l->sighup, on_signal, SIGHUP);
  uv_prepare_init(&l->uv, &l->prepare);
  l->prepare.data = l;
  l->last_ns = uv_hrtime();
  uv_prepare_start(&l->prepare, on_prepare);
  uv_unref((uv_handle_t *)&l->prepare); /* it alone does not keep the loop running */
  *out = l;
  return 0;
}

uv_loop_t *loop_uv(loop_t *l) {
  return &l->uv;
}

const loop_stats_t *loop_stats(const loop_t *l) {
  return &l->stats;
}

int loop_run(loop_t *l) {
  return uv_run(&l->uv, UV_RUN_DEFAULT) < 0 ? CHORUS_EIO : 0;
}

void loop_stop(loop_t *l) {
  uv_stop(&l->uv);
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void loop_destroy(loop_t *l) {
  if (!l) return;
  uv_walk(&l->uv, close_walk, NULL);
  uv_run(&l->uv, UV_RUN_DEFAULT); /* let the close callbacks run */
  uv_loop_close(&l->uv);
  free(l);
}
