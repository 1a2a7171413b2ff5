/*
 * coord_gather.c - requests every live member answers (COORD_EVENTS: the
 * event logs behind /api/v1/cluster/events).
 *
 * This node's part is produced at once; every other live member (alive or
 * suspected in the current view) gets a PEER_EVENTS (from the member's own
 * cursor when the request carries one: the /ws push), and the request is
 * answered when the last part is in or timed out. A member that does not
 * answer is reported with its error rather than failing the whole request.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "coord_internal.h"

typedef struct {
  coord_t *c;
  coord_req_t *req;
  size_t waiting;
} gather_t;

typedef struct {
  gather_t *g;
  size_t part;
} part_call_t;

/* A member's since: its own cursor if the request has one. */
static uint64_t since_of(const coord_req_t *req, const char *node) {
  for (size_t i = 0; i < req->n_cursors; i++)
    if (strcmp(req->cursors[i].node, node) == 0) return req->cursors[i].since;
  return req->since;
}

static void gather_settle(gather_t *g) {
  if (g->waiting) return;
  g->req->done(g->req);
  free(g);
}

static void on_part(int status, const peer_msg_t *reply, void *arg) {
  part_call_t *call = arg;
  gather_t *g = call->g;
  coord_part_t *p = &g->req->result.parts[call->part];
  free(call);
  if (status == 0 && (reply->type != PEER_EVENTS_REPLY || reply->events_reply.status)) status = CHORUS_EIO;
  if (status == 0) buf_put(&p->body, reply->events_reply.events.p, reply->events_reply.events.len);
  p->status = status ? status : p->body.err;
  g->waiting--;
  gather_settle(g);
}

void coord_gather_start(coord_t *c, coord_req_t *req) {
  coord_result_t *res = &req->result;
  view_t *v = view_acquire(c->view);
  gather_t *g = calloc(1, sizeof *g);
  res->parts = calloc(v->n, sizeof *res->parts);
  if (!g || !res->parts) {
    free(g);
    view_release(v);
    res->err = CHORUS_ENOMEM;
    req->done(req);
    return;
  }
  g->c = c;
  g->req = req;
  uint32_t limit = req->limit ? req->limit : 1;
  /* this node first */
  coord_part_t *self = &res->parts[res->n_parts++];
  snprintf(self->node, sizeof self->node, "%s", c->self);
  buf_init(&self->body);
  self->status =
      c->events ? c->events(since_of(req, c->self), limit, &self->body, c->api_state) : CHORUS_EINVAL;
  g->waiting = 1; /* held while sending: a send may fail at once */
  for (size_t i = 0; i < v->n; i++) {
    const view_member_t *m = &v->members[i];
    if (strcmp(m->id, c->self) == 0 || !view_is_up(v, m->id)) continue;
    coord_part_t *p = &res->parts[res->n_parts];
    snprintf(p->node, sizeof p->node, "%s", m->id);
    buf_init(&p->body);
    part_call_t *call = malloc(sizeof *call);
    if (!call) {
      p->status = CHORUS_ENOMEM;
      res->n_parts++;
      continue;
    }
    call->g = g;
    call->part = res->n_parts++;
    peer_msg_t msg;
    peer_msg_init(&msg);
    msg.type = PEER_EVENTS;
    msg.events.since = since_of(req, m->id);
    msg.events.limit = limit;
    coord_clock(c, &msg.clock);
    g->waiting++;
    if (coord_request(c, &m->addr, &msg, c->cfg->request_timeout_ms, on_part, call) != 0) {
      g->waiting--;
      p->status = CHORUS_EIO;
      free(call);
    }
    peer_msg_free(&msg);
  }
  view_release(v);
  g->waiting--;
  gather_settle(g);
}
