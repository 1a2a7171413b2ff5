/*
 * kv_check.c - the checker (see kv_check.h).
 *
 * Per key: mark the writes F(k) names as preserved, then walk obs edges
 * backwards from each preserved write (whatever a preserved write read is
 * preserved through it) until nothing new is marked; lost are the
 * acknowledged writes left unmarked. A sibling is counted once however
 * many stores hold it (its dot is unique). Tombstones a reap collected
 * count as present: the key is gone as its deletes asked.
 *
 * Resurrected: walk obs edges backwards from every acknowledged write (what
 * it read, and transitively what that read, is superseded); a sibling of
 * F(k) naming a superseded write is back although every replica's sync
 * would have dropped it, as when a collected delete's older value returns.
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
  bool *preserved; /* per write id - 1: what mark sets */
  uint64_t *queue; /* write ids marked, not yet walked */
  size_t nq;
  uint64_t phantom;
} walk_t;

static void mark(walk_t *w, uint64_t id) {
  if (w->preserved[id - 1]) return;
  w->preserved[id - 1] = true;
  w->queue[w->nq++] = id;
}

/* Marks, through obs edges, everything the queued writes read. */
static void walk_reads(walk_t *w);

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

static bool member(const kv_cluster_t *kc, uint32_t i);

/* Whether the store of a member before node i already held a sibling with s's dot. */
static bool seen_before(const kv_cluster_t *kc, uint32_t i, const char *key, const dvv_sibling_t *s) {
  for (uint32_t j = 0; j < i; j++) {
    if (!member(kc, j)) continue;
    const dvv_t *d = kv_store_find(kc->nodes[j].store, key, strlen(key));
    for (size_t k = 0; d && k < d->n; k++)
      if (d->s[k].counter == s->counter && strcmp(d->s[k].node, s->node) == 0) return true;
  }
  return false;
}

static void walk_reads(walk_t *w) {
  while (w->nq) {
    const kv_write_t *x = &w->log->w[w->queue[--w->nq] - 1];
    for (size_t k = 0; k < x->read.n; k++)
      (void)mark_named(w, &x->read.s[k]); /* a read of a phantom was counted where it is stored */
  }
}

/* A member at the end: it ran, and neither left nor was removed. The
 * copies of the others are gone with them. */
static bool member(const kv_cluster_t *kc, uint32_t i) {
  return kc->nodes[i].started && !kc->nodes[i].gone;
}

static void check_key(const kv_cluster_t *kc, walk_t *w) {
  char key[KV_KEY_MAX];
  kv_key_name(w->key, key);
  size_t klen = strlen(key);
  w->nq = 0;
  for (uint32_t i = 0; i < KV_NODES; i++) {
    if (!member(kc, i)) continue;
    const dvv_t *d = kv_store_find(kc->nodes[i].store, key, klen);
    for (size_t k = 0; d && k < d->n; k++)
      if (!seen_before(kc, i, key, &d->s[k]) && !mark_named(w, &d->s[k])) w->phantom++;
    size_t nr;
    const kv_reaped_t *r = kv_store_reaped(kc->nodes[i].store, &nr);
    for (size_t j = 0; j < nr; j++)
      for (size_t k = 0; r[j].key_len == klen && !memcmp(r[j].key, key, klen) && k < r[j].state.n; k++)
        if (!mark_named(w, &r[j].state.s[k])) w->phantom++;
  }
  walk_reads(w);
}

/* The nodes of key's preference list on the ring of the members; returns how many. */
static size_t pref_nodes(const kv_cluster_t *kc, const ring_t *ring, const char *key,
                         uint32_t out[KV_NODES]) {
  uint32_t pref[KV_NODES];
  size_t n = ring_preference(ring, ring_key_token(key, strlen(key)), pref, (size_t)kc->cfg.replicas), k = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t node = sim_id_index(ring_member_id(ring, pref[i]));
    if (node >= 0) out[k++] = (uint32_t)node;
  }
  return k;
}

/* Siblings on the key's preference-list replicas naming a write that an
 * acknowledged write superseded. (Copies outside the list are counted as
 * stray.) */
static uint64_t count_resurrected(const kv_cluster_t *kc, const ring_t *ring, walk_t *sup) {
  const kv_log_t *log = sup->log;
  sup->nq = 0;
  for (size_t i = 0; i < log->n; i++) {
    const kv_write_t *x = &log->w[i];
    if (x->key != sup->key || x->status != KV_W_ACKED) continue;
    for (size_t k = 0; k < x->read.n; k++)
      (void)mark_named(sup, &x->read.s[k]);
  }
  walk_reads(sup);
  char key[KV_KEY_MAX];
  kv_key_name(sup->key, key);
  uint64_t n = 0;
  uint32_t owners[KV_NODES];
  size_t no = pref_nodes(kc, ring, key, owners);
  for (size_t oi = 0; oi < no; oi++) {
    uint32_t i = owners[oi];
    const dvv_t *d = kv_store_find(kc->nodes[i].store, key, strlen(key));
    for (size_t k = 0; d && k < d->n; k++) {
      const dvv_sibling_t *s = &d->s[k];
      bool back = false;
      if (!s->tombstone) {
        uint64_t id = kv_value_write(s->value, s->value_len);
        back = id && id <= log->n && sup->preserved[id - 1];
      } else {
        for (size_t j = 0; j < log->n && !back; j++)
          back = log->w[j].key == sup->key && log->w[j].del && sup->preserved[j] &&
                 vv_equal(&log->w[j].ctx, &s->ctx);
      }
      n += back;
      if (back && getenv("KV_SIM_EXPLAIN")) {
        fprintf(stderr, "resurrected on node %u key %s: [%s:%llu %s]; state per node:\n", i, key, s->node,
                (unsigned long long)s->counter, s->tombstone ? "T" : "");
        for (uint32_t nd = 0; nd < KV_NODES; nd++) {
          const dvv_t *e = kv_store_find(kc->nodes[nd].store, key, strlen(key));
          fprintf(stderr, "  node %u:", nd);
          for (size_t q = 0; e && q < e->n; q++) {
            fprintf(stderr, " [%s:%llu %s ctx", e->s[q].node, (unsigned long long)e->s[q].counter,
                    e->s[q].tombstone ? "T" : "");
            for (size_t z = 0; z < e->s[q].ctx.n; z++)
              fprintf(stderr, " %s:%llu", e->s[q].ctx.e[z].node,
                      (unsigned long long)e->s[q].ctx.e[z].counter);
            fprintf(stderr, "]");
          }
          fprintf(stderr, "\n");
        }
        for (size_t j = 0; j < log->n; j++) {
          const kv_write_t *x = &log->w[j];
          if (x->key != sup->key || x->status != KV_W_ACKED) continue;
          for (size_t q = 0; q < x->read.n; q++)
            if (x->read.s[q].counter == s->counter && !strcmp(x->read.s[q].node, s->node))
              fprintf(stderr, "  superseded by acked write %zu (del %d)\n", j + 1, x->del);
        }
      }
    }
  }
  return n;
}

static bool same_state(const dvv_t *a, const dvv_t *b) {
  dvv_t empty;
  dvv_init(&empty);
  return dvv_equal(a ? a : &empty, b ? b : &empty);
}

typedef struct {
  const kv_cluster_t *kc;
  const ring_t *ring;
  uint32_t node;
  uint64_t stray;
} stray_t;

static int count_one_stray(void *arg, uint64_t token, const char *key, size_t key_len, const uint8_t *rec,
                           size_t rec_len) {
  stray_t *st = arg;
  (void)rec;
  (void)rec_len;
  uint32_t pref[KV_NODES];
  size_t n = ring_preference(st->ring, token, pref, (size_t)st->kc->cfg.replicas);
  bool owner = false;
  for (size_t i = 0; i < n; i++)
    owner |= sim_id_index(ring_member_id(st->ring, pref[i])) == (int64_t)st->node;
  if (!owner) {
    st->stray++;
    if (getenv("KV_SIM_EXPLAIN")) fprintf(stderr, "stray %.*s on node %u\n", (int)key_len, key, st->node);
  }
  return 0;
}

/* Records members hold of keys they do not own on the members' ring: the
 * hand-off of ownership changes must leave none behind. */
static uint64_t count_stray(const kv_cluster_t *kc, const ring_t *ring) {
  static const merkle_range_t all = {0, UINT64_MAX};
  stray_t st = {.kc = kc, .ring = ring};
  for (uint32_t i = 0; i < KV_NODES; i++) {
    if (!member(kc, i)) continue;
    st.node = i;
    (void)kv_store_records_in(kc->nodes[i].store, &all, 1, NULL, count_one_stray, &st);
  }
  return st.stray;
}

/* Keys whose preference-list replicas differ, on the ring of the members. */
static uint64_t count_divergent(const kv_cluster_t *kc, const ring_t *ring, uint32_t keys) {
  uint64_t out = 0;
  for (uint32_t k = 0; k < keys; k++) {
    char key[KV_KEY_MAX];
    kv_key_name(k, key);
    uint32_t owners[KV_NODES];
    size_t n = pref_nodes(kc, ring, key, owners);
    bool differ = false;
    for (size_t i = 1; i < n; i++)
      differ |= !same_state(kv_store_find(kc->nodes[owners[0]].store, key, strlen(key)),
                            kv_store_find(kc->nodes[owners[i]].store, key, strlen(key)));
    if (differ && getenv("KV_SIM_EXPLAIN"))
      for (size_t i = 0; i < n; i++) {
        const dvv_t *d = kv_store_find(kc->nodes[owners[i]].store, key, strlen(key));
        fprintf(stderr, "divergent %s on node %u:", key, owners[i]);
        for (size_t j = 0; d && j < d->n; j++)
          fprintf(stderr, " [%s:%llu%s val=%llu]", d->s[j].node, (unsigned long long)d->s[j].counter,
                  d->s[j].tombstone ? " T" : "",
                  (unsigned long long)kv_value_write(d->s[j].value, d->s[j].value_len));
        fprintf(stderr, "\n");
      }
    out += differ;
  }
  return out;
}

int kv_check(const kv_cluster_t *kc, const kv_clients_t *cl, kv_check_t *out) {
  memset(out, 0, sizeof *out);
  const kv_log_t *log = kv_clients_log(cl);
  walk_t w = {.log = log}, sup = {.log = log};
  size_t cap = log->n ? log->n : 1;
  w.preserved = calloc(cap, sizeof *w.preserved);
  w.queue = calloc(cap, sizeof *w.queue);
  sup.preserved = calloc(cap, sizeof *sup.preserved);
  sup.queue = calloc(cap, sizeof *sup.queue);
  if (!w.preserved || !w.queue || !sup.preserved || !sup.queue) {
    free(w.preserved);
    free(w.queue);
    free(sup.preserved);
    free(sup.queue);
    return CHORUS_ENOMEM;
  }
  const char *ids[KV_NODES];
  size_t n_ids = 0;
  for (uint32_t i = 0; i < KV_NODES; i++)
    if (member(kc, i)) ids[n_ids++] = kc->nodes[i].id;
  ring_t *ring = NULL;
  int rc = ring_build(ids, n_ids, (uint32_t)kc->cfg.vnodes, &ring);
  out->keys = kv_clients_keys(cl);
  for (w.key = 0; !rc && w.key < out->keys; w.key++) {
    check_key(kc, &w);
    sup.key = w.key;
    out->resurrected += count_resurrected(kc, ring, &sup);
  }
  free(sup.preserved);
  free(sup.queue);
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
      if (getenv("KV_SIM_EXPLAIN_CHAIN"))
        for (size_t j = 0; j < log->n; j++) {
          const kv_write_t *y = &log->w[j];
          if (y->key != x->key) continue;
          fprintf(stderr, "   w%zu %s%s ctx:", j + 1, y->status == KV_W_ACKED ? "acked" : "failed",
                  y->del ? " del" : "");
          for (size_t e = 0; e < y->ctx.n; e++)
            fprintf(stderr, " %s:%llu", y->ctx.e[e].node, (unsigned long long)y->ctx.e[e].counter);
          fprintf(stderr, " read:");
          for (size_t k = 0; k < y->read.n; k++)
            fprintf(stderr, " [%s:%llu val=%llu]", y->read.s[k].node,
                    (unsigned long long)y->read.s[k].counter,
                    (unsigned long long)kv_value_write(y->read.s[k].value, y->read.s[k].value_len));
          fprintf(stderr, "\n");
        }
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
  for (uint32_t i = 0; i < KV_NODES; i++) {
    size_t nr;
    if (member(kc, i)) out->hints_left += kv_store_hint_total(kc->nodes[i].store);
    (void)kv_store_reaped(kc->nodes[i].store, &nr);
    out->reaped += nr;
  }
  if (!rc) out->divergent = count_divergent(kc, ring, (uint32_t)out->keys);
  if (!rc) out->stray = count_stray(kc, ring);
  for (uint32_t i = 0; getenv("KV_SIM_EXPLAIN") && i < KV_NODES; i++) {
    if (!kc->nodes[i].view) continue;
    view_t *v = view_acquire(kc->nodes[i].view);
    fprintf(stderr, "node %u: ring %016llx members %zu moving %d\n", i,
            (unsigned long long)ring_version(v->ring), ring_member_count(v->ring), view_moving(v));
    for (size_t m = 0; m < v->n; m++)
      fprintf(stderr, "   %s %s %s\n", v->members[m].id, swim_status_name(v->members[m].status),
              swim_phase_name(v->members[m].phase));
    view_release(v);
  }
  ring_destroy(ring);
  return rc;
}
