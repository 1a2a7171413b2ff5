/*
 * sim_view.c - incremental aggregate of the cluster's views (see sim_view.h).
 *
 * Events about the observer itself are ignored: a node's view of itself is
 * not part of "every node knows every other". A status outside 1..4 in an
 * event is counted as unknown instead of indexing out of bounds.
 */
#include "sim_view.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sim_addr.h"

static bool status_ok(swim_status_t st) {
  return st >= SWIM_ALIVE && st <= SWIM_LEFT;
}

static void add(sim_view_t *v, uint32_t s, swim_status_t st) {
  v->seen[s][st]++;
  if (st == SWIM_ALIVE && v->up[s]) v->alive_pairs++;
}

static void sub(sim_view_t *v, uint32_t s, swim_status_t st) {
  if (v->seen[s][st] == 0) {
    v->inconsistent++;
    return;
  }
  v->seen[s][st]--;
  if (st == SWIM_ALIVE && v->up[s]) v->alive_pairs--;
}

/* The node index of a member id, or -1 (counted) for a stranger. */
static int64_t subject(sim_view_t *v, const char *id, swim_status_t st) {
  int64_t s = sim_id_index(id);
  if (s < 0 || (uint64_t)s >= v->n || !status_ok(st)) {
    v->unknown++;
    return -1;
  }
  return s;
}

int sim_view_init(sim_view_t *v, uint32_t n) {
  memset(v, 0, sizeof(*v));
  v->seen = calloc(n ? n : 1, sizeof(*v->seen));
  v->up = calloc(n ? n : 1, 1);
  v->departed = calloc(n ? n : 1, 1);
  if (!v->seen || !v->up || !v->departed) {
    sim_view_free(v);
    return CHORUS_ENOMEM;
  }
  v->n = n;
  v->watch = -1;
  v->watch_suspect_at = v->watch_dead_at = SIM_NEVER;
  return 0;
}

void sim_view_free(sim_view_t *v) {
  free(v->seen);
  free(v->up);
  free(v->departed);
  v->seen = NULL;
  v->up = v->departed = NULL;
}

void sim_view_node_up(sim_view_t *v, uint32_t i) {
  if (v->up[i]) return;
  v->up[i] = 1;
  v->n_up++;
  v->alive_pairs += v->seen[i][SWIM_ALIVE];
}

void sim_view_node_down(sim_view_t *v, uint32_t i, const swim_t *core) {
  if (!v->up[i]) return;
  v->alive_pairs -= v->seen[i][SWIM_ALIVE];
  v->up[i] = 0;
  v->n_up--;
  size_t n = swim_member_count(core);
  swim_member_t m;
  for (size_t k = 0; k < n; k++) {
    swim_member_at(core, k, &m);
    int64_t s = subject(v, m.id, m.status);
    if (s >= 0 && (uint32_t)s != i) sub(v, (uint32_t)s, m.status);
  }
}

void sim_view_apply(sim_view_t *v, uint32_t o, const swim_event_t *ev, uint64_t now) {
  if (ev->type != SWIM_EV_MEMBER && ev->type != SWIM_EV_REMOVED) return;
  int64_t si = subject(v, ev->member.id, ev->member.status);
  if (si < 0 || (uint32_t)si == o) return;
  uint32_t s = (uint32_t)si;
  swim_status_t st = ev->member.status;
  if (ev->type == SWIM_EV_REMOVED) {
    sub(v, s, st);
    return;
  }
  swim_status_t old = ev->old_status;
  if (old == st) return;
  if (old != 0 && !status_ok(old)) {
    v->unknown++;
    return;
  }
  if (old != 0) sub(v, s, old);
  add(v, s, st);
  bool gone = st == SWIM_DEAD || st == SWIM_LEFT;
  if (gone && v->up[s] && !v->departed[s]) v->false_dead++;
  if (st == SWIM_SUSPECT && v->up[s]) v->false_suspect++;
  if ((int64_t)s == v->watch) {
    if (st == SWIM_SUSPECT && v->watch_suspect_at == SIM_NEVER) v->watch_suspect_at = now;
    if (gone && v->watch_dead_at == SIM_NEVER) v->watch_dead_at = now;
  }
}

void sim_view_watch(sim_view_t *v, int64_t node) {
  v->watch = node;
  v->watch_suspect_at = v->watch_dead_at = SIM_NEVER;
}

bool sim_view_converged(const sim_view_t *v) {
  return v->alive_pairs == (uint64_t)v->n_up * (v->n_up ? v->n_up - 1 : 0);
}

uint32_t sim_view_seen(const sim_view_t *v, uint32_t s, swim_status_t st) {
  return v->seen[s][st];
}

int64_t sim_view_audit(const sim_view_t *v, swim_t *const *cores) {
  uint32_t(*count)[SIM_STATUS_SLOTS] = calloc(v->n ? v->n : 1, sizeof(*count));
  if (!count) return CHORUS_ENOMEM;
  for (uint32_t o = 0; o < v->n; o++) {
    if (!v->up[o]) continue;
    size_t n = swim_member_count(cores[o]);
    swim_member_t m;
    for (size_t k = 0; k < n; k++) {
      swim_member_at(cores[o], k, &m);
      int64_t s = sim_id_index(m.id);
      if (s >= 0 && (uint64_t)s < v->n && (uint32_t)s != o && status_ok(m.status)) count[s][m.status]++;
    }
  }
  int64_t bad = 0;
  uint64_t alive = 0;
  for (uint32_t s = 0; s < v->n; s++) {
    if (v->up[s]) alive += count[s][SWIM_ALIVE];
    for (int st = SWIM_ALIVE; st <= SWIM_LEFT; st++)
      bad += count[s][st] != v->seen[s][st];
  }
  bad += alive != v->alive_pairs;
  free(count);
  return bad;
}
