/*
 * treekeys.h - a list of (key, item hash) pairs: what one replica holds in
 * some segments of its anti-entropy tree (merkle.h), the body exchanged
 * when two replicas compare differing segments key by key.
 *
 * Layout (version 1):
 *   'C' 'K' 0x01       magic and version
 *   u32be n            entries, at most TREEKEYS_MAX
 *   per entry:
 *     varint key_len   1..TREEKEYS_KEY_MAX
 *     key bytes
 *     u64be hash       the key's item hash, never 0
 * The decoder takes untrusted bytes: it rejects a wrong magic or version,
 * a count the bytes cannot hold, an empty or over-long key, a zero hash,
 * truncation and trailing bytes (CHORUS_ECORRUPT). Entries are views into
 * the input. Order is the writer's business (the token index's order);
 * a reader that compares lists sorts them itself.
 */
#ifndef CHORUS_TREEKEYS_H
#define CHORUS_TREEKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define TREEKEYS_KEY_MAX 1024
#define TREEKEYS_MAX 1000000u

typedef struct {
  const char *key;
  size_t key_len;
  uint64_t hash;
} treekeys_entry_t;

/* Starts a list in out; returns its offset for treekeys_finish. */
size_t treekeys_begin(buf_t *out);
void treekeys_add(buf_t *out, const char *key, size_t key_len, uint64_t hash);
/* Writes the count of entries added since begin (n). */
void treekeys_finish(buf_t *out, size_t start, uint32_t n);

/* *out is a malloc'd array of *n entries pointing into p (NULL when 0). */
int treekeys_decode(const void *p, size_t len, treekeys_entry_t **out, size_t *n);

#endif
