/*
 * events.c - GET /api/v1/cluster/events: the event logs of every live
 * member, merged (the source of the dashboard's space-time diagram).
 *
 * The coordinator gathers each member's newest events (?limit= per member,
 * default 200, at most 1000; ?since= an event id, per member) with its
 * clock and conflicting keys. The reply lists every member asked and
 * whether it answered, all events ordered by timestamp (then node, then
 * id), and the keys holding concurrent siblings anywhere, with the members
 * that hold them.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "internal.h"

#define PER_NODE_DEFAULT 200
#define PER_NODE_MAX 1000

static void cluster_done(coord_req_t *req) {
  api_req_t *r = req->user;
  atomic_store(&r->state, REQ_DONE);
  MHD_resume_connection(r->conn);
}

/* Asks every live member for its newest events (limit per member). */
enum MHD_Result api_gather_events(api_req_t *r, uint64_t since, uint32_t limit) {
  coord_req_t *q = r->creq = calloc(1, sizeof *r->creq);
  if (!q) return api_send_error3(r, 500, "internal", "out of memory");
  if (!api_hold(r)) return api_send_error3(r, 503, "shutting_down", "the node is shutting down");
  q->kind = COORD_EVENTS;
  q->since = since;
  q->limit = limit;
  q->done = cluster_done;
  q->user = r;
  r->coordinated = true;
  coord_result_init(&q->result);
  MHD_suspend_connection(r->conn);
  if (coord_submit(r->srv->coord, q) != 0) {
    q->result.err = CHORUS_ESHUTDOWN;
    cluster_done(q);
  }
  return MHD_YES;
}

enum MHD_Result api_cluster_events(api_req_t *r) {
  const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
  const char *sv = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "since");
  char *end = NULL;
  long limit = v ? strtol(v, &end, 10) : PER_NODE_DEFAULT;
  if (v && (end == v || *end || limit < 1 || limit > PER_NODE_MAX))
    return api_send_error3(r, 400, "bad_request", "limit must be an integer in 1..1000");
  unsigned long long since = 0;
  if (sv) {
    since = strtoull(sv, &end, 10);
    if (end == sv || *end || *sv == '-') return api_send_error3(r, 400, "bad_request", "since must be an event id");
  }
  if (!r->srv->coord) return api_send_error3(r, 503, "unavailable", "the replication service is not running");
  return api_gather_events(r, since, (uint32_t)limit);
}

static int by_time(const void *a, const void *b) {
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  int c = strcmp(json_string_value(json_object_get(x, "timestamp")) ?: "",
                 json_string_value(json_object_get(y, "timestamp")) ?: "");
  if (!c)
    c = strcmp(json_string_value(json_object_get(x, "node_id")) ?: "",
               json_string_value(json_object_get(y, "node_id")) ?: "");
  if (!c) {
    json_int_t i = json_integer_value(json_object_get(x, "id")), j = json_integer_value(json_object_get(y, "id"));
    c = (i > j) - (i < j);
  }
  return c;
}

json_t *api_events_ordered(const json_t *events) {
  size_t n = json_array_size(events);
  json_t **sorted = malloc((n ? n : 1) * sizeof *sorted);
  json_t *ordered = sorted ? json_array() : NULL;
  if (ordered) {
    for (size_t i = 0; i < n; i++)
      sorted[i] = json_array_get(events, i);
    qsort(sorted, n, sizeof *sorted, by_time);
    for (size_t i = 0; i < n; i++)
      json_array_append(ordered, sorted[i]);
  }
  free(sorted);
  return ordered;
}

void api_conflicts_add(json_t *by_key, const json_t *part, const char *node) {
  json_t *list = json_object_get(part, "conflicts");
  for (size_t i = 0; i < json_array_size(list); i++) {
    json_t *cf = json_array_get(list, i);
    const char *key = json_string_value(json_object_get(cf, "key"));
    if (!key) continue;
    json_t *entry = json_object_get(by_key, key);
    if (!entry) {
      entry = json_pack("{s:s,s:I,s:[]}", "key", key, "siblings", (json_int_t)0, "nodes");
      json_object_set_new(by_key, key, entry);
    }
    json_int_t sib = json_integer_value(json_object_get(cf, "siblings"));
    if (sib > json_integer_value(json_object_get(entry, "siblings")))
      json_object_set_new(entry, "siblings", json_integer(sib));
    json_array_append_new(json_object_get(entry, "nodes"), json_string(node));
  }
}

json_t *api_conflicts_list(json_t *by_key) {
  json_t *cl = json_array();
  for (void *it = json_object_iter(by_key); cl && it; it = json_object_iter_next(by_key, it))
    json_array_append(cl, json_object_iter_value(it));
  json_decref(by_key);
  return cl;
}

json_t *api_cluster_conflicts(const coord_result_t *res) {
  json_t *by_key = json_object();
  for (size_t i = 0; by_key && i < res->n_parts; i++) {
    const coord_part_t *p = &res->parts[i];
    json_t *part = p->status ? NULL : json_loadb((const char *)p->body.data, p->body.len, 0, NULL);
    if (part) api_conflicts_add(by_key, part, p->node);
    json_decref(part);
  }
  return api_conflicts_list(by_key);
}

static json_t *merged(const coord_result_t *res) {
  json_t *nodes = json_array(), *events = json_array(), *by_key = json_object();
  for (size_t i = 0; i < res->n_parts; i++) {
    const coord_part_t *p = &res->parts[i];
    json_t *part = p->status ? NULL : json_loadb((const char *)p->body.data, p->body.len, 0, NULL);
    if (!part) {
      json_array_append_new(nodes, json_pack("{s:s,s:b,s:s}", "node_id", p->node, "ok", 0, "error",
                                             p->status ? chorus_strerror(p->status) : "malformed reply"));
      continue;
    }
    json_array_append_new(nodes, json_pack("{s:s,s:b,s:O,s:O}", "node_id", p->node, "ok", 1, "vector_clock",
                                           json_object_get(part, "vector_clock"), "total",
                                           json_object_get(part, "total")));
    json_array_extend(events, json_object_get(part, "events"));
    api_conflicts_add(by_key, part, p->node);
    json_decref(part);
  }
  json_t *ordered = api_events_ordered(events);
  json_t *cl = api_conflicts_list(by_key);
  json_decref(events);
  return json_pack("{s:o,s:I,s:o,s:o}", "nodes", nodes, "count", (json_int_t)json_array_size(ordered), "events",
                   ordered, "conflicts", cl);
}

enum MHD_Result api_cluster_answer(api_req_t *r) {
  coord_result_t *res = &r->creq->result;
  enum MHD_Result ret;
  if (res->err) {
    ret = api_send_error3(r, res->err == CHORUS_ESHUTDOWN ? 503 : 500,
                          res->err == CHORUS_ESHUTDOWN ? "shutting_down" : "internal", chorus_strerror(res->err));
  } else {
    json_t *o = merged(res);
    ret = o ? api_send_json(r, 200, o) : api_send_error3(r, 500, "internal", "out of memory");
  }
  return ret;
}
