/*
 * data.c - PUT, GET and DELETE of /api/v1/data/{key}.
 *
 * An HTTP thread validates the request and builds an engine job; the job
 * travels HTTP thread -> loop (task.run submits it to the storage writer)
 * -> writer (applies it, calls api_engine_done) -> loop (task.finish resumes
 * the connection) -> HTTP thread (api_data_answer formats the reply). The
 * same formatting function produces the reply stored for a request id, so
 * a retry gets the first answer byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../storage/context.h"
#include "internal.h"

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

static void task_run(loop_task_t *t, loop_t *l) {
  api_req_t *r = (api_req_t *)((char *)t - offsetof(api_req_t, task));
  int rc = engine_submit(r->srv->engine, &r->job);
  if (rc) {
    r->job.err = rc;
    t->finish(t, l);
  }
}

static void task_finish(loop_task_t *t, loop_t *l) {
  api_req_t *r = (api_req_t *)((char *)t - offsetof(api_req_t, task));
  atomic_store(&r->state, REQ_DONE);
  MHD_resume_connection(r->conn);
}

void api_engine_done(engine_job_t *job, void *state) {
  api_server_t *s = state;
  api_req_t *r = job->user;
  loop_complete(s->loop, &r->task);
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
  r->task.run = task_run;
  r->task.finish = task_finish;
  atomic_fetch_add(&r->srv->inflight, 1);
  atomic_store(&r->state, REQ_SUSPENDED);
  MHD_suspend_connection(r->conn);
  loop_post(r->srv->loop, &r->task);
  return MHD_YES;
}

/* ---- replies ---- */

/* A stored value as a JSON string; values were validated as UTF-8 when written. */
static json_t *value_json(const uint8_t *v, size_t len) {
  return json_stringn_nocheck(v ? (const char *)v : "", len);
}

static json_t *self_list(const api_server_t *s) {
  return json_pack("[s]", s->node_id);
}

static json_t *version_fields(json_t *o, const dvv_t *state) {
  vv_t ctx;
  vv_init(&ctx);
  char *token = NULL;
  if (dvv_context(state, &ctx) || context_encode(&ctx, &token)) {
    vv_free(&ctx);
    json_decref(o);
    return NULL;
  }
  json_object_set_new(o, "vector_clock", api_vv_json(&ctx));
  json_object_set_new(o, "context", json_string(token));
  free(token);
  vv_free(&ctx);
  return o;
}

static json_t *write_reply(const engine_job_t *j, const api_server_t *s) {
  json_t *o =
      json_pack("{s:s%,s:s,s:o,s:{s:o,s:[],s:[],s:b,s:i},s:I}", "key", j->key, j->key_len, "responsible_node",
                s->node_id, "replication_nodes", self_list(s), "replication_result", "successful_nodes",
                self_list(s), "failed_nodes", "hinted_nodes", "quorum_achieved", 1, "required", MEMBERS,
                "event_count", (json_int_t)j->event_id);
  if (!o) return NULL;
  if (j->op == ENGINE_PUT) {
    json_object_set_new(o, "value", value_json(j->value, j->value_len));
    json_object_set_new(o, "conflict", json_boolean(dvv_has_conflict(&j->state)));
    json_object_set_new(o, "siblings", json_integer((json_int_t)j->state.n));
  } else {
    json_object_set_new(o, "deleted", json_true());
  }
  return version_fields(o, &j->state);
}

static json_t *sibling_json(const dvv_sibling_t *sib) {
  char ts[32];
  api_iso_time(sib->ts_ms, ts);
  json_t *value = sib->tombstone ? json_null() : value_json(sib->value, sib->value_len);
  return json_pack("{s:o,s:s,s:I,s:s,s:b}", "value", value, "node", sib->node, "counter",
                   (json_int_t)sib->counter, "timestamp", ts, "deleted", sib->tombstone);
}

static json_t *read_reply(const engine_job_t *j, const api_server_t *s) {
  const dvv_sibling_t *newest = dvv_newest_live(&j->state);
  json_t *sibs = json_array();
  for (size_t i = 0; sibs && i < j->state.n; i++)
    json_array_append_new(sibs, sibling_json(&j->state.s[i]));
  json_t *o = json_pack("{s:s%,s:o,s:o,s:b,s:s,s:o,s:{s:o,s:[],s:b,s:[]}}", "key", j->key, j->key_len,
                        "value", value_json(newest->value, newest->value_len), "siblings", sibs, "conflict",
                        dvv_has_conflict(&j->state), "responsible_node", s->node_id, "replication_nodes",
                        self_list(s), "read_result", "successful_nodes", self_list(s), "failed_nodes",
                        "quorum_achieved", 1, "repaired_nodes");
  return o ? version_fields(o, &j->state) : NULL;
}

static json_t *not_found_reply(const engine_job_t *j) {
  json_t *o = json_pack("{s:{s:s,s:s},s:s%}", "error", "code", "not_found", "message", "the key has no value",
                        "key", j->key, j->key_len);
  if (!o || j->state.n == 0) return o;
  return version_fields(o, &j->state); /* a deleted key: its context lets a client write after the delete */
}

/* The reply for a finished job as status + JSON text (appended to out). */
int api_data_format(const engine_job_t *j, buf_t *out, const api_server_t *s, int *status) {
  json_t *o = NULL;
  if (j->err == CHORUS_ENOTFOUND) {
    *status = 404;
    o = not_found_reply(j);
  } else if (j->request_reused) {
    *status = 409;
    o = json_pack("{s:{s:s,s:s}}", "error", "code", "request_id_reused", "message",
                  "this X-Request-Id was already used for a different operation or key");
  } else if (j->err) {
    *status = j->no_space ? 507 : j->err == CHORUS_ESHUTDOWN ? 503 : 500;
    o = json_pack("{s:{s:s,s:s}}", "error", "code",
                  j->no_space                  ? "insufficient_storage"
                  : j->err == CHORUS_ESHUTDOWN ? "shutting_down"
                                               : "storage_error",
                  "message", j->no_space ? "the disk is full; nothing was written" : chorus_strerror(j->err));
  } else {
    *status = 200;
    o = j->op == ENGINE_GET ? read_reply(j, s) : write_reply(j, s);
  }
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!text) return CHORUS_ENOMEM;
  buf_put(out, text, strlen(text));
  free(text);
  return out->err;
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
