/*
 * ws_push.c - what /ws pushes (docs/api.md, "GET /ws"): hello, members and
 * ring on connect; then once a second while a client is connected, stats,
 * members and ring when they changed, the cluster events not pushed yet,
 * and the cluster's conflicting keys when they changed.
 *
 * The bodies are the REST routes' own builders (api_members_json,
 * api_ring_json, api_status_json, and each event as events_json.c builds
 * it for GET /api/v1/cluster/events), so a pushed message and the matching
 * GET never differ. Those built here, on the loop, are small (a few
 * members, counters; the ring on connect and when it changed).
 *
 * Events: the gather behind /api/v1/cluster/events (COORD_EVENTS), with a
 * cursor per member: the highest event id already seen, so an event is
 * pushed once. Its parts come back as data; decoding them and building the
 * events and conflicts messages runs on a libuv worker (ws_events.c), and
 * the loop only queues the finished frames. One gather at a time, counted
 * from its start to the end of its rendering, so the cursors have one
 * owner at a time: the loop, or the worker while it renders. When a
 * member's log has run more than EVENTS_PER_GATHER events past its cursor,
 * the cursor skips ahead: under such load the push drops events rather than
 * falling ever further behind (the REST endpoint has them).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../gossip/gossip.h"
#include "../replication/view.h"
#include "internal.h"
#include "ws_internal.h"

#define EVENTS_PER_GATHER EVENTS_PART_MAX_EVENTS /* per member: the endpoint's own maximum */

struct ws_gather {
  coord_req_t req;
  uv_work_t work; /* rendering its events (ws_events.c) */
  ws_t *ws;       /* NULL once the endpoint is gone: the gather and its rendering only free */
  uint64_t gen;
  ws_render_t render;
  int rc;                   /* the rendering's */
  coord_cursor_t cursors[]; /* req.cursors */
};

int ws_push_init(ws_push_t *p) {
  memset(p, 0, sizeof *p);
  buf_init(&p->members_sig);
  return 0;
}

void ws_push_free(ws_push_t *p) {
  if (p->gather) p->gather->ws = NULL;
  buf_free(&p->members_sig);
  free(p->conflicts_sig);
  free(p->cursors);
  memset(p, 0, sizeof *p);
}

static int by_id(const void *a, const void *b) {
  const swim_member_t *x = *(const swim_member_t *const *)a, *y = *(const swim_member_t *const *)b;
  return strcmp(x->id, y->id);
}

/* What a "members" push reports, without last_seen (which always moves):
 * ids, statuses, incarnations and addresses, in id order. */
static void members_signature(api_server_t *s, buf_t *out) {
  buf_reset(out);
  gossip_view_t v;
  if (!s->gossip || gossip_view(s->gossip, &v) != 0) return;
  const swim_member_t **m = malloc((v.n ? v.n : 1) * sizeof *m);
  if (!m) {
    out->err = CHORUS_ENOMEM;
    gossip_view_free(&v);
    return;
  }
  for (size_t i = 0; i < v.n; i++)
    m[i] = &v.members[i];
  qsort(m, v.n, sizeof *m, by_id);
  for (size_t i = 0; i < v.n; i++) {
    buf_put(out, m[i]->id, strlen(m[i]->id) + 1);
    buf_put_u8(out, (uint8_t)m[i]->status);
    buf_put_u64be(out, m[i]->incarnation);
    buf_put(out, m[i]->addr.host, strlen(m[i]->addr.host) + 1);
    buf_put_u16be(out, m[i]->addr.port);
    buf_put_u16be(out, m[i]->addr.peer_port);
  }
  free(m);
  gossip_view_free(&v);
}

/* The ring's identity as pushed: its version, mixed with the next ring's
 * while ownership moves (a join or a leave starting or ending changes it). */
static uint64_t current_ring(api_server_t *s) {
  view_t *v = view_acquire(s->view);
  uint64_t version = ring_version(v->ring);
  if (view_moving(v)) version ^= ring_version(v->next) * 0x9e3779b97f4a7c15ull + 1;
  view_release(v);
  return version;
}

static json_t *members_json(api_server_t *s) {
  int status;
  return api_members_json(s, &status); /* --gossip=false: the same 503 body as the route */
}

void ws_push_start(ws_t *ws) {
  ws_push_t *p = &ws->push;
  uint64_t now = ws_loop_ms(ws);
  p->gen++;
  p->n_cursors = 0;
  free(p->conflicts_sig); /* the first gather pushes the conflicts as they are */
  p->conflicts_sig = NULL;
  p->started_wall = clock_wall_ms();
  members_signature(ws->srv, &p->members_sig);
  p->ring_version = current_ring(ws->srv);
  metrics_hist(ROUTE_DATA, &p->hist);
  p->last_at = now;
  p->next_at = now + WS_INTERVAL_MS;
}

void ws_push_greet(ws_t *ws, ws_conn_t *c) {
  api_server_t *s = ws->srv;
  ws_send(ws, c, "hello",
          json_pack("{s:s,s:s,s:i}", "node_id", s->node_id, "version", s->version, "interval_ms",
                    WS_INTERVAL_MS));
  ws_send(ws, c, "members", members_json(s));
  ws_send(ws, c, "ring", api_ring_json(s));
}

static json_t *quantile_ms(const metrics_hist_t *now, const metrics_hist_t *then, double q) {
  double s;
  return metrics_hist_quantile(now, then, q, &s) == 0 ? json_real(s * 1000.0) : json_null();
}

static void push_stats(ws_t *ws, uint64_t now) {
  ws_push_t *p = &ws->push;
  metrics_hist_t h;
  metrics_hist(ROUTE_DATA, &h);
  uint64_t elapsed = now > p->last_at ? now - p->last_at : 1;
  uint64_t answered = h.total >= p->hist.total ? h.total - p->hist.total : 0;
  json_t *o = json_pack("{s:s,s:I,s:o*,s:f,s:{s:o*,s:o*},s:I}", "node_id", ws->srv->node_id, "ts",
                        (json_int_t)clock_wall_ms(), "status", api_status_json(ws->srv), "ops_per_sec",
                        (double)answered * 1000.0 / (double)elapsed, "latency_ms", "p50",
                        quantile_ms(&h, &p->hist, 0.5), "p99", quantile_ms(&h, &p->hist, 0.99),
                        "requests_total", (json_int_t)h.total);
  p->hist = h;
  p->last_at = now;
  ws_send(ws, NULL, "stats", o);
}

static void gather_free(ws_gather_t *g) {
  coord_result_free(&g->req.result);
  ws_render_free(&g->render);
  free(g);
}

static void render_run(uv_work_t *w) {
  ws_gather_t *g = w->data;
  g->rc = ws_render_events(&g->req.result, &g->render);
}

/* The rendering is back: the pusher's memory returns to the loop (unless
 * the pusher restarted meanwhile), and the finished frames go out. */
static void render_done(uv_work_t *w, int status) {
  ws_gather_t *g = w->data;
  ws_t *ws = g->ws;
  if (ws) {
    ws_push_t *p = &ws->push;
    p->gather = NULL;
    if (g->gen == p->gen) {
      free(p->cursors);
      free(p->conflicts_sig);
      p->cursors = g->render.cursors;
      p->n_cursors = g->render.n_cursors;
      p->cap_cursors = g->render.cap_cursors;
      p->conflicts_sig = g->render.conflicts_sig;
      g->render.cursors = NULL;
      g->render.conflicts_sig = NULL;
      if (status == 0 && g->rc) log_warn("ws: cannot build the events messages: %s", chorus_strerror(g->rc));
      bool send = status == 0 && g->rc == 0 && ws->n_conns && !ws->closing;
      if (send && g->render.events_frame.len)
        ws_send_frame(ws, NULL, g->render.events_frame.data, g->render.events_frame.len);
      if (send && g->render.conflicts_frame.len)
        ws_send_frame(ws, NULL, g->render.conflicts_frame.data, g->render.conflicts_frame.len);
    }
  }
  gather_free(g);
}

/* The parts are in: the pusher's memory moves to the rendering. */
static void gather_done(coord_req_t *req) {
  ws_gather_t *g = req->user;
  ws_t *ws = g->ws;
  if (!ws || g->gen != ws->push.gen || !ws->n_conns || ws->closing || req->result.err) {
    if (ws) ws->push.gather = NULL;
    gather_free(g);
    return;
  }
  ws_push_t *p = &ws->push;
  ws_render_t *r = &g->render;
  r->cursors = p->cursors;
  r->n_cursors = p->n_cursors;
  r->cap_cursors = p->cap_cursors;
  r->conflicts_sig = p->conflicts_sig;
  r->started_wall = p->started_wall;
  p->cursors = NULL;
  p->n_cursors = p->cap_cursors = 0;
  p->conflicts_sig = NULL;
  g->work.data = g;
  if (uv_queue_work(ws->loop, &g->work, render_run, render_done) != 0) render_done(&g->work, UV_EINVAL);
}

/* Asks every live member for its events past its cursor. */
static void start_gather(ws_t *ws) {
  ws_push_t *p = &ws->push;
  if (p->gather || !ws->srv->coord) return;
  ws_gather_t *g = calloc(1, sizeof *g + p->n_cursors * sizeof(coord_cursor_t));
  if (!g) return;
  size_t n = 0;
  for (size_t i = 0; i < p->n_cursors; i++) {
    const ws_cursor_t *cur = &p->cursors[i];
    if (!cur->known) continue; /* asked for its newest events */
    uint64_t since = cur->last;
    if (cur->total > since + EVENTS_PER_GATHER) since = cur->total - EVENTS_PER_GATHER;
    snprintf(g->cursors[n].node, sizeof g->cursors[n].node, "%s", cur->node);
    g->cursors[n++].since = since;
  }
  g->ws = ws;
  g->gen = p->gen;
  ws_render_init(&g->render);
  g->req.kind = COORD_EVENTS;
  g->req.since = 0;
  g->req.limit = EVENTS_PER_GATHER;
  g->req.cursors = g->cursors;
  g->req.n_cursors = n;
  g->req.done = gather_done;
  g->req.user = g;
  coord_result_init(&g->req.result);
  p->gather = g;
  if (coord_submit(ws->srv->coord, &g->req) != 0) { /* closing: done will not run */
    p->gather = NULL;
    gather_free(g);
  }
}

void ws_push_tick(ws_t *ws, uint64_t now) {
  ws_push_t *p = &ws->push;
  if (now < p->next_at) return;
  p->next_at = now + WS_INTERVAL_MS;
  buf_t sig;
  buf_init(&sig);
  members_signature(ws->srv, &sig);
  if (!sig.err &&
      (sig.len != p->members_sig.len || (sig.len && memcmp(sig.data, p->members_sig.data, sig.len)))) {
    buf_free(&p->members_sig);
    p->members_sig = sig;
    buf_init(&sig);
    ws_send(ws, NULL, "members", members_json(ws->srv));
  }
  buf_free(&sig);
  uint64_t version = current_ring(ws->srv);
  if (version != p->ring_version) {
    p->ring_version = version;
    ws_send(ws, NULL, "ring", api_ring_json(ws->srv));
  }
  push_stats(ws, now);
  start_gather(ws);
}
