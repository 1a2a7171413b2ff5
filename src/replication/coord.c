/*
 * coord.c - the replication service (see coord.h): peer requests in,
 * coordinated client requests out.
 *
 * Membership push-pull: a PEER_PUSH_PULL carries the sender's table and is
 * answered with ours (gossip_on_push_pull).
 */
#include "coord.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"

struct coord {
  uv_loop_t *loop;
  const config_t *cfg;
  char self[NODE_ID_MAX + 1];
  engine_t *engine;
  view_holder_t *view;
  gossip_t *gossip;
  peer_net_t *net;
  buf_t scratch;
  bool closing;
};

/* ---- membership push-pull ---- */

typedef struct {
  gossip_pp_done_fn done;
  void *arg;
} pp_call_t;

static void on_pp_reply(int status, const peer_msg_t *reply, void *arg) {
  pp_call_t *call = arg;
  if (status == 0 && reply->type != PEER_PUSH_PULL_REPLY) status = CHORUS_ECORRUPT;
  if (status == 0)
    call->done(0, reply->push_pull.state.p, reply->push_pull.state.len, call->arg);
  else
    call->done(status, NULL, 0, call->arg);
  free(call);
}

static int pp_send(void *ctx, const swim_addr_t *to, const uint8_t *state, size_t len, uint64_t timeout_ms,
                   gossip_pp_done_fn done, void *arg) {
  coord_t *c = ctx;
  pp_call_t *call = malloc(sizeof *call);
  if (!call) return CHORUS_ENOMEM;
  call->done = done;
  call->arg = arg;
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_PUSH_PULL;
  m.push_pull.state = (peer_bytes_t){state, len};
  int rc = engine_clock(c->engine, &m.clock);
  if (!rc) rc = peer_net_request(c->net, to, &m, timeout_ms, on_pp_reply, call);
  peer_msg_free(&m);
  if (rc) free(call);
  return rc;
}

gossip_transport_t coord_gossip_transport(coord_t *c) {
  return (gossip_transport_t){.send = pp_send, .ctx = c};
}

static void answer_push_pull(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  buf_reset(&c->scratch);
  if (!c->gossip || gossip_on_push_pull(c->gossip, req->push_pull.state.p, req->push_pull.state.len, &c->scratch))
    return; /* the requester times out and retries later */
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_PUSH_PULL_REPLY;
  m.push_pull.state = (peer_bytes_t){c->scratch.data, c->scratch.len};
  if (engine_clock(c->engine, &m.clock) == 0) peer_net_respond(conn, req->req_id, &m);
  peer_msg_free(&m);
}

/* ---- peers' requests ---- */

static void on_request(peer_conn_t *conn, const peer_msg_t *req, void *state) {
  coord_t *c = state;
  if (c->closing) return;
  switch (req->type) {
  case PEER_PUSH_PULL: answer_push_pull(c, conn, req); break;
  default: log_debug("peer: %s sent a request of type %d this node does not serve yet", req->from, req->type);
  }
}

/* ---- lifecycle ---- */

int coord_start(uv_loop_t *loop, const coord_opts_t *o, coord_t **out) {
  coord_t *c = calloc(1, sizeof *c);
  if (!c) return CHORUS_ENOMEM;
  c->loop = loop;
  c->cfg = o->cfg;
  snprintf(c->self, sizeof c->self, "%s", o->node_id);
  c->engine = o->engine;
  c->view = o->view;
  buf_init(&c->scratch);
  peer_net_opts_t po = {.cfg = o->cfg, .node_id = o->node_id, .on_request = on_request, .state = c};
  int rc = peer_net_start(loop, &po, &c->net);
  if (rc) {
    buf_free(&c->scratch);
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void coord_set_gossip(coord_t *c, gossip_t *g) {
  c->gossip = g;
}

void coord_close(coord_t *c) {
  if (!c) return;
  c->closing = true;
  peer_net_close(c->net);
  buf_free(&c->scratch);
  free(c);
}

const peer_net_counters_t *coord_peer_counters(const coord_t *c) {
  return peer_net_counters(c->net);
}
