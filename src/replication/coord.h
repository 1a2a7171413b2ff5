/*
 * coord.h - the node's replication service, on the loop thread: it owns
 * the peer transport, answers peers' requests (membership push-pull,
 * replica writes and reads, forwarded client writes, event logs), and
 * coordinates client requests over the ring (quorum writes and reads, read
 * repair, sloppy quorum with hints).
 *
 * Threads: coord_start / coord_close and the callbacks run on the loop
 * thread. Client requests come from HTTP threads through coord_submit,
 * which queues them for the loop; the engine's writer thread hands its
 * completions back the same way. Nothing else is shared.
 */
#ifndef CHORUS_COORD_H
#define CHORUS_COORD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../common/config.h"
#include "../gossip/gossip.h"
#include "../storage/engine.h"
#include "peer_net.h"
#include "view.h"

typedef struct coord coord_t;

typedef struct {
  const config_t *cfg;
  const char *node_id;
  engine_t *engine;
  view_holder_t *view;
} coord_opts_t;

/* Loop thread: binds the peer transport's listener. */
int coord_start(uv_loop_t *loop, const coord_opts_t *opts, coord_t **out);
/* Loop thread: the membership shell, once started (push-pulls arriving
 * before are refused). */
void coord_set_gossip(coord_t *c, gossip_t *g);
/* What the membership shell sends its push-pulls through. */
gossip_transport_t coord_gossip_transport(coord_t *c);
/* Loop thread: stops accepting peers' requests, fails what is in flight. */
void coord_close(coord_t *c);

const peer_net_counters_t *coord_peer_counters(const coord_t *c);

#endif
