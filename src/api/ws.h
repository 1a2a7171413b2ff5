/*
 * ws.h - the node's WebSocket endpoint, GET /ws: the live push of member
 * changes, ring changes, stats and cluster events to the dashboard
 * (docs/api.md has the protocol).
 *
 * An HTTP thread checks the handshake and answers 101 (api_ws, internal.h);
 * libmicrohttpd then hands over the socket, and the connection moves to
 * the node's libuv loop, which owns every connection from then on: its
 * reads and writes (uv_poll on the non-blocking socket), its bounded output
 * queue, its close handshake, and the pusher that feeds them all. Nothing
 * of it runs while no client is connected.
 *
 * Lifecycle (the server drives it): ws_create on the loop thread before
 * the daemon starts; ws_shutdown when the node drains (close 1001 to all);
 * ws_close once the loop has stopped and before the daemon stops (whatever
 * is left is closed at once); ws_free after the daemon has stopped.
 */
#ifndef CHORUS_WS_H
#define CHORUS_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define WS_MAX_CONNECTIONS 64 /* more are refused with 503 at the handshake */
#define WS_MAX_MESSAGE 65536  /* a client message larger is refused with 1009 */
#define WS_OUT_MAX (4u << 20) /* unsent bytes per connection before it is closed (1008) */
#define WS_INTERVAL_MS 1000   /* stats, member and ring checks, events */

typedef struct ws ws_t;
typedef struct api_server api_server_t;

/* Loop thread. */
int ws_create(uv_loop_t *loop, api_server_t *srv, ws_t **out);
/* Any thread: takes one of the WS_MAX_CONNECTIONS slots (false: all taken,
 * or shutting down); a handshake answered 101 holds one until its
 * connection is torn down. */
bool ws_reserve(ws_t *ws);
void ws_release(ws_t *ws);
/* Any thread: slots held (connections open or being handed over). */
size_t ws_open(const ws_t *ws);
/* Loop thread: sends close 1001 to every connection; each is torn down
 * once the frame is out (at most a couple of seconds); later upgrades are
 * closed at once. */
void ws_shutdown(ws_t *ws);
/* Loop thread, loop stopped: tears down what is left without waiting and
 * closes the loop handles. */
void ws_close(ws_t *ws);
void ws_free(ws_t *ws);

#endif
