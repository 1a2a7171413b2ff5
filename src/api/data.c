/*
 * data.c - PUT, GET and DELETE of /api/v1/data/{key}.
 *
 * An HTTP thread validates the request and suspends the connection. When
 * the ring has other members, the request goes to the coordinator on the
 * loop (coord_submit), which resumes the connection with a coordinated
 * result. A lone node's requests need no coordination, so they go straight
 * to the storage writer, which resumes the connection itself: measured, the
 * two extra thread hops cost a third of GET throughput (docs/architecture.md).
 * Either way the HTTP thread formats the reply (api_data_answer, reply.h).
 * On a lone node a retry of a request id is formatted from the outcome the
 * engine stored for it, so it gets the first answer byte for byte; in a
 * cluster a retry is answered from the key's current state, replicated
 * again.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../storage/context.h"
#include "../replication/coord.h"
#include "internal.h"
#include "reply.h"

static int bad_quorum(api_error_t *err, const char *message) {
  err->status = 400;
  err->code = "bad_quorum";
  err->message = message;
  return CHORUS_EINVAL;
}

/* ?r= or ?w=: 1..N; 0 when absent. */
static int parse_quorum_arg(struct MHD_Connection *c, const char *name, int n, uint32_t *out,
                            api_error_t *err) {
  const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
  if (!v) return 0;
  char *end = NULL;
  long q = strtol(v, &end, 10);
  if (end == v || *end || q < 1 || q > n)
    return bad_quorum(err, "r and w must be integers from 1 to N (--replicas)");
  *out = (uint32_t)q;
  return 0;
}

/* ?consistency=one|quorum|all sets both quorums; ?r= and ?w= override it. */
static int read_quorums(api_req_t *r, api_error_t *err) {
  int n = r->srv->cfg->replicas;
  const char *cons = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "consistency");
  if (cons) {
    uint32_t q = strcmp(cons, "one") == 0      ? 1
                 : strcmp(cons, "quorum") == 0 ? (uint32_t)(n / 2 + 1)
                 : strcmp(cons, "all") == 0    ? (uint32_t)n
                                               : 0;
    if (!q) return bad_quorum(err, "consistency must be one, quorum or all");
    r->quorum_r = r->quorum_w = q;
  }
  int rc = parse_quorum_arg(r->conn, "r", n, &r->quorum_r, err);
  if (!rc) rc = parse_quorum_arg(r->conn, "w", n, &r->quorum_w, err);
  return rc;
}

/* Writer thread: the job is finished; let the HTTP thread answer. */
static void engine_done(engine_job_t *job) {
  api_req_t *r = (api_req_t *)job->user;
  atomic_store(&r->state, REQ_DONE);
  MHD_resume_connection(r->conn);
}

/* Loop thread: the coordinated result is in. */
static void coord_done(coord_req_t *req) {
  api_req_t *r = req->user;
  atomic_store(&r->state, REQ_DONE);
  MHD_resume_connection(r->conn);
}

static int read_inputs(api_req_t *r, const char *key, size_t key_len, api_error_t *err) {
  int rc = api_key_check(key, key_len, err);
  if (!rc) rc = read_quorums(r, err);
  const char *rid = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Request-Id");
  if (!rc && rid && r->method != METHOD_GET && r->method != METHOD_HEAD) {
    rc = api_request_id_check(rid, err);
    if (!rc) snprintf(r->request_id, sizeof r->request_id, "%s", rid);
  }
  if (!rc && r->method == METHOD_PUT)
    rc =
        api_body_parse((const char *)r->body.data, r->body.len, r->srv->cfg->max_value_bytes, &r->input, err);
  const char *hctx = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Chorus-Context");
  if (!rc && hctx && !r->input.has_ctx) {
    rc = api_context_parse(hctx, strlen(hctx), &r->input.ctx, err);
    r->input.has_ctx = rc == 0 && hctx[0];
  }
  return rc;
}

enum MHD_Result api_data_begin(api_req_t *r, const char *rest) {
  api_error_t err = {0};
  const char *key = rest[0] == '/' ? rest + 1 : rest;
  size_t key_len = strlen(key);
  if (read_inputs(r, key, key_len, &err)) return api_send_error(r, &err);
  r->key = malloc(key_len + 1);
  if (!r->key) return api_send_error3(r, 500, "internal", "out of memory");
  memcpy(r->key, key, key_len + 1);
  r->key_len = key_len;

  engine_op_t op = r->method == METHOD_PUT      ? ENGINE_PUT
                   : r->method == METHOD_DELETE ? ENGINE_DELETE
                                                : ENGINE_GET;
  if (!api_hold(r)) return api_send_error3(r, 503, "shutting_down", "the node is shutting down");
  r->answer = api_data_answer;
  /* ?local=true on a GET: this node's own copy, for operators and tests */
  const char *local = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "local");
  bool local_only = op == ENGINE_GET && local && strcmp(local, "true") == 0;
  if (!local_only && r->srv->coord && coord_needed(r->srv->coord)) {
    coord_req_t *q = r->creq = calloc(1, sizeof *r->creq);
    if (!q) {
      atomic_store(&r->state, REQ_NEW);
      atomic_fetch_sub(&r->srv->inflight, 1);
      return api_send_error3(r, 500, "internal", "out of memory");
    }
    r->coordinated = true;
    q->op = op;
    q->key = r->key;
    q->key_len = key_len;
    q->value = (const uint8_t *)r->input.value;
    q->value_len = r->input.value_len;
    q->ctx = r->input.has_ctx ? &r->input.ctx : NULL;
    q->request_id = r->request_id[0] ? r->request_id : NULL;
    q->r = r->quorum_r;
    q->w = r->quorum_w;
    q->done = coord_done;
    q->user = r;
    coord_result_init(&q->result);
    MHD_suspend_connection(r->conn);
    if (coord_submit(r->srv->coord, q) != 0) {
      q->result.err = CHORUS_ESHUTDOWN;
      coord_done(q);
    }
    return MHD_YES;
  }
  engine_job_t *j = &r->job;
  j->op = op;
  j->key = r->key;
  j->key_len = key_len;
  j->value = (const uint8_t *)r->input.value;
  j->value_len = r->input.value_len;
  j->ctx = r->input.has_ctx ? &r->input.ctx : NULL;
  j->request_id = r->request_id[0] ? r->request_id : NULL;
  r->hook.done = engine_done;
  j->user = r;
  MHD_suspend_connection(r->conn);
  int rc = engine_submit(r->srv->engine, j);
  if (rc) {
    j->err = rc; /* shutting down: answered 503 once resumed */
    engine_done(j);
  }
  return MHD_YES;
}

/* ---- replies ---- */

/* A lone node's reply: it alone holds and answered for the key. A retry
 * of a request id is rendered from the first application's outcome, as the
 * first reply was, unless the retry itself failed. */
static void single_reply(const engine_job_t *j, const api_server_t *s, api_reply_t *out) {
  memset(out, 0, sizeof *out);
  const engine_outcome_t *first = j->err ? NULL : j->replay;
  out->op = j->op;
  out->key = j->key;
  out->key_len = j->key_len;
  out->value = first ? first->value : j->value;
  out->value_len = first ? first->value_len : j->value_len;
  out->state = first ? &first->state : &j->state;
  out->event_id = first ? first->event_id : j->event_id;
  out->dot = first ? &first->dot : &j->dot;
  out->replaced = first ? &first->replaced : &j->replaced;
  out->err = first ? first->err : j->err;
  out->no_space = j->no_space;
  out->request_reused = j->request_reused;
  out->responsible = s->node_id;
  api_nodes_add(&out->replicas, s->node_id);
  api_nodes_add(&out->ok, s->node_id);
  out->quorum_achieved = true;
  out->required = 1;
}

int api_data_format(const engine_job_t *j, buf_t *out, const api_server_t *s, int *status) {
  api_reply_t rep;
  single_reply(j, s, &rep);
  return api_reply_format(&rep, out, status);
}

/* A coordinated request's reply: the result (this node's, or the one a
 * forwarded write's coordinator sent back as data) and who took part. */
int api_coord_format(const coord_req_t *q, buf_t *out, int *status) {
  const coord_result_t *res = &q->result;
  coord_outcome_t oc;
  coord_outcome(q, &oc);
  api_reply_t rep;
  memset(&rep, 0, sizeof rep);
  rep.op = q->op;
  rep.key = q->key;
  rep.key_len = q->key_len;
  rep.value = q->value;
  rep.value_len = q->value_len;
  rep.state = &res->state;
  rep.event_id = res->event_id;
  rep.dot = &res->dot;
  rep.replaced = &res->replaced;
  rep.err = res->err;
  rep.no_space = res->no_space;
  rep.request_reused = res->request_reused;
  rep.responsible = oc.responsible;
  api_nodes_t *lists[PEER_FWD_LISTS] = {&rep.replicas, &rep.ok,       &rep.failed,
                                        &rep.hinted,   &rep.repaired, &rep.pending};
  for (size_t l = 0; l < PEER_FWD_LISTS; l++)
    for (size_t i = 0; i < oc.lists[l].n; i++)
      api_nodes_add(lists[l], oc.lists[l].id[i]);
  rep.quorum_achieved = oc.quorum_achieved;
  rep.required = oc.required;
  return api_reply_format(&rep, out, status);
}

static enum MHD_Result send_buf(api_req_t *r, int status, buf_t *out) {
  size_t len = 0;
  char *body = (char *)buf_detach(out, &len);
  return api_send(r, status, body, len, "application/json");
}

enum MHD_Result api_data_answer(api_req_t *r) {
  buf_t out;
  buf_init(&out);
  int status = 500, rc;
  if (r->coordinated) {
    rc = api_coord_format(r->creq, &out, &status);
  } else {
    rc = api_data_format(&r->job, &out, r->srv, &status);
  }
  if (rc) {
    buf_free(&out);
    return api_send_error3(r, 500, "internal", "out of memory");
  }
  return send_buf(r, status, &out);
}
