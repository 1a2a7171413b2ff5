/*
 * hook_cache.c - keeps the record cache (rowcache.h) holding committed bytes
 * only: the records a group writes are staged, in order, and become the
 * cached ones only once the group's batch is on disk; a failed group leaves
 * the cache as it was. A failure to stage empties the cache rather than
 * leave an older record in it. A record too large for its share is not
 * copied, only marked so the key's entry is dropped; a staging buffer grown
 * past STAGE_KEEP_CAP by a group of large records is released after it.
 */
#include <stdlib.h>

#include "../common/err.h"
#include "engine_internal.h"

#define STAGE_KEEP 1
#define STAGE_DROP 2
#define STAGE_KEEP_CAP (1u << 20) /* bytes of staging buffer kept between groups */

typedef struct {
  engine_t *e;
  buf_t stage; /* (STAGE_KEEP, key, record | STAGE_DROP, key)*, each field length-prefixed */
} cache_t;

static void begin(void *st) {
  buf_reset(&((cache_t *)st)->stage);
}

static int record(void *st, engine_t *e, const engine_change_t *c, const void *slot) {
  (void)slot;
  cache_t *h = st;
  if (!e->records.max_bytes) return 0;
  bool keep = rowcache_would_keep(&e->records, c->key_len, c->encoded_len);
  buf_put_u8(&h->stage, keep ? STAGE_KEEP : STAGE_DROP);
  buf_put_lbytes(&h->stage, c->key, c->key_len);
  if (keep) buf_put_lbytes(&h->stage, c->encoded, c->encoded_len);
  return 0; /* a staging failure shows in stage.err: the commit then empties the cache */
}

static void commit(void *st) {
  cache_t *h = st;
  rowcache_t *rc = &h->e->records;
  buf_reader_t r;
  buf_reader_init(&r, h->stage.data, h->stage.len);
  while (!h->stage.err && r.left && !r.err) {
    size_t klen, vlen = 0;
    uint8_t tag = buf_read_u8(&r);
    const uint8_t *key = buf_read_lbytes(&r, ENGINE_KEY_MAX, &klen);
    const uint8_t *val = tag == STAGE_KEEP ? buf_read_lbytes(&r, SIZE_MAX, &vlen) : NULL;
    if (r.err) break;
    if (tag == STAGE_KEEP)
      (void)rowcache_put(rc, key, klen, val, vlen);
    else
      rowcache_erase(rc, key, klen);
  }
  if (h->stage.err || r.err) rowcache_clear(rc); /* some record could not be staged: keep none */
  if (h->stage.cap > STAGE_KEEP_CAP) buf_free(&h->stage);
  engine_stats_t *s = &h->e->stats;
  atomic_store_explicit(&s->record_cache_hits, rc->hits, memory_order_relaxed);
  atomic_store_explicit(&s->record_cache_misses, rc->misses, memory_order_relaxed);
  atomic_store_explicit(&s->record_cache_bytes, rc->bytes, memory_order_relaxed);
  atomic_store_explicit(&s->record_cache_entries, rc->count, memory_order_relaxed);
}

static void fail(void *st) {
  cache_t *h = st;
  if (h->stage.cap > STAGE_KEEP_CAP) buf_free(&h->stage);
}

static void close_hook(void *st) {
  cache_t *h = st;
  buf_free(&h->stage);
  free(h);
}

static const engine_hook_ops_t ops = {
    .begin = begin, .record = record, .commit = commit, .fail = fail, .close = close_hook};

int hook_cache_open(engine_t *e, engine_batch_hook_t *out) {
  cache_t *h = calloc(1, sizeof *h);
  if (!h) return CHORUS_ENOMEM;
  h->e = e;
  buf_init(&h->stage);
  *out = (engine_batch_hook_t){.ops = &ops, .st = h};
  return 0;
}
