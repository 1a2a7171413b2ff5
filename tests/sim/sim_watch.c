/*
 * sim_watch.c - progress lines and the memory guard (see sim_watch.h).
 *
 * The memory is sampled once per simulated second at most: reading
 * /proc/self/statm costs a system call, and a second of a large cluster
 * allocates far less than the margin the default limit leaves.
 */
#include "sim_watch.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

#define CHECK_EVERY_MS 1000

double sim_wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t sim_rss_mb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  if (n != 2) return 0;
  return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) >> 20;
}

uint64_t sim_default_rss_limit_mb(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return 0;
  return ((uint64_t)pages * (uint64_t)size >> 20) / 4 * 3;
}

void sim_watch_init(sim_watch_t *w, uint64_t progress_ms, uint64_t max_rss_mb, uint64_t now_ms) {
  w->progress_ms = progress_ms;
  w->max_rss_mb = max_rss_mb;
  w->next_progress_at = progress_ms ? now_ms + progress_ms : UINT64_MAX;
  w->next_check_at = now_ms + CHECK_EVERY_MS;
  w->wall0 = w->wall_last = sim_wall_s();
  w->sim_last = now_ms;
}

static void progress(sim_watch_t *w, const sim_watch_point_t *p, uint64_t rss) {
  double wall = sim_wall_s();
  double sim_s = (double)(p->now_ms - w->sim_last) / 1000.0;
  uint64_t pairs = (uint64_t)p->n_up * (p->n_up ? p->n_up - 1 : 0);
  fprintf(stderr,
          "progress t=%.1fs up=%u one_view=%.2f%% steps=%" PRIu64 " rss_mb=%" PRIu64
          " wall_s=%.1f wall_per_sim_s=%.2f\n",
          (double)(p->now_ms - p->t0_ms) / 1000.0, p->n_up,
          pairs ? 100.0 * (double)p->alive_pairs / (double)pairs : 100.0, p->steps, rss, wall - w->wall0,
          sim_s > 0 ? (wall - w->wall_last) / sim_s : 0.0);
  w->wall_last = wall;
  w->sim_last = p->now_ms;
}

int sim_watch_check(sim_watch_t *w, const sim_watch_point_t *p) {
  w->next_check_at = p->now_ms + CHECK_EVERY_MS;
  uint64_t rss = w->max_rss_mb || p->now_ms >= w->next_progress_at ? sim_rss_mb() : 0;
  if (p->now_ms >= w->next_progress_at) {
    w->next_progress_at = p->now_ms + w->progress_ms;
    progress(w, p, rss);
  }
  if (w->max_rss_mb && rss > w->max_rss_mb) {
    fprintf(stderr, "stopped: %" PRIu64 " MB resident > limit %" PRIu64 " MB at t=%.1fs with %u nodes up\n",
            rss, w->max_rss_mb, (double)(p->now_ms - p->t0_ms) / 1000.0, p->n_up);
    return CHORUS_ETOOBIG;
  }
  return 0;
}
