/*
 * rowcache.c - the record cache (see rowcache.h).
 *
 * Chained hash table plus a doubly linked recency list through the same
 * entries. Invariants: every entry is on exactly one chain and on the list;
 * count and bytes are the sums over the entries; bytes <= max_bytes after
 * every put; the table grows (doubling) while count exceeds nbuckets, and a
 * failed growth only leaves the chains longer.
 */
#include "rowcache.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

struct rowcache_entry {
  rowcache_entry_t *chain;         /* next in the bucket */
  rowcache_entry_t *newer, *older; /* recency list */
  uint64_t hash;
  size_t klen, vlen;
  uint8_t bytes[]; /* key, then value */
};

#define ROWCACHE_MIN_BUCKETS 1024u
/* A single value may use at most this fraction of the bound. */
#define ROWCACHE_MAX_SHARE 16u

size_t rowcache_entry_cost(size_t klen, size_t vlen) {
  return sizeof(rowcache_entry_t) + klen + vlen;
}

int rowcache_init(rowcache_t *c, size_t max_bytes, const uint8_t seed[SIPHASH_KEY_BYTES]) {
  memset(c, 0, sizeof(*c));
  memcpy(c->seed, seed, SIPHASH_KEY_BYTES);
  if (!max_bytes) return 0;
  c->buckets = calloc(ROWCACHE_MIN_BUCKETS, sizeof(*c->buckets));
  if (!c->buckets) return CHORUS_ENOMEM;
  c->nbuckets = ROWCACHE_MIN_BUCKETS;
  c->max_bytes = max_bytes;
  return 0;
}

void rowcache_clear(rowcache_t *c) {
  rowcache_entry_t *e = c->newest;
  while (e) {
    rowcache_entry_t *next = e->older;
    free(e);
    e = next;
  }
  if (c->buckets) memset(c->buckets, 0, c->nbuckets * sizeof(*c->buckets));
  c->newest = c->oldest = NULL;
  c->count = c->bytes = 0;
}

void rowcache_free(rowcache_t *c) {
  rowcache_clear(c);
  free(c->buckets);
  c->buckets = NULL;
  c->nbuckets = 0;
  c->max_bytes = 0;
}

static rowcache_entry_t **slot_of(rowcache_t *c, uint64_t hash) {
  return &c->buckets[hash & (c->nbuckets - 1)];
}

/* The link pointing at key's entry (*link is NULL when absent). */
static rowcache_entry_t **find_link(rowcache_t *c, uint64_t hash, const void *key, size_t klen) {
  rowcache_entry_t **link = slot_of(c, hash);
  while (*link) {
    rowcache_entry_t *e = *link;
    if (e->hash == hash && e->klen == klen && memcmp(e->bytes, key, klen) == 0) break;
    link = &e->chain;
  }
  return link;
}

static void list_unlink(rowcache_t *c, rowcache_entry_t *e) {
  if (e->newer)
    e->newer->older = e->older;
  else
    c->newest = e->older;
  if (e->older)
    e->older->newer = e->newer;
  else
    c->oldest = e->newer;
  e->newer = e->older = NULL;
}

static void list_push_newest(rowcache_t *c, rowcache_entry_t *e) {
  e->older = c->newest;
  e->newer = NULL;
  if (c->newest) c->newest->newer = e;
  c->newest = e;
  if (!c->oldest) c->oldest = e;
}

/* Removes the entry *link points at. */
static void remove_at(rowcache_t *c, rowcache_entry_t **link) {
  rowcache_entry_t *e = *link;
  *link = e->chain;
  list_unlink(c, e);
  c->count--;
  c->bytes -= rowcache_entry_cost(e->klen, e->vlen);
  free(e);
}

static void evict_oldest(rowcache_t *c) {
  rowcache_entry_t *e = c->oldest;
  remove_at(c, find_link(c, e->hash, e->bytes, e->klen));
  c->evictions++;
}

/* Doubles the table; on failure keeps the old one. */
static void grow(rowcache_t *c) {
  size_t n = c->nbuckets * 2;
  if (n < c->nbuckets || n > SIZE_MAX / sizeof(*c->buckets)) return;
  rowcache_entry_t **b = calloc(n, sizeof(*b));
  if (!b) return;
  for (size_t i = 0; i < c->nbuckets; i++) {
    rowcache_entry_t *e = c->buckets[i];
    while (e) {
      rowcache_entry_t *next = e->chain;
      rowcache_entry_t **slot = &b[e->hash & (n - 1)];
      e->chain = *slot;
      *slot = e;
      e = next;
    }
  }
  free(c->buckets);
  c->buckets = b;
  c->nbuckets = n;
}

bool rowcache_get(rowcache_t *c, const void *key, size_t klen, const uint8_t **val, size_t *vlen) {
  if (!c->buckets) return false;
  uint64_t h = siphash24(c->seed, key, klen);
  rowcache_entry_t *e = *find_link(c, h, key, klen);
  if (!e) {
    c->misses++;
    return false;
  }
  c->hits++;
  if (c->newest != e) {
    list_unlink(c, e);
    list_push_newest(c, e);
  }
  *val = e->bytes + e->klen;
  *vlen = e->vlen;
  return true;
}

void rowcache_erase(rowcache_t *c, const void *key, size_t klen) {
  if (!c->buckets) return;
  rowcache_entry_t **link = find_link(c, siphash24(c->seed, key, klen), key, klen);
  if (*link) remove_at(c, link);
}

bool rowcache_would_keep(const rowcache_t *c, size_t klen, size_t vlen) {
  return c->buckets && klen <= c->max_bytes && vlen <= c->max_bytes &&
         rowcache_entry_cost(klen, vlen) <= c->max_bytes / ROWCACHE_MAX_SHARE;
}

int rowcache_put(rowcache_t *c, const void *key, size_t klen, const void *val, size_t vlen) {
  if (!c->buckets) return 0;
  uint64_t h = siphash24(c->seed, key, klen);
  rowcache_entry_t **link = find_link(c, h, key, klen);
  if (*link) remove_at(c, link);
  if (!rowcache_would_keep(c, klen, vlen)) return 0;
  size_t cost = rowcache_entry_cost(klen, vlen);
  rowcache_entry_t *e = malloc(cost);
  if (!e) return CHORUS_ENOMEM;
  e->hash = h;
  e->klen = klen;
  e->vlen = vlen;
  memcpy(e->bytes, key, klen);
  if (vlen) memcpy(e->bytes + klen, val, vlen);
  while (c->bytes + cost > c->max_bytes)
    evict_oldest(c);
  if (c->count >= c->nbuckets) grow(c);
  rowcache_entry_t **slot = slot_of(c, h);
  e->chain = *slot;
  *slot = e;
  list_push_newest(c, e);
  c->count++;
  c->bytes += cost;
  return 0;
}
