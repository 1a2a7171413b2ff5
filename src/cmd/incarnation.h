/*
 * incarnation.h - <data-dir>/incarnation: the SWIM incarnation this node
 * last announced, so that a restart announces a higher one than any its
 * peers remember.
 *
 * Start-up reads it and stores the next one synchronously (before the loop
 * runs). A refutation while running raises it on the loop thread, which
 * must not wait for a disk: incarnation_store hands the write to libuv's
 * worker pool, one write at a time, and a value raised meanwhile is written
 * next (only the highest matters). If the process dies before the write, a
 * restart announces an incarnation its peers may already hold as suspect;
 * SWIM then refutes again with a higher one, so nothing worse than one
 * suspicion round follows.
 */
#ifndef CHORUS_INCARNATION_H
#define CHORUS_INCARNATION_H

#include <stdint.h>
#include <uv.h>

typedef struct incarnation incarnation_t;

/* Reads the stored incarnation (0 if none) into *last, stores *last + 1
 * durably, and returns the handle for later stores in *out. */
int incarnation_open(uv_loop_t *loop, const char *data_dir, uint64_t *last, incarnation_t **out);
/* Loop thread: stores inc in the background (coalesced, never lower). */
void incarnation_store(incarnation_t *f, uint64_t inc);
/* Loop thread, after the loop has stopped: writes a value still pending
 * and frees f (a write in flight frees it when its callback runs). */
void incarnation_close(incarnation_t *f);

#endif
