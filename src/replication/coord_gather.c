/*
 * coord_gather.c - requests every live member answers (COORD_EVENTS: the
 * event logs behind /api/v1/cluster/events), and this node's part of them.
 *
 * Every live member (alive or suspected in the current view) but this node
 * gets a PEER_EVENTS (from the member's own cursor when the request carries
 * one: the /ws push); this node's part is produced on the thread pool like
 * the part it serves to a peer (coord_serve.c). The request is answered
 * when the last part is in or timed out. A member that does not answer is
 * reported with its error rather than failing the whole request.
 *
 * A part is data (events_part.h), never JSON: producing it reads LevelDB
 * (the event log, the conflict index) and encodes, which takes milliseconds
 * for a thousand events, so it never runs on the loop, where SWIM's probe
 * timeouts fire. The loop only hands bytes on; whoever answers decodes them.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "events_part.h"
#include "coord_internal.h"

_Static_assert(EVENTS_PART_MAX_BYTES <= PEER_RECORD_MAX, "a part must fit a PEER_EVENTS_REPLY");

/* ---- this node's part ---- */

/* Worker pool: the store reads its log and encodes (coord_uv.c does it
 * with the engine). */
static int part_run(coord_work_t *w) {
  coord_part_work_t *pw = (coord_part_work_t *)w;
  coord_t *c = w->c;
  if (!c->env.events_part) return CHORUS_EINVAL;
  return c->env.events_part(c->env.state, pw->since, pw->limit, &pw->part, &pw->clock);
}

static void part_done(coord_work_t *w, int rc) {
  coord_part_work_t *pw = (coord_part_work_t *)w;
  pw->done(pw, rc);
}

int coord_part_queue(coord_t *c, coord_part_work_t *w, uint64_t since, uint32_t limit,
                     void (*done)(coord_part_work_t *w, int rc)) {
  w->since = since;
  w->limit = limit == 0 ? 1 : limit > EVENTS_PART_MAX_EVENTS ? EVENTS_PART_MAX_EVENTS : limit;
  buf_init(&w->part);
  vv_init(&w->clock);
  w->done = done;
  w->work.run = part_run;
  w->work.done = part_done;
  return coord_work_queue(c, &w->work);
}

void coord_part_work_free(coord_part_work_t *w) {
  buf_free(&w->part);
  vv_free(&w->clock);
}

/* ---- the gather ---- */

typedef struct {
  coord_t *c;
  coord_req_t *req;
  size_t waiting;
} gather_t;

typedef struct {
  gather_t *g;
  size_t part;
} part_call_t;

typedef struct {
  coord_part_work_t work; /* first */
  gather_t *g;
} self_part_t;

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

/* This node's part is in (parts[0]): its bytes move into the result. */
static void on_self_part(coord_part_work_t *w, int rc) {
  self_part_t *s = (self_part_t *)w;
  gather_t *g = s->g;
  coord_part_t *p = &g->req->result.parts[0];
  p->status = rc;
  if (!rc) {
    buf_free(&p->body);
    p->body = w->part;
    buf_init(&w->part);
  }
  coord_part_work_free(w);
  free(s);
  g->waiting--;
  gather_settle(g);
}

static void ask_self(coord_t *c, gather_t *g, coord_part_t *self) {
  snprintf(self->node, sizeof self->node, "%s", c->self);
  buf_init(&self->body);
  self_part_t *s = calloc(1, sizeof *s);
  if (!s) {
    self->status = CHORUS_ENOMEM;
    return;
  }
  s->g = g;
  g->waiting++;
  self->status = coord_part_queue(c, &s->work, since_of(g->req, c->self), g->req->limit, on_self_part);
  if (self->status) {
    g->waiting--;
    free(s);
  }
}

void coord_gather_start(coord_t *c, coord_req_t *req) {
  coord_result_t *res = &req->result;
  view_t *v = view_acquire(c->view);
  gather_t *g = calloc(1, sizeof *g);
  res->parts = calloc(v->n + 1, sizeof *res->parts);
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
  g->waiting = 1;                              /* held while asking: an answer may come at once */
  ask_self(c, g, &res->parts[res->n_parts++]); /* this node first */
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
