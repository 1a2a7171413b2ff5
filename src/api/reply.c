/*
 * reply.c - JSON replies of /api/v1/data (see reply.h), written with the
 * streaming writer (jsonw.h): one pass, no intermediate tree.
 *
 * Status mapping: 200 success; 404 no live value (a deleted key's context
 * is included, so a client can write after the delete); 409 request id
 * reused; 503 quorum not reached (the body says which nodes failed), no
 * replica reachable, or shutting down; 507 disk full; 500 otherwise.
 */
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../storage/context.h"
#include "internal.h"
#include "jsonw.h"

void api_nodes_add(api_nodes_t *l, const char *id) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->ids[i], id) == 0) return;
  if (l->n < API_REPLY_NODES) l->ids[l->n++] = id;
}

static void node_list(jw_t *w, const char *key, const api_nodes_t *l) {
  jw_key(w, key);
  jw_array(w);
  for (size_t i = 0; i < l->n; i++)
    jw_cstring(w, l->ids[i]);
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

static void dot_json(jw_t *w, const dvv_dot_t *d) {
  jw_object(w);
  jw_key(w, "node");
  jw_cstring(w, d->node);
  jw_key(w, "counter");
  jw_uint(w, d->counter);
  jw_object_end(w);
}

/* "dot" and "replaced" of a write applied now: its own version, and the
 * versions it made obsolete at its coordinator (what a write without a
 * context superseded unseen, DESIGN §9). */
static void dot_fields(jw_t *w, const api_reply_t *r) {
  if (!r->dot || !r->dot->counter) return;
  jw_key(w, "dot");
  dot_json(w, r->dot);
  jw_key(w, "replaced");
  jw_array(w);
  for (size_t i = 0; r->replaced && i < r->replaced->n; i++)
    dot_json(w, &r->replaced->d[i]);
  jw_array_end(w);
}

static void placement_fields(jw_t *w, const api_reply_t *r) {
  jw_key(w, "responsible_node");
  jw_cstring(w, r->responsible);
  node_list(w, "replication_nodes", &r->replicas);
}

/* "replication_result" or "read_result". */
static void result_fields(jw_t *w, const api_reply_t *r) {
  bool write = r->op != ENGINE_GET;
  jw_key(w, write ? "replication_result" : "read_result");
  jw_object(w);
  node_list(w, "successful_nodes", &r->ok);
  node_list(w, "failed_nodes", &r->failed);
  if (write) {
    node_list(w, "hinted_nodes", &r->hinted);
    node_list(w, "pending_nodes", &r->pending);
  } else {
    node_list(w, "repaired_nodes", &r->repaired);
  }
  jw_key(w, "quorum_achieved");
  jw_bool(w, r->quorum_achieved);
  if (write) {
    jw_key(w, "required");
    jw_uint(w, r->required);
  }
  jw_object_end(w);
}

static int write_reply(jw_t *w, const api_reply_t *r) {
  jw_object(w);
  jw_key(w, "key");
  jw_string(w, r->key, r->key_len);
  if (r->op == ENGINE_PUT) {
    jw_key(w, "value");
    jw_string(w, (const char *)r->value, r->value_len);
  } else {
    jw_key(w, "deleted");
    jw_bool(w, true);
  }
  placement_fields(w, r);
  result_fields(w, r);
  int rc = version_fields(w, r->state);
  if (r->op == ENGINE_PUT) {
    jw_key(w, "conflict");
    jw_bool(w, dvv_has_conflict(r->state));
    jw_key(w, "siblings");
    jw_uint(w, r->state->n);
  }
  dot_fields(w, r);
  jw_key(w, "event_count");
  jw_uint(w, r->event_id);
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
  jw_key(w, "seen");
  jw_vv(w, &sib->ctx);
  jw_object_end(w);
}

static void siblings_field(jw_t *w, const dvv_t *state) {
  jw_key(w, "siblings");
  jw_array(w);
  for (size_t i = 0; i < state->n; i++)
    sibling_json(w, &state->s[i]);
  jw_array_end(w);
}

static int read_reply(jw_t *w, const api_reply_t *r) {
  const dvv_sibling_t *newest = dvv_newest_live(r->state);
  jw_object(w);
  jw_key(w, "key");
  jw_string(w, r->key, r->key_len);
  jw_key(w, "value");
  jw_string(w, (const char *)newest->value, newest->value_len);
  siblings_field(w, r->state);
  jw_key(w, "conflict");
  jw_bool(w, dvv_has_conflict(r->state));
  int rc = version_fields(w, r->state);
  placement_fields(w, r);
  result_fields(w, r);
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

static int not_found_reply(jw_t *w, const api_reply_t *r) {
  error_open(w, "not_found", "the key has no value");
  jw_key(w, "key");
  jw_string(w, r->key, r->key_len);
  /* A deleted key's context lets a client write after the delete; a key
   * never written gets the empty context ("I saw nothing"): a write with it
   * becomes a sibling of anything written meanwhile, where one without a
   * context would supersede it unseen. */
  dvv_t none;
  dvv_init(&none);
  const dvv_t *state = r->state ? r->state : &none;
  int rc = version_fields(w, state);
  if (state->n) siblings_field(w, state); /* the tombstones */
  jw_object_end(w);
  return rc;
}

/* 503 with the quorum's outcome: which nodes answered and which failed. */
static void quorum_failed_reply(jw_t *w, const api_reply_t *r) {
  error_open(w, "quorum_not_reached",
             r->op == ENGINE_GET ? "fewer replicas than the read quorum answered in time"
                                 : "fewer replicas than the write quorum applied the write in time");
  jw_key(w, "key");
  jw_string(w, r->key, r->key_len);
  placement_fields(w, r);
  result_fields(w, r);
  if (r->op != ENGINE_GET) dot_fields(w, r); /* applied at the coordinator: it may still win */
  jw_object_end(w);
}

static void plain_error(jw_t *w, int *status, const api_reply_t *r) {
  const char *code = "storage_error", *message = chorus_strerror(r->err);
  *status = 500;
  if (r->no_space) {
    *status = 507;
    code = "insufficient_storage";
    message = "the disk is full; nothing was written";
  } else if (r->err == CHORUS_ESHUTDOWN) {
    *status = 503;
    code = "shutting_down";
  } else if (r->err == CHORUS_EBUSY) {
    *status = 503;
    code = "unavailable";
    message = "no replica of this key is reachable";
  } else if (r->err == CHORUS_ENOTJOINED) {
    *status = 503;
    code = "not_joined";
    message = "this node has not joined its cluster yet (no seed has answered); it coordinates nothing alone";
  } else if (r->err == CHORUS_ENOMEM) {
    code = "internal";
  }
  error_open(w, code, message);
  jw_object_end(w);
}

int api_reply_format(const api_reply_t *r, buf_t *out, int *status) {
  jw_t w;
  jw_init(&w, out);
  int rc = 0;
  if (r->err == CHORUS_ENOTFOUND) {
    *status = 404;
    rc = not_found_reply(&w, r);
  } else if (r->request_reused) {
    *status = 409;
    error_open(&w, "request_id_reused",
               "this X-Request-Id was already used for a different operation or key");
    jw_object_end(&w);
  } else if (r->err == CHORUS_ETIMEDOUT) {
    *status = 503;
    quorum_failed_reply(&w, r);
  } else if (r->err) {
    plain_error(&w, status, r);
  } else {
    *status = 200;
    rc = r->op == ENGINE_GET ? read_reply(&w, r) : write_reply(&w, r);
  }
  return rc ? rc : out->err;
}
