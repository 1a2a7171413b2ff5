/*
 * events_part.h - one member's part of a cluster-events gather (COORD_EVENTS:
 * GET /api/v1/cluster/events, /api/v1/vector-clock in a cluster, the /ws
 * push) as data: the member's id, its node clock, how many events it has
 * recorded, a window of its event log and the keys it holds in conflict.
 *
 * The member that owns the log produces its part off the loop (a libuv
 * worker reads the engine and encodes), the peer transport carries it as
 * bytes in PEER_EVENTS_REPLY, and whoever answers renders it as JSON (an
 * HTTP thread, or a worker for /ws). Storage and peers speak data; JSON is
 * built only where waiting for it costs nothing. Pure: no I/O, no clock.
 *
 * Layout (version 1), in the framing of records and events:
 *   'C' 'G' 0x01                 magic and format version
 *   lbytes node                  the member's id (vv_encode_node)
 *   vv clock                     its node clock (vv_encode)
 *   varint total                 the id of its newest event (= events recorded)
 *   varint n_events              0..EVENTS_PART_MAX_EVENTS
 *   n_events x lbytes event      event.h encoding, version 2 only, at most
 *                                EVENTS_PART_EVENT_MAX bytes, ids strictly
 *                                increasing
 *   varint n_conflicts           0..EVENTS_PART_MAX_CONFLICTS
 *   n_conflicts x (lbytes key, varint siblings)
 *                                key 1..EVENT_KEY_MAX bytes of UTF-8 without
 *                                NUL, keys strictly increasing in byte order
 *                                (LevelDB's); siblings 0..RECORD_MAX_SIBLINGS
 *                                (0: the index entry was unreadable)
 *   u32be crc32c of everything before it
 * The whole encoding is at most EVENTS_PART_MAX_BYTES.
 *
 * The decoder takes untrusted bytes (a peer's reply): it checks the CRC
 * first, bounds every count and length by the bytes remaining and by the
 * maximum above before it allocates, and rejects trailing bytes, other
 * versions and any part that breaks the invariants (CHORUS_ECORRUPT). The
 * encoder refuses what the decoder would refuse, and an event of version 1
 * is never carried (it re-encodes as version 2), so a part's bytes are a
 * function of its content: encode(decode(b)) == b.
 */
#ifndef CHORUS_EVENTS_PART_H
#define CHORUS_EVENTS_PART_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../storage/event.h"
#include "../storage/vv.h"

#define EVENTS_PART_VERSION 1
#define EVENTS_PART_MAX_EVENTS 1000   /* the routes' largest limit per member */
#define EVENTS_PART_MAX_CONFLICTS 100 /* conflicting keys a member reports */
/* One event's encoding: the largest event_encode writes (a clock of
 * VV_MAX_ENTRIES entries with the longest node ids) is under 310 KiB. */
#define EVENTS_PART_EVENT_MAX (320u * 1024)
/* The whole part; below PEER_RECORD_MAX, so any part fits a peer reply. */
#define EVENTS_PART_MAX_BYTES (64u * 1024 * 1024)

typedef struct {
  char *key; /* owned, NUL-terminated, key_len bytes */
  size_t key_len;
  uint32_t siblings;
} events_part_conflict_t;

typedef struct {
  char node[VV_NODE_MAX + 1];
  vv_t clock;
  uint64_t total;
  event_t *events; /* owned array of n_events (each freed with event_free) */
  size_t n_events;
  events_part_conflict_t *conflicts; /* owned array of n_conflicts, keys owned */
  size_t n_conflicts;
} events_part_t;

void events_part_init(events_part_t *p);
/* Frees every owned field and re-initialises p. */
void events_part_free(events_part_t *p);

/* Appends the encoding of p to out. CHORUS_EINVAL for a part the decoder
 * would refuse (invalid node, an event that does not encode, ids or keys out
 * of order, a count or a conflict over its maximum), CHORUS_ETOOBIG when an
 * event's encoding would pass EVENTS_PART_EVENT_MAX or the whole
 * EVENTS_PART_MAX_BYTES, CHORUS_ENOMEM; on error out keeps its previous
 * length. */
int events_part_encode(const events_part_t *p, buf_t *out);

/* Decodes p[0..len) into out (initialised; replaced). Everything decoded is
 * copied: out owns it and does not point into p. CHORUS_ECORRUPT for any
 * malformed input, CHORUS_ENOMEM; on error out is left empty. */
int events_part_decode(const void *p, size_t len, events_part_t *out);

#endif
