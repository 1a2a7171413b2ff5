/*
 * gossip.c - libuv shell around the SWIM core (see gossip.h).
 *
 * Every input to the core (a packet, a push-pull table, a timer, an operator
 * command) is followed by flush(), which acts on the core's outputs: it
 * encodes and seals messages and sends them with uv_udp_try_send (a packet
 * the kernel cannot take right now is dropped, which SWIM tolerates), starts
 * push-pull exchanges, reacts to events, and re-arms the one timer at the
 * core's next deadline. Readers on other threads get a snapshot rebuilt at
 * most every SNAPSHOT_MS after a change.
 *
 * Push-pull rides on the peer transport (gossip_transport_t: the node's
 * persistent, sealed TCP connections on --peer-port): the initiator sends
 * its table, the responder (gossip_on_push_pull) hands it to its core and
 * answers with its own, which the initiator hands to its core. The
 * transport bounds sizes and times every exchange out.
 *
 * Joining: the core announces this node to the seeds (a GOSSIP with ALIVE
 * about itself, sent to the seed's HTTP port number, which is its gossip
 * port) and a seed answers with a push-pull (see swim_join); the shell
 * repeats swim_join with backoff until a push-pull completes.
 */
#include "gossip.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/keyring.h"
#include "../common/seal.h"
#include "../common/tqueue.h"
#include "swim_codec.h"

#define SNAPSHOT_MS 100
#define PUSH_PULL_TIMEOUT_MS 5000
#define JOIN_BACKOFF_MIN_MS 1000
#define JOIN_BACKOFF_MAX_MS 30000
#define RESOLVE_SLOTS 64
#define RECV_BUF 65536

typedef enum { CMD_JOIN, CMD_LEAVE, CMD_REMOVE, CMD_PHASE } cmd_type_t;

typedef struct cmd {
  cmd_type_t type;
  char arg[CONFIG_HOSTPORT_MAX];
  int phase; /* CMD_PHASE */
  struct cmd *next;
} cmd_t;

typedef struct {
  char host[SWIM_HOST_MAX + 1];
  struct sockaddr_storage sa; /* port 0: filled per use */
  bool ok, pending;
} resolved_t;

struct gossip {
  uv_loop_t *loop;
  const config_t *cfg;
  swim_t *swim;
  swim_out_t out;
  const keyring_t *keys; /* seals what is sent, opens what arrives (the node's, changed on this loop) */
  uv_udp_t udp;
  uv_timer_t timer, snap_timer, join_timer;
  uv_async_t cmd_async;
  int handles; /* open handles, connections and lookups; g is freed when the last one is done */
  bool closing;
  bool joined;
  /* joined, once the member table that came with the join has been handed
   * to on_members (the data path's view): what gossip_joined reads, from
   * any thread */
  atomic_bool joined_view;
  uint64_t join_backoff_ms;
  int family; /* of the bound sockets: names resolve to this family only */
  char self_id[NODE_ID_MAX + 1];
  swim_addr_t seeds[CONFIG_MAX_SEEDS];
  size_t n_seeds;
  gossip_incarnation_fn on_incarnation;
  gossip_members_fn on_members;
  bool members_changed; /* since on_members was last called */
  void *state;
  buf_t scratch, sealed;
  resolved_t cache[RESOLVE_SLOTS];
  gossip_transport_t transport;
  size_t cache_next;
  uint8_t rbuf[RECV_BUF];

  tqueue_t cmds; /* operator commands from HTTP threads (cmd_t) */

  pthread_mutex_t snap_mu; /* guards snap */
  gossip_view_t snap;
  bool dirty;

  gossip_counters_t counters;
};

static void flush(gossip_t *g);
static void release(gossip_t *g);
static void start_push_pull(gossip_t *g, const swim_push_pull_t *req);

static uint64_t now_ms(gossip_t *g) {
  uv_update_time(g->loop);
  return uv_now(g->loop);
}

static void count(atomic_uint_fast64_t *c, uint64_t n) {
  atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- addresses ---- */

/* "host:port" or "[v6]:port" into an address whose peer port is the default
 * offset (a seed is named by its HTTP address only). */
static int parse_host_port(const char *s, swim_addr_t *a) {
  const char *colon = strrchr(s, ':');
  if (!colon) return CHORUS_EINVAL;
  const char *host = s;
  size_t len = (size_t)(colon - s);
  if (s[0] == '[') {
    if (len < 2 || colon[-1] != ']') return CHORUS_EINVAL;
    host++;
    len -= 2;
  }
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  if (len == 0 || len > SWIM_HOST_MAX || *end || port < 1 || port > 65535) return CHORUS_EINVAL;
  memset(a, 0, sizeof *a);
  memcpy(a->host, host, len);
  a->port = (uint16_t)port;
  a->peer_port = port <= 64535 ? (uint16_t)(port + 1000) : (uint16_t)(port - 1000);
  return 0;
}

static void set_port(struct sockaddr_storage *sa, uint16_t port) {
  if (sa->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
  else
    ((struct sockaddr_in *)sa)->sin_port = htons(port);
}

static resolved_t *cache_find(gossip_t *g, const char *host) {
  for (size_t i = 0; i < RESOLVE_SLOTS; i++)
    if (g->cache[i].host[0] && strcmp(g->cache[i].host, host) == 0) return &g->cache[i];
  return NULL;
}

typedef struct {
  uv_getaddrinfo_t req;
  gossip_t *g;
  resolved_t *slot;
} resolve_req_t;

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  resolve_req_t *r = (resolve_req_t *)req;
  gossip_t *g = r->g;
  r->slot->pending = false;
  if (status == 0 && res) {
    memcpy(&r->slot->sa, res->ai_addr, res->ai_addrlen);
    r->slot->ok = true;
    /* A join attempt waiting for this name need not wait for its retry. */
    if (!g->joined && !g->closing && swim_join(g->swim, g->seeds, g->n_seeds, now_ms(g), &g->out) == 0)
      flush(g);
  } else {
    log_warn("gossip: cannot resolve %s: %s", r->slot->host, uv_strerror(status));
    r->slot->host[0] = '\0'; /* try again next time */
  }
  if (res) uv_freeaddrinfo(res);
  free(r);
  release(g);
}

/* The socket address of host:port: at once for IP literals and hosts already
 * resolved, else CHORUS_EBUSY while an asynchronous lookup runs. */
static int resolve(gossip_t *g, const char *host, uint16_t port, struct sockaddr_storage *sa) {
  memset(sa, 0, sizeof *sa);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0) return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) == 0) return 0;
  resolved_t *slot = cache_find(g, host);
  if (slot && slot->ok) {
    *sa = slot->sa;
    set_port(sa, port);
    return 0;
  }
  if (slot || g->closing) return CHORUS_EBUSY;
  slot = &g->cache[g->cache_next++ % RESOLVE_SLOTS]; /* the oldest entry makes room */
  memset(slot, 0, sizeof *slot);
  snprintf(slot->host, sizeof slot->host, "%s", host);
  resolve_req_t *r = calloc(1, sizeof *r);
  if (!r) return CHORUS_ENOMEM;
  r->g = g;
  r->slot = slot;
  slot->pending = true;
  /* An IPv4 socket cannot send to ::1, the first answer for "localhost". */
  struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_family = g->family};
  if (uv_getaddrinfo(g->loop, &r->req, on_resolved, host, NULL, &hints) != 0) {
    free(r);
    slot->host[0] = '\0';
    return CHORUS_EIO;
  }
  g->handles++; /* g must outlive the lookup */
  return CHORUS_EBUSY;
}

/* ---- UDP ---- */

/* Encodes (and seals) into g->sealed / g->scratch; returns the bytes to send. */
static const buf_t *wire_bytes(gossip_t *g, const buf_t *plain) {
  if (!keyring_sealed(g->keys)) return plain;
  buf_reset(&g->sealed);
  return keyring_seal(g->keys, plain->data, plain->len, &g->sealed) == 0 ? &g->sealed : NULL;
}

static void send_msg(gossip_t *g, const swim_send_t *s) {
  buf_reset(&g->scratch);
  if (swim_msg_encode(&s->msg, &g->scratch) != 0 || g->scratch.err) {
    count(&g->counters.send_errors, 1);
    return;
  }
  const buf_t *bytes = wire_bytes(g, &g->scratch);
  struct sockaddr_storage sa;
  if (!bytes || resolve(g, s->to.host, s->to.port, &sa) != 0) {
    count(&g->counters.send_errors, 1);
    return;
  }
  uv_buf_t b = uv_buf_init((char *)bytes->data, (unsigned)bytes->len);
  if (uv_udp_try_send(&g->udp, &b, 1, (const struct sockaddr *)&sa) < 0) {
    count(&g->counters.send_errors, 1);
    return;
  }
  count(&g->counters.packets_out, 1);
  count(&g->counters.bytes_out, bytes->len);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  gossip_t *g = h->data;
  *buf = uv_buf_init((char *)g->rbuf, sizeof g->rbuf);
}

static void on_udp(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                   unsigned flags) {
  gossip_t *g = u->data;
  if (nread < 0 || !from || g->closing) return; /* nread 0 without a sender: nothing was read */
  count(&g->counters.packets_in, 1);
  count(&g->counters.bytes_in, (uint64_t)nread);
  if ((flags & UV_UDP_PARTIAL) || nread > SWIM_PACKET_MAX) {
    count(&g->counters.dropped_oversize, 1);
    return;
  }
  const uint8_t *p = (const uint8_t *)buf->base;
  size_t len = (size_t)nread;
  if (keyring_open(g->keys, p, len, &g->sealed, &p, &len) != 0) {
    count(&g->counters.dropped_auth, 1);
    return;
  }
  swim_msg_t m;
  if (swim_msg_decode(p, len, &m) != 0) {
    count(&g->counters.dropped_malformed, 1);
    return;
  }
  if (swim_on_message(g->swim, &m, now_ms(g), &g->out) != 0) return;
  flush(g);
}

/* ---- push-pull over the peer transport ---- */

typedef struct {
  gossip_t *g;
  swim_addr_t peer;
} pp_t;

static void pp_result(gossip_t *g, bool ok, const swim_addr_t *peer) {
  if (!ok) {
    count(&g->counters.push_pulls_failed, 1);
    if (peer) log_debug("gossip: push-pull with %s:%u failed", peer->host, peer->peer_port);
    return;
  }
  count(&g->counters.push_pulls_ok, 1);
  if (!g->joined) {
    g->joined = true;
    g->dirty = true;
    uv_timer_stop(&g->join_timer);
    log_info("gossip: joined the cluster (member table from %s)", peer ? peer->host : "a peer");
  }
}

/* Hands a table received from a peer to the core. */
static int take_state(gossip_t *g, const uint8_t *p, size_t len) {
  swim_state_t st;
  if (swim_state_decode(p, len, &st) != 0) {
    count(&g->counters.dropped_malformed, 1);
    return CHORUS_ECORRUPT;
  }
  int rc = swim_on_state(g->swim, &st, now_ms(g), &g->out);
  free(st.members);
  if (rc == 0) flush(g);
  return rc;
}

/* Appends this node's table to out. */
static int put_state(gossip_t *g, bool join, buf_t *out) {
  swim_state_t st;
  int rc = swim_local_state(g->swim, join, &st);
  if (rc) return rc;
  rc = swim_state_encode(&st, out);
  free(st.members);
  return rc ? rc : out->err;
}

static void pp_done(int status, const uint8_t *state, size_t len, void *arg) {
  pp_t *pp = arg;
  gossip_t *g = pp->g;
  if (!g->closing) pp_result(g, status == 0 && take_state(g, state, len) == 0, &pp->peer);
  free(pp);
  release(g);
}

int gossip_on_push_pull(gossip_t *g, const uint8_t *state, size_t len, buf_t *reply) {
  if (g->closing) return CHORUS_ESHUTDOWN;
  int rc = take_state(g, state, len);
  if (!rc) rc = put_state(g, false, reply);
  pp_result(g, rc == 0, NULL);
  return rc;
}

static void start_push_pull(gossip_t *g, const swim_push_pull_t *req) {
  buf_reset(&g->scratch);
  pp_t *pp = calloc(1, sizeof *pp);
  if (!pp || !g->transport.send || put_state(g, false, &g->scratch) != 0) {
    free(pp);
    count(&g->counters.push_pulls_failed, 1); /* retried on the next round or join attempt */
    return;
  }
  pp->g = g;
  pp->peer = req->to;
  g->handles++; /* the transport calls pp_done exactly once, maybe after gossip_close */
  if (g->transport.send(g->transport.ctx, &req->to, g->scratch.data, g->scratch.len, PUSH_PULL_TIMEOUT_MS,
                        pp_done, pp) != 0) {
    free(pp);
    release(g);
    count(&g->counters.push_pulls_failed, 1);
  }
}

/* ---- core outputs ---- */

static void on_event(gossip_t *g, const swim_event_t *ev) {
  const swim_member_t *m = &ev->member;
  g->dirty = true;
  g->members_changed |= ev->type != SWIM_EV_INCARNATION;
  if (ev->type == SWIM_EV_INCARNATION) {
    log_info(
        "gossip: this node announced itself again (a refutation or a new phase); incarnation is now %llu",
        (unsigned long long)m->incarnation);
    if (g->on_incarnation) g->on_incarnation(m->incarnation, g->state);
  } else if (ev->type == SWIM_EV_REMOVED) {
    log_info("gossip: member %s removed", m->id);
  } else if ((m->status == SWIM_DEAD || m->status == SWIM_LEFT) && strcmp(m->id, g->self_id) == 0) {
    /* This node's own DEAD (shutdown) or LEFT (leave) as it goes out. */
    log_info("gossip: announcing to the cluster that this node is %s",
             m->status == SWIM_LEFT ? "leaving for good" : "shutting down");
  } else if (ev->old_status != m->status) {
    log_info("gossip: member %s (%s:%u) is %s (incarnation %llu)", m->id, m->addr.host, m->addr.port,
             swim_status_name(m->status), (unsigned long long)m->incarnation);
  }
}

static void on_timer(uv_timer_t *t);

static void flush(gossip_t *g) {
  swim_out_t *o = &g->out;
  for (size_t i = 0; i < o->n_sends; i++)
    send_msg(g, &o->sends[i]);
  for (size_t i = 0; i < o->n_push_pulls; i++)
    start_push_pull(g, &o->push_pulls[i]);
  for (size_t i = 0; i < o->n_events; i++)
    on_event(g, &o->events[i]);
  swim_out_clear(o);
  if (g->closing) return;
  uint64_t now = now_ms(g), next = swim_next_deadline(g->swim);
  uv_timer_start(&g->timer, on_timer, next > now ? next - now : 0, 0);
}

static void on_timer(uv_timer_t *t) {
  gossip_t *g = t->data;
  if (swim_tick(g->swim, now_ms(g), &g->out) == 0) flush(g);
  g->dirty = true; /* last_seen and the rumor queue move with time */
}

/* ---- joining ---- */

static void on_join_timer(uv_timer_t *t) {
  gossip_t *g = t->data;
  if (g->joined || g->closing) return;
  log_info("gossip: no seed answered yet; trying again (%zu seeds)", g->n_seeds);
  if (swim_join(g->swim, g->seeds, g->n_seeds, now_ms(g), &g->out) == 0) flush(g);
  g->join_backoff_ms =
      g->join_backoff_ms * 2 > JOIN_BACKOFF_MAX_MS ? JOIN_BACKOFF_MAX_MS : g->join_backoff_ms * 2;
  uv_timer_start(&g->join_timer, on_join_timer, g->join_backoff_ms, 0);
}

bool gossip_joined(const gossip_t *g) {
  return atomic_load(&((gossip_t *)g)->joined_view);
}

static void join_seeds(gossip_t *g) {
  g->joined = g->n_seeds == 0;
  atomic_store(&g->joined_view, g->joined);
  if (g->joined) return;
  if (swim_join(g->swim, g->seeds, g->n_seeds, now_ms(g), &g->out) == 0) flush(g);
  g->join_backoff_ms = JOIN_BACKOFF_MIN_MS;
  uv_timer_start(&g->join_timer, on_join_timer, g->join_backoff_ms, 0);
}

/* ---- operator commands ---- */

/* Under the command queue's lock, which release() closes before freeing. */
static void wake_loop(void *async) {
  uv_async_send(async);
}

static int queue_cmd(gossip_t *g, cmd_type_t type, const char *arg) {
  cmd_t *c = calloc(1, sizeof *c);
  if (!c) return CHORUS_ENOMEM;
  c->type = type;
  snprintf(c->arg, sizeof c->arg, "%s", arg ? arg : "");
  int rc = tqueue_push_wake(&g->cmds, c, wake_loop, &g->cmd_async);
  if (rc) free(c);
  return rc;
}

static void run_cmd(gossip_t *g, const cmd_t *c) {
  uint64_t now = now_ms(g);
  int rc = 0;
  if (c->type == CMD_JOIN) {
    swim_addr_t a;
    rc = parse_host_port(c->arg, &a);
    if (!rc) rc = swim_join(g->swim, &a, 1, now, &g->out);
  } else if (c->type == CMD_LEAVE) {
    log_info("gossip: leaving the cluster for good");
    rc = swim_leave(g->swim, now, &g->out);
    g->dirty = true;
  } else if (c->type == CMD_PHASE) {
    rc = swim_set_phase(g->swim, (swim_phase_t)c->phase, now, &g->out);
    if (!rc) log_info("gossip: this node's phase is now %s", swim_phase_name((swim_phase_t)c->phase));
    g->dirty = true;
  } else {
    rc = swim_remove(g->swim, c->arg, now, &g->out);
    if (!rc) log_info("gossip: member %s removed by the operator", c->arg);
  }
  if (rc) log_warn("gossip: command failed: %s", chorus_strerror(rc));
  flush(g);
}

static void on_cmd(uv_async_t *a) {
  gossip_t *g = a->data;
  cmd_t *c = tqueue_take_all(&g->cmds);
  while (c) {
    cmd_t *next = c->next;
    if (!g->closing) run_cmd(g, c);
    free(c);
    c = next;
  }
}

/* ---- snapshot for other threads ---- */

static void view_clear(gossip_view_t *v) {
  free(v->members);
  free(v->rumors);
  memset(v, 0, sizeof *v);
}

static int build_view(gossip_t *g, gossip_view_t *v) {
  memset(v, 0, sizeof *v);
  size_t n = swim_member_count(g->swim);
  v->members = calloc(n ? n : 1, sizeof *v->members);
  v->rumors = calloc(256, sizeof *v->rumors);
  if (!v->members || !v->rumors) {
    view_clear(v);
    return CHORUS_ENOMEM;
  }
  swim_self(g->swim, &v->members[v->n++]);
  for (size_t i = 0; i < n && v->n < n; i++) {
    swim_member_at(g->swim, i, &v->members[v->n]);
    if (strcmp(v->members[v->n].id, v->members[0].id) != 0) v->n++;
  }
  v->n_rumors = swim_rumors(g->swim, v->rumors, 256);
  v->stats = *swim_stats(g->swim);
  v->health = swim_health(g->swim);
  v->joined = g->joined;
  v->left = v->members[0].status == SWIM_LEFT;
  return 0;
}

static void on_snap_timer(uv_timer_t *t) {
  gossip_t *g = t->data;
  if (!g->dirty) return;
  gossip_view_t v;
  if (build_view(g, &v) != 0) return;
  g->dirty = false;
  if (g->members_changed && g->on_members) g->on_members(v.members, v.n, g->state);
  g->members_changed = false;
  atomic_store(&g->joined_view, g->joined);
  pthread_mutex_lock(&g->snap_mu);
  gossip_view_t old = g->snap;
  g->snap = v;
  pthread_mutex_unlock(&g->snap_mu);
  view_clear(&old);
}

int gossip_view(gossip_t *g, gossip_view_t *out) {
  pthread_mutex_lock(&g->snap_mu);
  gossip_view_t *s = &g->snap;
  *out = *s;
  out->members = malloc((s->n ? s->n : 1) * sizeof *out->members);
  out->rumors = malloc((s->n_rumors ? s->n_rumors : 1) * sizeof *out->rumors);
  if (out->members) memcpy(out->members, s->members, s->n * sizeof *out->members);
  if (out->rumors) memcpy(out->rumors, s->rumors, s->n_rumors * sizeof *out->rumors);
  pthread_mutex_unlock(&g->snap_mu);
  if (!out->members || !out->rumors) {
    view_clear(out);
    return CHORUS_ENOMEM;
  }
  return 0;
}

void gossip_view_free(gossip_view_t *v) {
  view_clear(v);
}

const gossip_counters_t *gossip_counters(const gossip_t *g) {
  return &g->counters;
}

int gossip_request_join(gossip_t *g, const char *host_port) {
  swim_addr_t a;
  if (parse_host_port(host_port, &a) != 0) return CHORUS_EINVAL;
  return queue_cmd(g, CMD_JOIN, host_port);
}

int gossip_request_leave(gossip_t *g) {
  return queue_cmd(g, CMD_LEAVE, NULL);
}

int gossip_request_remove(gossip_t *g, const char *node_id) {
  return queue_cmd(g, CMD_REMOVE, node_id);
}

int gossip_set_phase(gossip_t *g, swim_phase_t phase) {
  if (g->closing) return CHORUS_ESHUTDOWN;
  cmd_t c = {.type = CMD_PHASE, .phase = (int)phase};
  run_cmd(g, &c);
  return 0;
}

int gossip_leave_now(gossip_t *g) {
  if (g->closing) return CHORUS_ESHUTDOWN;
  cmd_t c = {.type = CMD_LEAVE};
  run_cmd(g, &c);
  return 0;
}

/* ---- lifecycle ---- */

/* Packets leave room for a seal whether or not the keyring seals now: a key
 * can be put to use while the node runs. */
static void swim_config_from(const config_t *c, swim_config_t *s) {
  swim_config_default(s);
  s->probe_interval_ms = (uint32_t)c->probe_interval_ms;
  s->probe_timeout_ms = (uint32_t)c->probe_timeout_ms;
  s->suspicion_mult = (uint32_t)c->suspicion_mult;
  s->indirect_checks = (uint32_t)c->indirect_checks;
  s->retransmit_mult = (uint32_t)c->retransmit_mult;
  s->gossip_interval_ms = (uint32_t)c->gossip_interval_ms;
  s->gossip_nodes = (uint32_t)c->gossip_nodes;
  s->push_pull_interval_ms = (uint32_t)c->push_pull_interval_ms;
  s->reap_after_ms = c->reap_after_ms;
  s->packet_overhead = SEAL_OVERHEAD;
}

static int bind_sockets(gossip_t *g) {
  const config_t *c = g->cfg;
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof sa);
  if (uv_ip4_addr(c->bind, c->port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(c->bind, c->port, (struct sockaddr_in6 *)&sa) != 0)
    return CHORUS_EINVAL;
  g->family = sa.ss_family;
  int rc = uv_udp_bind(&g->udp, (const struct sockaddr *)&sa, UV_UDP_REUSEADDR);
  if (rc == 0) rc = uv_udp_recv_start(&g->udp, on_alloc, on_udp);
  if (rc) {
    log_error("gossip: cannot listen on UDP %s:%u: %s", c->bind, c->port, uv_strerror(rc));
    return CHORUS_EIO;
  }
  return 0;
}

static void release(gossip_t *g) {
  if (--g->handles > 0) return;
  swim_out_free(&g->out);
  swim_destroy(g->swim);
  buf_free(&g->scratch);
  buf_free(&g->sealed);
  view_clear(&g->snap);
  for (cmd_t *c = tqueue_close(&g->cmds, true), *next; c; c = next) {
    next = c->next;
    free(c);
  }
  tqueue_destroy(&g->cmds);
  pthread_mutex_destroy(&g->snap_mu);
  free(g);
}

static void on_handle_closed(uv_handle_t *h) {
  release(h->data);
}

static void init_handle(gossip_t *g, uv_handle_t *h) {
  h->data = g;
  g->handles++;
}

int gossip_start(uv_loop_t *loop, const gossip_opts_t *o, gossip_t **out) {
  gossip_t *g = calloc(1, sizeof *g);
  if (!g) return CHORUS_ENOMEM;
  g->loop = loop;
  g->cfg = o->cfg;
  g->on_incarnation = o->on_incarnation;
  g->on_members = o->on_members;
  g->transport = o->transport;
  snprintf(g->self_id, sizeof g->self_id, "%s", o->node_id);
  g->state = o->state;
  if (tqueue_init(&g->cmds, offsetof(cmd_t, next)) != 0) {
    free(g);
    return CHORUS_ENOMEM;
  }
  pthread_mutex_init(&g->snap_mu, NULL);
  buf_init(&g->scratch);
  buf_init(&g->sealed);
  swim_out_init(&g->out);
  int rc = 0;
  g->keys = o->keyring ? o->keyring : &keyring_plaintext;
  /* A seed list shared by the whole cluster may name this node: a node
   * whose seeds are only itself founds the cluster (joined at once). */
  for (size_t i = 0; !rc && i < o->cfg->n_seeds; i++) {
    swim_addr_t *a = &g->seeds[g->n_seeds];
    rc = parse_host_port(o->cfg->seeds[i], a);
    if (!rc && !(a->port == o->cfg->port && strcmp(a->host, o->cfg->advertise) == 0)) g->n_seeds++;
  }
  swim_config_t sc;
  swim_config_from(o->cfg, &sc);
  swim_addr_t self = {.port = o->cfg->port, .peer_port = o->cfg->peer_port};
  snprintf(self.host, sizeof self.host, "%s", o->cfg->advertise);
  uint64_t seed = uv_hrtime() ^ (uint64_t)(uintptr_t)g;
  if (!rc) rc = swim_create(&sc, o->node_id, &self, o->incarnation, o->phase, seed, uv_now(loop), &g->swim);
  if (rc) {
    swim_out_free(&g->out);
    buf_free(&g->scratch);
    buf_free(&g->sealed);
    tqueue_destroy(&g->cmds);
    pthread_mutex_destroy(&g->snap_mu);
    free(g);
    return rc;
  }
  uv_udp_init(loop, &g->udp);
  uv_timer_init(loop, &g->timer);
  uv_timer_init(loop, &g->snap_timer);
  uv_timer_init(loop, &g->join_timer);
  uv_async_init(loop, &g->cmd_async, on_cmd);
  init_handle(g, (uv_handle_t *)&g->udp);
  init_handle(g, (uv_handle_t *)&g->timer);
  init_handle(g, (uv_handle_t *)&g->snap_timer);
  init_handle(g, (uv_handle_t *)&g->join_timer);
  init_handle(g, (uv_handle_t *)&g->cmd_async);
  g->dirty = true;
  rc = bind_sockets(g);
  if (rc) {
    gossip_close(g);
    return rc;
  }
  on_snap_timer(&g->snap_timer);
  uv_timer_start(&g->snap_timer, on_snap_timer, SNAPSHOT_MS, SNAPSHOT_MS);
  log_info("gossip: listening on UDP %s:%u, advertising %s%s", o->cfg->bind, o->cfg->port, o->cfg->advertise,
           keyring_sealed(g->keys) ? ", encrypted" : "");
  join_seeds(g);
  flush(g);
  *out = g;
  return 0;
}

void gossip_announce_shutdown(gossip_t *g) {
  if (!g || g->closing) return;
  if (swim_shutdown(g->swim, now_ms(g), &g->out) == 0) flush(g);
}

void gossip_close(gossip_t *g) {
  if (!g || g->closing) return;
  g->closing = true;
  uv_close((uv_handle_t *)&g->udp, on_handle_closed);
  uv_close((uv_handle_t *)&g->timer, on_handle_closed);
  uv_close((uv_handle_t *)&g->snap_timer, on_handle_closed);
  uv_close((uv_handle_t *)&g->join_timer, on_handle_closed);
  uv_close((uv_handle_t *)&g->cmd_async, on_handle_closed);
}
