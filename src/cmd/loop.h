/*
 * loop.h - the node's event loop: one libuv loop, run on the main thread,
 * that owns node state and the node's timers and signals.
 *
 * A single node's data requests need no coordination and go from the HTTP
 * threads straight to the storage writer (docs/architecture.md says why);
 * the loop handles SIGINT/SIGTERM and the graceful shutdown they start,
 * SIGHUP (the HTTPS certificate read again),
 * membership, the peer transport and request coordination, and measures
 * its own stalls (loop_stats.h).
 */
#ifndef CHORUS_LOOP_H
#define CHORUS_LOOP_H

#include <uv.h>

#include "../common/loop_stats.h"

typedef struct loop loop_t;

/* Called on the loop thread when SIGINT, SIGTERM or SIGHUP arrives. */
typedef void (*loop_signal_fn)(loop_t *l, int signum, void *state);

int loop_create(loop_t **out, loop_signal_fn on_signal, void *state);
void loop_destroy(loop_t *l); /* closes every handle still open */
uv_loop_t *loop_uv(loop_t *l);
/* The loop's stall figures, updated by the loop thread, readable from any thread. */
const loop_stats_t *loop_stats(const loop_t *l);
/* Runs the loop on the calling thread until loop_stop. */
int loop_run(loop_t *l);
void loop_stop(loop_t *l); /* loop thread only */

#endif
