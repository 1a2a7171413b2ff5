/*
 * ws_internal.h - what the files of the /ws endpoint share.
 *
 *   ws.c        the handshake, the hand-over from libmicrohttpd to the loop,
 *               connection I/O and the close handshake
 *   ws_push.c   what is pushed and when: hello, members, ring, stats, and
 *               the events gathers
 *   ws_events.c the events and conflicts messages of a gather, rendered on
 *               a libuv worker
 *
 * Threads: the handshake and the upgrade callback run on HTTP threads and
 * hand a connection to the loop through the inbox (tqueue + uv_async);
 * everything else here is loop-thread state without locks, except a
 * ws_render_t, which the loop hands whole to a worker and takes back when
 * the worker is done (uv_queue_work orders the two).
 */
#ifndef CHORUS_WS_INTERNAL_H
#define CHORUS_WS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/tqueue.h"
#include "../replication/coord.h"
#include "metrics.h"
#include "ws.h"
#include "ws_frame.h"

typedef enum {
  WSC_OPEN,    /* messages flow */
  WSC_CLOSING, /* our close frame is queued: once it is out, linger */
  WSC_LINGER,  /* write side shut: reading until the client closes, or the deadline */
  WSC_DEAD,    /* torn down: freed when its poll handle has closed */
} ws_conn_state_t;

typedef struct ws_conn ws_conn_t;
struct ws_conn {
  ws_t *ws;
  ws_conn_t *next, *prev; /* inbox (next only), then ws->conns */
  uv_poll_t poll;
  int fd; /* owned by libmicrohttpd: closed through the upgrade handle */
  struct MHD_UpgradeResponseHandle *urh;
  ws_decoder_t dec;
  buf_t out;        /* frames not yet sent, from out_off */
  size_t out_off;   /* bytes of out already sent */
  size_t frame_end; /* first frame boundary at or after out_off */
  ws_conn_state_t state;
  uint64_t deadline; /* CLOSING, LINGER: torn down by then (loop time, ms) */
  int events;        /* what poll is started for */
  uint8_t *early;    /* bytes libmicrohttpd read past the handshake */
  size_t early_len;
};

/* The pusher's memory of what it last sent (ws_push.c). */
typedef struct {
  char node[NODE_ID_MAX + 1];
  uint64_t last;  /* highest event id seen */
  uint64_t total; /* the member's event count at the last gather */
  bool known;     /* last is set; otherwise only events since started_ms count */
} ws_cursor_t;

typedef struct ws_gather ws_gather_t;

/* What rendering a gather's events needs and changes: the pusher's memory,
 * moved in from the loop and moved back after (ws_events.c). */
typedef struct {
  ws_cursor_t *cursors; /* owned; cursors of members met for the first time are added */
  size_t n_cursors, cap_cursors;
  char *conflicts_sig;   /* owned; replaced when a conflicts message is built */
  uint64_t started_wall; /* events of unknown members count from here (wall ms) */
  buf_t events_frame;    /* out: the "events" message as a frame; empty: nothing new */
  buf_t conflicts_frame; /* out: the "conflicts" message; empty: unchanged */
} ws_render_t;

typedef struct {
  uint64_t next_at;      /* loop time of the next round */
  uint64_t last_at;      /* loop time of the last stats */
  uint64_t started_wall; /* wall clock when the first client connected */
  uint64_t gen;          /* bumped each time the pusher starts: stale gathers are dropped */
  buf_t members_sig;     /* members' ids, statuses, incarnations, addresses at the last push */
  uint64_t ring_version;
  char *conflicts_sig;  /* the cluster's conflicts (compact JSON) at the last push; NULL: none pushed */
  metrics_hist_t hist;  /* the data route's latencies at the last stats */
  ws_cursor_t *cursors; /* NULL while a rendering holds them (gather) */
  size_t n_cursors, cap_cursors;
  ws_gather_t *gather; /* the events gather in flight, until its rendering is back */
} ws_push_t;

struct ws {
  uv_loop_t *loop;
  api_server_t *srv;
  uv_async_t async;
  uv_timer_t timer;
  int handles;         /* loop handles not yet closed: async, timer, polls */
  tqueue_t inbox;      /* upgraded connections from HTTP threads, for the loop */
  atomic_bool closing; /* shut down: upgrades are closed at once (set on the loop) */
  atomic_size_t slots;
  ws_conn_t *conns; /* loop thread from here on */
  size_t n_conns;
  bool timer_on;
  ws_push_t push;
};

/* ws.c: sends one {"type", "data"} message (data stolen) to c, or to every
 * open connection (c NULL). */
void ws_send(ws_t *ws, ws_conn_t *c, const char *type, json_t *data);
/* Any thread: appends that message as a text frame to frame (data stolen;
 * NULL data is CHORUS_ENOMEM, as from a failed builder). */
int ws_message_frame(const char *type, json_t *data, buf_t *frame);
/* Loop thread: queues a finished frame to c, or to every open connection. */
void ws_send_frame(ws_t *ws, ws_conn_t *c, const uint8_t *frame, size_t len);
uint64_t ws_loop_ms(ws_t *ws);

/* ws_push.c */
int ws_push_init(ws_push_t *p);
/* The first client connected: start from a clean slate. */
void ws_push_start(ws_t *ws);
/* A client connected: its hello, members and ring. */
void ws_push_greet(ws_t *ws, ws_conn_t *c);
/* Every timer tick while a client is connected. */
void ws_push_tick(ws_t *ws, uint64_t now);
/* Frees the pusher's state; a gather in flight frees itself when done. */
void ws_push_free(ws_push_t *p);

/* ws_events.c, on a worker: from the parts of res, the events not pushed
 * yet (each member's cursor moves past them) and the cluster's conflicts
 * when they differ from r->conflicts_sig, as finished frames in r. Touches
 * nothing but r and res. CHORUS_ENOMEM when a message could not be built
 * (the cursors may have moved: those events are not pushed). */
int ws_render_events(const coord_result_t *res, ws_render_t *r);
void ws_render_init(ws_render_t *r);
void ws_render_free(ws_render_t *r);

#endif
