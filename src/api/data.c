/*
 * data.c - PUT, GET and DELETE of /api/v1/data/{key}.
 *
 * An HTTP thread validates the request, builds an engine job, suspends the
 * connection and submits the job to the storage writer; the writer applies
 * it and resumes the connection (api_engine_done); the HTTP thread then
 * formats the reply (api_data_answer). A single node's requests need no
 * coordination, so they do not pass through the loop: measured, the two
 * extra thread hops cost a third of GET throughput (docs/architecture.md).
 * The same formatting function produces the reply stored for a request id,
 * so a retry gets the first answer byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../storage/context.h"
#include "internal.h"
#include "jsonw.h"

/* N of DESIGN §4; with a single member every quorum is capped at 1. */
#define DEFAULT_REPLICAS 3
#define MEMBERS 1

static int parse_quorum_arg(struct MHD_Connection *c, const char *name, api_error_t *err) {
  const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
  if (!v) return 0;
  char *end = NULL;
  long n = strtol(v, &end, 10);
  if (end == v || *end || n < 1 || n > DEFAULT_REPLICAS) {
    err->status = 400;
    err->code = "bad_quorum";
    err->message = "r and w must be integers from 1 to N (3)";
    return CHORUS_EINVAL;
  }
  return 0;
}

static int check_quorum(struct MHD_Connection *c, api_error_t *err) {
  int rc = parse_quorum_arg(c, "r", err);
  if (!rc) rc = parse_quorum_arg(c, "w", err);
  const char *cons = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "consistency");
  if (!rc && cons && strcmp(cons, "one") && strcmp(cons, "quorum") && strcmp(cons, "all")) {
    err->status = 400;
    err->code = "bad_quorum";
    err->message = "consistency must be one, quorum or all";
    rc = CHORUS_EINVAL;
  }
  return rc;
}

/* Writer thread: the job is finished; let the HTTP thread answer. */
void api_engine_done(engine_job_t *job, void *state) {
  api_req_t *r = job->user;
  atomic_store(&r->state, REQ_DONE);
  MHD_resume_connection(r->conn);
}

static int read_inputs(api_req_t *r, const char *key, size_t key_len, api_error_t *err) {
  int rc = api_key_check(key, key_len, err);
  if (!rc) rc = check_quorum(r->conn, err);
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

  engine_job_t *j = &r->job;
  j->op = r->method == METHOD_PUT ? ENGINE_PUT : r->method == METHOD_DELETE ? ENGINE_DELETE : ENGINE_GET;
  j->key = r->key;
  j->key_len = key_len;
  j->value = (const uint8_t *)r->input.value;
  j->value_len = r->input.value_len;
  j->ctx = r->input.has_ctx ? &r->input.ctx : NULL;
  j->request_id = r->request_id[0] ? r->request_id : NULL;
  j->user = r;
  atomic_fetch_add(&r->srv->inflight, 1);
  atomic_store(&r->state, REQ_SUSPENDED);
  MHD_suspend_connection(r->conn);
  int rc = engine_submit(r->srv->engine, j);
  if (rc) {
    j->err = rc; /* shutting down: answered 503 once resumed */
    api_engine_done(j, r->srv);
  }
  return MHD_YES;
}

/* ---- replies ---- */

static void self_list(jw_t *w, const api_server_t *s) {
  jw_array(w);
  jw_cstring(w, s->node_id);
  jw_array_end(w);
}

/* "vector_clock" and "context" of a state: what a client needs to write next. */
static int version_fields(jw_t *w, const dvv_t *state) {
  vv_t ctx;
  vv_init(&ctx);
  char *token = NULL;
  int rc = dvv_context(state, &ctx);
  if (!rc) rc = context_encode(&ctx, &token);
  if (!rc) {
    jw_key(w, "vector_clock");
    jw_vclock(w, &ctx);
    jw_key(w, "context");
    jw_cstring(w, token);
  }
  free(token);
  vv_free(&ctx);
  return rc;
}

static void empty_list(jw_t *w, const char *key) {
  jw_key(w, key);
  jw_array(w);
  jw_array_end(w);
}

/* Opens "replication_result" or "read_result": on a single node this node
 * alone answered. The caller adds its own fields and closes the object. */
static void result_open(jw_t *w, const char *key, const api_server_t *s) {
  jw_key(w, key);
  jw_object(w);
  jw_key(w, "successful_nodes");
  self_list(w, s);
  empty_list(w, "failed_nodes");
  jw_key(w, "quorum_achieved");
  jw_bool(w, true);
}

static void placement_fields(jw_t *w, const api_server_t *s) {
  jw_key(w, "responsible_node");
  jw_cstring(w, s->node_id);
  jw_key(w, "replication_nodes");
  self_list(w, s);
}

static int write_reply(jw_t *w, const engine_job_t *j, const api_server_t *s) {
  jw_object(w);
  jw_key(w, "key");
  jw_string(w, j->key, j->key_len);
  if (j->op == ENGINE_PUT) {
    jw_key(w, "value");
    jw_string(w, (const char *)j->value, j->value_len);
  } else {
    jw_key(w, "deleted");
    jw_bool(w, true);
  }
  placement_fields(w, s);
  result_open(w, "replication_result", s);
  empty_list(w, "hinted_nodes");
  jw_key(w, "required");
  jw_uint(w, MEMBERS);
  jw_object_end(w);
  int rc = version_fields(w, &j->state);
  if (j->op == ENGINE_PUT) {
    jw_key(w, "conflict");
    jw_bool(w, dvv_has_conflict(&j->state));
    jw_key(w, "siblings");
    jw_uint(w, j->state.n);
  }
  jw_key(w, "event_count");
  jw_uint(w, j->event_id);
  jw_object_end(w);
  return rc;
}

static void sibling_json(jw_t *w, const dvv_sibling_t *sib) {
  char ts[32];
  api_iso_time(sib->ts_ms, ts);
  jw_object(w);
  jw_key(w, "value");
  if (sib->tombstone)
    jw_null(w);
  else
    jw_string(w, (const char *)sib->value, sib->value_len);
  jw_key(w, "node");
  jw_cstring(w, sib->node);
  jw_key(w, "counter");
  jw_uint(w, sib->counter);
  jw_key(w, "timestamp");
  jw_cstring(w, ts);
  jw_key(w, "deleted");
  jw_bool(w, sib->tombstone);
  jw_object_end(w);
}

static int read_reply(jw_t *w, const engine_job_t *j, const api_server_t *s) {
  const dvv_sibling_t *newest = dvv_newest_live(&j->state);
  jw_object(w);
  jw_key(w, "key");
  jw_string(w, j->key, j->key_len);
  jw_key(w, "value");
  jw_string(w, (const char *)newest->value, newest->value_len);
  jw_key(w, "siblings");
  jw_array(w);
  for (size_t i = 0; i < j->state.n; i++)
    sibling_json(w, &j->state.s[i]);
  jw_array_end(w);
  jw_key(w, "conflict");
  jw_bool(w, dvv_has_conflict(&j->state));
  int rc = version_fields(w, &j->state);
  placement_fields(w, s);
  result_open(w, "read_result", s);
  empty_list(w, "repaired_nodes");
  jw_object_end(w);
  jw_object_end(w);
  return rc;
}

static void error_open(jw_t *w, const char *code, const char *message) {
  jw_object(w);
  jw_key(w, "error");
  jw_object(w);
  jw_key(w, "code");
  jw_cstring(w, code);
  jw_key(w, "message");
  jw_cstring(w, message);
  jw_object_end(w);
}

static int not_found_reply(jw_t *w, const engine_job_t *j) {
  error_open(w, "not_found", "the key has no value");
  jw_key(w, "key");
  jw_string(w, j->key, j->key_len);
  /* a deleted key: its context lets a client write after the delete */
  int rc = j->state.n ? version_fields(w, &j->state) : 0;
  jw_object_end(w);
  return rc;
}

/* The reply for a finished job as status + JSON text (appended to out). */
int api_data_format(const engine_job_t *j, buf_t *out, const api_server_t *s, int *status) {
  jw_t w;
  jw_init(&w, out);
  int rc = 0;
  if (j->err == CHORUS_ENOTFOUND) {
    *status = 404;
    rc = not_found_reply(&w, j);
  } else if (j->request_reused) {
    *status = 409;
    error_open(&w, "request_id_reused",
               "this X-Request-Id was already used for a different operation or key");
    jw_object_end(&w);
  } else if (j->err) {
    *status = j->no_space ? 507 : j->err == CHORUS_ESHUTDOWN ? 503 : 500;
    error_open(&w,
               j->no_space                  ? "insufficient_storage"
               : j->err == CHORUS_ESHUTDOWN ? "shutting_down"
                                            : "storage_error",
               j->no_space ? "the disk is full; nothing was written" : chorus_strerror(j->err));
    jw_object_end(&w);
  } else {
    *status = 200;
    rc = j->op == ENGINE_GET ? read_reply(&w, j, s) : write_reply(&w, j, s);
  }
  return rc ? rc : out->err;
}

int api_format_stored(const engine_job_t *job, buf_t *out, void *state) {
  int status = 500;
  if (api_data_format(job, out, state, &status)) log_warn("http: cannot format a stored reply");
  return status;
}

enum MHD_Result api_data_answer(api_req_t *r) {
  engine_job_t *j = &r->job;
  if (j->replay) {
    char *body = malloc(j->replay_len ? j->replay_len : 1);
    if (!body) return api_send_error3(r, 500, "internal", "out of memory");
    memcpy(body, j->replay, j->replay_len);
    return api_send(r, j->replay_status, body, j->replay_len, "application/json");
  }
  buf_t out;
  buf_init(&out);
  int status = 500;
  if (api_data_format(j, &out, r->srv, &status)) {
    buf_free(&out);
    return api_send_error3(r, 500, "internal", "out of memory");
  }
  size_t len = 0;
  char *body = (char *)buf_detach(&out, &len);
  return api_send(r, status, body, len, "application/json");
}
