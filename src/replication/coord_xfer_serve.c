/*
 * coord_xfer_serve.c - answering a peer's ownership transfer (DESIGN §9):
 * the next records of token ranges it streams from this node (PEER_RANGE),
 * and records it hands off to this node, their owner (PEER_HANDOFF: an
 * offer of versions, answered with which this node already covers; then a
 * push of whole records, answered once every one is merged durably). The
 * store is read on the worker pool; merges are quiet engine jobs (no event
 * per key).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"
#include "../storage/recbatch.h"
#include "coord_xfer.h"

/* ---- PEER_RANGE ---- */

typedef struct xfer_range range_t;
struct xfer_range {
  coord_work_t work; /* first */
  peer_conn_t *conn;
  uint64_t req_id;
  merkle_range_t *ranges;
  size_t nr;
  engine_cursor_t from;
  uint32_t max_bytes;
  buf_t batch;
  bool done;
  range_t *next; /* waiting for the rate */
};

typedef struct {
  buf_t *out;
  size_t start;
  uint32_t n, max;
} fill_t;

static int fill(void *arg, uint64_t token, const char *key, size_t key_len, const uint8_t *rec,
                size_t rec_len) {
  fill_t *f = arg;
  (void)token;
  size_t grown = f->out->len - f->start + key_len + rec_len + 16;
  if (f->n && (grown > f->max || f->n >= RECBATCH_MAX)) return ENGINE_RANGE_STOP;
  if (grown > PEER_BATCH_MAX) return CHORUS_ETOOBIG; /* one record over what a batch can carry */
  recbatch_add(f->out, key, key_len, rec, rec_len);
  f->n++;
  return f->out->err;
}

static int range_run(coord_work_t *w) {
  range_t *r = (range_t *)w;
  fill_t f = {.out = &r->batch, .start = recbatch_begin(&r->batch), .max = r->max_bytes};
  int rc = w->c->env.records_in(w->c->env.state, r->ranges, r->nr, &r->from, fill, &f);
  recbatch_finish(&r->batch, f.start, f.n);
  r->done = rc == 0;
  return rc == ENGINE_RANGE_STOP ? 0 : rc;
}

static void answer_range(coord_t *c, peer_conn_t *conn, uint64_t req_id, int status, const buf_t *batch,
                         bool done) {
  static const uint8_t none = 0;
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_RANGE_REPLY;
  m.range_reply.status = status;
  m.range_reply.batch = status || !batch ? (peer_bytes_t){&none, 0} : (peer_bytes_t){batch->data, batch->len};
  m.range_reply.done = !status && done;
  if (coord_clock(c, &m.clock) != 0) vv_clear(&m.clock);
  c->env.respond(c->env.state, conn, req_id, &m);
  peer_msg_free(&m);
}

static void range_done(coord_work_t *w, int rc) {
  range_t *r = (range_t *)w;
  coord_t *c = w->c;
  xfer_take_tokens(c->xfer, r->batch.len);
  if (!c->closing) answer_range(c, r->conn, r->req_id, rc, &r->batch, r->done);
  c->env.conn_release(c->env.state, r->conn);
  free(r->ranges);
  buf_free(&r->batch);
  free(r);
}

/* Ranges in a request: sorted, lo <= hi, not overlapping. */
static int read_ranges(peer_bytes_t b, merkle_range_t **out, size_t *n) {
  *n = b.len / 16;
  *out = malloc((*n ? *n : 1) * sizeof **out);
  if (!*out) return CHORUS_ENOMEM;
  for (size_t i = 0; i < *n; i++) {
    (*out)[i].lo = be_get_u64(b.p + 16 * i);
    (*out)[i].hi = be_get_u64(b.p + 16 * i + 8);
    if ((*out)[i].lo > (*out)[i].hi || (i && (*out)[i].lo <= (*out)[i - 1].hi)) return CHORUS_ECORRUPT;
  }
  return 0;
}

static void serve_range(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  range_t *r = calloc(1, sizeof *r);
  int rc = r ? 0 : CHORUS_ENOMEM;
  if (!rc && !c->env.records_in) rc = CHORUS_ENOTFOUND;
  if (!rc) rc = read_ranges(req->range.ranges, &r->ranges, &r->nr);
  if (!rc && req->range.after.p) {
    r->from.started = true;
    r->from.token = be_get_u64(req->range.after.p);
    r->from.key_len = req->range.after.len - 8;
    memcpy(r->from.key, req->range.after.p + 8, r->from.key_len);
  }
  if (!rc) {
    r->conn = conn;
    r->req_id = req->req_id;
    r->max_bytes = req->range.max_bytes < PEER_BATCH_MAX ? req->range.max_bytes : PEER_BATCH_MAX;
    buf_init(&r->batch);
    r->work.run = range_run;
    r->work.done = range_done;
    c->env.conn_hold(c->env.state, conn);
    struct xfer *x = c->xfer;
    if (x->tokens <= 0 || x->waiting) { /* the rate is spent: served at a later tick */
      if (x->waiting_tail)
        x->waiting_tail->next = r;
      else
        x->waiting = r;
      x->waiting_tail = r;
      coord_wake(c);
      return;
    }
    rc = coord_work_queue(c, &r->work);
    if (!rc) return;
    c->env.conn_release(c->env.state, conn);
  }
  if (r) free(r->ranges);
  free(r);
  answer_range(c, conn, req->req_id, rc, NULL, false);
}

void xfer_serve_resume(coord_t *c) {
  struct xfer *x = c->xfer;
  while (x->waiting && (x->tokens > 0 || c->closing)) {
    range_t *r = x->waiting;
    x->waiting = r->next;
    if (!x->waiting) x->waiting_tail = NULL;
    int rc = c->closing ? CHORUS_ESHUTDOWN : coord_work_queue(c, &r->work);
    if (!rc) continue;
    if (!c->closing) answer_range(c, r->conn, r->req_id, rc, NULL, false);
    c->env.conn_release(c->env.state, r->conn);
    free(r->ranges);
    buf_free(&r->batch);
    free(r);
  }
}

/* ---- PEER_HANDOFF ---- */

typedef struct {
  coord_work_t work; /* first */
  peer_conn_t *conn;
  uint64_t req_id;
  uint8_t *copy; /* the offer, copied: the request's bytes go away */
  size_t len;
  uint8_t *covered;
  size_t n;
} offer_t;

static void answer_handoff(coord_t *c, peer_conn_t *conn, uint64_t req_id, int status, const uint8_t *covered,
                           size_t len) {
  static const uint8_t none = 0;
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_HANDOFF_REPLY;
  m.handoff_reply.status = status;
  m.handoff_reply.covered = !status && covered ? (peer_bytes_t){covered, len} : (peer_bytes_t){&none, 0};
  if (coord_clock(c, &m.clock) != 0) vv_clear(&m.clock);
  c->env.respond(c->env.state, conn, req_id, &m);
  peer_msg_free(&m);
}

static int offer_run(coord_work_t *w) {
  offer_t *o = (offer_t *)w;
  recbatch_entry_t *e = NULL;
  int rc = recbatch_decode(o->copy, o->len, &e, &o->n);
  if (!rc && !(o->covered = calloc((o->n + 7) / 8 + 1, 1))) rc = CHORUS_ENOMEM;
  dvv_t have, mine;
  dvv_init(&have);
  dvv_init(&mine);
  for (size_t i = 0; !rc && i < o->n; i++) {
    rc = record_decode(e[i].rec, e[i].rec_len, &have);
    if (rc) break;
    int got = w->c->env.record_read(w->c->env.state, e[i].key, e[i].key_len, &mine);
    if (got == 0 && dvv_covers(&mine, &have))
      o->covered[i / 8] |= (uint8_t)(1u << (i % 8));
    else if (got && got != CHORUS_ENOTFOUND)
      rc = got;
  }
  dvv_free(&have);
  dvv_free(&mine);
  free(e);
  return rc;
}

static void offer_done(coord_work_t *w, int rc) {
  offer_t *o = (offer_t *)w;
  coord_t *c = w->c;
  if (!c->closing) answer_handoff(c, o->conn, o->req_id, rc, o->covered, (o->n + 7) / 8);
  c->env.conn_release(c->env.state, o->conn);
  free(o->copy);
  free(o->covered);
  free(o);
}

static void serve_offer(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  offer_t *o = calloc(1, sizeof *o);
  int rc = o && (o->copy = malloc(req->handoff.batch.len ? req->handoff.batch.len : 1)) ? 0 : CHORUS_ENOMEM;
  if (!rc && !c->env.record_read) rc = CHORUS_ENOTFOUND;
  if (!rc) {
    memcpy(o->copy, req->handoff.batch.p, req->handoff.batch.len);
    o->len = req->handoff.batch.len;
    o->conn = conn;
    o->req_id = req->req_id;
    o->work.run = offer_run;
    o->work.done = offer_done;
    c->env.conn_hold(c->env.state, conn);
    rc = coord_work_queue(c, &o->work);
    if (!rc) return;
    c->env.conn_release(c->env.state, conn);
  }
  if (o) free(o->copy);
  free(o);
  answer_handoff(c, conn, req->req_id, rc, NULL, 0);
}

typedef struct {
  coord_t *c;
  peer_conn_t *conn;
  uint64_t req_id;
  int pending, err;
  uint64_t keys, bytes;
} push_t;

/* Every merge of the push is durable (or failed): the answer goes. */
static void push_finish(push_t *p) {
  coord_t *c = p->c;
  if (!p->err) {
    c->xfer->counters.keys_in += p->keys;
    c->xfer->counters.bytes_in += p->bytes;
    xfer_publish(c);
  }
  if (!c->closing) answer_handoff(c, p->conn, p->req_id, p->err, NULL, 0);
  c->env.conn_release(c->env.state, p->conn);
  free(p);
}

static void pushed_one(cjob_t *j) {
  push_t *p = j->user;
  if (j->job.err && !p->err) p->err = j->job.err;
  coord_cjob_free(j);
  if (--p->pending == 0) push_finish(p);
}

static void serve_push(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  recbatch_entry_t *e = NULL;
  size_t n = 0;
  push_t *p = calloc(1, sizeof *p);
  int rc = p ? recbatch_decode(req->handoff.batch.p, req->handoff.batch.len, &e, &n) : CHORUS_ENOMEM;
  if (rc) {
    free(p);
    answer_handoff(c, conn, req->req_id, rc, NULL, 0);
    return;
  }
  p->c = c;
  p->conn = conn;
  p->req_id = req->req_id;
  p->pending = 1; /* held while the merges go out */
  p->keys = n;
  p->bytes = req->handoff.batch.len;
  c->env.conn_hold(c->env.state, conn);
  rc = coord_xfer_merge(c, e, n, req->from, pushed_one, p, &p->pending);
  free(e);
  if (rc) p->err = rc;
  if (--p->pending == 0) push_finish(p);
}

void coord_serve_xfer(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  if (req->type == PEER_RANGE)
    serve_range(c, conn, req);
  else if (req->handoff.mode == PEER_HANDOFF_OFFER)
    serve_offer(c, conn, req);
  else
    serve_push(c, conn, req);
}
