/*
 * engine_query.c - reads of the store from any thread: the event log, the
 * conflict index and LevelDB's properties. They use LevelDB iterators,
 * which see a consistent snapshot without the writer's help; an iterator
 * that meets an error fails the read instead of returning a short list.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"
#include "../common/log.h"
#include "engine_internal.h"

int engine_events(engine_t *e, uint64_t since, size_t limit, event_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (limit == 0) return 0;
  event_t *evs = calloc(limit, sizeof *evs);
  if (!evs) return CHORUS_ENOMEM;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  dbkey_t k;
  dbkey_u64(&k, KEY_EVENT, since == UINT64_MAX ? since : since + 1);
  int rc = 0;
  size_t cnt = 0;
  for (leveldb_iter_seek(it, k.b, k.len); leveldb_iter_valid(it) && cnt < limit; leveldb_iter_next(it)) {
    size_t klen = 0, vlen = 0;
    const char *key = leveldb_iter_key(it, &klen);
    if (klen != 9 || key[0] != KEY_EVENT) break;
    const char *v = leveldb_iter_value(it, &vlen);
    event_init(&evs[cnt]);
    rc = event_decode(v, vlen, &evs[cnt]);
    if (rc) {
      log_error("storage: event %llu is unreadable: %s", (unsigned long long)be_get_u64(key + 1),
                chorus_strerror(rc));
      break;
    }
    cnt++;
  }
  int it_rc = engine_iter_end(it, "read events");
  if (!rc) rc = it_rc;
  if (rc) {
    for (size_t i = 0; i < cnt; i++)
      event_free(&evs[i]);
    free(evs);
    return rc;
  }
  *out = evs;
  *n = cnt;
  return 0;
}

int engine_conflicts(engine_t *e, size_t limit, engine_conflict_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (limit == 0) return 0;
  engine_conflict_t *cs = calloc(limit, sizeof *cs);
  if (!cs) return CHORUS_ENOMEM;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  const char p = KEY_CONFLICT;
  const char *key;
  size_t klen, cnt = 0;
  int rc = 0;
  for (leveldb_iter_seek(it, &p, 1); cnt < limit && engine_iter_in(it, &p, 1, &key, &klen);
       leveldb_iter_next(it)) {
    size_t vlen = 0;
    const char *v = leveldb_iter_value(it, &vlen);
    cs[cnt].key = malloc(klen);
    if (!cs[cnt].key) {
      rc = CHORUS_ENOMEM;
      break;
    }
    memcpy(cs[cnt].key, key + 1, klen - 1);
    cs[cnt].key[klen - 1] = '\0';
    cs[cnt].key_len = klen - 1;
    cs[cnt].siblings =
        vlen == 4 ? (uint32_t)((uint8_t)v[0] << 24 | (uint8_t)v[1] << 16 | (uint8_t)v[2] << 8 | (uint8_t)v[3])
                  : 0;
    cnt++;
  }
  int it_rc = engine_iter_end(it, "read conflicts");
  if (!rc) rc = it_rc;
  if (rc) {
    for (size_t i = 0; i < cnt; i++)
      free(cs[i].key);
    free(cs);
    return rc;
  }
  *out = cs;
  *n = cnt;
  return 0;
}

char *engine_property(engine_t *e, const char *name) {
  return leveldb_property_value(e->db, name);
}
