/*
 * kv_faults.c - drawing and applying a run's faults (see kv_faults.h).
 *
 * Crash windows: each victim's share of the phase is cut into as many
 * slices as it crashes, and each crash and its restart fall inside one
 * slice, so a victim is never crashed twice at once and every restart
 * happens before the phase ends. A restarted node joins through the
 * running node with the lowest index.
 */
#include "kv_faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kv_node.h"
#include "kv_store.h"

#define MIN_DOWN_MS 2000
#define MIN_CUT_MS 3000

static void add(kv_faults_t *f, kv_fault_t x) {
  if (f->n < KV_FAULTS_MAX) f->v[f->n++] = x;
}

/* Crashes of one or two nodes of pool[0..np) (bits: may lose its disk). */
static void draw_crashes(rng_t *rng, uint64_t len, const uint32_t *pool, uint32_t np, bool wipes,
                         kv_faults_t *f) {
  uint32_t victims = np > 1 ? 1 + (uint32_t)rng_below(rng, 2) : 1;
  uint32_t first = (uint32_t)rng_below(rng, np);
  for (uint32_t v = 0; v < victims; v++) {
    uint32_t node = pool[v == 0 ? first : (first + 1 + (uint32_t)rng_below(rng, np - 1)) % np];
    uint32_t times = 1 + (uint32_t)rng_below(rng, 2);
    uint64_t slice = len / times;
    for (uint32_t t = 0; t < times; t++) {
      uint64_t down = MIN_DOWN_MS + rng_below(rng, slice / 3);
      uint64_t at = t * slice + rng_below(rng, slice - down - 1000);
      /* one crash in three loses the disk; never both victims' (two of a key's three copies) */
      bool wipe = wipes && v == 0 && rng_below(rng, 3) == 0;
      add(f, (kv_fault_t){.at = at, .kind = wipe ? KV_F_WIPE : KV_F_CRASH, .node = node});
      add(f, (kv_fault_t){.at = at + down, .kind = KV_F_RESTART, .node = node});
    }
  }
}

/* Node 4 joins, one node leaves, another dies and is removed (kv_faults.h);
 * the one of nodes 0-3 left over goes to *spare. */
static void draw_membership(rng_t *rng, uint64_t len, kv_faults_t *f, uint32_t *spare) {
  uint32_t leaver = (uint32_t)rng_below(rng, KV_JOINER);
  uint32_t removed = (leaver + 1 + (uint32_t)rng_below(rng, KV_JOINER - 1)) % KV_JOINER;
  uint32_t k = 0;
  for (uint32_t i = 0; i < KV_JOINER; i++)
    if (i != leaver && i != removed) spare[k++] = i;
  add(f, (kv_fault_t){.at = 2000 + rng_below(rng, len / 3), .kind = KV_F_JOIN, .node = KV_JOINER});
  add(f, (kv_fault_t){.at = len / 3 + rng_below(rng, len / 3), .kind = KV_F_LEAVE, .node = leaver});
  uint64_t dies = len / 4 + rng_below(rng, len / 4);
  add(f, (kv_fault_t){.at = dies, .kind = KV_F_CRASH, .node = removed});
  add(f, (kv_fault_t){.at = dies + 8000, .kind = KV_F_REMOVE, .node = removed});
}

void kv_faults_draw(rng_t *rng, uint64_t len_ms, bool membership, kv_faults_t *f) {
  memset(f, 0, sizeof *f);
  uint32_t pool[KV_NODES], np = KV_NODES;
  for (uint32_t i = 0; i < KV_NODES; i++)
    pool[i] = i;
  if (membership) {
    draw_membership(rng, len_ms, f, pool);
    np = 2;
  }
  draw_crashes(rng, len_ms, pool, np, !membership, f);
  uint64_t at = rng_below(rng, len_ms / 2);
  double loss = 0.01 + 0.04 * rng_unit(rng);
  add(f, (kv_fault_t){.at = at, .kind = KV_F_LOSS, .loss = loss});
  add(f, (kv_fault_t){.at = at + len_ms / 4 + rng_below(rng, len_ms / 4), .kind = KV_F_LOSS_END});
  uint32_t a = (uint32_t)rng_below(rng, KV_NODES);
  uint32_t side = 1u << a;
  if (rng_below(rng, 2)) side |= 1u << ((a + 1 + rng_below(rng, KV_NODES - 1)) % KV_NODES);
  at = rng_below(rng, len_ms / 2);
  add(f, (kv_fault_t){.at = at, .kind = KV_F_PARTITION, .side = side});
  add(f, (kv_fault_t){.at = at + MIN_CUT_MS + rng_below(rng, len_ms / 3), .kind = KV_F_HEAL});
  at = rng_below(rng, len_ms / 2);
  uint32_t garbler = (uint32_t)rng_below(rng, KV_NODES);
  add(f, (kv_fault_t){.at = at, .kind = KV_F_GARBLE, .node = garbler});
  add(f, (kv_fault_t){.at = at + len_ms / 4 + rng_below(rng, len_ms / 4), .kind = KV_F_GARBLE_END});
}

int kv_faults_schedule(kv_cluster_t *kc, kv_faults_t *f) {
  kc->faults = f;
  int rc = 0;
  for (size_t i = 0; i < f->n && !rc; i++)
    rc = kv_schedule(kc, kv_now(kc) + f->v[i].at, KV_EV_FAULT, 0, 0, 0, i, NULL, 0);
  return rc;
}

static int64_t join_through(const kv_cluster_t *kc, uint32_t node) {
  for (uint32_t i = 0; i < KV_NODES; i++)
    if (i != node && kc->nodes[i].up && !kc->nodes[i].gone) return i;
  return -1;
}

/* The fault again, a second later (a removal of a node not dead yet, a
 * leave its node refused for now). */
static int again(kv_cluster_t *kc, uint64_t id) {
  return kv_schedule(kc, kv_now(kc) + 1000, KV_EV_FAULT, 0, 0, 0, id, NULL, 0);
}

/* A leave refused for now (fewer than N members would remain until the
 * joiner is in) is asked again. */
static void left_or_not(coord_req_t *req) {
  kv_node_t *n = req->user;
  int err = req->result.err;
  coord_result_free(&req->result);
  if (getenv("KV_SIM_LOG")) fprintf(stderr, "leave of %s: %s\n", n->id, chorus_strerror(err));
  if (err && err != CHORUS_ESHUTDOWN) {
    int rc = again(n->kc, n->leave_fault);
    if (rc && !n->kc->fatal) n->kc->fatal = rc;
  }
}

int kv_faults_on_event(kv_cluster_t *kc, const kv_ev_t *p) {
  if (!kc->faults || p->id >= kc->faults->n) return CHORUS_EINVAL;
  const kv_fault_t *x = &kc->faults->v[p->id];
  switch (x->kind) {
  case KV_F_CRASH: kv_node_crash(kc, x->node); return kc->fatal;
  case KV_F_WIPE:
    kv_node_crash(kc, x->node);
    kv_store_wipe(kc->nodes[x->node].store, (uint32_t)rng_next(&kc->rng));
    buf_reset(&kc->nodes[x->node].xfer_state); /* the data dir's transfer state went with it */
    return kc->fatal;
  case KV_F_RESTART:
    if (kc->nodes[x->node].up || kc->nodes[x->node].gone) return 0;
    return kv_node_start(kc, x->node, join_through(kc, x->node));
  case KV_F_JOIN: {
    /* through a node on its side of any partition that is to stay (a node's only seed: a seed
     * that is cut off, or leaves or dies for good, would leave it knocking on a wall) */
    int64_t via = -1;
    for (uint32_t i = 0; i < KV_NODES && via < 0; i++) {
      bool stays = kc->nodes[i].up && !kc->nodes[i].gone && i != x->node;
      for (size_t k = 0; stays && k < kc->faults->n; k++)
        stays = !((kc->faults->v[k].kind == KV_F_LEAVE || kc->faults->v[k].kind == KV_F_REMOVE) &&
                  kc->faults->v[k].node == i);
      if (stays) via = i;
    }
    if (via < 0 || kc->sim->net.group[via] != kc->sim->net.group[x->node]) return again(kc, p->id);
    return kv_node_start(kc, x->node, via);
  }
  case KV_F_LEAVE: {
    kv_node_t *n = &kc->nodes[x->node];
    if (!n->up) return again(kc, p->id);
    memset(&n->leave_req, 0, sizeof n->leave_req);
    n->leave_req.kind = COORD_LEAVE;
    n->leave_req.done = left_or_not;
    n->leave_req.user = n;
    n->leave_fault = p->id;
    return coord_submit(n->coord, &n->leave_req);
  }
  case KV_F_REMOVE: {
    /* as an operator who checks: removed on every running member that still has it dead (the LEFT
     * spreads by gossip, but a member cut off or down when it did can miss it), until all show it left */
    bool everywhere = true;
    for (uint32_t i = 0; i < KV_NODES; i++) {
      swim_member_t m;
      if (i == x->node || !kc->nodes[i].up || kc->nodes[i].gone || !kc->sim->cores[i] ||
          !swim_find(kc->sim->cores[i], kc->nodes[x->node].id, &m) || m.status == SWIM_LEFT)
        continue;
      int rc = sim_cluster_remove(kc->sim, i, kc->nodes[x->node].id);
      if (rc == CHORUS_EINVAL)
        everywhere = false; /* not dead there yet */
      else if (rc && rc != CHORUS_ENOTFOUND)
        return rc;
      else
        kc->nodes[x->node].gone = true;
    }
    return everywhere ? 0 : again(kc, p->id);
  }
  case KV_F_LOSS: sim_cluster_set_loss(kc->sim, x->loss); return 0;
  case KV_F_LOSS_END: sim_cluster_set_loss(kc->sim, 0); return 0;
  case KV_F_PARTITION:
    for (uint32_t i = 0; i < KV_NODES; i++)
      sim_cluster_set_group(kc->sim, i, (x->side >> i) & 1u);
    return 0;
  case KV_F_HEAL:
    for (uint32_t i = 0; i < KV_NODES; i++)
      sim_cluster_set_group(kc->sim, i, 0);
    return 0;
  case KV_F_GARBLE: kc->garbler = x->node; return 0;
  case KV_F_GARBLE_END: kc->garbler = -1; return 0;
  }
  return CHORUS_EINVAL;
}

void kv_faults_describe(const kv_faults_t *f, char *out, size_t cap) {
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < f->n && len < cap; i++) {
    const kv_fault_t *x = &f->v[i];
    double s = (double)x->at / 1000.0;
    int k = 0;
    switch (x->kind) {
    case KV_F_CRASH:
    case KV_F_WIPE:
      k = snprintf(out + len, cap - len, "%s%s:%u@%.1fs", len ? " " : "",
                   x->kind == KV_F_WIPE ? "wipe" : "crash", x->node, s);
      break;
    case KV_F_RESTART: k = snprintf(out + len, cap - len, "-%.1fs", s); break;
    case KV_F_LOSS: k = snprintf(out + len, cap - len, " loss:%.1f%%@%.1fs", x->loss * 100, s); break;
    case KV_F_LOSS_END: k = snprintf(out + len, cap - len, "-%.1fs", s); break;
    case KV_F_PARTITION: k = snprintf(out + len, cap - len, " cut:0x%x@%.1fs", x->side, s); break;
    case KV_F_HEAL: k = snprintf(out + len, cap - len, "-%.1fs", s); break;
    case KV_F_GARBLE: k = snprintf(out + len, cap - len, " garble:%u@%.1fs", x->node, s); break;
    case KV_F_GARBLE_END: k = snprintf(out + len, cap - len, "-%.1fs", s); break;
    case KV_F_JOIN: k = snprintf(out + len, cap - len, " join:%u@%.1fs", x->node, s); break;
    case KV_F_LEAVE: k = snprintf(out + len, cap - len, " leave:%u@%.1fs", x->node, s); break;
    case KV_F_REMOVE: k = snprintf(out + len, cap - len, " remove:%u@%.1fs", x->node, s); break;
    }
    if (k < 0) break;
    len += (size_t)k;
  }
}
