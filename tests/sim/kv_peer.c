/*
 * kv_peer.c - the simulated peer transport (see kv_peer.h).
 *
 * A call (kv_call_t) lives in the cluster's call table from the request
 * until its callback runs; whichever of reply, refusal, timeout or the
 * requester's crash comes first takes it out of the table and runs the
 * callback, so the later ones find nothing: that is the exactly-once rule.
 * A request is delivered even when its call is already over (a replica
 * may apply a write whose coordinator gave up), but only to the life of
 * the target it was sent to: a restarted process never sees a request
 * of the connection its predecessor held.
 *
 * Connections: the receiver's handle counts holders; delivery holds it
 * around coord_on_request, the coordinator holds it while it works on the
 * request, and the last release frees it. A reply from a node that has
 * crashed since it got the request is not sent.
 */
#include "kv_peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "replication/peer_codec.h"
#include "sim_addr.h"

typedef struct {
  uint32_t from, to;
  peer_reply_fn cb;
  void *arg;
} kv_call_t;

typedef struct {
  int refs;
  uint64_t call;
  uint32_t client, server;
  uint32_t server_epoch;
} kv_conn_t;

/* The byte field of an anti-entropy message a garbling node may change. */
static peer_bytes_t *garble_field(peer_msg_t *msg) {
  switch (msg->type) {
  case PEER_TREE: return &msg->tree.nodes;
  case PEER_TREE_REPLY: return &msg->tree_reply.hashes;
  case PEER_TREE_KEYS: return &msg->tree_keys.segments;
  case PEER_TREE_KEYS_REPLY: return &msg->tree_keys_reply.keys;
  default: return NULL;
  }
}

/* A copy of f's bytes changed one way or another (a flipped bit, a cut,
 * random bytes over a run, bytes added), or NULL (f unchanged). */
static uint8_t *garble_bytes(rng_t *rng, const peer_bytes_t *f, size_t *len) {
  size_t n = f->len, extra = 1 + (size_t)rng_below(rng, 8);
  uint8_t *g = malloc(n + extra);
  if (!g) return NULL;
  if (n) memcpy(g, f->p, n);
  switch (rng_below(rng, 4)) {
  case 0:
    if (n) g[rng_below(rng, n)] ^= (uint8_t)(1u << rng_below(rng, 8));
    break;
  case 1: n -= n ? 1 + (size_t)rng_below(rng, n < 7 ? n : 7) : 0; break;
  case 2:
    for (size_t i = n ? (size_t)rng_below(rng, n) : 0, k = 0; i < n && k < 16; i++, k++)
      g[i] = (uint8_t)rng_next(rng);
    break;
  default:
    for (size_t k = 0; k < extra; k++)
      g[n++] = (uint8_t)rng_next(rng);
  }
  *len = n;
  return g;
}

/* Encodes msg and sends it toward node to as an event of type; lost per
 * sim_net. A garbling node's anti-entropy message goes out changed, one
 * time in two. Returns the codec's error (nothing sent) or a scheduling
 * error. */
static int send_bytes(kv_cluster_t *kc, kv_ev_type_t type, uint32_t from, uint32_t to, uint32_t epoch,
                      uint64_t call, peer_msg_t *msg) {
  peer_bytes_t *field = kc->garbler == (int64_t)from ? garble_field(msg) : NULL, saved = {0};
  uint8_t *garbled = NULL;
  if (field && rng_below(&kc->garble_rng, 2)) {
    size_t len = 0;
    saved = *field;
    garbled = garble_bytes(&kc->garble_rng, field, &len);
    if (!garbled) return CHORUS_ENOMEM;
    *field = (peer_bytes_t){garbled, len};
    kc->st.peer_garbled++;
  }
  buf_t b;
  buf_init(&b);
  int rc = peer_msg_encode(msg, &b);
  if (garbled) {
    *field = saved;
    free(garbled);
  }
  if (!rc) rc = b.err;
  if (rc) {
    buf_free(&b);
    return rc;
  }
  kc->st.peer_msgs++;
  if (sim_net_lose(&kc->sim->net))
    kc->st.peer_lost++;
  else
    rc = kv_schedule(kc, kv_now(kc) + sim_net_delay(&kc->sim->net), type, to, from, epoch, call, b.data,
                     b.len);
  buf_free(&b);
  return rc;
}

static int net_request(void *state, const swim_addr_t *addr, peer_msg_t *msg, uint64_t timeout_ms,
                       peer_reply_fn cb, void *arg) {
  kv_node_t *n = state;
  kv_cluster_t *kc = n->kc;
  int64_t to = sim_addr_index(addr);
  if (to < 0 || to >= KV_NODES) return CHORUS_EINVAL; /* only the simulation's nodes are members */
  kv_call_t *call = malloc(sizeof *call);
  if (!call) return CHORUS_ENOMEM;
  *call = (kv_call_t){.from = n->idx, .to = (uint32_t)to, .cb = cb, .arg = arg};
  uint64_t id;
  int rc = kv_table_add(&kc->calls, call, &id);
  if (rc) {
    free(call);
    return rc;
  }
  msg->req_id = id;
  snprintf(msg->from, sizeof msg->from, "%s", n->id);
  if (!n->up) return 0; /* going down: the teardown fails it (kv_peer_fail_calls) */
  rc = send_bytes(kc, KV_EV_PEER_REQ, n->idx, (uint32_t)to, kc->nodes[to].epoch, id, msg);
  if (!rc)
    rc = kv_schedule(kc, kv_now(kc) + timeout_ms, KV_EV_PEER_TIMEOUT, n->idx, (uint32_t)to, n->epoch, id,
                     NULL, 0);
  if (rc) {
    kv_table_take(&kc->calls, id);
    free(call);
  }
  return rc;
}

static int net_respond(void *state, peer_conn_t *conn, uint64_t req_id, peer_msg_t *msg) {
  kv_node_t *n = state;
  kv_conn_t *cn = (kv_conn_t *)conn;
  if (!n->up || n->epoch != cn->server_epoch) return CHORUS_ESHUTDOWN;
  msg->req_id = req_id;
  snprintf(msg->from, sizeof msg->from, "%s", n->id);
  return send_bytes(n->kc, KV_EV_PEER_REPLY, cn->server, cn->client, 0, cn->call, msg);
}

static void conn_hold(void *state, peer_conn_t *conn) {
  (void)state;
  ((kv_conn_t *)conn)->refs++;
}

static void conn_release(void *state, peer_conn_t *conn) {
  (void)state;
  kv_conn_t *cn = (kv_conn_t *)conn;
  if (--cn->refs == 0) free(cn);
}

void kv_peer_env(coord_env_t *env) {
  env->request = net_request;
  env->respond = net_respond;
  env->conn_hold = conn_hold;
  env->conn_release = conn_release;
}

/* Ends call id with status (and reply), if it is still open. */
static void finish(kv_cluster_t *kc, uint64_t id, int status, const peer_msg_t *reply) {
  kv_call_t *call = kv_table_take(&kc->calls, id);
  if (!call) return;
  call->cb(status, reply, call->arg);
  free(call);
}

size_t kv_peer_fail_calls(kv_cluster_t *kc, uint32_t i) {
  size_t n = 0;
  for (size_t k = 0; k < kc->calls.n; k++) {
    kv_call_t *call = kc->calls.v[k];
    if (!call || call->from != i) continue;
    finish(kc, k + 1, CHORUS_ESHUTDOWN, NULL);
    n++;
  }
  return n;
}

static int decode(kv_cluster_t *kc, const kv_ev_t *p, peer_msg_t *m) {
  peer_msg_init(m);
  int rc = peer_msg_decode(p->bytes, p->len, m);
  if (rc) kc->st.peer_codec_errors++;
  return rc;
}

static int on_request(kv_cluster_t *kc, const sim_event_t *ev, const kv_ev_t *p) {
  kv_node_t *t = &kc->nodes[ev->node];
  if (t->up && t->epoch != p->epoch) return 0; /* the connection died with the process it reached */
  if (!t->up)
    return kv_schedule(kc, kv_now(kc) + sim_net_delay(&kc->sim->net), KV_EV_PEER_REFUSED, ev->peer, ev->node,
                       0, p->id, NULL, 0);
  peer_msg_t m;
  if (decode(kc, p, &m)) return 0;
  kv_conn_t *cn = malloc(sizeof *cn);
  if (!cn) {
    peer_msg_free(&m);
    return CHORUS_ENOMEM;
  }
  *cn =
      (kv_conn_t){.refs = 1, .call = p->id, .client = ev->peer, .server = ev->node, .server_epoch = t->epoch};
  coord_on_request(t->coord, (peer_conn_t *)cn, &m);
  conn_release(NULL, (peer_conn_t *)cn);
  peer_msg_free(&m);
  return kc->fatal;
}

static void on_reply(kv_cluster_t *kc, const kv_ev_t *p) {
  peer_msg_t m;
  if (decode(kc, p, &m)) return; /* the call times out */
  if (m.req_id == p->id)
    finish(kc, p->id, 0, &m);
  else
    kc->st.peer_codec_errors++;
  peer_msg_free(&m);
}

int kv_peer_on_event(kv_cluster_t *kc, kv_ev_type_t type, const sim_event_t *ev, const kv_ev_t *p) {
  if (type != KV_EV_PEER_TIMEOUT && !sim_net_linked(&kc->sim->net, ev->node, ev->peer)) {
    kc->st.peer_cut++;
    return 0;
  }
  switch (type) {
  case KV_EV_PEER_REQ: return on_request(kc, ev, p);
  case KV_EV_PEER_REPLY: on_reply(kc, p); break;
  case KV_EV_PEER_REFUSED:
    kc->st.peer_refused++;
    finish(kc, p->id, CHORUS_EIO, NULL);
    break;
  case KV_EV_PEER_TIMEOUT:
    if (kc->calls.v && p->id <= kc->calls.n && kc->calls.v[p->id - 1]) kc->st.peer_timeouts++;
    finish(kc, p->id, CHORUS_ETIMEDOUT, NULL);
    break;
  default: return CHORUS_EINVAL;
  }
  return 0;
}
