/*
 * kv_cluster.c - the key-value cluster's frame (see kv_cluster.h): the
 * underlying SWIM simulation, the configuration every node shares, the
 * event payloads and their routing, and the id tables.
 *
 * Configuration: config_defaults (chorusd's defaults: N = 3, R = W = 2,
 * --request-timeout and the rest), with fewer ring tokens (vnodes) so a
 * view is cheap to rebuild; the coordinator reads nothing else of it.
 */
#include "kv_cluster.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kv_node.h"
#include "sim_grow.h"
#include "sim_hash.h"

#define KV_VNODES 32
/* Simulated time, longer than any fault of a run (so a hint outlives its
 * owner's absence: a hint that expired while the only other copy's disk was
 * lost would lose the write, as it would with a real --hint-ttl) and short
 * enough that the chaos phase's tombstones are collected in the quiet one. */
#define KV_HINT_TTL_MS 60000
#define KV_TOMBSTONE_GRACE_MS 60000
#define SEED_STREAM_KV 0x6b76ull /* keeps the key-value generator apart from the cluster's */

uint64_t kv_now(const kv_cluster_t *kc) {
  return kc->sim->now;
}

int kv_schedule(kv_cluster_t *kc, uint64_t at, kv_ev_type_t type, uint32_t node, uint32_t peer,
                uint32_t epoch, uint64_t id, const void *bytes, size_t len) {
  kv_ev_t *p = malloc(sizeof *p + len);
  if (!p) return CHORUS_ENOMEM;
  p->epoch = epoch;
  p->id = id;
  p->len = len;
  if (len) memcpy(p->bytes, bytes, len);
  return sim_cluster_schedule_ext(kc->sim, at, node, peer, (uint64_t)type, (uint8_t *)p, sizeof *p + len);
}

static int dispatch(kv_cluster_t *kc, kv_ev_type_t type, const sim_event_t *ev, const kv_ev_t *p);

static int on_ext(void *state, const sim_event_t *ev) {
  kv_cluster_t *kc = state;
  const kv_ev_t *p = (const kv_ev_t *)ev->data;
  kv_ev_type_t type = (kv_ev_type_t)ev->gen;
  uint64_t h = sim_hash_u64(kc->sim->hash, ev->at);
  h = sim_hash_u64(h, ((uint64_t)type << 48) | ((uint64_t)ev->node << 24) | ev->peer);
  h = sim_hash_u64(h, p->id);
  kc->sim->hash = sim_hash_bytes(h, p->bytes, p->len);
  kc->st.events++;
  if (kc->sim->steps > kc->max_steps) return CHORUS_ETOOBIG;
  int rc = dispatch(kc, type, ev, p);
  return rc ? rc : kc->fatal;
}

static int dispatch(kv_cluster_t *kc, kv_ev_type_t type, const sim_event_t *ev, const kv_ev_t *p) {
  switch (type) {
  case KV_EV_DRAIN:
  case KV_EV_TICK:
  case KV_EV_JOB:
  case KV_EV_WORK:
  case KV_EV_STOP: return kv_node_on_event(kc, type, ev, p);
  case KV_EV_PEER_REQ:
  case KV_EV_PEER_REPLY:
  case KV_EV_PEER_REFUSED:
  case KV_EV_PEER_TIMEOUT: return kv_peer_on_event(kc, type, ev, p);
  case KV_EV_CLIENT: return kv_client_on_event(kc, ev);
  case KV_EV_FAULT: return kv_faults_on_event(kc, p);
  }
  return CHORUS_EINVAL;
}

static void on_members(void *state, uint32_t node) {
  kv_node_publish(state, node);
}

int kv_cluster_create(const kv_cluster_opts_t *o, kv_cluster_t **out) {
  kv_cluster_t *kc = calloc(1, sizeof *kc);
  if (!kc) return CHORUS_ENOMEM;
  config_defaults(&kc->cfg);
  kc->cfg.vnodes = KV_VNODES;
  /* short, so hints expire and tombstones are collected within a run */
  kc->cfg.hint_ttl_ms = KV_HINT_TTL_MS;
  kc->cfg.tombstone_grace_ms = KV_TOMBSTONE_GRACE_MS;
  kc->max_steps = UINT64_MAX;
  rng_seed(&kc->rng, o->seed ^ SEED_STREAM_KV);
  rng_seed(&kc->garble_rng, o->seed ^ SEED_STREAM_KV ^ 0x6a7b1e00u);
  kc->garbler = -1;
  sim_cluster_config_t sc;
  memset(&sc, 0, sizeof sc);
  sc.capacity = KV_NODES;
  sc.seed = o->seed;
  swim_config_default(&sc.swim);
  sc.net = (sim_net_config_t){.delay_ms = o->delay_ms, .jitter_ms = o->jitter_ms, .loss = 0};
  int rc = sim_cluster_create(&sc, &kc->sim);
  for (uint32_t i = 0; i < KV_NODES && !rc; i++)
    rc = kv_node_init(kc, i, o->sabotage, rng_next(&kc->rng));
  if (rc) {
    kv_cluster_destroy(kc);
    return rc;
  }
  sim_layer_t layer = {.ext = on_ext, .members = on_members, .state = kc};
  sim_cluster_set_layer(kc->sim, &layer);
  *out = kc;
  return 0;
}

void kv_cluster_destroy(kv_cluster_t *kc) {
  if (!kc) return;
  for (uint32_t i = 0; i < KV_NODES; i++)
    kv_node_fini(kc, i);
  kv_table_free(&kc->calls);
  kv_table_free(&kc->works);
  sim_cluster_destroy(kc->sim);
  free(kc);
}

int kv_table_add(kv_table_t *t, void *p, uint64_t *id) {
  void *v = t->v;
  int rc = sim_grow(&v, &t->cap, t->n, sizeof *t->v, 1024);
  t->v = v;
  if (rc) return rc;
  t->v[t->n++] = p;
  *id = t->n;
  return 0;
}

void *kv_table_take(kv_table_t *t, uint64_t id) {
  if (id == 0 || id > t->n) return NULL;
  void *p = t->v[id - 1];
  t->v[id - 1] = NULL;
  return p;
}

void kv_table_free(kv_table_t *t) {
  free(t->v);
  memset(t, 0, sizeof *t);
}
