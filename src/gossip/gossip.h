/*
 * gossip.h - the I/O shell of SWIM membership: drives the pure protocol
 * core (swim.h) from the node's libuv loop.
 *
 * It owns the UDP socket on --port (probes and gossip), push-pull exchanges
 * of the member table (carried by the peer transport), the timer that
 * wakes the core at its next deadline, name resolution of member hosts, and
 * the sealing of every packet and frame with --cluster-key. Everything here
 * runs on the loop thread except the functions marked "any thread", which
 * read a snapshot (one mutex guards it) or queue a command for the loop.
 */
#ifndef CHORUS_GOSSIP_H
#define CHORUS_GOSSIP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "../common/keyring.h"
#include "swim.h"

typedef struct gossip gossip_t;

/* Called on the loop thread when this node's incarnation rises: the caller
 * persists it so a restart rejoins with a higher one. */
typedef void (*gossip_incarnation_fn)(uint64_t incarnation, void *state);

/* Called on the loop thread, at most every snapshot period (100 ms), when
 * a member appeared, changed status or address, or was removed: members[0..n)
 * is the whole table, self first, valid during the call. */
typedef void (*gossip_members_fn)(const swim_member_t *members, size_t n, void *state);

/* The push-pull exchange rides on the node's peer transport. send delivers
 * this node's table (state[0..len), swim_codec.h state encoding) to the
 * peer at `to` and calls done exactly once, with the peer's table (status
 * 0; valid during the call) or an error. It returns nonzero only when done
 * will not be called. The peer's side calls gossip_on_push_pull. */
typedef void (*gossip_pp_done_fn)(int status, const uint8_t *state, size_t len, void *arg);
typedef struct {
  int (*send)(void *ctx, const swim_addr_t *to, const uint8_t *state, size_t len, uint64_t timeout_ms,
              gossip_pp_done_fn done, void *arg);
  void *ctx;
} gossip_transport_t;

typedef struct {
  const config_t *cfg;
  const char *node_id;
  const keyring_t *keyring;  /* seals and opens packets; changed on the loop only; NULL: plaintext */
  gossip_transport_t transport;
  uint64_t incarnation; /* persisted by the last run; 0 on first start */
  swim_phase_t phase;   /* this node's phase at start (swim_msg.h) */
  gossip_incarnation_fn on_incarnation;
  gossip_members_fn on_members; /* may be NULL */
  void *state;                  /* passed to both callbacks */
} gossip_opts_t;

typedef struct {
  atomic_uint_fast64_t packets_in, packets_out, bytes_in, bytes_out;
  atomic_uint_fast64_t dropped_malformed, dropped_auth, dropped_oversize, send_errors;
  atomic_uint_fast64_t push_pulls_ok, push_pulls_failed;
} gossip_counters_t;

/* A copy of the membership state for readers on other threads. */
typedef struct {
  swim_member_t *members; /* self first */
  size_t n;
  swim_rumor_t *rumors;
  size_t n_rumors;
  swim_stats_t stats;
  int health;
  bool joined; /* some seed answered (or there were no seeds) */
  bool left;
} gossip_view_t;

/* Loop thread. Binds the sockets and starts joining the seeds of cfg. */
int gossip_start(uv_loop_t *loop, const gossip_opts_t *opts, gossip_t **out);
/* Loop thread: graceful stop. Tells every live member this node is going
 * down (they mark it dead at once); call gossip_close afterwards. */
void gossip_announce_shutdown(gossip_t *g);
/* Loop thread: closes every handle; g is freed once the loop has run the
 * close callbacks (loop_destroy runs them). */
void gossip_close(gossip_t *g);

/* Loop thread: a peer's push-pull arrived: its table goes to the core, and
 * this node's table is appended to reply. */
int gossip_on_push_pull(gossip_t *g, const uint8_t *state, size_t len, buf_t *reply);
/* Any thread: some seed answered (or there were none to ask). */
bool gossip_joined(const gossip_t *g);

/* Any thread. */
int gossip_view(gossip_t *g, gossip_view_t *out);
void gossip_view_free(gossip_view_t *v);
const gossip_counters_t *gossip_counters(const gossip_t *g);
/* Queue an operator command for the loop; CHORUS_EINVAL for a malformed
 * address, CHORUS_ENOMEM. Results show in later views and in the log. */
int gossip_request_join(gossip_t *g, const char *host_port);
int gossip_request_leave(gossip_t *g);
int gossip_request_remove(gossip_t *g, const char *node_id);
/* Loop thread: this node's phase changes (disseminated at once). */
int gossip_set_phase(gossip_t *g, swim_phase_t phase);
/* Loop thread: LEFT about this node, disseminated (the end of a leave). */
int gossip_leave_now(gossip_t *g);

#endif
