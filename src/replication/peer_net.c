/*
 * peer_net.c - the peer transport (see peer_net.h).
 *
 * Objects: the net (listener, a 50 ms housekeeping timer, the peer table,
 * every open connection), a peer record per address this node has sent to
 * (its outbound connection and its reconnect backoff), and
 * connections. Requests awaiting replies hang off their outbound
 * connection in a list; the timer fails those past their deadline, so a
 * timeout costs O(outstanding requests) per tick. The timer runs only while
 * a request or a connection attempt is outstanding: an idle node sleeps.
 *
 * Writes: frames queue on their connection and leave in one write per
 * connection per loop iteration (a uv_check after the poll), so replies to
 * a burst of pipelined requests cost one syscall, not one each.
 *
 * Lifetimes: a connection is freed when its handle has closed and no one
 * holds it (the net's own reference ends at close; request handlers, writes
 * in flight and the list of connections with queued frames hold one each). The net is freed when its last
 * handle has closed. Invariants: a request's callback runs exactly once (reply, failure, timeout or
 * shutdown); a closing connection has no pending requests; peer->conn is NULL or an open outbound connection
 * to it.
 */
#include "peer_net.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/seal.h"

#define TICK_MS 50
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define READ_CHUNK 65536

typedef struct pending {
  uint64_t req_id, deadline;
  peer_reply_fn cb;
  void *arg;
  struct pending *next;
} pending_t;

typedef struct peer peer_t;

struct peer_conn {
  peer_net_t *net;
  uv_tcp_t tcp;
  uv_connect_t connect;
  bool outbound, connected, closing, handle_closed;
  int refs;
  char peer[NODE_ID_MAX + 1];
  peer_t *owner; /* outbound: the peer it serves; NULL once detached */
  uint64_t connect_deadline;
  buf_t in;                /* bytes received, not yet a whole frame */
  buf_t outq;              /* frames not yet handed to libuv: flushed once per loop iteration */
  size_t queued;           /* bytes handed to libuv, not yet written */
  peer_conn_t *next_dirty; /* net's list of connections with frames in outq */
  bool dirty;
  pending_t *pending;
  size_t n_pending;
};

struct peer {
  swim_addr_t addr; /* host and peer_port identify the peer */
  peer_conn_t *conn;
  uint64_t backoff_ms, retry_at;
};

struct peer_net {
  uv_loop_t *loop;
  const config_t *cfg;
  char self[NODE_ID_MAX + 1];
  const keyring_t *keys; /* seals and opens frames (the node's, changed on this loop) */
  bool closing;
  uv_tcp_t listener;
  uv_timer_t timer;
  uv_check_t flusher; /* after each poll: writes every dirty connection's frames at once */
  peer_conn_t *dirty; /* connections with frames waiting (each holds a reference) */
  int handles;
  peer_t **peers;
  size_t n_peers, cap_peers;
  peer_conn_t **conns;
  size_t n_conns, cap_conns;
  uint64_t next_req_id;
  peer_request_fn on_request;
  void *state;
  peer_net_counters_t counters;
  buf_t plain, frame;
};

typedef struct {
  uv_write_t req;
  peer_conn_t *c;
  size_t len;
  uint8_t *data; /* owned */
} wreq_t;

static void on_tick(uv_timer_t *t);

/* The housekeeping timer runs while some request or connection attempt may expire. */
static void tick_start(peer_net_t *n) {
  if (!uv_is_active((uv_handle_t *)&n->timer) && !n->closing)
    uv_timer_start(&n->timer, on_tick, TICK_MS, TICK_MS);
}

static void count(atomic_uint_fast64_t *c, uint64_t n) {
  atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t now_ms(peer_net_t *n) {
  return uv_now(n->loop);
}

static void net_release(peer_net_t *n) {
  if (--n->handles > 0) return;
  for (size_t i = 0; i < n->n_peers; i++)
    free(n->peers[i]);
  free(n->peers);
  free(n->conns);
  buf_free(&n->plain);
  buf_free(&n->frame);
  free(n);
}

static void on_net_handle_closed(uv_handle_t *h) {
  net_release(h->data);
}

/* ---- connections ---- */

static void conn_free_if_done(peer_conn_t *c) {
  if (c->refs > 0 || !c->handle_closed) return;
  buf_free(&c->in);
  buf_free(&c->outq);
  free(c);
}

void peer_conn_hold(peer_conn_t *c) {
  c->refs++;
}

void peer_conn_release(peer_conn_t *c) {
  c->refs--;
  conn_free_if_done(c);
}

const char *peer_conn_peer(const peer_conn_t *c) {
  return c->peer;
}

static void on_conn_closed(uv_handle_t *h) {
  peer_conn_t *c = h->data;
  peer_net_t *n = c->net;
  c->handle_closed = true;
  conn_free_if_done(c);
  net_release(n);
}

static void fail_pending(peer_conn_t *c, int status) {
  while (c->pending) {
    pending_t *p = c->pending;
    c->pending = p->next;
    c->n_pending--;
    p->cb(status, NULL, p->arg);
    free(p);
  }
}

static void forget_conn(peer_net_t *n, peer_conn_t *c) {
  for (size_t i = 0; i < n->n_conns; i++) {
    if (n->conns[i] == c) {
      n->conns[i] = n->conns[--n->n_conns];
      return;
    }
  }
}

/* Closes c; an outbound connection that failed puts its peer in backoff. */
static void conn_close(peer_conn_t *c, bool failed, int status) {
  if (c->closing) return;
  peer_net_t *n = c->net;
  c->closing = true;
  if (c->owner) {
    peer_t *p = c->owner;
    p->conn = NULL;
    if (failed) {
      p->backoff_ms = p->backoff_ms
                          ? (p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2)
                          : BACKOFF_MIN_MS;
      p->retry_at = now_ms(n) + p->backoff_ms;
    }
    c->owner = NULL;
  }
  fail_pending(c, status);
  forget_conn(n, c);
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  c->refs--; /* the net's reference */
}

static peer_conn_t *conn_new(peer_net_t *n, bool outbound) {
  if (n->n_conns == n->cap_conns) {
    size_t cap = n->cap_conns ? n->cap_conns * 2 : 16;
    peer_conn_t **a = realloc(n->conns, cap * sizeof *a);
    if (!a) return NULL;
    n->conns = a;
    n->cap_conns = cap;
  }
  peer_conn_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (uv_tcp_init(n->loop, &c->tcp) != 0) {
    free(c);
    return NULL;
  }
  c->net = n;
  c->outbound = outbound;
  c->refs = 1;
  c->tcp.data = c;
  buf_init(&c->in);
  buf_init(&c->outq);
  n->handles++;
  n->conns[n->n_conns++] = c;
  uv_tcp_nodelay(&c->tcp, 1);
  return c;
}

static void on_written(uv_write_t *req, int status) {
  wreq_t *w = (wreq_t *)req;
  peer_conn_t *c = w->c;
  c->queued -= w->len;
  if (status < 0 && status != UV_ECANCELED) conn_close(c, c->outbound, CHORUS_EIO);
  free(w->data);
  free(w);
  peer_conn_release(c);
}

/* Hands c's queued frames to libuv in one write. */
static int write_out(peer_conn_t *c) {
  if (!c->outq.len) return 0;
  wreq_t *w = malloc(sizeof *w);
  if (!w) return CHORUS_ENOMEM;
  w->c = c;
  w->data = buf_detach(&c->outq, &w->len);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    free(w->data);
    free(w);
    return CHORUS_EIO;
  }
  c->queued += w->len;
  c->refs++;
  count(&c->net->counters.bytes_out, w->len);
  return 0;
}

/* Loop thread, after each poll: frames queued during the iteration leave
 * in one write per connection, so a burst of replies costs one syscall. */
static void on_flush(uv_check_t *h) {
  peer_net_t *n = h->data;
  while (n->dirty) {
    peer_conn_t *c = n->dirty;
    n->dirty = c->next_dirty;
    c->dirty = false;
    if (!c->closing && c->connected && write_out(c) != 0) conn_close(c, c->outbound, CHORUS_EIO);
    peer_conn_release(c);
  }
}

/* Encodes, seals and frames msg into n->frame. */
static int frame_msg(peer_net_t *n, const peer_msg_t *msg) {
  buf_reset(&n->plain);
  buf_reset(&n->frame);
  int rc = peer_msg_encode(msg, &n->plain);
  if (rc) return rc;
  size_t start = peer_frame_begin(&n->frame);
  rc = keyring_seal(n->keys, n->plain.data, n->plain.len, &n->frame);
  if (!rc) rc = peer_frame_finish(&n->frame, start, PEER_FRAME_MAX);
  return rc;
}

static int conn_send(peer_conn_t *c, const peer_msg_t *msg) {
  peer_net_t *n = c->net;
  int rc = frame_msg(n, msg);
  if (rc) return rc;
  size_t before = c->outq.len;
  buf_put(&c->outq, n->frame.data, n->frame.len);
  if (c->outq.err) {
    c->outq.len = before;
    c->outq.err = 0;
    return CHORUS_ENOMEM;
  }
  count(&n->counters.frames_out, 1);
  if (!c->dirty) {
    c->dirty = true;
    c->refs++; /* held by the dirty list */
    c->next_dirty = n->dirty;
    n->dirty = c;
  }
  return 0;
}

/* ---- receiving ---- */

static bool is_reply(peer_type_t t) {
  return t == PEER_REPLICATE_ACK || t == PEER_READ_REPLY || t == PEER_FORWARD_REPLY ||
         t == PEER_EVENTS_REPLY || t == PEER_PONG || t == PEER_PUSH_PULL_REPLY || t == PEER_TREE_REPLY ||
         t == PEER_TREE_KEYS_REPLY || t == PEER_RANGE_REPLY || t == PEER_HANDOFF_REPLY || t == PEER_KEYRING_REPLY;
}

static void on_reply(peer_conn_t *c, const peer_msg_t *m) {
  for (pending_t **pp = &c->pending; *pp; pp = &(*pp)->next) {
    pending_t *p = *pp;
    if (p->req_id != m->req_id) continue;
    *pp = p->next;
    c->n_pending--;
    p->cb(0, m, p->arg);
    free(p);
    return;
  }
  count(&c->net->counters.unmatched_replies, 1); /* late: it timed out */
}

/* One frame's payload. Returns nonzero when the connection must close. */
static int on_frame(peer_conn_t *c, const uint8_t *p, size_t len) {
  peer_net_t *n = c->net;
  const uint8_t *plain = NULL;
  size_t plain_len = 0;
  if (keyring_open(n->keys, p, len, &n->plain, &plain, &plain_len) != 0) {
    count(&n->counters.dropped_auth, 1);
    return CHORUS_ECORRUPT;
  }
  peer_msg_t m;
  peer_msg_init(&m);
  int rc = peer_msg_decode(plain, plain_len, &m);
  if (rc) {
    count(&n->counters.dropped_malformed, 1);
    peer_msg_free(&m);
    return rc;
  }
  count(&n->counters.frames_in, 1);
  if (!c->peer[0]) memcpy(c->peer, m.from, sizeof c->peer);
  if (is_reply(m.type)) {
    on_reply(c, &m);
  } else if (m.type == PEER_PING) {
    peer_msg_t pong;
    peer_msg_init(&pong);
    pong.type = PEER_PONG;
    snprintf(pong.from, sizeof pong.from, "%s", n->self);
    pong.req_id = m.req_id;
    conn_send(c, &pong);
    peer_msg_free(&pong);
  } else if (n->on_request) {
    peer_conn_hold(c);
    n->on_request(c, &m, n->state);
    peer_conn_release(c);
  }
  peer_msg_free(&m);
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  peer_conn_t *c = h->data;
  if (buf_reserve(&c->in, READ_CHUNK) != 0) {
    *b = uv_buf_init(NULL, 0);
    return;
  }
  *b = uv_buf_init((char *)c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  peer_conn_t *c = s->data;
  if (nread < 0) {
    conn_close(c, c->outbound && nread != UV_EOF, CHORUS_EIO);
    return;
  }
  c->in.len += (size_t)nread;
  count(&c->net->counters.bytes_in, (uint64_t)nread);
  size_t off = 0;
  peer_conn_hold(c); /* a handler may close c */
  while (!c->closing) {
    const uint8_t *payload;
    size_t plen, used;
    int rc = peer_frame_split(c->in.data + off, c->in.len - off, PEER_FRAME_MAX, &payload, &plen, &used);
    if (rc == CHORUS_EAGAIN) break;
    if (rc == CHORUS_ETOOBIG) count(&c->net->counters.dropped_oversize, 1);
    if (rc || on_frame(c, payload, plen) != 0) {
      conn_close(c, c->outbound, CHORUS_EIO);
      break;
    }
    off += used;
  }
  if (!c->closing && off) {
    memmove(c->in.data, c->in.data + off, c->in.len - off);
    c->in.len -= off;
  }
  peer_conn_release(c);
}

/* ---- outbound ---- */

static peer_t *find_peer(peer_net_t *n, const swim_addr_t *a) {
  for (size_t i = 0; i < n->n_peers; i++) {
    const swim_addr_t *b = &n->peers[i]->addr;
    if (b->peer_port == a->peer_port && strcmp(b->host, a->host) == 0) return n->peers[i];
  }
  return NULL;
}

static peer_t *add_peer(peer_net_t *n, const swim_addr_t *addr) {
  if (n->n_peers == n->cap_peers) {
    size_t cap = n->cap_peers ? n->cap_peers * 2 : 16;
    peer_t **a = realloc(n->peers, cap * sizeof *a);
    if (!a) return NULL;
    n->peers = a;
    n->cap_peers = cap;
  }
  peer_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->addr = *addr;
  n->peers[n->n_peers++] = p;
  return p;
}

static void on_connected(uv_connect_t *req, int status) {
  peer_conn_t *c = req->data;
  if (c->closing) return;
  peer_net_t *n = c->net;
  if (status < 0) {
    count(&n->counters.connect_failures, 1);
    conn_close(c, true, CHORUS_EIO);
    return;
  }
  count(&n->counters.connects, 1);
  c->connected = true;
  if (c->owner) c->owner->backoff_ms = 0;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0 || write_out(c) != 0)
    conn_close(c, true, CHORUS_EIO);
}

static int addr_of(const swim_addr_t *a, struct sockaddr_storage *sa) {
  memset(sa, 0, sizeof *sa);
  if (uv_ip4_addr(a->host, a->peer_port, (struct sockaddr_in *)sa) == 0) return 0;
  if (uv_ip6_addr(a->host, a->peer_port, (struct sockaddr_in6 *)sa) == 0) return 0;
  return CHORUS_EINVAL;
}

/* The open (or opening) connection to p, or NULL (p in backoff, or the
 * connection could not be started). */
static peer_conn_t *connect_peer(peer_net_t *n, peer_t *p) {
  if (p->conn) return p->conn;
  if (now_ms(n) < p->retry_at) return NULL;
  struct sockaddr_storage sa;
  if (addr_of(&p->addr, &sa) != 0) {
    log_warn("peer: %s is not an IP address: cannot connect", p->addr.host);
    p->retry_at = now_ms(n) + BACKOFF_MAX_MS;
    return NULL;
  }
  peer_conn_t *c = conn_new(n, true);
  if (!c) return NULL;
  c->owner = p;
  c->connect_deadline = now_ms(n) + PEER_NET_CONNECT_TIMEOUT_MS;
  c->connect.data = c;
  p->conn = c;
  if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&sa, on_connected) != 0) {
    count(&n->counters.connect_failures, 1);
    conn_close(c, true, CHORUS_EIO);
    return NULL;
  }
  return c;
}

static bool is_request(peer_type_t t) {
  return t == PEER_REPLICATE || t == PEER_READ || t == PEER_FORWARD || t == PEER_EVENTS || t == PEER_PING ||
         t == PEER_PUSH_PULL || t == PEER_TREE || t == PEER_TREE_KEYS || t == PEER_RANGE || t == PEER_HANDOFF ||
         t == PEER_KEYRING;
}

int peer_net_request(peer_net_t *n, const swim_addr_t *addr, peer_msg_t *msg, uint64_t timeout_ms,
                     peer_reply_fn cb, void *arg) {
  if (!n || !addr || !msg || !cb || !is_request(msg->type)) return CHORUS_EINVAL;
  if (n->closing) {
    cb(CHORUS_ESHUTDOWN, NULL, arg);
    return 0;
  }
  peer_t *p = find_peer(n, addr);
  if (!p && !(p = add_peer(n, addr))) return CHORUS_ENOMEM;
  peer_conn_t *c = connect_peer(n, p);
  if (!c) {
    cb(CHORUS_EIO, NULL, arg);
    return 0;
  }
  if (c->n_pending >= PEER_NET_INFLIGHT_MAX || c->queued + c->outq.len >= PEER_NET_QUEUE_MAX) {
    count(&n->counters.refused_busy, 1);
    cb(CHORUS_EBUSY, NULL, arg);
    return 0;
  }
  pending_t *pd = calloc(1, sizeof *pd);
  if (!pd) return CHORUS_ENOMEM;
  msg->req_id = ++n->next_req_id;
  snprintf(msg->from, sizeof msg->from, "%s", n->self);
  int rc = conn_send(c, msg);
  if (rc) {
    free(pd);
    return rc;
  }
  pd->req_id = msg->req_id;
  pd->deadline = now_ms(n) + timeout_ms;
  pd->cb = cb;
  pd->arg = arg;
  pd->next = c->pending;
  c->pending = pd;
  c->n_pending++;
  tick_start(n);
  return 0;
}

int peer_net_respond(peer_conn_t *c, uint64_t req_id, peer_msg_t *msg) {
  if (!c || !msg || !is_reply(msg->type)) return CHORUS_EINVAL;
  if (c->closing) return CHORUS_ESHUTDOWN;
  msg->req_id = req_id;
  snprintf(msg->from, sizeof msg->from, "%s", c->net->self);
  return conn_send(c, msg);
}

/* ---- housekeeping ---- */

static void expire(peer_conn_t *c, uint64_t now) {
  for (pending_t **pp = &c->pending; *pp;) {
    pending_t *p = *pp;
    if (p->deadline > now) {
      pp = &p->next;
      continue;
    }
    *pp = p->next;
    c->n_pending--;
    count(&c->net->counters.timeouts, 1);
    p->cb(CHORUS_ETIMEDOUT, NULL, p->arg);
    free(p);
  }
}

static void on_tick(uv_timer_t *t) {
  peer_net_t *n = t->data;
  uint64_t now = now_ms(n);
  for (size_t i = 0; i < n->n_conns;) {
    peer_conn_t *c = n->conns[i];
    if (c->outbound && !c->connected && now >= c->connect_deadline) {
      count(&n->counters.connect_failures, 1);
      conn_close(c, true, CHORUS_ETIMEDOUT); /* removes c from conns */
      continue;
    }
    expire(c, now);
    i++;
  }
  bool waiting = false; /* anything left that may expire? */
  for (size_t i = 0; i < n->n_conns && !waiting; i++)
    waiting = n->conns[i]->n_pending || (n->conns[i]->outbound && !n->conns[i]->connected);
  if (!waiting) uv_timer_stop(t);
}

static void on_accept(uv_stream_t *server, int status) {
  peer_net_t *n = server->data;
  if (status < 0 || n->closing) return;
  peer_conn_t *c = conn_new(n, false);
  if (!c) return;
  c->connected = true;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    conn_close(c, false, CHORUS_EIO);
}

/* ---- lifecycle ---- */

int peer_net_start(uv_loop_t *loop, const peer_net_opts_t *o, peer_net_t **out) {
  const config_t *cfg = o->cfg;
  peer_net_t *n = calloc(1, sizeof *n);
  if (!n) return CHORUS_ENOMEM;
  n->loop = loop;
  n->cfg = cfg;
  snprintf(n->self, sizeof n->self, "%s", o->node_id);
  n->on_request = o->on_request;
  n->state = o->state;
  buf_init(&n->plain);
  buf_init(&n->frame);
  n->keys = o->keyring ? o->keyring : &keyring_plaintext;
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof sa);
  if (uv_ip4_addr(cfg->bind, cfg->peer_port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(cfg->bind, cfg->peer_port, (struct sockaddr_in6 *)&sa) != 0) {
    free(n);
    return CHORUS_EINVAL;
  }
  uv_tcp_init(loop, &n->listener);
  uv_timer_init(loop, &n->timer);
  uv_check_init(loop, &n->flusher);
  n->listener.data = n->timer.data = n->flusher.data = n;
  n->handles = 3;
  int rc = uv_tcp_bind(&n->listener, (const struct sockaddr *)&sa, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&n->listener, 256, on_accept);
  if (rc != 0) {
    log_error("peer: cannot listen on TCP %s:%u (--peer-port): %s", cfg->bind, cfg->peer_port,
              uv_strerror(rc));
    n->closing = true;
    uv_close((uv_handle_t *)&n->listener, on_net_handle_closed);
    uv_close((uv_handle_t *)&n->timer, on_net_handle_closed);
    uv_close((uv_handle_t *)&n->flusher, on_net_handle_closed);
    return CHORUS_EIO;
  }
  uv_check_start(&n->flusher, on_flush);
  *out = n;
  return 0;
}

void peer_net_close(peer_net_t *n) {
  if (!n || n->closing) return;
  n->closing = true;
  while (n->n_conns)
    conn_close(n->conns[0], false, CHORUS_ESHUTDOWN);
  on_flush(&n->flusher); /* drops what the closed connections still held */
  uv_close((uv_handle_t *)&n->listener, on_net_handle_closed);
  uv_close((uv_handle_t *)&n->timer, on_net_handle_closed);
  uv_close((uv_handle_t *)&n->flusher, on_net_handle_closed);
}

const peer_net_counters_t *peer_net_counters(const peer_net_t *n) {
  return &n->counters;
}

uint16_t peer_net_port(const peer_net_t *n) {
  struct sockaddr_storage sa;
  int len = sizeof sa;
  if (uv_tcp_getsockname(&n->listener, (struct sockaddr *)&sa, &len) != 0) return 0;
  if (sa.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&sa)->sin_port);
  if (sa.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
  return 0;
}
