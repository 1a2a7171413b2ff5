/*
 * engine_keys.c - the engine's LevelDB key space (engine.h lists it) and the
 * small helpers every engine file uses to read LevelDB: error mapping, point
 * reads, prefix scans whose errors are never lost.
 *
 * Invariant: a key is built only into a dbkey_t, whose size holds the
 * longest key of any prefix (a hint's: prefix, owner, NUL, user key), and
 * callers bound the user key by ENGINE_KEY_MAX before (engine_submit does).
 */
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../ring/ring.h"
#include "engine_internal.h"
#include "record.h"

void dbkey_bytes(dbkey_t *k, char prefix, const void *p, size_t n) {
  k->b[0] = prefix;
  memcpy(k->b + 1, p, n);
  k->len = n + 1;
}

void dbkey_u64(dbkey_t *k, char prefix, uint64_t v) {
  k->b[0] = prefix;
  be_put_u64(k->b + 1, v);
  k->len = 9;
}

void dbkey_u64_bytes(dbkey_t *k, char prefix, uint64_t v, const void *p, size_t n) {
  dbkey_u64(k, prefix, v);
  memcpy(k->b + 9, p, n);
  k->len = 9 + n;
}

uint64_t dbkey_record(dbkey_t *k, const char *key, size_t n) {
  uint64_t token = ring_key_token(key, n);
  dbkey_u64_bytes(k, KEY_DATA, token, key, n);
  return token;
}

void dbkey_record_seek(dbkey_t *k, uint64_t token) {
  dbkey_u64(k, KEY_DATA, token);
}

bool record_key_split(const char *k, size_t klen, uint64_t *token, const char **key, size_t *key_len) {
  if (klen < 10 || klen > 9 + ENGINE_KEY_MAX || k[0] != KEY_DATA) return false;
  *token = be_get_u64(k + 1);
  *key = k + 9;
  *key_len = klen - 9;
  return true;
}

/* 'h' owner 0x00 key: owner ids cannot hold a NUL, so the split is unambiguous. */
void dbkey_hint(dbkey_t *k, const char *owner, const char *key, size_t n) {
  size_t olen = strlen(owner);
  k->b[0] = KEY_HINT;
  memcpy(k->b + 1, owner, olen);
  k->b[1 + olen] = '\0';
  memcpy(k->b + 2 + olen, key, n);
  k->len = 2 + olen + n;
}

/* Splits a hint's LevelDB key ('h' owner 0x00 key) into its owner (copied)
 * and key; false when it is not one. */
bool hint_key_split(const char *k, size_t klen, char owner[VV_NODE_MAX + 1], const char **key,
                    size_t *key_len) {
  if (klen < 2 || k[0] != KEY_HINT) return false;
  size_t max = klen - 1 < VV_NODE_MAX + 1 ? klen - 1 : VV_NODE_MAX + 1;
  const char *nul = memchr(k + 1, '\0', max);
  if (!nul) return false;
  size_t olen = (size_t)(nul - (k + 1));
  if (!vv_node_valid(k + 1, olen)) return false;
  memcpy(owner, k + 1, olen);
  owner[olen] = '\0';
  *key = nul + 1;
  *key_len = klen - 2 - olen;
  return *key_len >= 1 && *key_len <= ENGINE_KEY_MAX;
}

bool engine_node_ok(const char *id) {
  return id && vv_node_valid(id, strnlen(id, VV_NODE_MAX + 1));
}

int engine_ldb_err(char *err, const char *what, bool *no_space) {
  if (!err) return 0;
  if (no_space) *no_space = strstr(err, "No space") != NULL;
  log_error("storage: %s: %s", what, err);
  leveldb_free(err);
  return CHORUS_EIO;
}

int engine_db_get(engine_t *e, const dbkey_t *k, const char *what, char **v, size_t *vlen) {
  char *err = NULL;
  *vlen = 0;
  *v = leveldb_get(e->db, e->ropts, k->b, k->len, vlen, &err);
  return engine_ldb_err(err, what, NULL);
}

bool engine_iter_in(leveldb_iterator_t *it, const char *prefix, size_t n, const char **key, size_t *klen) {
  if (!leveldb_iter_valid(it)) return false;
  *key = leveldb_iter_key(it, klen);
  return *klen >= n && memcmp(*key, prefix, n) == 0;
}

int engine_iter_end(leveldb_iterator_t *it, const char *what) {
  if (!it) return 0;
  char *err = NULL;
  leveldb_iter_get_error(it, &err);
  leveldb_iter_destroy(it);
  return engine_ldb_err(err, what, NULL);
}

int engine_each_record(engine_t *e, leveldb_readoptions_t *ro, engine_record_fn fn, void *arg,
                       uint64_t *damaged) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, ro ? ro : e->ropts);
  const char p = KEY_DATA;
  const char *k;
  size_t klen;
  dvv_t d;
  dvv_init(&d);
  int rc = 0;
  for (leveldb_iter_seek(it, &p, 1); !rc && engine_iter_in(it, &p, 1, &k, &klen); leveldb_iter_next(it)) {
    size_t rlen = 0;
    const char *r = leveldb_iter_value(it, &rlen);
    uint64_t token;
    const char *key;
    size_t key_len;
    if (!record_key_split(k, klen, &token, &key, &key_len) || ring_key_token(key, key_len) != token ||
        record_decode(r, rlen, &d) != 0) {
      if (damaged) (*damaged)++;
      continue;
    }
    rc = fn(arg, token, key, key_len, &d);
  }
  dvv_free(&d);
  int end = engine_iter_end(it, "scan records");
  return rc ? rc : end;
}
