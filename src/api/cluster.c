/*
 * cluster.c - the membership routes: GET /gossip/status, /gossip/members,
 * /gossip/rumors and POST /gossip/join, /gossip/leave, /gossip/remove.
 *
 * GETs answer from the gossip shell's snapshot (at most 100 ms old); POSTs
 * validate their input here and queue the command for the loop, which owns
 * the membership state, so they answer 202 Accepted: the effect shows in the
 * next views. A node started with --gossip=false answers 503 on these routes.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../gossip/gossip.h"
#include "internal.h"

static const char *rumor_type(const swim_update_t *u) {
  switch (u->status) {
  case SWIM_ALIVE: return "node_alive";
  case SWIM_SUSPECT: return "node_suspect";
  case SWIM_DEAD: return "node_failure";
  case SWIM_LEFT: return "node_leave";
  default: return "unknown";
  }
}

typedef struct {
  size_t alive, suspected, dead, left;
} tally_t;

static tally_t tally(const gossip_view_t *v) {
  tally_t t = {0};
  for (size_t i = 0; i < v->n; i++) {
    switch (v->members[i].status) {
    case SWIM_ALIVE: t.alive++; break;
    case SWIM_SUSPECT: t.suspected++; break;
    case SWIM_DEAD: t.dead++; break;
    default: t.left++; break;
    }
  }
  return t;
}

/* The view, or an answered 503 when this node does not gossip. */
static bool get_view(api_req_t *r, gossip_view_t *v) {
  if (!r->srv->gossip) {
    api_send_error3(r, 503, "gossip_disabled", "this node runs with --gossip=false");
    return false;
  }
  if (gossip_view(r->srv->gossip, v) != 0) {
    api_send_error3(r, 500, "internal", "out of memory");
    return false;
  }
  return true;
}

/* Wall-clock time of a member's last sign of life, from the loop's clock. */
static void last_seen(const api_server_t *s, uint64_t seen_ms, char out[32]) {
  uint64_t now_mono = clock_mono_ns() / 1000000u, now_wall = clock_wall_ms();
  uint64_t age = now_mono > seen_ms ? now_mono - seen_ms : 0;
  api_iso_time(now_wall > age ? now_wall - age : now_wall, out);
}

static enum MHD_Result gossip_status(api_req_t *r) {
  gossip_view_t v;
  if (!get_view(r, &v)) return MHD_YES;
  const config_t *c = r->srv->cfg;
  tally_t t = tally(&v);
  json_t *o = json_pack(
      "{s:{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:b,s:b},s:{s:s,s:i,s:i,s:I,s:I,s:i,s:i,s:i,s:I,s:i,s:I,s:I,s:b,s:"
      "I}}",
      "gossip_status", "current_node", r->srv->node_id, "cluster_size",
      (json_int_t)(t.alive + t.suspected + t.dead), "alive_nodes", (json_int_t)t.alive, "suspected_nodes",
      (json_int_t)t.suspected, "dead_nodes", (json_int_t)t.dead, "left_nodes", (json_int_t)t.left,
      "active_rumors", (json_int_t)v.n_rumors, "health_score", v.health, "joined", v.joined, "left", v.left,
      "config", "advertise", c->advertise, "port", (int)c->port, "peer_port", (int)c->peer_port,
      "probe_interval_ms", (json_int_t)c->probe_interval_ms, "probe_timeout_ms",
      (json_int_t)c->probe_timeout_ms, "suspicion_mult", c->suspicion_mult, "indirect_checks",
      c->indirect_checks, "retransmit_mult", c->retransmit_mult, "gossip_interval_ms",
      (json_int_t)c->gossip_interval_ms, "gossip_nodes", c->gossip_nodes, "push_pull_interval_ms",
      (json_int_t)c->push_pull_interval_ms, "reap_after_ms", (json_int_t)c->reap_after_ms, "encrypted",
      r->srv->coord ? coord_keys_sealed(r->srv->coord) : c->cluster_key[0] != '\0', "seeds", (json_int_t)c->n_seeds);
  gossip_view_free(&v);
  return api_send_json(r, 200, o);
}

/* ?format=list: {"members": [{"id", "status", "incarnation", "address"}]}, the
 * shape generic membership tools read. */
static enum MHD_Result gossip_members_list(api_req_t *r, gossip_view_t *v) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < v->n; i++) {
    const swim_member_t *m = &v->members[i];
    json_array_append_new(arr,
                          json_pack("{s:s,s:s,s:I,s:s}", "id", m->id, "status", swim_status_name(m->status),
                                    "incarnation", (json_int_t)m->incarnation, "host", m->addr.host));
  }
  gossip_view_free(v);
  return api_send_json(r, 200, json_pack("{s:o*}", "members", arr));
}

json_t *api_members_json(api_server_t *s, int *status) {
  *status = 200;
  if (!s->gossip) {
    *status = 503;
    return api_error_json("gossip_disabled", "this node runs with --gossip=false");
  }
  gossip_view_t v;
  if (gossip_view(s->gossip, &v) != 0) return NULL;
  json_t *members = json_object();
  for (size_t i = 0; members && i < v.n; i++) {
    const swim_member_t *m = &v.members[i];
    char seen[32], addr[SWIM_HOST_MAX + 16];
    last_seen(s, m->last_seen_ms, seen);
    snprintf(addr, sizeof addr, strchr(m->addr.host, ':') ? "[%s]:%u" : "%s:%u", m->addr.host, m->addr.port);
    json_object_set_new(members, m->id,
                        json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:I}", "node_id", m->id, "address", addr,
                                  "peer_port", (int)m->addr.peer_port, "status", swim_status_name(m->status),
                                  "phase", swim_phase_name(m->phase), "last_seen", seen, "incarnation",
                                  (json_int_t)m->incarnation));
  }
  tally_t t = tally(&v);
  gossip_view_free(&v);
  return json_pack("{s:o*,s:I,s:I}", "cluster_members", members, "total_members",
                   (json_int_t)(t.alive + t.suspected + t.dead + t.left), "alive_members",
                   (json_int_t)t.alive);
}

static enum MHD_Result gossip_members(api_req_t *r) {
  const char *format = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "format");
  if (format && strcmp(format, "list") == 0) {
    gossip_view_t v;
    if (!get_view(r, &v)) return MHD_YES;
    return gossip_members_list(r, &v);
  }
  int status;
  json_t *o = api_members_json(r->srv, &status);
  return o ? api_send_json(r, status, o) : api_send_error3(r, 500, "internal", "out of memory");
}

static enum MHD_Result gossip_rumors(api_req_t *r) {
  gossip_view_t v;
  if (!get_view(r, &v)) return MHD_YES;
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < v.n_rumors; i++) {
    const swim_rumor_t *ru = &v.rumors[i];
    json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I}", "type", rumor_type(&ru->update), "subject",
                                         ru->update.id, "incarnation", (json_int_t)ru->update.incarnation,
                                         "transmits_left", (json_int_t)ru->transmits_left));
  }
  gossip_view_free(&v);
  return api_send_json(r, 200,
                       json_pack("{s:o*,s:I}", "rumors", arr, "total", (json_int_t)json_array_size(arr)));
}

/* The string member name of a small JSON body, or NULL (400 answered). */
const char *api_body_string(api_req_t *r, json_t **root, const char *name) {
  json_error_t jerr;
  *root = json_loadb((const char *)r->body.data, r->body.len, 0, &jerr);
  json_t *v = *root ? json_object_get(*root, name) : NULL;
  if (!json_is_string(v)) {
    char msg[96];
    snprintf(msg, sizeof msg, "the body must be a JSON object with a \"%s\" string", name);
    api_send_error3(r, 400, *root ? "missing_field" : "malformed_json", msg);
    return NULL;
  }
  return json_string_value(v);
}

static enum MHD_Result gossip_join(api_req_t *r) {
  json_t *root = NULL;
  const char *addr = api_body_string(r, &root, "address");
  enum MHD_Result ret = MHD_YES;
  if (addr) {
    int rc = gossip_request_join(r->srv->gossip, addr);
    ret = rc == CHORUS_EINVAL ? api_send_error3(r, 400, "bad_address", "address must be host:port")
          : rc                ? api_send_error3(r, 500, "internal", "out of memory")
               : api_send_json(r, 202, json_pack("{s:s,s:s}", "status", "joining", "address", addr));
  }
  json_decref(root);
  return ret;
}

static enum MHD_Result leave_answer(api_req_t *r) {
  int err = r->creq->result.err;
  if (err == CHORUS_ETOOFEW)
    return api_send_error3(r, 409, "too_few_members",
                           "leaving would leave fewer members than --replicas; POST /gossip/leave?force=true "
                           "to leave anyway");
  if (err == CHORUS_EBUSY)
    return api_send_error3(r, 409, "still_joining", "this node is still joining: it can leave once it has joined");
  if (err) return api_send_error3(r, 503, "unavailable", chorus_strerror(err));
  return api_send_json(r, 202, json_pack("{s:s,s:s,s:s}", "status", "leaving", "node_id", r->srv->node_id,
                                         "message", "handing every record off to its next owners; the node "
                                                    "stops once it has left (GET /api/v1/transfers)"));
}

/* Leaving for good: the records go to their next owners first (coord_xfer.c). */
static enum MHD_Result gossip_leave(api_req_t *r) {
  if (!r->srv->coord) return api_send_error3(r, 503, "unavailable", "the replication service is not running");
  const char *force = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "force");
  coord_req_t *q = api_coord_new(r);
  if (!q) return api_send_error3(r, 500, "internal", "out of memory");
  q->kind = COORD_LEAVE;
  q->force = force && (strcmp(force, "true") == 0 || strcmp(force, "1") == 0);
  return api_coord_run(r, leave_answer);
}

static enum MHD_Result gossip_remove(api_req_t *r) {
  json_t *root = NULL;
  const char *id = api_body_string(r, &root, "node_id");
  enum MHD_Result ret = MHD_YES;
  gossip_view_t v;
  if (id && get_view(r, &v)) {
    const swim_member_t *m = NULL;
    for (size_t i = 0; i < v.n && !m; i++)
      if (strcmp(v.members[i].id, id) == 0) m = &v.members[i];
    if (!m)
      ret = api_send_error3(r, 404, "not_found", "no such member");
    else if (m->status == SWIM_ALIVE || m->status == SWIM_SUSPECT || strcmp(id, r->srv->node_id) == 0)
      ret = api_send_error3(r, 409, "member_not_dead", "only a dead or left member can be removed");
    else if (gossip_request_remove(r->srv->gossip, id) != 0)
      ret = api_send_error3(r, 500, "internal", "out of memory");
    else
      ret = api_send_json(r, 202, json_pack("{s:s,s:s}", "status", "removing", "node_id", id));
    gossip_view_free(&v);
  }
  json_decref(root);
  return ret;
}

enum MHD_Result api_gossip(api_req_t *r, const char *url) {
  const char *what = url + strlen("/gossip/");
  bool get = r->method == METHOD_GET || r->method == METHOD_HEAD;
  bool post = r->method == METHOD_POST;
  bool is_get_route = !strcmp(what, "status") || !strcmp(what, "members") || !strcmp(what, "rumors");
  bool is_post_route = !strcmp(what, "join") || !strcmp(what, "leave") || !strcmp(what, "remove");
  if (!is_get_route && !is_post_route) return api_send_error3(r, 404, "not_found", "no such route");
  if ((is_get_route && !get) || (is_post_route && !post)) {
    r->allow = is_get_route ? "GET" : "POST";
    return api_send_error3(r, 405, "method_not_allowed", "this route does not accept that method");
  }
  if (is_post_route && !r->srv->gossip)
    return api_send_error3(r, 503, "gossip_disabled", "this node runs with --gossip=false");
  if (!strcmp(what, "status")) return gossip_status(r);
  if (!strcmp(what, "members")) return gossip_members(r);
  if (!strcmp(what, "rumors")) return gossip_rumors(r);
  if (!strcmp(what, "join")) return gossip_join(r);
  if (!strcmp(what, "leave")) return gossip_leave(r);
  return gossip_remove(r);
}
