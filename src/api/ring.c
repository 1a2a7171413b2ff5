/*
 * ring.c - GET /api/v1/ring and GET /api/v1/ring/lookup/{key}: the
 * consistent-hash ring of the current cluster view, and where a key lives.
 *
 * Both answer from one acquired view (replication/view.h), so a reply is
 * consistent with itself even while membership changes. Tokens are 64-bit
 * and do not fit a JSON number exactly: they are strings of decimal digits,
 * with "position" (token / 2^64, in [0, 1)) for drawing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../replication/plan.h"
#include "../replication/view.h"
#include "internal.h"

#define LOOKUP_PREFIX "/api/v1/ring/lookup/"

static double position(uint64_t token) {
  return (double)token / 18446744073709551616.0;
}

static json_t *token_str(uint64_t token) {
  char s[24];
  snprintf(s, sizeof s, "%" PRIu64, token);
  return json_string(s);
}

static const char *status_of(const view_t *v, const char *id) {
  const view_member_t *m = view_find(v, id);
  return m ? swim_status_name(m->status) : "unknown";
}

static json_t *id_array(const char (*ids)[NODE_ID_MAX + 1], size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    json_array_append_new(a, json_string(ids[i]));
  return a;
}

static const char *phase_of(const view_t *v, const char *id) {
  const view_member_t *m = view_find(v, id);
  return swim_phase_name(m ? m->phase : SWIM_PHASE_NORMAL);
}

/* The members of ring rg with their share of the token space. */
static json_t *members_json(const view_t *v, const ring_t *rg) {
  json_t *ms = json_array();
  for (size_t i = 0; ms && i < ring_member_count(rg); i++) {
    const char *id = ring_member_id(rg, i);
    const view_member_t *m = view_find(v, id);
    char addr[SWIM_HOST_MAX + 8] = "";
    if (m) snprintf(addr, sizeof addr, "%s:%u", m->addr.host, m->addr.port);
    json_array_append_new(ms, json_pack("{s:s,s:s,s:s,s:s,s:I,s:f}", "node_id", id, "status", status_of(v, id),
                                        "phase", phase_of(v, id), "address", addr, "vnodes",
                                        (json_int_t)ring_vnodes_per_member(rg), "ownership",
                                        ring_member_share(rg, i)));
  }
  return ms;
}

/* While ownership moves: the ring it moves to. */
static json_t *next_json(const view_t *v) {
  if (!view_moving(v)) return json_null();
  char version[RING_VERSION_HEX_LEN + 1];
  ring_version_hex(ring_version(v->next), version);
  return json_pack("{s:s,s:o*}", "version", version, "members", members_json(v, v->next));
}

static json_t *ring_json(const view_t *v) {
  const ring_t *rg = v->ring;
  char version[RING_VERSION_HEX_LEN + 1];
  ring_version_hex(ring_version(rg), version);
  size_t members = ring_member_count(rg);
  json_t *ms = members_json(v, rg), *vns = json_array();
  for (size_t i = 0; vns && i < ring_vnode_count(rg); i++) {
    const ring_vnode_t *vn = ring_vnode(rg, i);
    json_array_append_new(vns, json_pack("{s:o,s:f,s:s}", "token", token_str(vn->token), "position",
                                         position(vn->token), "node_id", ring_member_id(rg, vn->member)));
  }
  return json_pack("{s:s,s:I,s:I,s:I,s:b,s:o,s:o,s:b,s:o*}", "version", version, "replicas",
                   (json_int_t)v->replicas, "vnodes_per_member", (json_int_t)ring_vnodes_per_member(rg),
                   "total_vnodes", (json_int_t)ring_vnode_count(rg), "under_replicated", members < v->replicas,
                   "members", ms, "vnodes", vns, "moving", view_moving(v), "next", next_json(v));
}

json_t *api_ring_json(api_server_t *s) {
  view_t *v = view_acquire(s->view);
  json_t *o = ring_json(v);
  view_release(v);
  return o;
}

static bool up(const char *id, void *state) {
  return view_is_up(state, id);
}

static json_t *lookup_json(const view_t *v, const char *key, size_t key_len, const plan_t *p) {
  char version[RING_VERSION_HEX_LEN + 1];
  ring_version_hex(ring_version(v->ring), version);
  json_t *fallbacks = json_array();
  size_t total = ring_member_count(v->ring);
  uint32_t *order = total ? malloc(total * sizeof *order) : NULL;
  if (order) {
    total = ring_preference(v->ring, p->token, order, total);
    for (size_t i = p->n; fallbacks && i < total; i++)
      json_array_append_new(fallbacks, json_string(ring_member_id(v->ring, order[i])));
  }
  free(order);
  json_t *statuses = json_object();
  for (size_t i = 0; statuses && i < p->n; i++)
    json_object_set_new(statuses, p->pref[i], json_string(status_of(v, p->pref[i])));
  /* while ownership moves: the next owners that are not owners yet (writes reach them too) */
  json_t *pending = json_array();
  for (size_t i = 0; pending && i < p->n_targets; i++)
    if (p->targets[i].pending) json_array_append_new(pending, json_string(p->targets[i].node));
  return json_pack("{s:s%,s:o,s:f,s:o,s:o,s:s,s:o,s:o,s:I,s:s}", "key", key, key_len, "token",
                   token_str(p->token), "position", position(p->token), "preference_list",
                   id_array(p->pref, p->n), "statuses", statuses, "coordinator", p->coordinator, "fallbacks",
                   fallbacks, "pending", pending, "replicas", (json_int_t)p->n, "ring_version", version);
}

enum MHD_Result api_ring(api_req_t *r, const char *url) {
  bool get = r->method == METHOD_GET || r->method == METHOD_HEAD;
  if (!get) return api_send_error3(r, 405, "method_not_allowed", "this route does not accept that method");
  if (strcmp(url, "/api/v1/ring") == 0) {
    json_t *o = api_ring_json(r->srv);
    return o ? api_send_json(r, 200, o) : api_send_error3(r, 500, "internal", "out of memory");
  }
  view_t *v = view_acquire(r->srv->view);
  enum MHD_Result ret;
  if (strncmp(url, LOOKUP_PREFIX, strlen(LOOKUP_PREFIX)) == 0) {
    const char *key = url + strlen(LOOKUP_PREFIX);
    size_t key_len = strlen(key);
    api_error_t err = {0};
    plan_t p;
    if (api_key_check(key, key_len, &err)) {
      ret = api_send_error(r, &err);
    } else if (plan_make(v->ring, ring_key_token(key, key_len), v->replicas, v->self, PLAN_WRITE, up, v,
                         &p) ||
               (view_moving(v) && plan_add_pending(&p, v->next, v->replicas, up, v))) {
      ret = api_send_error3(r, 500, "internal", "out of memory");
    } else {
      json_t *o = lookup_json(v, key, key_len, &p);
      ret = o ? api_send_json(r, 200, o) : api_send_error3(r, 500, "internal", "out of memory");
    }
  } else {
    ret = api_send_error3(r, 404, "not_found", "no such route");
  }
  view_release(v);
  return ret;
}
