/*
 * xfer.h - what the node reports of its ownership transfers (DESIGN §9;
 * coord_xfer.c does them): its phase, its range streams in progress and
 * done, and counters. A copy, for readers on any thread.
 */
#ifndef CHORUS_XFER_H
#define CHORUS_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/node_id.h"
#include "xfer_state.h"

#define XFER_STATUS_MAX 64 /* streams reported, the newest */

typedef struct {
  uint64_t keys_in, bytes_in;   /* records streamed to this node and merged */
  uint64_t keys_out, bytes_out; /* records handed off to their owners */
  uint64_t keys_dropped;        /* records dropped once their owners had them */
  uint64_t failures;            /* stream batches or hand-offs that failed (and were tried again) */
  uint64_t passes;              /* hand-off passes over the records not owned here */
} xfer_counters_t;

typedef struct {
  uint64_t id;
  xfer_reason_t reason;
  bool done, running;
  char peer[NODE_ID_MAX + 1]; /* the source streamed from */
  size_t ranges;
  uint64_t tokens, tokens_done; /* of the token space: the ranges' size, and how far the stream is */
  uint64_t keys, bytes;
  double rate;                      /* bytes/s, recent */
  uint64_t started_ms, finished_ms; /* wall clock; finished 0 while running */
  uint32_t failures;                /* in a row */
} xfer_entry_t;

typedef struct {
  uint8_t phase; /* swim_phase_t */
  bool refusing; /* leaving: the last pass, writes refused */
  bool sweeping; /* a hand-off pass is running */
  xfer_counters_t counters;
  xfer_entry_t entries[XFER_STATUS_MAX];
  size_t n;
} xfer_status_t;

#endif
