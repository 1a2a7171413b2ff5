/*
 * internal.h - what the files of src/api share: the server, the per-request
 * state, and the JSON reply helpers. Not a public contract.
 */
#ifndef CHORUS_API_INTERNAL_H
#define CHORUS_API_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/config.h"
#include "../replication/coord.h"
#include "tls.h"
#include "../replication/events_part.h"
#include "../storage/engine.h"
#include "body.h"
#include "metrics.h"
#include "server.h"
#include "static.h"
#include "ws.h"

struct api_server {
  const config_t *cfg;
  char node_id[VV_NODE_MAX + 1];
  const char *version;
  uint64_t started_ms; /* wall clock */
  uint64_t started_mono_ns;
  engine_t *engine;
  struct gossip *gossip; /* NULL with --gossip=false */
  struct view_holder *view;
  struct coord *coord;
  const loop_stats_t *loop_stats; /* the loop's stalls, or NULL */
  struct MHD_Daemon *daemon;
  ws_t *ws;                /* the /ws connections, on the loop */
  tls_t *tls;              /* the HTTPS certificate; NULL: plain HTTP */
  char web_root[PATH_MAX]; /* the dashboard's files: --web-root, resolved */
  atomic_bool draining;
  atomic_uint_fast64_t inflight;
};

typedef enum { REQ_NEW, REQ_SUSPENDED, REQ_DONE } req_state_t;

typedef struct api_req {
  engine_hook_t hook; /* first: the engine job's user points here */
  api_server_t *srv;
  struct MHD_Connection *conn;
  api_route_t route;
  api_method_t method;
  uint64_t t0_ns;
  buf_t body;
  uint64_t body_cap;
  bool answered;
  const char *allow; /* Allow header of a 405; NULL: the route's usual methods */

  /* data requests */
  char *key; /* copy of the decoded key, NUL-terminated */
  size_t key_len;
  api_body_t input;
  char request_id[ENGINE_REQUEST_ID_MAX + 1];
  uint32_t quorum_r, quorum_w; /* ?r=, ?w=, ?consistency=; 0: configured */
  uint64_t since, limit;       /* /api/v1/vector-clock in a cluster: kept for the answer */
  engine_job_t job;            /* a lone node's request */
  bool coordinated;            /* the request went to the coordinator instead */
  /* What answers the request once the work it suspended for is done (set
   * by the route before it suspends; server.c calls it). */
  enum MHD_Result (*answer)(struct api_req *r);
  coord_req_t *creq;       /* allocated when coordinated */
  coord_cursor_t *cursors; /* /api/v1/cluster/events?since=node:id,...: creq's cursors */
  atomic_int state;        /* req_state_t */
  atomic_bool ws_slot;     /* holds one of the /ws connection slots until the upgrade takes it */
} api_req_t;

/* Before suspending a connection: counts the request as in flight unless
 * the server is draining (then false: answer 503). */
bool api_hold(api_req_t *r);
/* Queues resp (destroyed here) as the answer: the Allow / WWW-Authenticate
 * headers of 405 / 401, metrics, the debug log line. */
enum MHD_Result api_queue(api_req_t *r, int status, struct MHD_Response *resp);
/* Queues a response whose body (malloc'd, or NULL) the response takes over. */
enum MHD_Result api_send(api_req_t *r, int status, char *body, size_t len, const char *content_type);
/* Serialises and sends a JSON value (stolen). */
enum MHD_Result api_send_json(api_req_t *r, int status, json_t *v);
/* The same with one more header (name NULL: none). */
enum MHD_Result api_send_json_with(api_req_t *r, int status, json_t *v, const char *name, const char *value);
/* {"error": {"code", "message"}}: the body of every error. */
json_t *api_error_json(const char *code, const char *message);
enum MHD_Result api_send_error(api_req_t *r, const api_error_t *e);
enum MHD_Result api_send_error3(api_req_t *r, int status, const char *code, const char *message);
/* {"clocks": {node: counter, ...}} */
json_t *api_vv_json(const vv_t *v);
/* "2026-11-21T23:59:00.123Z" */
void api_iso_time(uint64_t ms, char out[32]);

/* data.c */
enum MHD_Result api_data_begin(api_req_t *r, const char *url);
enum MHD_Result api_data_answer(api_req_t *r);
int api_data_format(const engine_job_t *job, buf_t *out, const api_server_t *srv, int *status);

/* The bodies of routes the /ws push repeats, built in one place for both.
 * Each returns a new reference, NULL when out of memory. */
/* cluster.c: GET /gossip/members; *status 503 (and an error body) with --gossip=false */
json_t *api_members_json(api_server_t *s, int *status);
/* ring.c: GET /api/v1/ring */
json_t *api_ring_json(api_server_t *s);
/* info.c: GET /api/v1/status */
json_t *api_status_json(api_server_t *s);

/* cluster.c */
enum MHD_Result api_gossip(api_req_t *r, const char *url);
/* The string field name of r's JSON body (*root: the parsed body, for the
 * caller to release), or NULL after answering 400. */
const char *api_body_string(api_req_t *r, json_t **root, const char *name);
/* keys.c: GET and POST /api/v1/keys */
enum MHD_Result api_keys(api_req_t *r);

/* ring.c: GET /api/v1/ring, /api/v1/ring/lookup/{key} */
enum MHD_Result api_ring(api_req_t *r, const char *url);
/* events.c: GET /api/v1/cluster/events */
enum MHD_Result api_cluster_events(api_req_t *r);
enum MHD_Result api_cluster_answer(api_req_t *r);
/* A coordinated request for r (r->creq, zeroed; NULL when out of memory),
 * then: suspends r until the coordinator is done with it; answer renders
 * the reply (on an HTTP thread). */
coord_req_t *api_coord_new(api_req_t *r);
enum MHD_Result api_coord_run(api_req_t *r, enum MHD_Result (*answer)(api_req_t *r));
/* merkle.c: /api/v1/merkle-tree, /api/v1/merkle-tree/compare, /api/v1/merkle-tree/verify,
 * /api/v1/repair; the anti-entropy part of /api/v1/status */
enum MHD_Result api_merkle(api_req_t *r, const char *url);
enum MHD_Result api_repair(api_req_t *r);
/* transfers.c: GET /api/v1/transfers; the "transfers" part of /api/v1/status */
enum MHD_Result api_transfers(api_req_t *r);
json_t *api_transfers_json(api_server_t *s);
json_t *api_anti_entropy_json(api_server_t *s);
/* Suspends r until every live member's events are in (since, or a member's
 * own cursor when it has one; cursors must live as long as r); answer replies. */
enum MHD_Result api_gather_events(api_req_t *r, uint64_t since, const coord_cursor_t *cursors,
                                  size_t n_cursors, uint32_t limit, enum MHD_Result (*answer)(api_req_t *r));
enum MHD_Result api_vector_clock_answer(api_req_t *r);

/* events_json.c: the JSON built from a gather's parts, on any thread but
 * the loop's (an HTTP thread, or a worker for /ws). Each json_t * returned
 * is a new reference, NULL when out of memory. */
/* One event as every route lists it ("peer" left out when no message caused it). */
json_t *api_event_json(const event_t *ev);
/* A gather's part as the answering side sees it. */
typedef struct {
  const char *node;   /* the member asked (points into the result) */
  const char *error;  /* NULL: part is its decoded part; else why not (static text) */
  events_part_t part; /* owned */
} api_part_t;
/* Decodes every part of res: an array of res->n_parts (NULL when out of
 * memory), freed with api_parts_free. */
api_part_t *api_parts_decode(const coord_result_t *res);
void api_parts_free(api_part_t *parts, size_t n);
/* A new array of the events (borrowed) ordered as /api/v1/cluster/events
 * lists them: timestamp, node, id. */
json_t *api_events_ordered(const json_t *events);
/* Appends the JSON of each of part's events to events. */
void api_events_add(json_t *events, const events_part_t *part);
/* Conflicting keys across members: add each member's part to by_key
 * ({key: {key, siblings, nodes}}), then list them (by_key is released).
 * api_cluster_conflicts does both for a gather's result. */
void api_conflicts_add(json_t *by_key, const events_part_t *part, const char *node);
json_t *api_conflicts_list(json_t *by_key);
json_t *api_cluster_conflicts(const coord_result_t *res);
/* The body of GET /api/v1/cluster/events. */
json_t *api_cluster_events_json(const coord_result_t *res);
/* info.c */
enum MHD_Result api_health(api_req_t *r);
enum MHD_Result api_status(api_req_t *r);
enum MHD_Result api_vector_clock(api_req_t *r);
enum MHD_Result api_metrics(api_req_t *r);
/* ws.c: GET /ws, the WebSocket handshake */
enum MHD_Result api_ws(api_req_t *r);
/* static.c: GET/HEAD of the dashboard's files */
enum MHD_Result api_static(api_req_t *r, const char *url);

#endif
