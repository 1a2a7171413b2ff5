/*
 * peer_net.h - the peer transport: persistent TCP connections between
 * nodes on --peer-port, carrying length-prefixed peer frames (peer_codec.h),
 * pipelined and matched by request id, sealed with --cluster-key.
 *
 * One listener accepts peers' connections; requests from this node go out
 * on one outbound connection per peer address (host and peer port), opened
 * on first use and kept: a join reaches a seed known only by its address. A
 * request fails fast instead of queueing without bound:
 *   CHORUS_EBUSY      the peer's connection has PEER_NET_QUEUE_MAX bytes or
 *                     PEER_NET_INFLIGHT_MAX requests outstanding;
 *   CHORUS_EIO        the connection failed, closed, or the peer is in its
 *                     reconnect backoff (100 ms doubling to 5 s after a
 *                     failure, reset by a successful connect);
 *   CHORUS_ETIMEDOUT  no reply within the request's timeout (connecting
 *                     included);
 *   CHORUS_ESHUTDOWN  the transport is closing.
 * Replies to requests arrive through the request's callback, exactly once.
 * Frames that do not open (wrong key), decode, or fit are counted and the
 * connection that sent them is closed: a stream cannot resynchronise.
 *
 * Loop thread only, except peer_net_counters (any thread).
 */
#ifndef CHORUS_PEER_NET_H
#define CHORUS_PEER_NET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../common/config.h"
#include "../gossip/swim_msg.h"
#include "peer_codec.h"

#define PEER_NET_QUEUE_MAX (64u * 1024 * 1024) /* bytes written and not yet sent, per connection */
#define PEER_NET_INFLIGHT_MAX 4096             /* requests awaiting replies, per connection */
#define PEER_NET_CONNECT_TIMEOUT_MS 2000

typedef struct peer_net peer_net_t;
typedef struct peer_conn peer_conn_t;

/* status 0: reply is the peer's answer (valid during the call only);
 * otherwise reply is NULL and status says why (see above). */
typedef void (*peer_reply_fn)(int status, const peer_msg_t *reply, void *arg);
/* A request arrived on conn: answer it with peer_net_respond, now or later
 * (hold conn with peer_conn_hold until then). req is valid during the call. */
typedef void (*peer_request_fn)(peer_conn_t *conn, const peer_msg_t *req, void *state);

typedef struct {
  atomic_uint_fast64_t frames_in, frames_out, bytes_in, bytes_out;
  atomic_uint_fast64_t dropped_malformed, dropped_auth, dropped_oversize;
  atomic_uint_fast64_t connects, connect_failures, timeouts, refused_busy, unmatched_replies;
} peer_net_counters_t;

typedef struct {
  const config_t *cfg; /* bind, peer_port */
  const char *node_id;
  const keyring_t *keyring; /* seals and opens frames; changed on the loop only; NULL: plaintext */
  peer_request_fn on_request;
  void *state;
} peer_net_opts_t;

/* Binds the listener on cfg->bind:cfg->peer_port (0: any free port, see
 * peer_net_port). */
int peer_net_start(uv_loop_t *loop, const peer_net_opts_t *opts, peer_net_t **out);
/* Fails every outstanding request with CHORUS_ESHUTDOWN, closes every
 * connection; n is freed once the loop has run the close callbacks. */
void peer_net_close(peer_net_t *n);

/* Sends msg (its req_id and from are set here; its type must be a request)
 * to the node at addr (host, an IP literal, and peer_port). cb runs exactly once, maybe
 * before this returns (fast failures). Returns 0, or an error when cb was
 * not and will not be called (CHORUS_EINVAL, CHORUS_ENOMEM, CHORUS_ETOOBIG). */
int peer_net_request(peer_net_t *n, const swim_addr_t *addr, peer_msg_t *msg, uint64_t timeout_ms,
                     peer_reply_fn cb, void *arg);
/* Answers the request req_id received on conn with msg (a reply type;
 * req_id is set here). CHORUS_ESHUTDOWN if conn has closed meanwhile (the
 * reply is dropped: the requester times out or saw the connection fail). */
int peer_net_respond(peer_conn_t *conn, uint64_t req_id, peer_msg_t *msg);
void peer_conn_hold(peer_conn_t *conn);
void peer_conn_release(peer_conn_t *conn);
/* The node id the peer announced in its frames ("" until its first frame). */
const char *peer_conn_peer(const peer_conn_t *conn);

const peer_net_counters_t *peer_net_counters(const peer_net_t *n);
/* The port the listener is bound to. */
uint16_t peer_net_port(const peer_net_t *n);

#endif
