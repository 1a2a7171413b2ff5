/*
 * ws.c - GET /ws: the handshake on an HTTP thread, then each connection on
 * the node's loop (see ws.h, ws_internal.h).
 *
 * Ownership of an upgraded socket: libmicrohttpd keeps the fd and closes it
 * when told to with MHD_upgrade_action(CLOSE); we only recv/send on it.
 * That call is made in the close callback of the connection's uv_poll, so
 * the fd has left the loop's epoll set before the daemon may close (and
 * the kernel reuse) its number.
 *
 * A connection's life: OPEN (frames both ways) -> CLOSING (our close frame
 * is queued; unsent whole frames before it were dropped) -> LINGER (write
 * side shut once the close frame is out; reading and discarding until the
 * client closes, so the close frame is not lost to a reset) -> torn down.
 * A client that closes first gets its close echoed and goes the same way;
 * CLOSING and LINGER end at a deadline whatever the client does. Output is
 * bounded: a connection whose unsent bytes would pass WS_OUT_MAX is closed
 * with 1008 instead of buffering more.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/err.h"
#include "../common/log.h"
#include "internal.h"
#include "ws_internal.h"

#define TICK_MS 250
#define CLOSE_WAIT_MS 2000 /* CLOSING: for the close frame to go out */
#define LINGER_MS 1000     /* LINGER: for the client to close */
#define READ_CHUNK 16384
#define READS_PER_WAKE 4 /* then other connections get their turn */
#define COMPACT_AT 65536

static void teardown(ws_conn_t *c);
static void on_poll(uv_poll_t *h, int status, int events);
static void on_tick(uv_timer_t *t);

uint64_t ws_loop_ms(ws_t *ws) {
  return uv_now(ws->loop);
}

bool ws_reserve(ws_t *ws) {
  if (atomic_load(&ws->closing)) return false;
  if (atomic_fetch_add(&ws->slots, 1) >= WS_MAX_CONNECTIONS) {
    atomic_fetch_sub(&ws->slots, 1);
    return false;
  }
  return true;
}

void ws_release(ws_t *ws) {
  atomic_fetch_sub(&ws->slots, 1);
}

size_t ws_open(const ws_t *ws) {
  return atomic_load(&((ws_t *)ws)->slots);
}

/* ---- connections ---- */

static void conn_free(ws_conn_t *c) {
  ws_decoder_free(&c->dec);
  buf_free(&c->out);
  free(c->early);
  free(c);
}

/* The socket goes back to libmicrohttpd, which closes it. */
static void conn_release(ws_t *ws, ws_conn_t *c) {
  MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
  conn_free(c);
  ws_release(ws);
}

static void on_handle_closed(uv_handle_t *h) {
  ws_t *ws = h->data;
  ws->handles--;
}

static void on_poll_closed(uv_handle_t *h) {
  ws_conn_t *c = h->data;
  ws_t *ws = c->ws;
  ws->handles--;
  conn_release(ws, c);
}

/* Shutting down and no connection left: the timer has nothing more to do. */
static void close_timer_when_done(ws_t *ws) {
  if (atomic_load(&ws->closing) && ws->n_conns == 0 && !uv_is_closing((uv_handle_t *)&ws->timer))
    uv_close((uv_handle_t *)&ws->timer, on_handle_closed);
}

static void set_events(ws_conn_t *c, int events) {
  if (events == c->events) return;
  c->events = events;
  if (events)
    uv_poll_start(&c->poll, events, on_poll);
  else
    uv_poll_stop(&c->poll);
}

/* Unlinks c and closes its poll handle; c is freed by the close callback,
 * so callers may still read it (its state is WSC_DEAD) until they return
 * to the loop. */
static void teardown(ws_conn_t *c) {
  ws_t *ws = c->ws;
  if (c->state == WSC_DEAD) return;
  c->state = WSC_DEAD;
  if (c->prev)
    c->prev->next = c->next;
  else
    ws->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  ws->n_conns--;
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, on_poll_closed);
  if (ws->n_conns == 0 && ws->timer_on) {
    ws->timer_on = false;
    uv_timer_stop(&ws->timer);
  }
  close_timer_when_done(ws);
}

static void linger(ws_conn_t *c) {
  shutdown(c->fd, SHUT_WR);
  c->state = WSC_LINGER;
  c->deadline = ws_loop_ms(c->ws) + LINGER_MS;
  set_events(c, UV_READABLE);
}

/* Moves frame_end to the first frame boundary at or after out_off. */
static void advance_frame_end(ws_conn_t *c) {
  size_t size;
  while (c->frame_end < c->out_off &&
         ws_frame_size(c->out.data + c->frame_end, c->out.len - c->frame_end, &size) == 0)
    c->frame_end += size;
}

static void flush(ws_conn_t *c) {
  while (c->out_off < c->out.len) {
    ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      teardown(c);
      return;
    }
  }
  advance_frame_end(c);
  if (c->out_off == c->out.len) {
    buf_reset(&c->out);
    c->out_off = c->frame_end = 0;
    if (c->state == WSC_CLOSING) {
      linger(c);
      return;
    }
  } else if (c->out_off >= COMPACT_AT && c->out_off * 2 >= c->out.len) {
    memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
    c->out.len -= c->out_off;
    c->frame_end -= c->out_off;
    c->out_off = 0;
  }
  set_events(c, UV_READABLE | (c->out_off < c->out.len ? UV_WRITABLE : 0));
}

/* Queues our close frame after what is being sent, dropping the frames
 * not yet started. */
static void begin_close(ws_conn_t *c, uint16_t code, const char *reason) {
  if (c->state != WSC_OPEN) return;
  advance_frame_end(c);
  c->out.len = c->frame_end > c->out_off ? c->frame_end : c->out_off;
  c->out.err = 0;
  int rc = code == WS_CLOSE_NO_STATUS ? ws_encode(&c->out, WS_OP_CLOSE, NULL, 0)
                                      : ws_encode_close(&c->out, code, reason);
  if (rc) {
    teardown(c);
    return;
  }
  c->state = WSC_CLOSING;
  c->deadline = ws_loop_ms(c->ws) + CLOSE_WAIT_MS;
  flush(c);
}

/* Queues one whole frame, within the output bound. */
static void queue(ws_conn_t *c, const uint8_t *frame, size_t n) {
  if (c->state != WSC_OPEN) return;
  if (c->out.len - c->out_off + n > WS_OUT_MAX) {
    log_warn("ws: a client is not reading (%zu bytes queued): closing it", c->out.len - c->out_off);
    begin_close(c, WS_CLOSE_POLICY, "client too slow");
    return;
  }
  buf_put(&c->out, frame, n);
  if (c->out.err) {
    teardown(c);
    return;
  }
  flush(c);
}

int ws_message_frame(const char *type, json_t *data, buf_t *frame) {
  json_t *msg = data ? json_pack("{s:s,s:o}", "type", type, "data", data) : NULL;
  char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  json_decref(msg);
  int rc = text ? ws_encode(frame, WS_OP_TEXT, text, strlen(text)) : CHORUS_ENOMEM;
  free(text);
  return rc;
}

void ws_send_frame(ws_t *ws, ws_conn_t *c, const uint8_t *frame, size_t len) {
  if (c) {
    queue(c, frame, len);
    return;
  }
  for (ws_conn_t *it = ws->conns, *next; it; it = next) {
    next = it->next;
    queue(it, frame, len);
  }
}

void ws_send(ws_t *ws, ws_conn_t *c, const char *type, json_t *data) {
  buf_t frame;
  buf_init(&frame);
  if (ws_message_frame(type, data, &frame) != 0)
    log_warn("ws: cannot build the %s message: out of memory", type);
  else
    ws_send_frame(ws, c, frame.data, frame.len);
  buf_free(&frame);
}

static void on_event(ws_conn_t *c, const ws_event_t *ev) {
  if (c->state != WSC_OPEN) return; /* closing: only waiting for the socket to close */
  switch (ev->kind) {
  case WS_EV_MESSAGE:
    if (ev->opcode == WS_OP_BINARY) {
      begin_close(c, WS_CLOSE_UNSUPPORTED, "binary messages are not supported");
      return;
    }
    ws_send(c->ws, c, "error",
            api_error_json("not_supported", "this endpoint only pushes; messages from clients are ignored"));
    return;
  case WS_EV_PING: {
    buf_t pong;
    buf_init(&pong);
    if (ws_encode(&pong, WS_OP_PONG, ev->data, ev->len) == 0) queue(c, pong.data, pong.len);
    buf_free(&pong);
    return;
  }
  case WS_EV_CLOSE: begin_close(c, ev->code, ""); return; /* the echo */
  default: return;
  }
}

static void consume(ws_conn_t *c, const uint8_t *p, size_t n) {
  while (n && c->state == WSC_OPEN) {
    size_t used = 0;
    ws_event_t ev;
    uint16_t code = 0;
    const char *reason = NULL;
    int rc = ws_decode(&c->dec, p, n, &used, &ev, &code, &reason);
    p += used;
    n -= used;
    if (rc) {
      begin_close(c, code, reason);
      return;
    }
    if (ev.kind == WS_EV_NONE) return;
    on_event(c, &ev);
  }
}

static void on_readable(ws_conn_t *c) {
  uint8_t chunk[READ_CHUNK];
  for (int i = 0; i < READS_PER_WAKE && c->state != WSC_DEAD; i++) {
    ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      consume(c, chunk, (size_t)n); /* closing or lingering: discarded */
      if ((size_t)n < sizeof chunk) return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      teardown(c); /* the client closed or reset */
      return;
    }
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  ws_conn_t *c = h->data;
  if (status < 0) {
    teardown(c);
    return;
  }
  if (events & UV_WRITABLE) flush(c);
  if ((events & UV_READABLE) && c->state != WSC_DEAD) on_readable(c);
}

/* A connection handed over by libmicrohttpd starts on the loop. */
static void accept_conn(ws_t *ws, ws_conn_t *c) {
  int fl = fcntl(c->fd, F_GETFL);
  if (atomic_load(&ws->closing) || fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
      uv_poll_init_socket(ws->loop, &c->poll, c->fd) != 0) {
    conn_release(ws, c);
    return;
  }
  c->poll.data = c;
  ws->handles++;
  c->next = ws->conns;
  c->prev = NULL;
  if (ws->conns) ws->conns->prev = c;
  ws->conns = c;
  if (ws->n_conns++ == 0) {
    ws_push_start(ws);
    ws->timer_on = true;
    uv_timer_start(&ws->timer, on_tick, TICK_MS, TICK_MS);
  }
  c->events = UV_READABLE;
  uv_poll_start(&c->poll, UV_READABLE, on_poll);
  ws_push_greet(ws, c);
  if (c->early_len && c->state == WSC_OPEN) consume(c, c->early, c->early_len);
  free(c->early);
  c->early = NULL;
  c->early_len = 0;
}

/* Hands every connection of the inbox to fn; with stop, the inbox takes no
 * more (later upgrades are closed by the HTTP thread). Returns whether it
 * was stopped already. */
static bool drain_inbox(ws_t *ws, bool stop, void (*fn)(ws_t *ws, ws_conn_t *c)) {
  bool was = atomic_load(&ws->closing);
  if (stop) atomic_store(&ws->closing, true);
  ws_conn_t *list = stop ? tqueue_close(&ws->inbox, true) : tqueue_take_all(&ws->inbox);
  for (ws_conn_t *c = list, *next; c; c = next) {
    next = c->next;
    fn(ws, c);
  }
  return was;
}

static void on_inbox(uv_async_t *a) {
  drain_inbox(a->data, false, accept_conn);
}

static void on_tick(uv_timer_t *t) {
  ws_t *ws = t->data;
  uint64_t now = ws_loop_ms(ws);
  for (ws_conn_t *c = ws->conns, *next; c; c = next) {
    next = c->next;
    if (c->state != WSC_OPEN && now >= c->deadline) teardown(c);
  }
  if (ws->n_conns && !atomic_load(&ws->closing)) ws_push_tick(ws, now);
}

/* Under the inbox's lock: the loop closes the inbox before the async. */
static void wake_loop(void *async) {
  uv_async_send(async);
}

/* HTTP thread (libmicrohttpd's): the 101 is out and the socket is ours. */
static void on_upgrade(void *cls, struct MHD_Connection *connection, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
  ws_t *ws = cls;
  api_req_t *r = con_cls;
  if (r) atomic_store(&r->ws_slot, false); /* the connection holds the slot now */
  ws_conn_t *c = calloc(1, sizeof *c);
  uint8_t *early = extra_in_size ? malloc(extra_in_size) : NULL;
  if (!c || (extra_in_size && !early)) {
    free(c);
    free(early);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    ws_release(ws);
    return;
  }
  c->ws = ws;
  c->fd = sock;
  c->urh = urh;
  c->state = WSC_OPEN;
  ws_decoder_init(&c->dec, WS_MAX_MESSAGE);
  buf_init(&c->out);
  if (early) memcpy(early, extra_in, extra_in_size);
  c->early = early;
  c->early_len = extra_in_size;
  if (tqueue_push_wake(&ws->inbox, c, wake_loop, &ws->async) != 0) conn_release(ws, c);
}

enum MHD_Result api_ws(api_req_t *r) {
  ws_t *ws = r->srv->ws;
  ws_handshake_t h = {
      .upgrade = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Upgrade"),
      .connection = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Connection"),
      .version = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Version"),
      .key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Key"),
  };
  int status;
  const char *code, *message;
  char accept[WS_ACCEPT_LEN + 1];
  if (ws_handshake_check(&h, &status, &code, &message) != 0) {
    bool version = strcmp(code, "unsupported_version") == 0;
    return api_send_json_with(r, status, api_error_json(code, message),
                              version ? "Sec-WebSocket-Version" : NULL, "13");
  }
  if (ws_accept_key(h.key, strlen(h.key), accept) != 0)
    return api_send_error3(r, 400, "bad_handshake", "Sec-WebSocket-Key must be the base64 of 16 bytes");
  if (!ws_reserve(ws))
    return api_send_error3(r, 503, "too_many_connections", "the node serves at most 64 WebSocket clients");
  atomic_store(&r->ws_slot, true); /* released with the request unless the upgrade happens */
  struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, ws);
  if (!resp) return api_send_error3(r, 500, "internal", "out of memory");
  MHD_add_response_header(resp, "Upgrade", "websocket");
  MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
  return api_queue(r, 101, resp);
}

/* ---- lifecycle ---- */

int ws_create(uv_loop_t *loop, api_server_t *srv, ws_t **out) {
  ws_t *ws = calloc(1, sizeof *ws);
  if (!ws) return CHORUS_ENOMEM;
  ws->loop = loop;
  ws->srv = srv;
  atomic_init(&ws->slots, 0);
  atomic_init(&ws->closing, false);
  if (tqueue_init(&ws->inbox, offsetof(ws_conn_t, next)) != 0) {
    free(ws);
    return CHORUS_ENOMEM;
  }
  ws_push_init(&ws->push);
  if (uv_async_init(loop, &ws->async, on_inbox) != 0) {
    tqueue_destroy(&ws->inbox);
    free(ws);
    return CHORUS_EIO;
  }
  uv_timer_init(loop, &ws->timer);
  ws->async.data = ws->timer.data = ws;
  ws->handles = 2;
  *out = ws;
  return 0;
}

/* Stops taking connections: those handed over but not yet started are
 * closed here, later ones by the HTTP thread. */
static void stop_accepting(ws_t *ws) {
  if (!drain_inbox(ws, true, conn_release)) uv_close((uv_handle_t *)&ws->async, on_handle_closed);
}

void ws_shutdown(ws_t *ws) {
  stop_accepting(ws);
  for (ws_conn_t *c = ws->conns, *next; c; c = next) {
    next = c->next;
    begin_close(c, WS_CLOSE_GOING_AWAY, "the node is shutting down");
  }
  if (ws->n_conns && !ws->timer_on) {
    ws->timer_on = true;
    uv_timer_start(&ws->timer, on_tick, TICK_MS, TICK_MS);
  }
  close_timer_when_done(ws);
}

void ws_close(ws_t *ws) {
  if (!ws) return;
  stop_accepting(ws);
  while (ws->conns)
    teardown(ws->conns);
  close_timer_when_done(ws);
  /* the close callbacks run on the next turns of the loop */
  for (int i = 0; ws->handles && i < 1000; i++)
    uv_run(ws->loop, UV_RUN_NOWAIT);
  if (ws->handles) log_warn("ws: %d loop handles still open at shutdown", ws->handles);
}

void ws_free(ws_t *ws) {
  if (!ws) return;
  ws_push_free(&ws->push);
  tqueue_destroy(&ws->inbox);
  free(ws);
}
