/*
 * events.c - GET /api/v1/cluster/events: the event logs of every live
 * member, merged (the source of the dashboard's space-time diagram).
 *
 * The coordinator gathers each member's newest events (?limit= per member,
 * default 200, at most 1000; ?since= an event id, for every member, or
 * node:id,node:id,... a cursor per member, the others giving their newest)
 * with its clock and conflicting keys, as data (events_part.h). The reply, rendered
 * here on the HTTP thread (events_json.c), lists every member asked and
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
#define CURSORS_MAX 256 /* members named in one ?since= */

static void cluster_done(coord_req_t *req) {
  api_req_t *r = req->user;
  atomic_store(&r->state, REQ_DONE);
  MHD_resume_connection(r->conn);
}

coord_req_t *api_coord_new(api_req_t *r) {
  return r->creq = calloc(1, sizeof *r->creq);
}

enum MHD_Result api_coord_run(api_req_t *r, enum MHD_Result (*answer)(api_req_t *r)) {
  coord_req_t *q = r->creq;
  if (!api_hold(r)) return api_send_error3(r, 503, "shutting_down", "the node is shutting down");
  q->done = cluster_done;
  q->user = r;
  r->coordinated = true;
  r->answer = answer;
  coord_result_init(&q->result);
  MHD_suspend_connection(r->conn);
  if (coord_submit(r->srv->coord, q) != 0) {
    q->result.err = CHORUS_ESHUTDOWN;
    cluster_done(q);
  }
  return MHD_YES;
}

/* Asks every live member for its newest events (limit per member). */
enum MHD_Result api_gather_events(api_req_t *r, uint64_t since, const coord_cursor_t *cursors,
                                  size_t n_cursors, uint32_t limit, enum MHD_Result (*answer)(api_req_t *r)) {
  coord_req_t *q = api_coord_new(r);
  if (!q) return api_send_error3(r, 500, "internal", "out of memory");
  q->kind = COORD_EVENTS;
  q->since = since;
  q->cursors = cursors;
  q->n_cursors = n_cursors;
  q->limit = limit;
  return api_coord_run(r, answer);
}

/* ?since=node:id,node:id,...: one cursor per member named (each once).
 * Returns the count, or -1 when the list is malformed. */
static long parse_cursors(const char *s, coord_cursor_t **out) {
  size_t n = 1;
  for (const char *p = s; *p; p++)
    n += *p == ',';
  if (n > CURSORS_MAX) return -1;
  coord_cursor_t *c = calloc(n, sizeof *c);
  if (!c) return -1;
  size_t got = 0;
  for (const char *p = s; got < n; got++) {
    size_t len = strcspn(p, ",");
    const char *colon =
        len ? memrchr(p, ':', len) : NULL; /* node ids may hold ':': the id ends at the last */
    char *end = NULL;
    size_t id_len = colon ? (size_t)(colon - p) : 0;
    unsigned long long id = colon ? strtoull(colon + 1, &end, 10) : 0;
    bool dup = false;
    for (size_t i = 0; i < got && colon; i++)
      dup |= strlen(c[i].node) == id_len && memcmp(c[i].node, p, id_len) == 0;
    if (!colon || !node_id_valid(p, id_len) || end == colon + 1 || end != p + len || colon[1] == '-' || dup) {
      free(c);
      return -1;
    }
    memcpy(c[got].node, p, id_len);
    c[got].since = id;
    p += len + (p[len] == ',');
  }
  *out = c;
  return (long)n;
}

enum MHD_Result api_cluster_events(api_req_t *r) {
  const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
  const char *sv = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "since");
  char *end = NULL;
  long limit = v ? strtol(v, &end, 10) : PER_NODE_DEFAULT;
  if (v && (end == v || *end || limit < 1 || limit > PER_NODE_MAX))
    return api_send_error3(r, 400, "bad_request", "limit must be an integer in 1..1000");
  unsigned long long since = 0;
  long n_cursors = 0;
  if (sv && strchr(sv, ':')) {
    n_cursors = parse_cursors(sv, &r->cursors);
    if (n_cursors < 0)
      return api_send_error3(
          r, 400, "bad_request",
          "since must be an event id, or node:id,node:id,... (each member once, at most 256)");
  } else if (sv) {
    since = strtoull(sv, &end, 10);
    if (end == sv || *end || *sv == '-')
      return api_send_error3(r, 400, "bad_request", "since must be an event id");
  }
  if (!r->srv->coord) return api_send_error3(r, 503, "unavailable", "the replication service is not running");
  return api_gather_events(r, since, r->cursors, (size_t)n_cursors, (uint32_t)limit, api_cluster_answer);
}

enum MHD_Result api_cluster_answer(api_req_t *r) {
  coord_result_t *res = &r->creq->result;
  enum MHD_Result ret;
  if (res->err) {
    ret = api_send_error3(r, res->err == CHORUS_ESHUTDOWN ? 503 : 500,
                          res->err == CHORUS_ESHUTDOWN ? "shutting_down" : "internal",
                          chorus_strerror(res->err));
  } else {
    json_t *o = api_cluster_events_json(res);
    ret = o ? api_send_json(r, 200, o) : api_send_error3(r, 500, "internal", "out of memory");
  }
  return ret;
}
