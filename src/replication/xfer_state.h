/*
 * xfer_state.h - what a node keeps on disk of its ownership transfers
 * (DESIGN §9), so that a restart resumes them: its phase (a leave or a
 * join in progress) and each range stream it pulls, with the position of
 * the last batch it applied durably. Pure: a struct and its codec.
 *
 * Layout (version 1), the whole file:
 *   'X' 'S' 0x01        magic and version
 *   u8 phase            swim_phase_t
 *   u8 flags            bit 0: the leave was forced; others 0
 *   u64be next_id       the id the next stream gets
 *   u32be n             streams, at most XFER_STATE_MAX_PULLS
 *   per stream:
 *     u64be id, u8 reason (xfer_reason_t), u8 done (0 or 1)
 *     u8 n_sources      at most PLAN_MAX_REPLICAS; each: u8 len, node id
 *     u32be nr          ranges, 1..XFER_STATE_MAX_RANGES; each u64be lo, hi
 *                       (lo <= hi, sorted, not touching: normalised)
 *     u8 started        0 or 1: the cursor below is a position
 *     u64be token, u16be key_len (1..ENGINE_KEY_MAX when started, else 0
 *                       and token 0), key bytes
 *     u64be keys, bytes, started_ms, finished_ms
 *   u32be crc32c of everything before it
 * The decoder takes untrusted bytes (a damaged disk): it rejects a wrong
 * magic, version or checksum, any count, length or flag out of bounds, an
 * invalid node id, ranges out of order, truncation and trailing bytes
 * (CHORUS_ECORRUPT), and allocates only for what it actually reads.
 */
#ifndef CHORUS_XFER_STATE_H
#define CHORUS_XFER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/node_id.h"
#include "../storage/engine.h"
#include "../storage/merkle.h"
#include "plan.h"

#define XFER_STATE_MAX_PULLS 4096
#define XFER_STATE_MAX_RANGES 65536

typedef enum {
  XFER_JOIN = 1,   /* this node joins: it streams what it will own */
  XFER_REMOVE = 2, /* a member was removed: this node re-replicates what it gained */
} xfer_reason_t;

typedef struct {
  uint64_t id;
  xfer_reason_t reason;
  bool done;
  char sources[PLAN_MAX_REPLICAS][NODE_ID_MAX + 1];
  size_t n_sources;
  merkle_range_t *ranges; /* malloc'd */
  size_t nr;
  engine_cursor_t cursor;           /* after the last record applied durably */
  uint64_t keys, bytes;             /* applied so far */
  uint64_t started_ms, finished_ms; /* wall clock; finished 0 while running */
} xfer_pull_t;

typedef struct {
  uint8_t phase; /* swim_phase_t */
  bool forced;
  uint64_t next_id;
  xfer_pull_t *pulls; /* malloc'd */
  size_t n;
} xfer_state_t;

/* Appends the encoding of s to out. CHORUS_EINVAL for what the decoder
 * would refuse. */
int xfer_state_encode(const xfer_state_t *s, buf_t *out);
/* s is overwritten (free it with xfer_state_free, also after an error). */
int xfer_state_decode(const void *p, size_t len, xfer_state_t *s);
void xfer_state_free(xfer_state_t *s);

#endif
