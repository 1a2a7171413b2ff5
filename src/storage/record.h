/*
 * record.h - the on-disk form of a key's versions (a dvv_t).
 *
 * Layout (version 1):
 *   'C' 'R' 0x01                      magic and format version
 *   varint nsiblings                  1..RECORD_MAX_SIBLINGS
 *   per sibling:
 *     u8 flags                        bit 0 tombstone; other bits must be 0
 *     lbytes node, varint counter     the dot
 *     u64be ts_ms
 *     vv ctx                          (vv_encode)
 *     lbytes value                    empty for tombstones
 *   u32be crc32c of everything before it
 * The decoder rejects any truncation, trailing byte, checksum mismatch,
 * unknown version or flag, and any state violating the dvv_t invariants.
 */
#ifndef CHORUS_RECORD_H
#define CHORUS_RECORD_H

#include <stddef.h>

#include "../common/buf.h"
#include "dvv.h"

#define RECORD_VERSION 1
#define RECORD_MAX_SIBLINGS 1024
#define RECORD_MAX_VALUE (64u * 1024 * 1024)

/* Appends the encoding of d to out. CHORUS_EINVAL for an empty d. */
int record_encode(const dvv_t *d, buf_t *out);
/* Appends the encoding of d without its values (every value empty): its
 * versions, which a peer compares with its own (dvv_covers). */
int record_encode_bare(const dvv_t *d, buf_t *out);
/* d (initialised) is replaced by the decoded state; on error it is left empty
 * and CHORUS_ECORRUPT (or CHORUS_ENOMEM) is returned. */
int record_decode(const void *p, size_t len, dvv_t *d);

#endif
