/*
 * merkle.c - the anti-entropy routes (DESIGN §4, §9):
 *   GET  /api/v1/merkle-tree            this node's tree: shape, root, keys,
 *                                       a node and its children (?prefix=
 *                                       hex digits, one per level), a whole
 *                                       level (?level= 0..3), and the root
 *                                       over the ranges shared with each peer
 *   GET  /api/v1/merkle-tree/compare?node=ID
 *                                       an exchange with a live peer, without
 *                                       repairs: what differs (coord_aae.c)
 *   GET  /api/v1/merkle-tree/verify     scans the records and checks the
 *                                       stored tree against them
 *   POST /api/v1/repair                 an exchange with every live peer now
 *   GET  /api/v1/repair                 anti-entropy's progress
 * Hashes are 16 lowercase hex digits. Reads of the tree and the store run
 * on the HTTP thread (LevelDB and the tree's mutex); compare and repair go
 * through the coordinator, on the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../replication/ranges.h"
#include "../replication/view.h"
#include "internal.h"

#define LEVEL_LIST_MAX 3 /* ?level= lists at most 16^3 = 4096 hashes */

static json_t *hex64(uint64_t v) {
  char s[17];
  snprintf(s, sizeof s, "%016llx", (unsigned long long)v);
  return json_string(s);
}

static enum MHD_Result no_tree(api_req_t *r) {
  return api_send_error3(r, 404, "no_tree", "this node keeps no anti-entropy tree (--merkle-tree=false)");
}

/* The hashes of nodes idx[0..n) of level over every token. */
static int whole_hashes(engine_t *e, unsigned level, const uint64_t *idx, size_t n, uint64_t *out) {
  const merkle_range_t all = {0, UINT64_MAX};
  return engine_tree_hashes(e, &all, 1, level, idx, n, out);
}

/* {"peer": {"ranges": n, "tokens": share, "root": hash}}: this node's root over
 * what it shares with each ring member ("self": what it replicates). */
static json_t *per_range_roots(api_server_t *s) {
  json_t *o = json_object();
  view_t *v = view_acquire(s->view);
  for (size_t i = 0; o && i < ring_member_count(v->ring); i++) {
    const char *id = ring_member_id(v->ring, i);
    merkle_range_t *rs = NULL;
    size_t nr = 0;
    uint64_t idx = 0, root = 0;
    if (ranges_shared(v->ring, v->replicas, s->node_id, id, &rs, &nr) != 0) continue;
    if (nr && engine_tree_hashes(s->engine, rs, nr, 0, &idx, 1, &root) != 0) root = 0;
    double share = (double)ranges_tokens(rs, nr) / 18446744073709551616.0;
    json_object_set_new(
        o, strcmp(id, s->node_id) == 0 ? "self" : id,
        json_pack("{s:I,s:f,s:o}", "ranges", (json_int_t)nr, "share", share, "root", hex64(root)));
    free(rs);
  }
  view_release(v);
  return o;
}

static enum MHD_Result tree_reply(api_req_t *r) {
  api_server_t *s = r->srv;
  engine_tree_info_t ti;
  engine_tree_info(s->engine, &ti);
  if (!ti.enabled) return no_tree(r);
  const char *prefix = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "prefix");
  const char *lv = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "level");
  if (!prefix) prefix = "";
  size_t plen = strlen(prefix);
  uint64_t node = 0;
  for (size_t i = 0; i < plen; i++) {
    char ch = prefix[i];
    int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (d < 0 || plen > ti.depth)
      return api_send_error3(
          r, 400, "bad_request",
          "prefix must be hex digits, one per level below the root, at most the tree's depth");
    node = node * MERKLE_FANOUT + (uint64_t)d;
  }
  long level = -1;
  if (lv) {
    char *end = NULL;
    level = strtol(lv, &end, 10);
    if (end == lv || *end || level < 0 || level > LEVEL_LIST_MAX || (unsigned long)level > ti.depth)
      return api_send_error3(r, 400, "bad_request", "level must be an integer in 0..3");
  }
  /* the node, its children (none at the leaves), or a whole level */
  unsigned at = (unsigned)plen;
  size_t nkids = at < ti.depth ? MERKLE_FANOUT : 0;
  size_t n = level >= 0 ? (size_t)1 << (MERKLE_FANOUT_BITS * (unsigned)level) : 1 + nkids;
  uint64_t *idx = malloc(n * sizeof *idx), *h = malloc(n * sizeof *h);
  int rc = idx && h ? 0 : CHORUS_ENOMEM;
  if (!rc && level >= 0) {
    for (size_t i = 0; i < n; i++)
      idx[i] = i;
    rc = whole_hashes(s->engine, (unsigned)level, idx, n, h);
  } else if (!rc) {
    idx[0] = node;
    rc = whole_hashes(s->engine, at, idx, 1, h);
    for (size_t i = 0; i < nkids; i++)
      idx[1 + i] = node * MERKLE_FANOUT + i;
    if (!rc && nkids) rc = whole_hashes(s->engine, at + 1, idx + 1, nkids, h + 1);
  }
  json_t *o = NULL;
  if (!rc) {
    json_t *list = json_array();
    size_t from = level >= 0 ? 0 : 1;
    for (size_t i = from; list && i < n; i++)
      json_array_append_new(list, hex64(h[i]));
    o = json_pack("{s:s,s:i,s:i,s:I,s:I,s:o,s:I}", "node_id", s->node_id, "depth", (int)ti.depth, "fanout",
                  MERKLE_FANOUT, "segments", (json_int_t)ti.segments, "keys", (json_int_t)ti.keys, "root",
                  hex64(ti.root), "memory_bytes", (json_int_t)ti.memory);
    if (o && level >= 0) {
      json_object_set_new(o, "level", json_integer(level));
      json_object_set_new(o, "hashes", list);
    } else if (o) {
      json_object_set_new(o, "prefix", json_string(prefix));
      json_object_set_new(o, "level", json_integer(at));
      json_object_set_new(o, "hash", hex64(h[0]));
      json_object_set_new(o, "children", list);
    } else {
      json_decref(list);
    }
    if (o) json_object_set_new(o, "shared", per_range_roots(s));
  }
  free(idx);
  free(h);
  if (rc || !o) {
    json_decref(o);
    return api_send_error3(r, 500, "storage_error", rc ? chorus_strerror(rc) : "out of memory");
  }
  return api_send_json(r, 200, o);
}

static enum MHD_Result verify_reply(api_req_t *r) {
  engine_tree_verify_t v;
  int rc = engine_tree_verify(r->srv->engine, &v);
  if (rc == CHORUS_ENOTFOUND) return no_tree(r);
  if (rc) return api_send_error3(r, 500, "storage_error", chorus_strerror(rc));
  return api_send_json(r, 200,
                       json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:o,s:I}", "node_id", r->srv->node_id, "clean",
                                 v.clean, "records", (json_int_t)v.records, "damaged_records",
                                 (json_int_t)v.damaged_records, "leaves_damaged",
                                 (json_int_t)v.leaves_damaged, "leaf_segments_differing",
                                 (json_int_t)v.leaf_segments_differing, "root", hex64(v.root), "elapsed_ms",
                                 (json_int_t)v.elapsed_ms));
}

static json_t *exchange_json(const aae_exchange_t *x) {
  uint64_t took = x->ended_ms > x->started_ms ? x->ended_ms - x->started_ms : 0;
  char at[32];
  api_iso_time(x->started_ms, at);
  return json_pack(
      "{s:s,s:s,s:s,s:s*,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "peer", x->peer, "started_at", at,
      "result", x->status ? "failed" : "ok", "error", x->status ? chorus_strerror(x->status) : NULL,
      "duration_ms", (json_int_t)took, "shared_ranges", (json_int_t)x->ranges, "tree_nodes_compared",
      (json_int_t)x->tree_nodes, "segments_differing", (json_int_t)x->segments_differing, "keys_compared",
      (json_int_t)x->keys_compared, "keys_differing", (json_int_t)x->keys_differing, "keys_pushed",
      (json_int_t)x->keys_pushed, "keys_pulled", (json_int_t)x->keys_pulled, "record_bytes",
      (json_int_t)x->record_bytes, "bytes_sent", (json_int_t)x->bytes_sent, "bytes_received",
      (json_int_t)x->bytes_received, "in_sync", x->status == 0 && x->keys_differing == 0);
}

static enum MHD_Result compare_answer(api_req_t *r) {
  coord_result_t *res = &r->creq->result;
  const aae_compare_t *cmp = res->compare;
  if (res->err == CHORUS_ENOTFOUND) return no_tree(r);
  if (res->err == CHORUS_EINVAL)
    return api_send_error3(r, 400, "bad_request", "node must name another member");
  if (res->err == CHORUS_EBUSY && !cmp)
    return api_send_error3(r, 503, "peer_unavailable", "the peer is not alive");
  if (res->err == CHORUS_EAGAIN && !cmp)
    return api_send_error3(r, 503, "compare_running", "another compare is running on this node; try again");
  if (!cmp) return api_send_error3(r, 500, "internal", chorus_strerror(res->err));
  if (res->err) {
    json_t *e = api_error_json("compare_failed", chorus_strerror(res->err));
    if (e) json_object_set_new(e, "exchange", exchange_json(&cmp->x));
    return api_send_json(r, 503, e);
  }
  json_t *segs = json_array(), *keys = json_array();
  unsigned digits = cmp->bits / MERKLE_FANOUT_BITS;
  for (size_t i = 0; segs && i < cmp->n_segments; i++) {
    char hex[16];
    snprintf(hex, sizeof hex, "%0*x", (int)digits, cmp->segments[i]);
    json_array_append_new(segs,
                          json_pack("{s:I,s:s}", "segment", (json_int_t)cmp->segments[i], "prefix", hex));
  }
  for (size_t i = 0; keys && i < cmp->n_keys; i++)
    json_array_append_new(keys, json_pack("{s:s,s:s}", "key", cmp->keys[i], "where",
                                          cmp->where[i] == 'l'   ? "local_only"
                                          : cmp->where[i] == 'r' ? "peer_only"
                                                                 : "both_differ"));
  json_t *o = exchange_json(&cmp->x);
  if (o) {
    json_object_set_new(o, "node_id", json_string(r->srv->node_id));
    json_object_set_new(o, "in_sync", json_boolean(cmp->x.keys_differing == 0));
    json_object_set_new(o, "segments", segs);
    json_object_set_new(o, "keys", keys);
  } else {
    json_decref(segs);
    json_decref(keys);
  }
  return o ? api_send_json(r, 200, o) : api_send_error3(r, 500, "internal", "out of memory");
}

static enum MHD_Result compare_begin(api_req_t *r) {
  const char *node = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "node");
  if (!node || !node_id_valid(node, strlen(node)))
    return api_send_error3(r, 400, "bad_request", "node must be a member's node id");
  if (!r->srv->coord) return api_send_error3(r, 503, "unavailable", "the replication service is not running");
  coord_req_t *q = api_coord_new(r);
  if (!q || !(r->key = strdup(node))) return api_send_error3(r, 500, "internal", "out of memory");
  q->kind = COORD_COMPARE;
  q->node = r->key;
  return api_coord_run(r, compare_answer);
}

enum MHD_Result api_merkle(api_req_t *r, const char *url) {
  if (r->method != METHOD_GET && r->method != METHOD_HEAD)
    return api_send_error3(r, 405, "method_not_allowed", "this route does not accept that method");
  if (strcmp(url, "/api/v1/merkle-tree") == 0) return tree_reply(r);
  if (strcmp(url, "/api/v1/merkle-tree/compare") == 0) return compare_begin(r);
  if (strcmp(url, "/api/v1/merkle-tree/verify") == 0) return verify_reply(r);
  return api_send_error3(r, 404, "not_found", "no such route");
}

json_t *api_anti_entropy_json(api_server_t *s) {
  aae_status_t st;
  if (s->coord)
    coord_aae_status(s->coord, &st);
  else
    memset(&st, 0, sizeof st);
  engine_tree_info_t ti;
  engine_tree_info(s->engine, &ti);
  json_t *peers = json_object();
  for (size_t i = 0; peers && i < st.n_last; i++)
    json_object_set_new(peers, st.last[i].peer, exchange_json(&st.last[i]));
  json_t *o = json_pack(
      "{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:o*,s:{s:b,s:I,s:I,s:o,s:I}}", "enabled",
      st.enabled, "interval_ms", (json_int_t)st.interval_ms, "repair_rate", (json_int_t)st.repair_rate,
      "exchanges", (json_int_t)st.exchanges, "exchanges_failed", (json_int_t)st.exchanges_failed,
      "keys_repaired", (json_int_t)st.keys_repaired, "keys_pushed", (json_int_t)st.keys_pushed, "keys_pulled",
      (json_int_t)st.keys_pulled, "bytes_sent", (json_int_t)st.bytes_sent, "bytes_received",
      (json_int_t)st.bytes_received, "tombstones_reaped", (json_int_t)st.tombstones_reaped, "running",
      st.running, "queued", (json_int_t)st.queued, "last_exchange", peers, "tree", "enabled", ti.enabled,
      "keys", (json_int_t)ti.keys, "segments", (json_int_t)ti.segments, "root", hex64(ti.root),
      "memory_bytes", (json_int_t)ti.memory);
  if (o && st.running) json_object_set_new(o, "current", exchange_json(&st.current));
  return o;
}

static enum MHD_Result repair_answer(api_req_t *r) {
  coord_result_t *res = &r->creq->result;
  if (res->err == CHORUS_ENOTFOUND) return no_tree(r);
  if (res->err) return api_send_error3(r, 503, "unavailable", chorus_strerror(res->err));
  json_t *o = api_anti_entropy_json(r->srv);
  if (o) {
    json_object_set_new(o, "status", json_string("started"));
    json_object_set_new(o, "peers_queued", json_integer((json_int_t)res->queued));
  }
  return o ? api_send_json(r, 202, o) : api_send_error3(r, 500, "internal", "out of memory");
}

enum MHD_Result api_repair(api_req_t *r) {
  if (r->method == METHOD_GET || r->method == METHOD_HEAD) {
    json_t *o = api_anti_entropy_json(r->srv);
    return o ? api_send_json(r, 200, o) : api_send_error3(r, 500, "internal", "out of memory");
  }
  if (r->method != METHOD_POST) {
    r->allow = "GET, POST";
    return api_send_error3(r, 405, "method_not_allowed", "this route does not accept that method");
  }
  if (!r->srv->coord) return api_send_error3(r, 503, "unavailable", "the replication service is not running");
  coord_req_t *q = api_coord_new(r);
  if (!q) return api_send_error3(r, 500, "internal", "out of memory");
  q->kind = COORD_REPAIR;
  return api_coord_run(r, repair_answer);
}
