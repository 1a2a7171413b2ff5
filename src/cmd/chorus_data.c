/*
 * chorus_data.c - `chorus get`, `put` and `delete`.
 *
 * A write sends back the context of a read by default: put and delete
 * first GET the key (through the same connection) and write with the
 * context that read returned, also the "saw nothing" context of a 404, so
 * a write from the shell replaces exactly the siblings it was shown and
 * never a concurrent write it was not (docs/api.md, "Versions, contexts and
 * siblings"). --context gives the context instead, --blind sends none (the
 * write then replaces whatever its coordinator holds). The value is a JSON
 * string: valid UTF-8, at most CHORUS_DATA_VALUE_MAX bytes from stdin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "chorus_cmd.h"
#include "chorus_exit.h"
#include "chorus_table.h"

#define CHORUS_DATA_VALUE_MAX (32u << 20)
#define DATA_PREFIX "/api/v1/data/"

/* ?r=&w=&consistency=&local= of the options that apply to method. */
static void data_query(const chorus_opts_t *o, bool write, char *out, size_t cap) {
  int n = 0;
  out[0] = '\0';
  if (!write && o->r) n += snprintf(out + n, cap - (size_t)n, "%sr=%d", n ? "&" : "", o->r);
  if (write && o->w) n += snprintf(out + n, cap - (size_t)n, "%sw=%d", n ? "&" : "", o->w);
  if (o->consistency)
    n += snprintf(out + n, cap - (size_t)n, "%sconsistency=%s", n ? "&" : "", o->consistency);
  if (!write && o->local) snprintf(out + n, cap - (size_t)n, "%slocal=true", n ? "&" : "");
}

static int data_path(const chorus_opts_t *o, bool write, char *out, size_t cap) {
  char query[128];
  data_query(o, write, query, sizeof query);
  if (chorus_http_key_path(DATA_PREFIX, o->args[0], query, out, cap))
    return chorus_exit_fail(CHORUS_EXIT_USAGE, "the key is too long");
  return 0;
}

static void print_json_body(const chorus_reply_t *rep) {
  if (!rep->body.len) return;
  fwrite(rep->body.data, 1, rep->body.len, stdout);
  fputc('\n', stdout);
}

static void dot_text(const json_t *dot, char *out, size_t cap) {
  snprintf(out, cap, "%s:%" JSON_INTEGER_FORMAT,
           chorus_json_str(dot, "node") ? chorus_json_str(dot, "node") : "?",
           json_integer_value(json_object_get(dot, "counter")));
}

static void dot_item(const json_t *dot, const json_t *ctx, char *out, size_t cap) {
  dot_text(dot, out, cap);
}

static void print_sibling(size_t i, const json_t *s) {
  char dot[160];
  dot_text(s, dot, sizeof dot);
  const json_t *v = json_object_get(s, "value");
  printf("  [%zu] ", i + 1);
  if (json_is_true(json_object_get(s, "deleted")) || !json_is_string(v))
    fputs("(deleted)", stdout);
  else
    chorus_table_value(stdout, json_string_value(v), json_string_length(v), 1);
  const char *ts = chorus_json_str(s, "timestamp");
  printf("  version %s  written %s\n", dot, ts ? ts : "-");
}

static void print_read(const json_t *j) {
  char text[2048];
  const json_t *sibs = json_object_get(j, "siblings");
  const json_t *value = json_object_get(j, "value");
  chorus_table_kv(stdout, "key:", "%s", chorus_json_str(j, "key") ? chorus_json_str(j, "key") : "");
  if (json_is_true(json_object_get(j, "conflict"))) {
    chorus_table_kv(stdout, "conflict:", "%zu siblings (a write with the context below replaces them all)",
                    json_array_size(sibs));
    for (size_t i = 0; i < json_array_size(sibs); i++)
      print_sibling(i, json_array_get(sibs, i));
  } else if (json_is_string(value)) {
    printf("  %-13s", "value:");
    chorus_table_value(stdout, json_string_value(value), json_string_length(value), 0);
    fputc('\n', stdout);
  }
  chorus_table_clock(json_object_get(j, "vector_clock"), text, sizeof text);
  chorus_table_kv(stdout, "version:", "%s", text);
  chorus_table_kv(stdout, "context:", "%s",
                  chorus_json_str(j, "context") ? chorus_json_str(j, "context") : "-");
  chorus_table_kv(stdout, "coordinator:", "%s",
                  chorus_json_str(j, "responsible_node") ? chorus_json_str(j, "responsible_node") : "-");
  chorus_table_join(json_object_get(j, "replication_nodes"), text, sizeof text);
  chorus_table_kv(stdout, "replicas:", "%s", text);
  const json_t *rr = json_object_get(j, "read_result");
  if (!rr) return;
  chorus_table_join(json_object_get(rr, "successful_nodes"), text, sizeof text);
  chorus_table_kv(stdout, "read from:", "%s", text);
  chorus_table_join(json_object_get(rr, "failed_nodes"), text, sizeof text);
  chorus_table_kv(stdout, "failed:", "%s", text);
  chorus_table_join(json_object_get(rr, "repaired_nodes"), text, sizeof text);
  chorus_table_kv(stdout, "repaired:", "%s", text);
}

int chorus_data_get(const chorus_run_t *run) {
  const chorus_opts_t *o = run->opts;
  char path[CHORUS_HTTP_PATH_MAX], what[1100];
  int code = data_path(o, false, path, sizeof path);
  if (code) return code;
  snprintf(what, sizeof what, "get %s", o->args[0]);
  chorus_reply_t rep;
  chorus_reply_init(&rep);
  int rc = chorus_http_do(run->http, "GET", path, NULL, NULL, &rep);
  const char *ctx = rc ? NULL : chorus_json_str(rep.json, "context");
  if (!rc && o->json)
    print_json_body(&rep);
  else if (!rc && o->context_only && ctx && (rep.status == 200 || rep.status == 404))
    printf("%s\n", ctx);
  code = chorus_exit_report(what, rc, &rep, chorus_http_opts(run->http));
  if (!code && !rep.json)
    code = chorus_exit_fail(CHORUS_EXIT_SERVER, "%s: the answer is not a JSON object", what);
  if (!code && !o->json && !o->context_only) {
    const json_t *v = json_object_get(rep.json, "value");
    if (o->value_only)
      fwrite(json_string_value(v) ? json_string_value(v) : "", 1, json_string_length(v), stdout);
    else
      print_read(rep.json);
  }
  if (!code && o->fail_on_conflict && json_is_true(json_object_get(rep.json, "conflict")))
    code = chorus_exit_fail(CHORUS_EXIT_CONFLICT, "%s: %zu siblings", what,
                            json_array_size(json_object_get(rep.json, "siblings")));
  chorus_reply_free(&rep);
  return code;
}

/* The context to write with, into *ctx (malloc'd; NULL for none): --context,
 * nothing with --blind, else the context of a read of the key now. */
static int write_context(const chorus_run_t *run, const char *what, char **ctx) {
  const chorus_opts_t *o = run->opts;
  *ctx = NULL;
  if (o->blind) return 0;
  if (o->context) {
    *ctx = strdup(o->context);
    return *ctx ? 0 : chorus_exit_fail(CHORUS_EXIT_SERVER, "%s: out of memory", what);
  }
  char path[CHORUS_HTTP_PATH_MAX];
  chorus_opts_t ro = *o; /* the read takes --consistency, never --local */
  ro.local = false;
  int code = data_path(&ro, false, path, sizeof path);
  if (code) return code;
  chorus_reply_t rep;
  chorus_reply_init(&rep);
  int rc = chorus_http_do(run->http, "GET", path, NULL, NULL, &rep);
  const char *c = rc ? NULL : chorus_json_str(rep.json, "context");
  if (c && (rep.status == 200 || rep.status == 404)) {
    *ctx = strdup(c);
    code = *ctx ? 0 : chorus_exit_fail(CHORUS_EXIT_SERVER, "%s: out of memory", what);
  } else {
    char rwhat[1200];
    snprintf(rwhat, sizeof rwhat, "%s: reading its context first (--blind writes without)", what);
    code = chorus_exit_report(rwhat, rc, &rep, chorus_http_opts(run->http));
    if (!code) code = chorus_exit_fail(CHORUS_EXIT_SERVER, "%s: the read returned no context", rwhat);
  }
  chorus_reply_free(&rep);
  return code;
}

static void print_write(const char *verb, const json_t *j, long status) {
  char text[2048];
  const json_t *res = json_object_get(j, "replication_result");
  printf("%s %s: %s (%" JSON_INTEGER_FORMAT " acks required)\n", verb,
         chorus_json_str(j, "key") ? chorus_json_str(j, "key") : "",
         status == 200 ? "done" : "quorum not reached", json_integer_value(json_object_get(res, "required")));
  chorus_table_kv(stdout, "coordinator:", "%s",
                  chorus_json_str(j, "responsible_node") ? chorus_json_str(j, "responsible_node") : "-");
  static const char *const lists[][2] = {{"acked:", "successful_nodes"},
                                         {"failed:", "failed_nodes"},
                                         {"hinted:", "hinted_nodes"},
                                         {"pending:", "pending_nodes"}};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    chorus_table_join(json_object_get(res, lists[i][1]), text, sizeof text);
    chorus_table_kv(stdout, lists[i][0], "%s", text);
  }
  const json_t *dot = json_object_get(j, "dot");
  if (dot) {
    dot_text(dot, text, sizeof text);
    chorus_table_kv(stdout, "version:", "%s", text);
  }
  const json_t *replaced = json_object_get(j, "replaced");
  if (replaced) {
    chorus_table_join_with(replaced, dot_item, NULL, text, sizeof text);
    chorus_table_kv(stdout, "replaced:", "%s", text);
  }
  const json_t *sibs = json_object_get(j, "siblings");
  if (json_is_integer(sibs))
    chorus_table_kv(stdout, "siblings:", "%" JSON_INTEGER_FORMAT, json_integer_value(sibs));
  chorus_table_kv(stdout, "context:", "%s",
                  chorus_json_str(j, "context") ? chorus_json_str(j, "context") : "-");
}

/* Reads all of stdin, bounded. */
static int read_stdin(buf_t *b) {
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
    if (n > CHORUS_DATA_VALUE_MAX - b->len)
      return chorus_exit_fail(CHORUS_EXIT_USAGE, "put: the value on stdin is over %u bytes",
                              CHORUS_DATA_VALUE_MAX);
    buf_put(b, chunk, n);
    if (b->err) return chorus_exit_fail(CHORUS_EXIT_SERVER, "put: out of memory");
  }
  if (ferror(stdin)) return chorus_exit_fail(CHORUS_EXIT_USAGE, "put: cannot read the value from stdin");
  return 0;
}

/* {"value": ...} of the command line's value (or stdin's for "-"), into *body (malloc'd). */
static int put_body(const chorus_opts_t *o, char **body) {
  buf_t in;
  buf_init(&in);
  const char *v = o->args[1];
  size_t vlen = strlen(v);
  if (strcmp(v, "-") == 0) {
    int code = read_stdin(&in);
    if (code) {
      buf_free(&in);
      return code;
    }
    v = in.data ? (const char *)in.data : "";
    vlen = in.len;
  }
  json_t *s = json_stringn(v, vlen); /* NULL for invalid UTF-8 */
  json_t *obj = s ? json_pack("{s:o}", "value", s) : NULL;
  *body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
  json_decref(obj);
  buf_free(&in);
  if (!s)
    return chorus_exit_fail(CHORUS_EXIT_USAGE, "put: the value is not valid UTF-8 (values are JSON strings)");
  return *body ? 0 : chorus_exit_fail(CHORUS_EXIT_SERVER, "put: out of memory");
}

/* PUT (body given) or DELETE of the key with the context write_context chose. */
static int data_write(const chorus_run_t *run, const char *method, const char *verb, const char *body) {
  const chorus_opts_t *o = run->opts;
  char path[CHORUS_HTTP_PATH_MAX], what[1100];
  snprintf(what, sizeof what, "%s %s", verb, o->args[0]);
  int code = data_path(o, true, path, sizeof path);
  char *ctx = NULL;
  if (!code) code = write_context(run, what, &ctx);
  if (code) return code;
  char ctx_header[70000], id_header[200];
  const char *headers[3] = {NULL, NULL, NULL};
  size_t nh = 0;
  if (ctx && ctx[0]) {
    if ((size_t)snprintf(ctx_header, sizeof ctx_header, "X-Chorus-Context: %s", ctx) >= sizeof ctx_header) {
      free(ctx);
      return chorus_exit_fail(CHORUS_EXIT_USAGE, "%s: the context is too long", what);
    }
    headers[nh++] = ctx_header;
  }
  free(ctx);
  if (o->request_id) {
    if ((size_t)snprintf(id_header, sizeof id_header, "X-Request-Id: %s", o->request_id) >= sizeof id_header)
      return chorus_exit_fail(CHORUS_EXIT_USAGE, "%s: the request id is too long", what);
    headers[nh++] = id_header;
  }
  chorus_reply_t rep;
  chorus_reply_init(&rep);
  int rc = chorus_http_do(run->http, method, path, body, headers, &rep);
  if (!rc && o->json)
    print_json_body(&rep);
  else if (!rc && (rep.status == 200 || rep.status == 503) && json_object_get(rep.json, "replication_result"))
    print_write(verb, rep.json, rep.status);
  code = chorus_exit_report(what, rc, &rep, chorus_http_opts(run->http));
  chorus_reply_free(&rep);
  return code;
}

int chorus_data_put(const chorus_run_t *run) {
  if (run->opts->blind && run->opts->context)
    return chorus_exit_fail(CHORUS_EXIT_USAGE, "put: --blind and --context exclude each other");
  char *body = NULL;
  int code = put_body(run->opts, &body);
  if (!code) code = data_write(run, "PUT", "put", body);
  free(body);
  return code;
}

int chorus_data_delete(const chorus_run_t *run) {
  if (run->opts->blind && run->opts->context)
    return chorus_exit_fail(CHORUS_EXIT_USAGE, "delete: --blind and --context exclude each other");
  return data_write(run, "DELETE", "delete", NULL);
}
