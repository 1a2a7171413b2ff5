/*
 * coord_serve.c - what this node does for its peers: merge a replica
 * write (or store it as a hint for another node), read a key for a
 * coordinator, coordinate a client write forwarded to it, and hand over
 * its part of an events gather (produced on the thread pool, see
 * coord_gather.c).
 *
 * Every answer carries this node's clock after the job's event, and every
 * job carries the requester's clock, so the event logs of both ends record
 * the message (receive and send events); an answer whose clock cannot be
 * copied (out of memory) reports an error rather than go without it. A
 * request that does not hold together (a key that is not UTF-8, a record
 * that does not decode) is answered with CHORUS_ECORRUPT and changes
 * nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/utf8.h"
#include "../storage/context.h"
#include "coord_internal.h"

static bool key_ok(peer_bytes_t k) {
  return k.p && k.len >= 1 && k.len <= ENGINE_KEY_MAX && !memchr(k.p, 0, k.len) && utf8_valid(k.p, k.len);
}

static char *copy_bytes(peer_bytes_t b) {
  char *s = malloc(b.len + 1);
  if (!s) return NULL;
  if (b.len) memcpy(s, b.p, b.len);
  s[b.len] = '\0';
  return s;
}

/* A job on behalf of the peer request req received on conn. */
static cjob_t *peer_job(coord_t *c, peer_conn_t *conn, const peer_msg_t *req, peer_bytes_t key,
                        void (*finish)(cjob_t *)) {
  cjob_t *j = coord_cjob_received(c, finish, req, key.p, key.len);
  if (!j) return NULL;
  c->env.conn_hold(c->env.state, conn);
  j->conn = conn;
  j->req_id = req->req_id;
  return j;
}

/* ---- replica writes and hints ---- */

static void ack(coord_t *c, peer_conn_t *conn, uint64_t req_id, int status, uint64_t event_id,
                const vv_t *clock) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_REPLICATE_ACK;
  /* the coordinator then counts this replica as failed and keeps a hint: merging it again changes nothing */
  if (clock && vv_copy(&m.clock, clock) != 0 && !status) status = CHORUS_ENOMEM;
  m.replicate_ack.status = status;
  m.replicate_ack.event_id = event_id;
  c->env.respond(c->env.state, conn, req_id, &m);
  peer_msg_free(&m);
}

static void replicated(cjob_t *j) {
  ack(j->c, j->conn, j->req_id, j->job.err, j->job.event_id, &j->job.clock);
  coord_cjob_free(j);
}

static event_type_t event_of(peer_op_t op) {
  switch (op) {
  case PEER_OP_READ_REPAIR: return EVENT_READ_REPAIR;
  case PEER_OP_HINT: return EVENT_HINT_DELIVERED;
  case PEER_OP_REPAIR: return EVENT_REPAIR;
  default: return EVENT_REPLICATE;
  }
}

/* A replica request made for a client's request (not anti-entropy, hints
 * or tombstone collection): anti-entropy here yields while they come. */
static void client_seen(coord_t *c) {
  c->client_seen_at = c->env.now_ms(c->env.state);
}

void coord_serve_replicate(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  const peer_replicate_t *r = &req->replicate;
  if (r->op == PEER_OP_PUT || r->op == PEER_OP_DELETE || r->op == PEER_OP_READ_REPAIR) client_seen(c);
  if (!key_ok(r->key)) {
    ack(c, conn, req->req_id, CHORUS_ECORRUPT, 0, NULL);
    return;
  }
  /* the last pass of a leave: a record taken now would be left behind (the
   * coordinator keeps a hint instead) */
  if (r->op != PEER_OP_REAP && coord_xfer_refusing(c)) {
    ack(c, conn, req->req_id, CHORUS_ESHUTDOWN, 0, NULL);
    return;
  }
  cjob_t *j = peer_job(c, conn, req, r->key, replicated);
  if (!j) {
    ack(c, conn, req->req_id, CHORUS_ENOMEM, 0, NULL);
    return;
  }
  int rc = record_decode(r->record.p, r->record.len, &j->incoming);
  if (rc || j->incoming.n == 0) {
    ack(c, conn, req->req_id, rc ? rc : CHORUS_ECORRUPT, 0, NULL);
    coord_cjob_free(j);
    return;
  }
  j->job.incoming = &j->incoming;
  if (r->op == PEER_OP_REAP) {
    j->job.op = ENGINE_REAP; /* dropped only if it is still exactly these tombstones */
  } else if (r->hint_for[0]) {
    snprintf(j->owner, sizeof j->owner, "%s", r->hint_for);
    j->job.op = ENGINE_HINT_PUT;
    j->job.hint_owner = j->owner;
  } else {
    j->job.op = ENGINE_MERGE;
    j->job.event_type = event_of(r->op);
    if (r->request_id.p && r->request_id.len <= ENGINE_REQUEST_ID_MAX && r->request_id.len &&
        (r->op == PEER_OP_PUT || r->op == PEER_OP_DELETE)) {
      memcpy(j->request_id, r->request_id.p, r->request_id.len);
      j->request_id[r->request_id.len] = '\0';
      j->job.request_id = j->request_id;
      j->job.request_op = r->op == PEER_OP_PUT ? ENGINE_PUT : ENGINE_DELETE;
    }
  }
  coord_cjob_submit(j);
}

/* ---- replica reads ---- */

static void read_done(cjob_t *j) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_READ_REPLY;
  buf_t rec;
  buf_init(&rec);
  int err = j->job.err == CHORUS_ENOTFOUND ? 0 : j->job.err;
  if (!err) err = vv_copy(&m.clock, &j->job.clock);
  /* j->incoming: the requester's have, when it sent one */
  if (!err && j->job.state.n && j->incoming.n && dvv_covers(&j->incoming, &j->job.state)) {
    m.read_reply.covered = true;
  } else if (!err && j->job.state.n) {
    err = record_encode(&j->job.state, &rec);
    if (!err) m.read_reply.record = (peer_bytes_t){rec.data, rec.len};
  }
  m.read_reply.status = err;
  j->c->env.respond(j->c->env.state, j->conn, j->req_id, &m);
  peer_msg_free(&m);
  buf_free(&rec);
  coord_cjob_free(j);
}

void coord_serve_read(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  peer_msg_t m;
  if (!req->read.have.p) client_seen(c); /* tombstone collection's reads count too: they are rare */
  int rc = key_ok(req->read.key) ? 0 : CHORUS_ECORRUPT;
  cjob_t *j = rc ? NULL : peer_job(c, conn, req, req->read.key, read_done);
  if (!rc && !j) rc = CHORUS_ENOMEM;
  if (!rc && req->read.have.p) rc = record_decode(req->read.have.p, req->read.have.len, &j->incoming);
  if (!rc) {
    j->job.op = ENGINE_GET;
    coord_cjob_submit(j);
    return;
  }
  coord_cjob_free(j);
  peer_msg_init(&m);
  m.type = PEER_READ_REPLY;
  m.read_reply.status = rc;
  c->env.respond(c->env.state, conn, req->req_id, &m);
  peer_msg_free(&m);
}

/* ---- forwarded client writes ---- */

typedef struct {
  coord_req_t req;
  coord_t *c;
  char *key;
  char *value;
  vv_t ctx;
  char request_id[ENGINE_REQUEST_ID_MAX + 1];
  peer_conn_t *conn;
  uint64_t req_id;
} forward_t;

static void forward_free(forward_t *f) {
  coord_result_free(&f->req.result);
  free(f->key);
  free(f->value);
  vv_free(&f->ctx);
  if (f->conn) f->c->env.conn_release(f->c->env.state, f->conn);
  free(f);
}

/* A forwarded write that cannot start: its error is the whole answer. */
static void refuse_forward(coord_t *c, peer_conn_t *conn, uint64_t req_id, int rc) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_FORWARD_REPLY;
  m.forward_reply.status = rc;
  c->env.respond(c->env.state, conn, req_id, &m);
  peer_msg_free(&m);
}

/* The forwarded write's outcome, as data: the forwarding node renders the
 * client's reply from it. */
static void forward_done(coord_req_t *req) {
  forward_t *f = req->user;
  const coord_result_t *res = &req->result;
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_FORWARD_REPLY;
  peer_forward_reply_t *fr = &m.forward_reply;
  buf_t rec;
  buf_init(&rec);
  int rc = res->state.n ? record_encode(&res->state, &rec) : 0;
  if (!rc) rc = rec.err;
  if (!rc && res->state.n) fr->record = (peer_bytes_t){rec.data, rec.len};
  coord_outcome_t oc;
  coord_outcome(req, &oc);
  fr->status = rc ? rc : res->err;
  fr->flags = (uint8_t)((res->no_space ? PEER_FWD_NO_SPACE : 0) |
                        (res->request_reused ? PEER_FWD_REQUEST_REUSED : 0) |
                        (oc.quorum_achieved ? PEER_FWD_QUORUM : 0));
  fr->event_id = res->event_id;
  fr->required = (uint8_t)oc.required;
  memcpy(fr->responsible, oc.responsible, sizeof fr->responsible);
  fr->lists = oc.lists; /* oc outlives the respond */
  fr->dot = res->dot;
  fr->replaced = res->replaced; /* res outlives the respond */
  f->c->env.respond(f->c->env.state, f->conn, f->req_id, &m);
  peer_msg_free(&m);
  buf_free(&rec);
  forward_free(f);
}

void coord_serve_forward(coord_t *c, peer_conn_t *conn, const peer_msg_t *msg) {
  const peer_forward_t *fw = &msg->forward;
  forward_t *f = calloc(1, sizeof *f);
  if (!f) {
    refuse_forward(c, conn, msg->req_id, CHORUS_ENOMEM);
    return;
  }
  f->c = c;
  vv_init(&f->ctx);
  coord_result_init(&f->req.result);
  c->env.conn_hold(c->env.state, conn);
  f->conn = conn;
  f->req_id = msg->req_id;
  f->key = copy_bytes(fw->key);
  f->value = fw->value.p ? copy_bytes(fw->value) : NULL;
  int rc = !f->key || (fw->value.p && !f->value) ? CHORUS_ENOMEM : key_ok(fw->key) ? 0 : CHORUS_EINVAL;
  if (!rc && fw->context.p) rc = context_decode((const char *)fw->context.p, fw->context.len, &f->ctx);
  if (!rc && fw->request_id.p && fw->request_id.len > ENGINE_REQUEST_ID_MAX) rc = CHORUS_EINVAL;
  if (rc) {
    refuse_forward(c, conn, msg->req_id, rc);
    forward_free(f);
    return;
  }
  if (fw->request_id.p) memcpy(f->request_id, fw->request_id.p, fw->request_id.len);
  coord_req_t *r = &f->req;
  r->op = fw->op == PEER_OP_DELETE ? ENGINE_DELETE : ENGINE_PUT;
  r->key = f->key;
  r->key_len = fw->key.len;
  r->value = (const uint8_t *)f->value;
  r->value_len = fw->value.len;
  r->ctx = fw->context.p ? &f->ctx : NULL;
  r->request_id = f->request_id;
  r->r = fw->r;
  r->w = fw->w;
  r->done = forward_done;
  r->user = f;
  coord_client_start(c, r, true);
}

/* ---- event logs ---- */

typedef struct {
  coord_part_work_t work; /* first */
  coord_t *c;
  peer_conn_t *conn;
  uint64_t req_id;
} serve_part_t;

/* part and clock: NULL when status is not 0. */
static void answer_events(coord_t *c, peer_conn_t *conn, uint64_t req_id, int status, const buf_t *part,
                          const vv_t *clock) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_EVENTS_REPLY;
  m.events_reply.status = status;
  m.events_reply.events = (peer_bytes_t){(const uint8_t *)"", 0};
  if (!status && part) m.events_reply.events = (peer_bytes_t){part->data, part->len};
  if (clock) vv_copy(&m.clock, clock);
  c->env.respond(c->env.state, conn, req_id, &m);
  peer_msg_free(&m);
}

/* The part is in: the loop only sends its bytes. Closing, nothing is sent
 * (the transport is closed; the requester saw its connection fail). */
static void events_done(coord_part_work_t *w, int rc) {
  serve_part_t *s = (serve_part_t *)w;
  coord_t *c = s->c;
  if (!c->closing) answer_events(c, s->conn, s->req_id, rc, rc ? NULL : &w->part, rc ? NULL : &w->clock);
  c->env.conn_release(c->env.state, s->conn);
  coord_part_work_free(w);
  free(s);
}

void coord_serve_events(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  serve_part_t *s = calloc(1, sizeof *s);
  int rc = s ? 0 : CHORUS_ENOMEM;
  if (s) {
    s->c = c;
    s->conn = conn;
    s->req_id = req->req_id;
    c->env.conn_hold(c->env.state, conn);
    rc = coord_part_queue(c, &s->work, req->events.since, req->events.limit, events_done);
    if (rc) {
      c->env.conn_release(c->env.state, conn);
      free(s);
    }
  }
  if (rc) answer_events(c, conn, req->req_id, rc, NULL, NULL);
}
