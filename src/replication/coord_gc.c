/*
 * coord_gc.c - tombstone collection (DESIGN §9): a tombstone is dropped only
 * when every replica of its key's preference list is known to hold it, and
 * its grace period has passed - never by time alone.
 *
 * Each node collects the keys whose preference list it heads (so one node
 * drives each key). A pass, while nothing else of it is in flight:
 *   1. on the worker pool: up to GC_BATCH keys whose record holds only
 *      tombstones, the newest older than now - grace (the grace is at least
 *      --hint-ttl: a hint of an older write, delivered late, would otherwise
 *      bring the value back), and this node's record of each;
 *   2. for each key this node heads, with every preference-list member
 *      alive: the record of every other replica (PEER_READ). Only if each
 *      holds exactly the same tombstones (its dots covered, nothing newer)
 *      is the key collected: PEER_REPLICATE op reap to the others and
 *      ENGINE_REAP here. A replica drops its record only if it is still
 *      exactly those tombstones, so a write racing the collection is kept.
 * A replica that differs is left to anti-entropy; the next pass tries
 * again. A replica that is down stops nothing but its keys' collection.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/err.h"
#include "../common/log.h"
#include "coord_internal.h"

#define GC_BATCH 64
#define GC_IDLE_MS 10000 /* between passes that found nothing due */
#define GC_BUSY_MS 1000  /* after a full batch: more may be due */

typedef struct gc_batch gc_batch_t;

typedef struct {
  gc_batch_t *b;
  size_t i; /* the batch's key */
  char ids[PLAN_MAX_REPLICAS][NODE_ID_MAX + 1];
  swim_addr_t addrs[PLAN_MAX_REPLICAS];
  size_t n;     /* other replicas */
  size_t waits; /* replies not back */
  bool differs; /* a replica holds something else, or did not answer */
} gc_key_t;

struct gc_batch {
  coord_work_t work; /* first */
  coord_t *c;
  uint64_t before_ms;
  engine_tombstone_t *t;
  size_t n;
  dvv_t *ours; /* this node's record of each key (empty: none) */
  buf_t rec;
  size_t outstanding;
};

static void batch_end(gc_batch_t *b) {
  coord_t *c = b->c;
  for (size_t i = 0; b->ours && i < b->n; i++)
    dvv_free(&b->ours[i]);
  free(b->ours);
  engine_tombstones_free(b->t, b->n);
  buf_free(&b->rec);
  c->gc_next_at = c->env.now_ms(c->env.state) + (b->n == GC_BATCH ? GC_BUSY_MS : GC_IDLE_MS);
  c->gc_batch = false;
  free(b);
}

static void settle(gc_batch_t *b) {
  if (--b->outstanding == 0) batch_end(b);
}

static void reaped_here(cjob_t *j) {
  gc_batch_t *b = j->user;
  if (j->job.err == 0 && j->job.changed) coord_aae_count_reaped(b->c, 1);
  coord_cjob_free(j);
  settle(b);
}

static void reap_acked(int status, const peer_msg_t *reply, void *arg) {
  (void)status;
  (void)reply;
  settle(arg);
}

/* Every replica holds exactly ours: each drops it, this node too. */
static void collect(gc_key_t *k) {
  gc_batch_t *b = k->b;
  coord_t *c = b->c;
  const engine_tombstone_t *t = &b->t[k->i];
  buf_reset(&b->rec);
  peer_msg_t m;
  peer_msg_init(&m);
  if (record_encode(&b->ours[k->i], &b->rec) == 0 && coord_clock(c, &m.clock) == 0) {
    m.type = PEER_REPLICATE;
    m.replicate.op = PEER_OP_REAP;
    m.replicate.key = (peer_bytes_t){(const uint8_t *)t->key, t->key_len};
    m.replicate.record = (peer_bytes_t){b->rec.data, b->rec.len};
    for (size_t r = 0; r < k->n; r++) {
      b->outstanding++;
      if (coord_request(c, &k->addrs[r], &m, c->cfg->request_timeout_ms, reap_acked, b) != 0)
        b->outstanding--;
    }
  }
  peer_msg_free(&m);
  cjob_t *j = coord_cjob_state(c, reaped_here, ENGINE_REAP, t->key, t->key_len, &b->ours[k->i]);
  if (!j) return;
  j->user = b;
  b->outstanding++;
  coord_cjob_submit(j); /* on failure, reaped_here runs at once */
}

static void on_read(int status, const peer_msg_t *reply, void *arg) {
  gc_key_t *k = arg;
  gc_batch_t *b = k->b;
  bool same = false;
  if (status == 0 && reply->type == PEER_READ_REPLY && reply->read_reply.status == 0 &&
      reply->read_reply.record.p) {
    dvv_t theirs;
    dvv_init(&theirs);
    same = record_decode(reply->read_reply.record.p, reply->read_reply.record.len, &theirs) == 0 &&
           dvv_equal(&theirs, &b->ours[k->i]);
    dvv_free(&theirs);
  }
  if (!same) k->differs = true;
  if (--k->waits == 0) {
    if (!k->differs && !b->c->closing) collect(k);
    free(k);
  }
  settle(b);
}

/* This node heads the key's preference list and every member of it is
 * alive: ask the others for their record. */
static void check_key(gc_batch_t *b, size_t i, const view_t *v) {
  coord_t *c = b->c;
  const engine_tombstone_t *t = &b->t[i];
  const dvv_t *ours = &b->ours[i];
  if (ours->n == 0 || dvv_live_count(ours)) return; /* written again since it was listed */
  uint32_t pref[PLAN_MAX_REPLICAS];
  size_t np = ring_preference(v->ring, ring_key_token(t->key, t->key_len), pref,
                              v->replicas < PLAN_MAX_REPLICAS ? v->replicas : PLAN_MAX_REPLICAS);
  if (np == 0 || strcmp(ring_member_id(v->ring, pref[0]), c->self) != 0) return;
  gc_key_t *k = calloc(1, sizeof *k);
  if (!k) return;
  k->b = b;
  k->i = i;
  for (size_t p = 1; p < np; p++) {
    const view_member_t *m = view_find(v, ring_member_id(v->ring, pref[p]));
    if (!m || m->status != SWIM_ALIVE) {
      free(k);
      return;
    }
    snprintf(k->ids[k->n], sizeof k->ids[0], "%s", m->id);
    k->addrs[k->n++] = m->addr;
  }
  if (k->n == 0) { /* a cluster of one: nobody else to hold it */
    collect(k);
    free(k);
    return;
  }
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_READ;
  m.read.key = (peer_bytes_t){(const uint8_t *)t->key, t->key_len};
  bool clock = coord_clock(c, &m.clock) == 0;
  k->waits = k->n;
  b->outstanding += k->n; /* before sending: a reply may come at once */
  for (size_t r = 0; r < k->n; r++) {
    if (!clock || coord_request(c, &k->addrs[r], &m, c->cfg->request_timeout_ms, on_read, k) != 0)
      on_read(CHORUS_EIO, NULL, k);
  }
  peer_msg_free(&m);
}

static int list_due(coord_work_t *w) {
  gc_batch_t *b = (gc_batch_t *)w;
  coord_t *c = b->c;
  int rc = c->env.tombstones(c->env.state, b->before_ms, GC_BATCH, &b->t, &b->n);
  if (rc || b->n == 0) return rc;
  b->ours = calloc(b->n, sizeof *b->ours);
  if (!b->ours) return CHORUS_ENOMEM;
  for (size_t i = 0; i < b->n; i++) {
    dvv_init(&b->ours[i]);
    int r = c->env.record_read(c->env.state, b->t[i].key, b->t[i].key_len, &b->ours[i]);
    if (r && r != CHORUS_ENOTFOUND) return r;
  }
  return 0;
}

static void after_list(coord_work_t *w, int rc) {
  gc_batch_t *b = (gc_batch_t *)w;
  coord_t *c = b->c;
  b->outstanding = 1; /* held while the keys are started */
  if (!rc && !c->closing) {
    view_t *v = view_acquire(c->view);
    for (size_t i = 0; i < b->n; i++)
      check_key(b, i, v);
    view_release(v);
  } else if (rc && rc != CHORUS_ESHUTDOWN) {
    log_warn("tombstones: cannot list those due: %s", chorus_strerror(rc));
  }
  settle(b);
}

void coord_gc_tick(coord_t *c, uint64_t now) {
  if (c->closing || c->gc_batch || now < c->gc_next_at || !c->env.tombstones || !c->env.record_read) return;
  uint64_t grace = c->cfg->tombstone_grace_ms;
  if (grace < c->cfg->hint_ttl_ms) grace = c->cfg->hint_ttl_ms;
  uint64_t wall = c->env.wall_ms(c->env.state);
  gc_batch_t *b = calloc(1, sizeof *b);
  if (!b) return;
  b->c = c;
  b->before_ms = wall > grace ? wall - grace : 0;
  buf_init(&b->rec);
  b->work.run = list_due;
  b->work.done = after_list;
  c->gc_batch = true;
  if (coord_work_queue(c, &b->work) != 0) {
    b->outstanding = 1;
    settle(b);
  }
}
