/*
 * engine_range.c - reading the records of token ranges in order, from a
 * cursor: what an ownership transfer streams (DESIGN §9).
 *
 * Records sit under 'k' u64be token, key (engine_keys.c), so the records of
 * a range are one seek and a run of the iterator, and a position in the
 * stream is (token, key): strictly after it is where the next batch
 * starts, whatever was written meanwhile. Read-only, any thread.
 */
#include <string.h>

#include "../common/err.h"
#include "../ring/ring.h"
#include "engine_internal.h"

/* Whether (t, k) comes strictly after the cursor (at, ak). */
static bool after(uint64_t t, const char *k, size_t klen, uint64_t at, const char *ak, size_t alen) {
  if (t != at) return t > at;
  size_t n = klen < alen ? klen : alen;
  int c = memcmp(k, ak, n);
  return c > 0 || (c == 0 && klen > alen);
}

int engine_records_in(engine_t *e, const merkle_range_t *r, size_t nr, const engine_cursor_t *from,
                      engine_range_fn fn, void *arg) {
  if (!e || (nr && !r) || !fn) return CHORUS_EINVAL;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  if (!it) return CHORUS_ENOMEM;
  int rc = 0;
  bool stopped = false;
  for (size_t i = 0; i < nr && !rc && !stopped; i++) {
    if (from && from->started && from->token > r[i].hi) continue;
    uint64_t start = r[i].lo;
    if (from && from->started && from->token > start) start = from->token;
    dbkey_t k;
    dbkey_record_seek(&k, start);
    for (leveldb_iter_seek(it, k.b, k.len); leveldb_iter_valid(it); leveldb_iter_next(it)) {
      size_t klen, vlen;
      const char *dk = leveldb_iter_key(it, &klen);
      uint64_t token;
      const char *key;
      size_t key_len;
      if (!klen || dk[0] != KEY_DATA) break;
      if (!record_key_split(dk, klen, &token, &key, &key_len) || ring_key_token(key, key_len) != token)
        continue;
      if (token > r[i].hi) break;
      if (from && from->started && !after(token, key, key_len, from->token, from->key, from->key_len))
        continue;
      const char *v = leveldb_iter_value(it, &vlen);
      rc = fn(arg, token, key, key_len, (const uint8_t *)v, vlen);
      if (rc == ENGINE_RANGE_STOP) {
        rc = 0;
        stopped = true;
        break;
      }
      if (rc) break;
    }
  }
  int end = engine_iter_end(it, "scan a token range");
  if (rc) return rc;
  if (end) return end;
  return stopped ? ENGINE_RANGE_STOP : 0;
}
