/*
 * treelog.h - the stored forms of the anti-entropy tree's leaves
 * (hook_merkle.c keeps them; DESIGN §9): checkpoint chunks and journal
 * entries. Pure: no I/O.
 *
 * A chunk holds the leaves of TREELOG_CHUNK consecutive segments (all of
 * them when the tree has fewer):
 *   'T' 'C' 0x01   magic and version
 *   u32be n        leaves, exactly the count the reader expects
 *   n x u64be      leaf hashes, 0 for an empty segment
 *   u32be crc32c   of everything before it
 * A journal entry holds the leaves one committed write batch changed:
 *   'T' 'J' 0x01   magic and version
 *   u64be keys     records in the store after that batch
 *   u32be n        pairs, 1..TREELOG_PAIRS_MAX
 *   n x (u32be segment, u64be leaf)   the segment's new leaf (0: empty)
 *   u32be crc32c
 * The decoders take untrusted bytes: a wrong magic, version, count or
 * checksum, a segment outside the tree, truncation or trailing bytes are
 * CHORUS_ECORRUPT.
 */
#ifndef CHORUS_TREELOG_H
#define CHORUS_TREELOG_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define TREELOG_CHUNK 256
#define TREELOG_PAIRS_MAX (1u << 24) /* the most segments a tree has (MERKLE_BITS_MAX) */

void treelog_chunk_encode(buf_t *out, const uint64_t *leaves, size_t n);
/* Exactly n leaves into leaves[0..n). */
int treelog_chunk_decode(const void *p, size_t len, uint64_t *leaves, size_t n);

/* Starts an entry in out; returns its offset for treelog_entry_finish. */
size_t treelog_entry_begin(buf_t *out, uint64_t keys);
void treelog_entry_add(buf_t *out, uint32_t segment, uint64_t leaf);
/* Writes the count (pairs added since begin) and the checksum. */
void treelog_entry_finish(buf_t *out, size_t start, uint32_t n);

typedef struct {
  uint64_t keys;
  size_t n;
  const uint8_t *pairs; /* into the input: n x 12 bytes */
} treelog_entry_t;

/* Every segment must be below segments. */
int treelog_entry_decode(const void *p, size_t len, uint32_t segments, treelog_entry_t *out);
/* Pair i (< e->n) of a decoded entry. */
void treelog_entry_pair(const treelog_entry_t *e, size_t i, uint32_t *segment, uint64_t *leaf);

#endif
