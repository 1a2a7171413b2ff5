/*
 * event.h - one entry of a node's event log and its on-disk form.
 *
 * An event is something this node did (put, get, delete, merging a
 * replica's state, storing a hint; later member changes), stamped with the
 * node's Fidge/Mattern clock after the tick that the event caused. An event
 * caused by a message names the other node of that message (peer), so the
 * space-time diagram can draw the arrow. Events are stored under their id
 * (a per-node sequence, 1, 2, ...) in the same LevelDB batch as the data
 * they describe.
 *
 * Layout (version 2): 'C' 'E' 0x02, varint id, u8 type, u64be ts_ms,
 * lbytes node, lbytes peer (empty or a node id), lbytes key, lbytes preview,
 * vv clock, u32be crc32c.
 * Version 1 is the same without peer; it is still decoded (peer ""), and the
 * encoder always writes version 2, so a version-1 event re-encodes to other
 * bytes (and another causal hash) than it was read from.
 */
#ifndef CHORUS_EVENT_H
#define CHORUS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "vv.h"

#define EVENT_VERSION 2      /* what event_encode writes: the third byte of the magic */
#define EVENT_PREVIEW_MAX 64 /* bytes of the value kept in the event */
#define EVENT_KEY_MAX 1024

typedef enum {
  EVENT_PUT = 1,
  EVENT_GET = 2,
  EVENT_DELETE = 3,
  EVENT_REPLICATE = 4,      /* this replica merged a coordinator's state */
  EVENT_READ_REPAIR = 5,    /* this replica merged a state sent to repair a stale read */
  EVENT_HINT_STORED = 6,    /* this node stored a hint for another (peer = the intended owner) */
  EVENT_HINT_DELIVERED = 7, /* this replica merged a hint delivered to it */
  EVENT_ACK = 8,            /* this coordinator received a replica's acknowledgement of a write */
  EVENT_READ_REPLY = 9,     /* this coordinator received a replica's answer to a read */
  EVENT_REPAIR = 10,        /* this replica merged a state anti-entropy found it missing or behind on */
  EVENT_REAP = 11,          /* this replica dropped a tombstone every replica was known to hold */
} event_type_t;

typedef struct {
  uint64_t id; /* > 0 */
  event_type_t type;
  uint64_t ts_ms;
  char node[VV_NODE_MAX + 1];
  char peer[VV_NODE_MAX + 1]; /* "" or the other node of the message that caused the event */
  char *key;                  /* owned, NUL-terminated, key_len bytes */
  size_t key_len;
  char *preview; /* owned, NUL-terminated, preview_len <= EVENT_PREVIEW_MAX; may be NULL when empty */
  size_t preview_len;
  vv_t clock;
} event_t;

void event_init(event_t *ev);
void event_free(event_t *ev); /* frees owned fields and re-initialises */
/* "put", "get", "delete", "replicate", "read_repair", "hint_stored",
 * "hint_delivered", "ack", "read_reply"; "unknown" otherwise. */
const char *event_type_name(event_type_t t);
/* Copies at most EVENT_PREVIEW_MAX bytes of value into ev->preview, cut at
 * a UTF-8 character boundary. */
int event_set_preview(event_t *ev, const void *value, size_t len);
int event_encode(const event_t *ev, buf_t *out);
/* ev (initialised) is replaced; CHORUS_ECORRUPT on any malformed input. */
int event_decode(const void *p, size_t len, event_t *ev);
/* 16 lowercase hex chars + NUL: first 8 bytes of SHA-256 over the event's
 * encoding. Identifies the event and its causal position (its clock). When ev
 * cannot be encoded (invalid, or out of memory) out is the empty string. */
void event_causal_hash(const event_t *ev, char out[17]);

#endif
