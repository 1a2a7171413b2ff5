/*
 * coord.c - the replication service (see coord.h and coord_internal.h):
 * lifecycle, the inbox that hands client requests (HTTP threads) and engine
 * completions (writer thread) to the loop, dispatch of peers' requests, and
 * membership push-pull (a PEER_PUSH_PULL carries the sender's table and is
 * answered with ours).
 *
 * The inbox is two queues (common/tqueue.h) drained on the loop by
 * coord_drain when env.wake says so; wake-ups coalesce, so one may drain
 * many items. Nothing here calls libuv, the transport or the engine: they
 * are reached through c->env (coord.h), which coord_uv.c fills for chorusd
 * and a simulator fills for tests.
 */
#include "coord_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"

void coord_result_init(coord_result_t *r) {
  memset(r, 0, sizeof *r);
  dvv_init(&r->state);
}

static void nodes_add(peer_nodes_t *l, const char *id) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->id[i], id) == 0) return;
  if (l->n < PEER_NODES_MAX) snprintf(l->id[l->n++], sizeof l->id[0], "%s", id);
}

void coord_outcome(const coord_req_t *req, coord_outcome_t *out) {
  const coord_result_t *res = &req->result;
  if (res->forwarded) {
    *out = res->outcome;
    return;
  }
  memset(out, 0, sizeof *out);
  const plan_t *p = &res->plan;
  snprintf(out->responsible, sizeof out->responsible, "%s",
           p->coordinator[0] ? p->coordinator
           : p->n            ? p->pref[0]
                             : "");
  for (size_t i = 0; i < p->n; i++)
    nodes_add(&out->lists[PEER_FWD_REPLICAS], p->pref[i]);
  const quorum_t *qu = &res->quorum;
  for (size_t i = 0; i < qu->n; i++) {
    const quorum_target_t *t = &qu->t[i];
    if (t->state == QUORUM_OK) {
      nodes_add(&out->lists[PEER_FWD_OK], t->node);
      if (t->hint_for[0]) nodes_add(&out->lists[PEER_FWD_HINTED], t->node);
    } else if (t->state != QUORUM_WAITING) {
      nodes_add(&out->lists[PEER_FWD_FAILED], t->hint_for[0] ? t->hint_for : t->node);
    } else {
      nodes_add(&out->lists[PEER_FWD_PENDING], t->node); /* the write may still land there */
    }
  }
  /* replicas down with no stand-in: their write waits as a hint here, named
   * only once committed */
  for (size_t i = 0; i < res->n_local_hints; i++)
    nodes_add(&out->lists[PEER_FWD_FAILED], res->local_hints[i]);
  if (res->hints_kept && out->responsible[0]) nodes_add(&out->lists[PEER_FWD_HINTED], out->responsible);
  for (size_t i = 0; i < res->n_repaired; i++)
    nodes_add(&out->lists[PEER_FWD_REPAIRED], res->repaired[i]);
  out->quorum_achieved = qu->verdict == QUORUM_MET;
  out->required = res->required;
}

void coord_result_free(coord_result_t *r) {
  dvv_free(&r->state);
  dvv_dots_free(&r->replaced);
  for (size_t i = 0; i < r->n_parts; i++)
    buf_free(&r->parts[i].body);
  free(r->parts);
  r->parts = NULL;
  r->n_parts = 0;
  free(r->compare);
  r->compare = NULL;
}

int coord_request(coord_t *c, const swim_addr_t *to, peer_msg_t *msg, uint64_t timeout_ms, peer_reply_fn cb,
                  void *arg) {
  return c->env.request(c->env.state, to, msg, timeout_ms, cb, arg);
}

int coord_clock(coord_t *c, vv_t *out) {
  int rc = c->env.clock(c->env.state, out);
  if (rc) vv_clear(out);
  return rc;
}

/* ---- engine jobs ---- */

/* Writer thread (or the simulated store): hands the job to the loop. The
 * jobs queue is never closed while the store may complete a job. */
static void on_job_done(engine_job_t *job) {
  cjob_t *j = (cjob_t *)job->user;
  coord_t *c = j->c;
  (void)tqueue_push_wake(&c->jobs, j, c->env.wake, c->env.state);
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

cjob_t *coord_cjob_state(coord_t *c, void (*finish)(cjob_t *j), engine_op_t op, const char *key,
                         size_t key_len, const dvv_t *state) {
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
  if (j->conn) j->c->env.conn_release(j->c->env.state, j->conn);
  free(j);
}

int coord_cjob_submit(cjob_t *j) {
  int rc = j->c->env.submit(j->c->env.state, &j->job);
  if (rc) {
    j->job.err = rc;
    j->finish(j);
  }
  return rc;
}

/* ---- reads of the store on the worker pool ---- */

static void work_run(void *arg) {
  coord_work_t *w = arg;
  w->rc = w->run(w);
}

/* status non-zero: the env skipped run (closing). */
static void work_done(void *arg, int status) {
  coord_work_t *w = arg;
  coord_t *c = w->c;
  c->works--;
  w->done(w, status ? CHORUS_ESHUTDOWN : w->rc);
  if (c->destroying) coord_unref(c);
}

int coord_work_queue(coord_t *c, coord_work_t *w) {
  if (c->closing) return CHORUS_ESHUTDOWN;
  w->c = c;
  w->rc = 0;
  int rc = c->env.work(c->env.state, work_run, work_done, w);
  if (!rc) c->works++;
  return rc;
}

/* ---- the inbox ---- */

int coord_submit(coord_t *c, coord_req_t *req) {
  return tqueue_push_wake(&c->reqs, req, c->env.wake, c->env.state);
}

void coord_drain(coord_t *c) {
  cjob_t *jobs = tqueue_take_all(&c->jobs);
  coord_req_t *reqs = tqueue_take_all(&c->reqs);
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

uint64_t coord_tick(coord_t *c, uint64_t now) {
  coord_client_tick(c, now);
  coord_hints_tick(c, now);
  coord_aae_tick(c, now);
  coord_gc_tick(c, now);
  coord_xfer_tick(c, now);
  /* An idle node wakes once a second, not fifty times. */
  return c->ops || c->hint_batch || coord_aae_busy(c) || coord_xfer_busy(c) ? COORD_TICK_MS
                                                                            : COORD_IDLE_TICK_MS;
}

bool coord_clients_recent(const coord_t *c, uint64_t now) {
  return c->ops || (c->client_seen_at && now - c->client_seen_at < COORD_CLIENT_RECENT_MS);
}

void coord_wake(coord_t *c) {
  if (!c->closing) c->env.fast_ticks(c->env.state);
}

bool coord_needed(coord_t *c) {
  /* not joined yet: the coordinator refuses (CHORUS_ENOTJOINED) rather than the node acting alone */
  if (c->env.joined && !c->env.joined(c->env.state)) return true;
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
  int rc = coord_request(c, to, &m, timeout_ms, on_pp_reply, call);
  peer_msg_free(&m);
  if (rc) free(call);
  return rc;
}

gossip_transport_t coord_gossip_transport(coord_t *c) {
  return (gossip_transport_t){.send = pp_send, .ctx = c};
}

static void answer_push_pull(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  buf_reset(&c->scratch);
  if (!c->gossip ||
      gossip_on_push_pull(c->gossip, req->push_pull.state.p, req->push_pull.state.len, &c->scratch))
    return; /* the requester times out and retries later */
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_PUSH_PULL_REPLY;
  m.push_pull.state = (peer_bytes_t){c->scratch.data, c->scratch.len};
  c->env.respond(c->env.state, conn, req->req_id, &m);
  peer_msg_free(&m);
}

/* ---- peers' requests ---- */

void coord_on_request(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  if (c->closing) return;
  switch (req->type) {
  case PEER_PUSH_PULL: answer_push_pull(c, conn, req); break;
  case PEER_REPLICATE: coord_serve_replicate(c, conn, req); break;
  case PEER_READ: coord_serve_read(c, conn, req); break;
  case PEER_FORWARD: coord_serve_forward(c, conn, req); break;
  case PEER_EVENTS: coord_serve_events(c, conn, req); break;
  case PEER_TREE:
  case PEER_TREE_KEYS: coord_serve_tree(c, conn, req); break;
  case PEER_RANGE:
  case PEER_HANDOFF: coord_serve_xfer(c, conn, req); break;
  case PEER_KEYRING: coord_serve_keyring(c, conn, req); break;
  default: log_debug("peer: %s sent a request of type %d this node does not serve", req->from, req->type);
  }
}

/* ---- lifecycle ---- */

int coord_create(const coord_env_t *env, const coord_opts_t *o, coord_t **out) {
  coord_t *c = calloc(1, sizeof *c);
  if (!c) return CHORUS_ENOMEM;
  int rc = coord_create_in(c, env, o);
  if (!rc) *out = c;
  return rc;
}

int coord_create_in(coord_t *c, const coord_env_t *env, const coord_opts_t *o) {
  if (!env->now_ms || !env->wall_ms) {
    free(c);
    return CHORUS_EINVAL;
  }
  c->env = *env;
  c->cfg = o->cfg;
  snprintf(c->self, sizeof c->self, "%s", o->node_id);
  c->view = o->view;
  buf_init(&c->scratch);
  if (tqueue_init(&c->reqs, offsetof(coord_req_t, next)) != 0) {
    free(c);
    return CHORUS_ENOMEM;
  }
  if (tqueue_init(&c->jobs, offsetof(cjob_t, next)) != 0 || coord_aae_create(c) != 0) {
    tqueue_destroy(&c->reqs);
    tqueue_destroy(&c->jobs);
    coord_aae_free(c);
    free(c);
    return CHORUS_ENOMEM;
  }
  coord_keys_init(c, o->keyring);
  int rc = coord_xfer_create(c, o->fresh);
  if (rc) {
    tqueue_destroy(&c->reqs);
    tqueue_destroy(&c->jobs);
    coord_aae_free(c);
    coord_xfer_free(c);
    free(c);
    return rc;
  }
  return 0;
}

void coord_set_gossip(coord_t *c, gossip_t *g) {
  c->gossip = g;
}

void coord_retire(coord_t *c, int holds) {
  c->destroying = true;
  c->handles = holds + c->works; /* each work item's completion unrefs */
}

void coord_unref(coord_t *c) {
  if (--c->handles > 0) return;
  for (size_t i = 0; i < c->n_spare_ops; i++)
    free(c->spare_ops[i]);
  tqueue_destroy(&c->reqs);
  tqueue_destroy(&c->jobs);
  buf_free(&c->scratch);
  coord_aae_free(c);
  coord_xfer_free(c);
  free(c);
}

void coord_stop_taking(coord_t *c) {
  c->closing = true;
  coord_aae_stop(c);
  coord_xfer_stop(c);
  /* later submits are refused; queued requests are answered ESHUTDOWN */
  for (coord_req_t *r = tqueue_close(&c->reqs, true), *next; r; r = next) {
    next = r->next;
    coord_client_start(c, r, false);
  }
  coord_drain(c);
}

void coord_shutdown(coord_t *c) {
  coord_stop_taking(c);
  coord_client_fail_all(c);
}

void coord_free(coord_t *c) {
  if (!c) return;
  coord_drain(c); /* engine completions that arrived since */
  coord_retire(c, 1);
  coord_unref(c);
}

const coord_stats_t *coord_stats(const coord_t *c) {
  return &c->stats;
}
