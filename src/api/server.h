/*
 * server.h - the node's HTTP API: libmicrohttpd threads that parse and
 * validate requests, hand storage work to the engine's writer thread,
 * suspend the connection, and answer when the writer resumes it.
 *
 * Lifecycle: api_server_create, then engine_open with engine_hook_done and
 * the server as state, then api_server_start. On
 * shutdown: api_server_drain (new requests get 503; in-flight ones finish),
 * then api_server_stop, then engine_close.
 */
#ifndef CHORUS_SERVER_H
#define CHORUS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/loop_stats.h"
#include "../common/config.h"
#include "../storage/engine.h"

typedef struct api_server api_server_t;

int api_server_create(const config_t *cfg, const char *node_id, const char *version, api_server_t **out);
struct gossip;
struct view_holder;
struct coord;
struct coord_req;
/* What the server serves from; each must outlive the server. */
typedef struct {
  struct uv_loop_s *loop; /* the node's loop: owns the /ws connections */
  engine_t *engine;
  struct gossip *gossip;          /* NULL with --gossip=false */
  struct view_holder *view;       /* the published cluster view (ring, member statuses) */
  struct coord *coord;            /* the replication service: coordinates requests in a cluster */
  const loop_stats_t *loop_stats; /* the loop's stalls (NULL: not shown) */
} api_deps_t;
/* Loop thread: starts listening. */
int api_server_start(api_server_t *s, const api_deps_t *deps);
/* Reads --tls-cert and --tls-key again (SIGHUP): new connections get the
 * new certificate, open ones keep theirs. On error the certificate in use
 * stays (the error is logged). Without HTTPS: nothing, 0. */
int api_server_reload_tls(api_server_t *s);
/* Loop thread: from now on new requests are answered 503, and every
 * WebSocket gets a close frame (1001, going away). */
void api_server_drain(api_server_t *s);
/* Requests handed to the engine and not yet answered, plus WebSocket
 * connections not yet closed: what a shutdown waits for. */
uint64_t api_server_inflight(const api_server_t *s);
/* Loop thread, once the loop has stopped: closes the WebSockets left,
 * stops the daemon and frees s. */
void api_server_stop(api_server_t *s);

/* The HTTP reply of a coordinated request. */
int api_coord_format(const struct coord_req *req, buf_t *out, int *status);

#endif
