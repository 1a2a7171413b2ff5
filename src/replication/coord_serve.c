/*
 * coord_serve.c - what this node does for its peers: merge a replica
 * write (or store it as a hint for another node), read a key for a
 * coordinator, coordinate a client write forwarded to it, and hand over
 * its part of an events gather (produced on the thread pool, see
 * coord_gather.c).
 *
 * Every answer carries this node's clock after the job's event, and every
 * job carries the requester's clock, so the event logs of both ends record
 * the message (receive and send events). A request that does not hold
 * together (a key that is not UTF-8, a record that does not decode) is
 * answered with CHORUS_ECORRUPT and changes nothing.
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
  peer_conn_hold(conn);
  j->conn = conn;
  j->req_id = req->req_id;
  return j;
}

/* ---- replica writes and hints ---- */

static void ack(peer_conn_t *conn, uint64_t req_id, int status, uint64_t event_id, const vv_t *clock) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_REPLICATE_ACK;
  m.replicate_ack.status = status;
  m.replicate_ack.event_id = event_id;
  if (clock) vv_copy(&m.clock, clock);
  peer_net_respond(conn, req_id, &m);
  peer_msg_free(&m);
}

static void replicated(cjob_t *j) {
  ack(j->conn, j->req_id, j->job.err, j->job.event_id, &j->job.clock);
  coord_cjob_free(j);
}

static event_type_t event_of(peer_op_t op) {
  switch (op) {
  case PEER_OP_READ_REPAIR: return EVENT_READ_REPAIR;
  case PEER_OP_HINT: return EVENT_HINT_DELIVERED;
  default: return EVENT_REPLICATE;
  }
}

void coord_serve_replicate(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  const peer_replicate_t *r = &req->replicate;
  if (!key_ok(r->key)) {
    ack(conn, req->req_id, CHORUS_ECORRUPT, 0, NULL);
    return;
  }
  cjob_t *j = peer_job(c, conn, req, r->key, replicated);
  if (!j) {
    ack(conn, req->req_id, CHORUS_ENOMEM, 0, NULL);
    return;
  }
  if (record_decode(r->record.p, r->record.len, &j->incoming) != 0 || j->incoming.n == 0) {
    ack(conn, req->req_id, CHORUS_ECORRUPT, 0, NULL);
    coord_cjob_free(j);
    return;
  }
  j->job.incoming = &j->incoming;
  if (r->hint_for[0]) {
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
  if (!err && j->job.state.n) {
    err = record_encode(&j->job.state, &rec);
    if (!err) m.read_reply.record = (peer_bytes_t){rec.data, rec.len};
  }
  m.read_reply.status = err;
  vv_copy(&m.clock, &j->job.clock);
  peer_net_respond(j->conn, j->req_id, &m);
  peer_msg_free(&m);
  buf_free(&rec);
  coord_cjob_free(j);
}

void coord_serve_read(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  peer_msg_t m;
  if (key_ok(req->read.key)) {
    cjob_t *j = peer_job(c, conn, req, req->read.key, read_done);
    if (j) {
      j->job.op = ENGINE_GET;
      coord_cjob_submit(j);
      return;
    }
  }
  peer_msg_init(&m);
  m.type = PEER_READ_REPLY;
  m.read_reply.status = key_ok(req->read.key) ? CHORUS_ENOMEM : CHORUS_ECORRUPT;
  peer_net_respond(conn, req->req_id, &m);
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
  if (f->conn) peer_conn_release(f->conn);
  free(f);
}

static void answer_forward(peer_conn_t *conn, uint64_t req_id, int status, const buf_t *body) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_FORWARD_REPLY;
  m.forward_reply.http_status = (uint16_t)status;
  m.forward_reply.body = (peer_bytes_t){body->data ? body->data : (const uint8_t *)"", body->len};
  peer_net_respond(conn, req_id, &m);
  peer_msg_free(&m);
}

static void forward_done(coord_req_t *req) {
  forward_t *f = req->user;
  buf_t body;
  buf_init(&body);
  int status = 500;
  if (!f->c->format || f->c->format(req, &body, &status, f->c->api_state) != 0) {
    static const char internal[] = "{\"error\":{\"code\":\"internal\",\"message\":\"cannot format the reply\"}}";
    buf_reset(&body);
    status = 500;
    buf_put(&body, internal, sizeof internal - 1);
  }
  answer_forward(f->conn, f->req_id, status, &body);
  buf_free(&body);
  forward_free(f);
}

void coord_serve_forward(coord_t *c, peer_conn_t *conn, const peer_msg_t *msg) {
  const peer_forward_t *fw = &msg->forward;
  forward_t *f = calloc(1, sizeof *f);
  buf_t err;
  buf_init(&err);
  if (!f) return; /* the forwarding node times out */
  f->c = c;
  vv_init(&f->ctx);
  coord_result_init(&f->req.result);
  peer_conn_hold(conn);
  f->conn = conn;
  f->req_id = msg->req_id;
  f->key = copy_bytes(fw->key);
  f->value = fw->value.p ? copy_bytes(fw->value) : NULL;
  bool ok = f->key && (!fw->value.p || f->value) && key_ok(fw->key);
  if (ok && fw->context.p) ok = context_decode((const char *)fw->context.p, fw->context.len, &f->ctx) == 0;
  if (ok && fw->request_id.p) {
    ok = fw->request_id.len <= ENGINE_REQUEST_ID_MAX;
    if (ok) memcpy(f->request_id, fw->request_id.p, fw->request_id.len);
  }
  if (!ok) {
    static const char bad[] = "{\"error\":{\"code\":\"bad_request\",\"message\":\"malformed forwarded request\"}}";
    buf_put(&err, bad, sizeof bad - 1);
    answer_forward(conn, msg->req_id, 400, &err);
    buf_free(&err);
    forward_free(f);
    return;
  }
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
static void answer_events(peer_conn_t *conn, uint64_t req_id, int status, const buf_t *part, const vv_t *clock) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_EVENTS_REPLY;
  m.events_reply.status = status;
  m.events_reply.events = (peer_bytes_t){(const uint8_t *)"", 0};
  if (!status && part) m.events_reply.events = (peer_bytes_t){part->data, part->len};
  if (clock) vv_copy(&m.clock, clock);
  peer_net_respond(conn, req_id, &m);
  peer_msg_free(&m);
}

/* The part is in: the loop only sends its bytes. Closing, nothing is sent
 * (the transport is closed; the requester saw its connection fail). */
static void events_done(coord_part_work_t *w, int rc) {
  serve_part_t *s = (serve_part_t *)w;
  if (!s->c->closing) answer_events(s->conn, s->req_id, rc, rc ? NULL : &w->part, rc ? NULL : &w->clock);
  peer_conn_release(s->conn);
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
    peer_conn_hold(conn);
    rc = coord_part_queue(c, &s->work, req->events.since, req->events.limit, events_done);
    if (rc) {
      peer_conn_release(conn);
      free(s);
    }
  }
  if (rc) answer_events(conn, req->req_id, rc, NULL, NULL);
}
