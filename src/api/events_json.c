/*
 * events_json.c - the JSON of the cluster's events, built from the parts of
 * a gather (events_part.h): the body of GET /api/v1/cluster/events, the
 * conflicts of /api/v1/vector-clock in a cluster, and the pieces the /ws
 * push sends (ws_events.c).
 *
 * Members hand over data; the JSON is built here, by whoever answers: an
 * HTTP thread for the REST routes, a libuv worker for /ws, never the loop.
 * Everything here is a function of its arguments (no server state), so
 * any thread may call it. An event's object is built by api_event_json
 * alone, so an event reads the same in every route and in the push.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "internal.h"

json_t *api_event_json(const event_t *ev) {
  char ts[32], hash[17];
  api_iso_time(ev->ts_ms, ts);
  event_causal_hash(ev, hash);
  return json_pack("{s:I,s:s,s:s%,s:s%,s:o,s:s,s:s,s:s,s:s*}", "id", (json_int_t)ev->id, "type",
                   event_type_name(ev->type), "key", ev->key, ev->key_len, "value",
                   ev->preview ? ev->preview : "", ev->preview ? ev->preview_len : 0, "vector_clock",
                   api_vv_json(&ev->clock), "causal_hash", hash, "timestamp", ts, "node_id", ev->node, "peer",
                   ev->peer[0] ? ev->peer : NULL);
}

/* A part that answered but does not decode, or is another member's. */
static const char *part_error(const coord_part_t *src, int rc, const events_part_t *part) {
  if (src->status) return chorus_strerror(src->status);
  if (rc == CHORUS_ENOMEM) return chorus_strerror(rc);
  if (rc || strcmp(part->node, src->node) != 0) return "malformed reply";
  return NULL;
}

api_part_t *api_parts_decode(const coord_result_t *res) {
  api_part_t *parts = calloc(res->n_parts ? res->n_parts : 1, sizeof *parts);
  if (!parts) return NULL;
  for (size_t i = 0; i < res->n_parts; i++) {
    const coord_part_t *src = &res->parts[i];
    api_part_t *p = &parts[i];
    p->node = src->node;
    events_part_init(&p->part);
    int rc = src->status ? 0 : events_part_decode(src->body.data, src->body.len, &p->part);
    p->error = part_error(src, rc, &p->part);
    if (p->error) events_part_free(&p->part);
  }
  return parts;
}

void api_parts_free(api_part_t *parts, size_t n) {
  if (!parts) return;
  for (size_t i = 0; i < n; i++)
    events_part_free(&parts[i].part);
  free(parts);
}

static int by_time(const void *a, const void *b) {
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  int c = strcmp(json_string_value(json_object_get(x, "timestamp")) ?: "",
                 json_string_value(json_object_get(y, "timestamp")) ?: "");
  if (!c)
    c = strcmp(json_string_value(json_object_get(x, "node_id")) ?: "",
               json_string_value(json_object_get(y, "node_id")) ?: "");
  if (!c) {
    json_int_t i = json_integer_value(json_object_get(x, "id")),
               j = json_integer_value(json_object_get(y, "id"));
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

void api_events_add(json_t *events, const events_part_t *part) {
  for (size_t i = 0; i < part->n_events; i++)
    json_array_append_new(events, api_event_json(&part->events[i]));
}

void api_conflicts_add(json_t *by_key, const events_part_t *part, const char *node) {
  for (size_t i = 0; i < part->n_conflicts; i++) {
    const events_part_conflict_t *cf = &part->conflicts[i];
    json_t *entry = json_object_get(by_key, cf->key);
    if (!entry) {
      entry = json_pack("{s:s,s:I,s:[]}", "key", cf->key, "siblings", (json_int_t)0, "nodes");
      json_object_set_new(by_key, cf->key, entry);
    }
    if ((json_int_t)cf->siblings > json_integer_value(json_object_get(entry, "siblings")))
      json_object_set_new(entry, "siblings", json_integer((json_int_t)cf->siblings));
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
  api_part_t *parts = api_parts_decode(res);
  json_t *by_key = parts ? json_object() : NULL;
  for (size_t i = 0; by_key && i < res->n_parts; i++)
    if (!parts[i].error) api_conflicts_add(by_key, &parts[i].part, parts[i].node);
  api_parts_free(parts, res->n_parts);
  return by_key ? api_conflicts_list(by_key) : NULL;
}

/* A member's entry in "nodes": its clock and count, or why it is missing. */
static json_t *node_json(const api_part_t *p) {
  if (p->error) return json_pack("{s:s,s:b,s:s}", "node_id", p->node, "ok", 0, "error", p->error);
  return json_pack("{s:s,s:b,s:o,s:I}", "node_id", p->node, "ok", 1, "vector_clock",
                   api_vv_json(&p->part.clock), "total", (json_int_t)p->part.total);
}

json_t *api_cluster_events_json(const coord_result_t *res) {
  api_part_t *parts = api_parts_decode(res);
  if (!parts) return NULL;
  json_t *nodes = json_array(), *events = json_array(), *by_key = json_object();
  for (size_t i = 0; nodes && events && by_key && i < res->n_parts; i++) {
    json_array_append_new(nodes, node_json(&parts[i]));
    if (parts[i].error) continue;
    api_events_add(events, &parts[i].part);
    api_conflicts_add(by_key, &parts[i].part, parts[i].node);
  }
  api_parts_free(parts, res->n_parts);
  json_t *ordered = api_events_ordered(events);
  json_t *cl = api_conflicts_list(by_key);
  json_decref(events);
  return json_pack("{s:o,s:I,s:o,s:o}", "nodes", nodes, "count", (json_int_t)json_array_size(ordered),
                   "events", ordered, "conflicts", cl);
}
