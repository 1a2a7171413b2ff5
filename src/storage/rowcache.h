/*
 * rowcache.h - the record cache: the newest committed encoding of recently
 * used keys' records, so that the writer can read a key's state without a
 * LevelDB lookup (a memtable walk, then SSTable index and block reads).
 *
 * Pure data structure, no I/O, no locking: one thread owns a cache (the
 * engine's writer). Its owner keeps the invariant that an entry holds exactly
 * the bytes LevelDB holds for that key: it puts a record only once the batch
 * that wrote it has committed, and a miss is always safe (the owner then
 * reads LevelDB). Hence every failure here leaves the key absent rather
 * than stale.
 *
 * Bounded by bytes (entry header, key and value counted), least recently
 * used entries evicted first; a value too large for its share of the bound
 * is not kept. Buckets are chosen by SipHash under a random key, so clients
 * cannot pick keys that pile into one bucket.
 */
#ifndef CHORUS_ROWCACHE_H
#define CHORUS_ROWCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/siphash.h"

typedef struct rowcache_entry rowcache_entry_t;

typedef struct {
  rowcache_entry_t **buckets; /* nbuckets chains, NULL when disabled */
  size_t nbuckets;            /* a power of two */
  size_t count, bytes, max_bytes;
  rowcache_entry_t *newest, *oldest; /* recency list */
  uint8_t seed[SIPHASH_KEY_BYTES];
  uint64_t hits, misses, evictions;
} rowcache_t;

/* max_bytes 0 gives a disabled cache (every get misses, puts keep nothing). */
int rowcache_init(rowcache_t *c, size_t max_bytes, const uint8_t seed[SIPHASH_KEY_BYTES]);
void rowcache_free(rowcache_t *c);
/* true on a hit, with the bytes in *val and *vlen (valid until the next put, erase or clear). */
bool rowcache_get(rowcache_t *c, const void *key, size_t klen, const uint8_t **val, size_t *vlen);
/* Keeps a copy of val as key's bytes. On any failure (CHORUS_ENOMEM) or when
 * the value is too large to keep, the key is left absent. */
int rowcache_put(rowcache_t *c, const void *key, size_t klen, const void *val, size_t vlen);
void rowcache_erase(rowcache_t *c, const void *key, size_t klen);
/* Whether a put of this size would keep the value (the cache is on and the
 * entry within its share of the bound). */
bool rowcache_would_keep(const rowcache_t *c, size_t klen, size_t vlen);
void rowcache_clear(rowcache_t *c);
/* What an entry costs against max_bytes. */
size_t rowcache_entry_cost(size_t klen, size_t vlen);

#endif
