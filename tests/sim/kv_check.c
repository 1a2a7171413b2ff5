/*
 * kv_check.c - the checker (see kv_check.h).
 *
 * Per key: mark the writes F(k) names as preserved, then walk obs edges
 * backwards from each preserved write (whatever a preserved write read is
 * preserved through it) until nothing new is marked; lost are the
 * acknowledged writes left unmarked. A sibling is counted once however
 * many stores hold it (its dot is unique).
 */
#include "kv_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "ring/ring.h"
#include "sim_addr.h"

typedef struct {
  const kv_log_t *log;
  uint32_t key;
  bool *preserved; /* per write id - 1 */
  uint64_t *queue; /* write ids marked, not yet walked */
  size_t nq;
  uint64_t phantom;
} walk_t;

static void mark(walk_t *w, uint64_t id) {
  if (w->preserved[id - 1]) return;
  w->preserved[id - 1] = true;
  w->queue[w->nq++] = id;
}

/* Marks the writes sibling s names; false when it names none. */
static bool mark_named(walk_t *w, const dvv_sibling_t *s) {
  const kv_log_t *log = w->log;
  if (!s->tombstone) {
    uint64_t id = kv_value_write(s->value, s->value_len);
    if (id == 0 || id > log->n || log->w[id - 1].key != w->key || log->w[id - 1].del) return false;
    mark(w, id);
    return true;
  }
  bool named = false;
  for (size_t i = 0; i < log->n; i++) {
    const kv_write_t *x = &log->w[i];
    if (x->key != w->key || !x->del || !vv_equal(&x->ctx, &s->ctx)) continue;
    mark(w, i + 1);
    named = true;
  }
  return named;
}

/* Whether a store before node i already held a sibling with s's dot. */
static bool seen_before(const kv_cluster_t *kc, uint32_t i, const char *key, const dvv_sibling_t *s) {
  for (uint32_t j = 0; j < i; j++) {
    const dvv_t *d = kv_store_find(kc->nodes[j].store, key, strlen(key));
    for (size_t k = 0; d && k < d->n; k++)
      if (d->s[k].counter == s->counter && strcmp(d->s[k].node, s->node) == 0) return true;
  }
  return false;
}

static void check_key(const kv_cluster_t *kc, walk_t *w) {
  char key[KV_KEY_MAX];
  kv_key_name(w->key, key);
  w->nq = 0;
  for (uint32_t i = 0; i < KV_NODES; i++) {
    const dvv_t *d = kv_store_find(kc->nodes[i].store, key, strlen(key));
    for (size_t k = 0; d && k < d->n; k++)
      if (!seen_before(kc, i, key, &d->s[k]) && !mark_named(w, &d->s[k])) w->phantom++;
  }
  while (w->nq) {
    const kv_write_t *x = &w->log->w[w->queue[--w->nq] - 1];
    for (size_t k = 0; k < x->read.n; k++)
      (void)mark_named(w, &x->read.s[k]); /* a read of a phantom was counted where it is stored */
  }
}

static bool same_state(const dvv_t *a, const dvv_t *b) {
  dvv_t empty;
  dvv_init(&empty);
  return dvv_equal(a ? a : &empty, b ? b : &empty);
}

/* Keys whose preference-list replicas differ, on the ring of all nodes. */
static int count_divergent(const kv_cluster_t *kc, uint32_t keys, uint64_t *out) {
  const char *ids[KV_NODES];
  for (uint32_t i = 0; i < KV_NODES; i++)
    ids[i] = kc->nodes[i].id;
  ring_t *ring;
  int rc = ring_build(ids, KV_NODES, (uint32_t)kc->cfg.vnodes, &ring);
  if (rc) return rc;
  *out = 0;
  for (uint32_t k = 0; k < keys; k++) {
    char key[KV_KEY_MAX];
    kv_key_name(k, key);
    uint32_t pref[KV_NODES];
    size_t n = ring_preference(ring, ring_key_token(key, strlen(key)), pref, (size_t)kc->cfg.replicas);
    const dvv_t *first = NULL;
    bool differ = false;
    for (size_t i = 0; i < n; i++) {
      int64_t node = sim_id_index(ring_member_id(ring, pref[i]));
      if (node < 0) continue;
      const dvv_t *d = kv_store_find(kc->nodes[node].store, key, strlen(key));
      if (i == 0)
        first = d;
      else
        differ |= !same_state(first, d);
    }
    *out += differ;
  }
  ring_destroy(ring);
  return 0;
}

int kv_check(const kv_cluster_t *kc, const kv_clients_t *cl, kv_check_t *out) {
  memset(out, 0, sizeof *out);
  const kv_log_t *log = kv_clients_log(cl);
  walk_t w = {.log = log};
  w.preserved = calloc(log->n ? log->n : 1, sizeof *w.preserved);
  w.queue = calloc(log->n ? log->n : 1, sizeof *w.queue);
  if (!w.preserved || !w.queue) {
    free(w.preserved);
    free(w.queue);
    return CHORUS_ENOMEM;
  }
  out->keys = kv_clients_keys(cl);
  for (w.key = 0; w.key < out->keys; w.key++)
    check_key(kc, &w);
  for (size_t i = 0; i < log->n; i++) {
    const kv_write_t *x = &log->w[i];
    out->writes++;
    out->acked += x->status == KV_W_ACKED;
    out->failed += x->status == KV_W_FAILED;
    out->pending += x->status == KV_W_PENDING;
    out->lost += x->status == KV_W_ACKED && !w.preserved[i];
    if (getenv("KV_SIM_EXPLAIN") && x->status == KV_W_ACKED && !w.preserved[i]) {
      char key[KV_KEY_MAX];
      kv_key_name(x->key, key);
      fprintf(stderr, "lost write %zu key %s del %d ctx:", i + 1, key, x->del);
      for (size_t e = 0; e < x->ctx.n; e++)
        fprintf(stderr, " %s:%llu", x->ctx.e[e].node, (unsigned long long)x->ctx.e[e].counter);
      fprintf(stderr, "\n");
      for (uint32_t nd = 0; nd < KV_NODES; nd++) {
        const dvv_t *d = kv_store_find(kc->nodes[nd].store, key, strlen(key));
        fprintf(stderr, "  node %u:", nd);
        for (size_t k = 0; d && k < d->n; k++)
          fprintf(stderr, " [%s:%llu %s val=%llu]", d->s[k].node, (unsigned long long)d->s[k].counter,
                  d->s[k].tombstone ? "T" : "",
                  d->s[k].tombstone ? 0ULL
                                    : (unsigned long long)kv_value_write(d->s[k].value, d->s[k].value_len));
        fprintf(stderr, "\n");
      }
    }
  }
  out->phantom = w.phantom;
  free(w.preserved);
  free(w.queue);
  for (uint32_t i = 0; i < KV_NODES; i++)
    out->hints_left += kv_store_hint_total(kc->nodes[i].store);
  return count_divergent(kc, (uint32_t)out->keys, &out->divergent);
}
