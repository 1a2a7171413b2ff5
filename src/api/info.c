/*
 * info.c - the node's introspection routes: /health, /api/v1/status,
 * /api/v1/vector-clock and /metrics.
 *
 * They answer on the HTTP thread: they read atomics and LevelDB (which is
 * safe from any thread) and never touch loop-owned state.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../gossip/gossip.h"
#include "../replication/events_part.h"
#include "../replication/view.h"
#include "internal.h"

#define EVENTS_DEFAULT 100
#define EVENTS_MAX 1000

enum MHD_Result api_health(api_req_t *r) {
  return api_send_json(r, 200, json_pack("{s:s,s:s}", "status", "ok", "node_id", r->srv->node_id));
}

/* Membership counts; a standalone node (--gossip=false) is a cluster of one. */
static json_t *cluster_json(api_server_t *s) {
  size_t alive = 1, suspected = 0, dead = 0, left = 0;
  bool joined = true;
  gossip_view_t v;
  if (s->gossip && gossip_view(s->gossip, &v) == 0) {
    alive = 0;
    for (size_t i = 0; i < v.n; i++) {
      swim_status_t st = v.members[i].status;
      alive += st == SWIM_ALIVE;
      suspected += st == SWIM_SUSPECT;
      dead += st == SWIM_DEAD;
      left += st == SWIM_LEFT;
    }
    joined = v.joined;
    gossip_view_free(&v);
  }
  size_t size = alive + suspected + dead;
  view_t *view = view_acquire(s->view);
  char version[RING_VERSION_HEX_LEN + 1];
  ring_version_hex(ring_version(view->ring), version);
  size_t ring_members = view_ring_members(view);
  const config_t *c = s->cfg;
  /* A cluster smaller than N keeps every key on every member, and fewer copies than N. */
  json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:b,s:b,s:b,s:{s:s,s:I,s:i,s:i,s:i,s:i}}", "size",
                        (json_int_t)size, "alive", (json_int_t)alive, "suspected", (json_int_t)suspected,
                        "dead", (json_int_t)dead, "left", (json_int_t)left, "gossip", s->gossip != NULL,
                        "joined", joined, "under_replicated", ring_members < (size_t)c->replicas, "ring",
                        "version", version, "members", (json_int_t)ring_members, "replicas", c->replicas,
                        "read_quorum", c->read_quorum, "write_quorum", c->write_quorum, "vnodes", c->vnodes);
  view_release(view);
  return o;
}

/* {"total": N, "by_owner": {owner: count}}: the hints this node keeps for others. */
static json_t *hints_json(engine_t *e) {
  engine_hint_count_t *c = NULL;
  size_t n = 0;
  if (engine_hint_counts(e, &c, &n)) return NULL;
  json_t *by_owner = json_object();
  for (size_t i = 0; by_owner && i < n; i++)
    json_object_set_new(by_owner, c[i].owner, json_integer((json_int_t)c[i].count));
  free(c);
  return json_pack("{s:I,s:o*}", "total", (json_int_t)atomic_load(&engine_stats(e)->hints), "by_owner",
                   by_owner);
}

/* The HTTPS certificate in use: what an operator checks before it expires. */
static json_t *tls_json(tls_t *tls) {
  if (!tls) return json_pack("{s:b}", "enabled", 0);
  tls_info_t ti;
  tls_info(tls, &ti);
  char not_after[32], loaded[32];
  api_iso_time(ti.not_after > 0 ? (uint64_t)ti.not_after * 1000u : 0, not_after);
  api_iso_time(ti.loaded_ms, loaded);
  return json_pack("{s:b,s:s,s:s,s:s,s:I,s:I}", "enabled", 1, "subject", ti.subject, "not_after", not_after,
                   "loaded_at", loaded, "reloads", (json_int_t)ti.reloads, "reload_failures",
                   (json_int_t)ti.failures);
}

json_t *api_status_json(api_server_t *s) {
  const engine_stats_t *st = engine_stats(s->engine);
  char started[32];
  api_iso_time(s->started_ms, started);
  json_int_t uptime = (json_int_t)((clock_mono_ns() - s->started_mono_ns) / 1000000000u);
  json_t *cluster = cluster_json(s);
  json_t *hints = hints_json(s->engine);
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:b,s:{s:I,s:I,s:I,s:I,s:I}},s:o*,s:o*}",
      "node_id", s->node_id, "status", "running", "version", s->version, "started_at", started,
      "uptime_seconds", uptime, "fsync", config_fsync_name(s->cfg->fsync), "data_dir", s->cfg->data_dir,
      "storage", "keys", (json_int_t)atomic_load(&st->keys), "events",
      (json_int_t)engine_event_count(s->engine), "event_retention", (json_int_t)s->cfg->event_retention,
      "conflicts", (json_int_t)atomic_load(&st->conflicts_now), "writes",
      (json_int_t)atomic_load(&st->writes), "batches", (json_int_t)atomic_load(&st->batches), "engine",
      "leveldb", "writable", !atomic_load(&st->read_only), "record_cache", "max_bytes",
      (json_int_t)s->cfg->record_cache_bytes, "bytes", (json_int_t)atomic_load(&st->record_cache_bytes),
      "entries", (json_int_t)atomic_load(&st->record_cache_entries), "hits",
      (json_int_t)atomic_load(&st->record_cache_hits), "misses",
      (json_int_t)atomic_load(&st->record_cache_misses), "cluster", cluster, "hints", hints);
  if (o) json_object_set_new(o, "anti_entropy", api_anti_entropy_json(s));
  if (o && s->coord) json_object_set_new(o, "transfers", api_transfers_json(s));
  if (o) json_object_set_new(o, "actor", json_string(engine_actor(s->engine)));
  if (o) json_object_set_new(o, "tls", tls_json(s->tls));
  const loop_stats_t *l = s->loop_stats;
  if (o && l)
    json_object_set_new(o, "loop",
                        json_pack("{s:I,s:f,s:I}", "iterations", (json_int_t)atomic_load(&l->iterations),
                                  "longest_stall_ms", (double)atomic_load(&l->stall_max_ns) / 1e6,
                                  "slow_stalls", (json_int_t)atomic_load(&l->slow_stalls)));
  return o;
}

enum MHD_Result api_status(api_req_t *r) {
  json_t *o = api_status_json(r->srv);
  return o ? api_send_json(r, 200, o) : api_send_error3(r, 500, "internal", "out of memory");
}

/* A query argument as an unsigned integer; 0 when absent, -1 when malformed. */
static int query_u64(struct MHD_Connection *c, const char *name, uint64_t *out) {
  const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
  if (!v) return 0;
  char *end = NULL;
  if (!*v || *v == '-' || *v == '+') return -1;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end) return -1;
  *out = n;
  return 1;
}

static json_t *events_json(engine_t *e, uint64_t since, uint64_t limit) {
  event_t *evs = NULL;
  size_t n = 0;
  if (engine_events(e, since, (size_t)limit, &evs, &n)) return NULL;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    if (arr) json_array_append_new(arr, api_event_json(&evs[i]));
    event_free(&evs[i]);
  }
  free(evs);
  return arr;
}

static json_t *conflicts_json(engine_t *e) {
  engine_conflict_t *cs = NULL;
  size_t n = 0;
  if (engine_conflicts(e, EVENTS_PART_MAX_CONFLICTS, &cs, &n)) return NULL;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    if (arr)
      json_array_append_new(
          arr, json_pack("{s:s%,s:i}", "key", cs[i].key, cs[i].key_len, "siblings", (int)cs[i].siblings));
    free(cs[i].key);
  }
  free(cs);
  return arr;
}

/* This node's clock and event log, with conflicts: this node's own, or in a
 * cluster every live member's (cluster, from a gather). */
static enum MHD_Result vector_clock_reply(api_req_t *r, uint64_t since, uint64_t limit, json_t *cluster) {
  api_server_t *s = r->srv;
  vv_t clock;
  vv_init(&clock);
  if (engine_clock(s->engine, &clock)) return api_send_error3(r, 500, "internal", "out of memory");
  json_t *events = events_json(s->engine, since, limit);
  json_t *conflicts = cluster ? cluster : conflicts_json(s->engine);
  json_t *o =
      json_pack("{s:s,s:o,s:{s:o*,s:I,s:I},s:o*}", "node_id", s->node_id, "vector_clock", api_vv_json(&clock),
                "event_log", "events", events, "total", (json_int_t)engine_event_count(s->engine),
                "retention", (json_int_t)s->cfg->event_retention, "conflicts", conflicts);
  vv_free(&clock);
  if (!events || !conflicts) {
    json_decref(o);
    return api_send_error3(r, 500, "storage_error", "the event log could not be read");
  }
  return api_send_json(r, 200, o);
}

enum MHD_Result api_vector_clock(api_req_t *r) {
  uint64_t since = 0, limit = EVENTS_DEFAULT;
  if (query_u64(r->conn, "since", &since) < 0 || query_u64(r->conn, "limit", &limit) < 0 || limit == 0 ||
      limit > EVENTS_MAX)
    return api_send_error3(r, 400, "bad_request",
                           "since must be an event id and limit an integer in 1..1000");
  if (!r->srv->coord || !coord_needed(r->srv->coord)) return vector_clock_reply(r, since, limit, NULL);
  /* conflicts anywhere in the cluster: every member's, gathered first */
  r->since = since;
  r->limit = limit;
  return api_gather_events(r, 0, NULL, 0, 1, api_vector_clock_answer);
}

enum MHD_Result api_vector_clock_answer(api_req_t *r) {
  json_t *cluster = r->creq->result.err ? NULL : api_cluster_conflicts(&r->creq->result);
  return vector_clock_reply(r, r->since, r->limit, cluster);
}

enum MHD_Result api_metrics(api_req_t *r) {
  buf_t out;
  buf_init(&out);
  metrics_render(&out, r->srv->engine, r->srv->gossip, r->srv->coord, r->srv->loop_stats, r->srv->tls);
  if (out.err) {
    buf_free(&out);
    return api_send_error3(r, 500, "internal", "out of memory");
  }
  size_t len = 0;
  char *body = (char *)buf_detach(&out, &len);
  return api_send(r, 200, body, len, "text/plain; version=0.0.4");
}
