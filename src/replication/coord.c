/*
 * coord.c - the replication service (see coord.h and coord_internal.h):
 * lifecycle, the inbox that hands client requests (HTTP threads) and engine
 * completions (writer thread) to the loop, dispatch of peers' requests, and
 * membership push-pull (a PEER_PUSH_PULL carries the sender's table and is
 * answered with ours).
 *
 * The inbox is two FIFO lists under one mutex, drained on the loop by a
 * uv_async; uv_async_send coalesces, so one wake-up may drain many items.
 */
#include "coord_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"

#define TICK_MS 20       /* while requests are in flight: their deadlines */
#define IDLE_TICK_MS 1000 /* otherwise: hint delivery and expiry only */

void coord_result_init(coord_result_t *r) {
  memset(r, 0, sizeof *r);
  dvv_init(&r->state);
  buf_init(&r->body);
}

void coord_result_free(coord_result_t *r) {
  dvv_free(&r->state);
  buf_free(&r->body);
  for (size_t i = 0; i < r->n_parts; i++)
    buf_free(&r->parts[i].body);
  free(r->parts);
  r->parts = NULL;
  r->n_parts = 0;
}

void coord_clock(coord_t *c, vv_t *out) {
  if (engine_clock(c->engine, out) != 0) vv_clear(out);
}

/* ---- engine jobs ---- */

static void on_job_done(engine_job_t *job) {
  cjob_t *j = (cjob_t *)job->user;
  coord_t *c = j->c;
  pthread_mutex_lock(&c->mu);
  if (c->jobs_tail)
    c->jobs_tail->next = j;
  else
    c->jobs_head = j;
  c->jobs_tail = j;
  pthread_mutex_unlock(&c->mu);
  uv_async_send(&c->async);
}

cjob_t *coord_cjob_new(coord_t *c, void (*finish)(cjob_t *j)) {
  cjob_t *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  j->hook.done = on_job_done;
  j->c = c;
  j->finish = finish;
  engine_job_init(&j->job);
  j->job.user = j;
  dvv_init(&j->incoming);
  vv_init(&j->remote_clock);
  vv_init(&j->ctx);
  return j;
}

cjob_t *coord_cjob_state(coord_t *c, void (*finish)(cjob_t *j), engine_op_t op, const char *key, size_t key_len,
                         const dvv_t *state) {
  cjob_t *j = coord_cjob_new(c, finish);
  if (!j || !(j->key = malloc(key_len + 1)) || dvv_copy(&j->incoming, state) != 0) {
    coord_cjob_free(j);
    return NULL;
  }
  memcpy(j->key, key, key_len);
  j->key[key_len] = '\0';
  j->job.op = op;
  j->job.key = j->key;
  j->job.key_len = key_len;
  j->job.incoming = &j->incoming;
  return j;
}

cjob_t *coord_cjob_received(coord_t *c, void (*finish)(cjob_t *j), const peer_msg_t *msg, const void *key,
                            size_t key_len) {
  cjob_t *j = coord_cjob_new(c, finish);
  if (!j || !(j->key = malloc(key_len + 1)) || vv_copy(&j->remote_clock, &msg->clock) != 0) {
    coord_cjob_free(j);
    return NULL;
  }
  if (key_len) memcpy(j->key, key, key_len);
  j->key[key_len] = '\0';
  snprintf(j->peer, sizeof j->peer, "%s", msg->from);
  j->job.key = j->key;
  j->job.key_len = key_len;
  j->job.remote_clock = &j->remote_clock;
  j->job.peer = j->peer;
  return j;
}

void coord_cjob_free(cjob_t *j) {
  if (!j) return;
  engine_job_release(&j->job);
  free(j->key);
  free(j->value);
  dvv_free(&j->incoming);
  vv_free(&j->remote_clock);
  vv_free(&j->ctx);
  if (j->conn) peer_conn_release(j->conn);
  free(j);
}

void coord_cjob_submit(cjob_t *j) {
  int rc = engine_submit(j->c->engine, &j->job);
  if (rc) {
    j->job.err = rc;
    j->finish(j);
  }
}

/* ---- reads of the engine on the thread pool ---- */

static void work_run(uv_work_t *u) {
  coord_work_t *w = u->data;
  coord_t *c = w->c;
  pthread_mutex_lock(&c->mu);
  bool closing = c->closing;
  if (!closing) c->readers++;
  pthread_mutex_unlock(&c->mu);
  if (closing) {
    w->rc = CHORUS_ESHUTDOWN; /* the engine may be closed already */
    return;
  }
  w->rc = w->run(w);
  pthread_mutex_lock(&c->mu);
  if (--c->readers == 0) pthread_cond_broadcast(&c->idle);
  pthread_mutex_unlock(&c->mu);
}

static void work_done(uv_work_t *u, int status) {
  coord_work_t *w = u->data;
  coord_t *c = w->c;
  c->works--;
  w->done(w, status ? CHORUS_ESHUTDOWN : w->rc);
  if (c->destroying) coord_unref(c);
}

int coord_work_queue(coord_t *c, coord_work_t *w) {
  if (c->closing) return CHORUS_ESHUTDOWN;
  w->c = c;
  w->rc = 0;
  w->uv.data = w;
  if (uv_queue_work(c->loop, &w->uv, work_run, work_done) != 0) return CHORUS_EIO;
  c->works++;
  return 0;
}

/* ---- the inbox ---- */

int coord_submit(coord_t *c, coord_req_t *req) {
  pthread_mutex_lock(&c->mu);
  bool closing = c->closing;
  if (!closing) {
    req->next = NULL;
    if (c->reqs_tail)
      c->reqs_tail->next = req;
    else
      c->reqs_head = req;
    c->reqs_tail = req;
  }
  pthread_mutex_unlock(&c->mu);
  if (closing) return CHORUS_ESHUTDOWN;
  uv_async_send(&c->async);
  return 0;
}

static void drain(coord_t *c) {
  pthread_mutex_lock(&c->mu);
  coord_req_t *reqs = c->reqs_head;
  cjob_t *jobs = c->jobs_head;
  c->reqs_head = c->reqs_tail = NULL;
  c->jobs_head = c->jobs_tail = NULL;
  pthread_mutex_unlock(&c->mu);
  while (jobs) {
    cjob_t *next = jobs->next;
    jobs->finish(jobs);
    jobs = next;
  }
  while (reqs) {
    coord_req_t *next = reqs->next;
    coord_client_start(c, reqs, false);
    reqs = next;
  }
}

static void on_async(uv_async_t *a) {
  drain(a->data);
}

static void on_tick(uv_timer_t *t) {
  coord_t *c = t->data;
  coord_client_tick(c, uv_now(c->loop));
  coord_hints_tick(c, uv_now(c->loop));
  /* An idle node wakes once a second, not fifty times. */
  uint64_t want = c->ops || c->hint_batch ? TICK_MS : IDLE_TICK_MS;
  if (uv_timer_get_repeat(t) != want) uv_timer_start(t, on_tick, want, want);
}

void coord_wake(coord_t *c) {
  if (uv_timer_get_repeat(&c->timer) != TICK_MS && !c->closing) uv_timer_start(&c->timer, on_tick, TICK_MS, TICK_MS);
}

bool coord_needed(coord_t *c) {
  view_t *v = view_acquire(c->view);
  bool needed = view_ring_members(v) > 1;
  view_release(v);
  return needed;
}

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
  int rc = peer_net_request(c->net, to, &m, timeout_ms, on_pp_reply, call);
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
  peer_net_respond(conn, req->req_id, &m);
  peer_msg_free(&m);
}

/* ---- peers' requests ---- */

static void on_request(peer_conn_t *conn, const peer_msg_t *req, void *state) {
  coord_t *c = state;
  if (c->closing) return;
  switch (req->type) {
  case PEER_PUSH_PULL: answer_push_pull(c, conn, req); break;
  case PEER_REPLICATE: coord_serve_replicate(c, conn, req); break;
  case PEER_READ: coord_serve_read(c, conn, req); break;
  case PEER_FORWARD: coord_serve_forward(c, conn, req); break;
  case PEER_EVENTS: coord_serve_events(c, conn, req); break;
  default: log_debug("peer: %s sent a request of type %d this node does not serve", req->from, req->type);
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
  c->format = o->format;
  c->api_state = o->api_state;
  buf_init(&c->scratch);
  if (pthread_mutex_init(&c->mu, NULL) != 0) {
    free(c);
    return CHORUS_ENOMEM;
  }
  if (pthread_cond_init(&c->idle, NULL) != 0) {
    pthread_mutex_destroy(&c->mu);
    free(c);
    return CHORUS_ENOMEM;
  }
  peer_net_opts_t po = {.cfg = o->cfg, .node_id = o->node_id, .on_request = on_request, .state = c};
  int rc = peer_net_start(loop, &po, &c->net);
  if (rc) {
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->mu);
    buf_free(&c->scratch);
    free(c);
    return rc;
  }
  uv_async_init(loop, &c->async, on_async);
  uv_timer_init(loop, &c->timer);
  c->async.data = c->timer.data = c;
  uv_timer_start(&c->timer, on_tick, TICK_MS, TICK_MS);
  *out = c;
  return 0;
}

void coord_set_gossip(coord_t *c, gossip_t *g) {
  c->gossip = g;
}

void coord_unref(coord_t *c) {
  if (--c->handles > 0) return;
  for (size_t i = 0; i < c->n_spare_ops; i++)
    free(c->spare_ops[i]);
  pthread_cond_destroy(&c->idle);
  pthread_mutex_destroy(&c->mu);
  buf_free(&c->scratch);
  free(c);
}

static void on_handle_closed(uv_handle_t *h) {
  coord_unref(h->data);
}

void coord_close(coord_t *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  c->closing = true;
  /* Work functions see closing from now on and skip the engine; wait for
   * those already reading it, so the engine can be closed after us. */
  while (c->readers > 0)
    pthread_cond_wait(&c->idle, &c->mu);
  pthread_mutex_unlock(&c->mu);
  drain(c); /* queued requests: answered ESHUTDOWN by coord_client_start */
  peer_net_close(c->net); /* fails every request in flight on the network */
  coord_client_fail_all(c);
  uv_timer_stop(&c->timer);
}

void coord_destroy(coord_t *c) {
  if (!c) return;
  drain(c); /* engine completions that arrived since */
  c->destroying = true;
  c->handles = 2 + c->works; /* c is freed when these are done */
  uv_close((uv_handle_t *)&c->async, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

const peer_net_counters_t *coord_peer_counters(const coord_t *c) {
  return peer_net_counters(c->net);
}

const coord_stats_t *coord_stats(const coord_t *c) {
  return &c->stats;
}
