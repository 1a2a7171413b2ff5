/*
 * coord_hints.c - hinted handoff: hints this node keeps for replicas that
 * were down are delivered once membership says the owner is alive again,
 * and deleted only after the owner acknowledged the merge.
 *
 * One owner's batch at a time: the hints are read off the loop (a
 * coord_work_t runs engine_hints on the thread pool), sent as PEER_REPLICATE
 * (op hint) to the owner, and each acknowledged one is deleted with
 * ENGINE_HINT_DELETE, which keeps it if a newer hint merged in meanwhile.
 * Rate: at most HINT_BATCH hints per batch and a batch every
 * HINT_BUSY_MS while hints remain. A failed delivery ends the batch (the
 * owner may be gone again; or this node is out of memory: a hint is never
 * sent without this node's clock, which orders the owner's event after its
 * write); the next tick tries again. Hints past --hint-ttl are dropped by a
 * pass every HINT_EXPIRE_MS, one slice of ENGINE_HINT_EXPIRE_SCAN hints a
 * tick, and are never delivered meanwhile: tombstone collection waits at
 * least --hint-ttl after a delete, so a hint older than that may hold a
 * version the delete superseded, which would bring a collected key back.
 *
 * A hint for a member that left for good (a leave or a removal) can never
 * reach it: it goes to the key's owners now, every one of them (this node
 * merges its own share), and is deleted once all acknowledged. Only LEFT
 * counts as gone: a member this node does not know (it has just started)
 * keeps its hints.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "coord_internal.h"

#define HINT_BATCH 256
#define HINT_BUSY_MS 200
#define HINT_IDLE_MS 1000
#define HINT_EXPIRE_MS 60000

typedef struct {
  coord_work_t work; /* first: the work item is the batch */
  coord_t *c;
  char owner[NODE_ID_MAX + 1];
  swim_addr_t addr;
  view_t *view; /* the owner left for good: the view whose owners its hints go to (else NULL) */
  engine_hint_t *hints;
  size_t n;
  size_t *waiting; /* per hint: deliveries not acknowledged yet */
  bool *missed;    /* per hint: a delivery failed (it is kept) */
  int rc;
  size_t outstanding; /* deliveries and deletes not back yet */
  bool failed;
} batch_t;

typedef struct {
  batch_t *b;
  size_t i;
} delivery_t;

static void batch_end(batch_t *b) {
  coord_t *c = b->c;
  engine_hints_free(b->hints, b->n);
  if (b->failed) log_debug("hints: delivery to %s failed; retrying later", b->owner);
  if (b->view) view_release(b->view);
  free(b->waiting);
  free(b->missed);
  c->hint_batch = false;
  free(b);
}

static void batch_settle(batch_t *b) {
  if (b->outstanding == 0) batch_end(b);
}

static void deleted(cjob_t *j) {
  batch_t *b = j->user;
  if (j->job.err == 0 && j->job.changed) coord_count(&b->c->stats.hints_delivered);
  coord_cjob_free(j);
  b->outstanding--;
  batch_settle(b);
}

/* The owner has it: delete the hint unless a newer one merged in. */
static void delete_hint(batch_t *b, size_t i) {
  engine_hint_t *h = &b->hints[i];
  cjob_t *j = coord_cjob_state(b->c, deleted, ENGINE_HINT_DELETE, h->key, h->key_len, &h->state);
  if (!j) return;
  snprintf(j->owner, sizeof j->owner, "%s", b->owner);
  j->user = b;
  j->job.hint_owner = j->owner;
  b->outstanding++;
  coord_cjob_submit(j);
}

/* One of hint i's deliveries is back (ok: acknowledged); the last one
 * deletes the hint if none failed. */
static void delivery_back(batch_t *b, size_t i, bool ok) {
  b->outstanding--;
  if (!ok) {
    b->missed[i] = true;
    b->failed = true;
  }
  if (--b->waiting[i] == 0 && !b->missed[i] && !b->c->closing) delete_hint(b, i);
  batch_settle(b);
}

static void on_delivered(int status, const peer_msg_t *reply, void *arg) {
  delivery_t *d = arg;
  batch_t *b = d->b;
  size_t i = d->i;
  free(d);
  delivery_back(b, i, status == 0 && reply->type == PEER_REPLICATE_ACK && reply->replicate_ack.status == 0);
}

static void merged_here(cjob_t *j) {
  batch_t *b = j->user;
  size_t i = j->target;
  bool ok = j->job.err == 0;
  coord_cjob_free(j);
  delivery_back(b, i, ok);
}

/* This node is one of the owners of a departed member's hint: it merges it. */
static void merge_here(batch_t *b, size_t i) {
  engine_hint_t *h = &b->hints[i];
  cjob_t *j = coord_cjob_state(b->c, merged_here, ENGINE_MERGE, h->key, h->key_len, &h->state);
  b->waiting[i]++;
  b->outstanding++;
  if (!j) {
    delivery_back(b, i, false);
    return;
  }
  j->job.event_type = EVENT_HINT_DELIVERED;
  j->user = b;
  j->target = i;
  coord_cjob_submit(j);
}

/* Sends hint i (encoded in rec) to addr. */
static void send_hint(batch_t *b, size_t i, const swim_addr_t *addr, const buf_t *rec, const vv_t *clock) {
  engine_hint_t *h = &b->hints[i];
  delivery_t *d = malloc(sizeof *d);
  peer_msg_t m;
  peer_msg_init(&m);
  b->waiting[i]++;
  b->outstanding++;
  if (!d || vv_copy(&m.clock, clock) != 0) {
    free(d);
    peer_msg_free(&m);
    delivery_back(b, i, false);
    return;
  }
  d->b = b;
  d->i = i;
  m.type = PEER_REPLICATE;
  m.replicate.op = PEER_OP_HINT;
  m.replicate.key = (peer_bytes_t){(const uint8_t *)h->key, h->key_len};
  m.replicate.record = (peer_bytes_t){rec->data, rec->len};
  if (coord_request(b->c, addr, &m, b->c->cfg->request_timeout_ms, on_delivered, d) != 0) {
    free(d);
    delivery_back(b, i, false);
  }
  peer_msg_free(&m);
}

/* A departed owner's hint i: to every owner of its key now, this node
 * included; an owner down keeps it for a later batch. */
static void deliver_to_owners(batch_t *b, size_t i, const buf_t *rec, const vv_t *clock) {
  engine_hint_t *h = &b->hints[i];
  view_t *v = b->view;
  plan_t plan;
  if (plan_make(v->ring, ring_key_token(h->key, h->key_len), v->replicas, b->c->self, PLAN_READ,
                coord_view_up, v, &plan) != 0 ||
      plan.n == 0) {
    b->missed[i] = b->failed = true;
    return;
  }
  for (size_t k = 0; k < plan.n; k++) {
    const view_member_t *m = view_find(v, plan.pref[k]);
    if (strcmp(plan.pref[k], b->c->self) == 0)
      merge_here(b, i);
    else if (plan.pref_up[k] && m)
      send_hint(b, i, &m->addr, rec, clock);
    else
      b->missed[i] = b->failed = true;
  }
}

static void deliver(batch_t *b, size_t i, buf_t *rec, const vv_t *clock) {
  buf_reset(rec);
  if (record_encode(&b->hints[i].state, rec) != 0) {
    b->failed = true;
    return;
  }
  b->waiting[i]++; /* held while its deliveries go out: one may come back at once */
  b->outstanding++;
  if (b->view)
    deliver_to_owners(b, i, rec, clock);
  else
    send_hint(b, i, &b->addr, rec, clock);
  delivery_back(b, i, true);
}

static int read_hints(coord_work_t *w) {
  batch_t *b = (batch_t *)w;
  return b->c->env.hints(b->c->env.state, b->owner, HINT_BATCH, &b->hints, &b->n);
}

static bool hint_expired(const coord_t *c, const engine_hint_t *h, uint64_t now) {
  return h->stored_at_ms <= now && now - h->stored_at_ms >= c->cfg->hint_ttl_ms;
}

static void after_read(coord_work_t *w, int rc) {
  batch_t *b = (batch_t *)w;
  coord_t *c = b->c;
  if (rc != 0) b->n = 0; /* nothing was read */
  if (b->n) {
    b->waiting = calloc(b->n, sizeof *b->waiting);
    b->missed = calloc(b->n, sizeof *b->missed);
  }
  if (rc != 0 || c->closing || (b->n && (!b->waiting || !b->missed))) {
    batch_end(b);
    return;
  }
  buf_t rec;
  buf_init(&rec);
  vv_t clock;
  vv_init(&clock);
  b->failed = coord_clock(c, &clock) != 0;
  b->outstanding++;                            /* held while sending: replies may come back at once */
  uint64_t now = c->env.wall_ms(c->env.state); /* the clock of stored_at_ms */
  for (size_t i = 0; i < b->n && !b->failed; i++) {
    if (!hint_expired(c, &b->hints[i], now))
      deliver(b, i, &rec, &clock);
    else
      c->next_expire_at = 0; /* the expiry pass runs at the next tick */
  }
  b->outstanding--;
  buf_free(&rec);
  vv_free(&clock);
  batch_settle(b);
}

/* The first owner with hints that membership says is alive, or that left
 * for good (its hints go to the owners now). */
static bool pick_owner(coord_t *c, batch_t *b) {
  engine_hint_count_t *counts = NULL;
  size_t n = 0;
  if (c->env.hint_counts(c->env.state, &counts, &n) != 0) return false;
  view_t *v = view_acquire(c->view);
  bool found = false;
  for (size_t k = 0; k < n && !found; k++) {
    size_t i = (c->hint_rr + k) % n; /* owners take turns */
    const view_member_t *m = view_find(v, counts[i].owner);
    bool departed = m && m->status == SWIM_LEFT;
    if (counts[i].count == 0 || !m || (m->status != SWIM_ALIVE && !departed) || strcmp(m->id, c->self) == 0)
      continue;
    snprintf(b->owner, sizeof b->owner, "%s", m->id);
    b->addr = m->addr;
    if (departed) b->view = v; /* kept for the batch */
    c->hint_rr = i + 1;
    found = true;
  }
  if (!b->view) view_release(v);
  free(counts);
  return found;
}

/* One slice of expiry is back: the next slice runs at the next tick, so
 * client groups run between slices, until the pass is finished. */
static void expired(cjob_t *j) {
  if (j->job.count)
    log_info("hints: dropped %llu hints older than --hint-ttl", (unsigned long long)j->job.count);
  if (!j->job.changed && !j->job.err) j->c->next_expire_at = 0;
  coord_cjob_free(j);
}

void coord_hints_tick(coord_t *c, uint64_t now) {
  if (c->closing) return;
  if (now >= c->next_expire_at) {
    c->next_expire_at = now + HINT_EXPIRE_MS;
    cjob_t *j = coord_cjob_new(c, expired);
    if (j) {
      j->job.op = ENGINE_HINT_EXPIRE;
      coord_cjob_submit(j);
    }
  }
  if (c->hint_batch || now < c->next_hint_at) return;
  batch_t *b = calloc(1, sizeof *b);
  if (!b) return;
  b->c = c;
  if (!pick_owner(c, b)) {
    free(b);
    c->next_hint_at = now + HINT_IDLE_MS;
    return;
  }
  c->next_hint_at = now + HINT_BUSY_MS;
  c->hint_batch = true;
  coord_wake(c);
  b->work.run = read_hints;
  b->work.done = after_read;
  if (coord_work_queue(c, &b->work) != 0) {
    c->hint_batch = false;
    free(b);
  }
}
