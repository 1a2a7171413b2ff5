/*
 * engine_recover.c - start-up: refuse a store in an unknown format, bring an
 * older format up to date, and recover the writer's sequences and node
 * clock from the newest entries.
 *
 * Every read here checks the iterator's error: a store that cannot be read
 * is refused rather than taken for an empty one, since an unreadable event
 * log read as empty would restart event ids at 1 and the node clock at zero,
 * and this node's new dots could then repeat old ones.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "../common/be.h"
#include "../common/err.h"
#include "../common/log.h"
#include "engine_internal.h"
#include "reqlog.h"

#define STORE_FORMAT "3"
#define STORE_FORMAT_V2 "2" /* records keyed by their key alone ('d' key) */
#define STORE_FORMAT_V1 "1" /* as 2, and request-log entries held rendered HTTP replies */
#define BATCH_KEYS 10000    /* keys one start-up batch deletes or rewrites */

static const char FORMAT_META[] = {KEY_META, 'f', 'o', 'r', 'm', 'a', 't'};
static const char ACTOR_META[] = {KEY_META, 'a', 'c', 't', 'o', 'r'};
static const char DROP_FLOOR_META[] = {KEY_META, 'd', 'r', 'o', 'p'};

int engine_raise_drop_floor(engine_t *e, uint64_t counter) {
  if (counter <= e->drop_floor) return 0;
  e->drop_floor = counter; /* at once: a later write of this group sees it; a floor above disk is harmless */
  char v[8];
  be_put_u64(v, counter);
  engine_batch_put(e, DROP_FLOOR_META, sizeof DROP_FLOOR_META, v, sizeof v);
  return 0;
}

/* The drop floor kept by the last run (0: this store never dropped a record). */
static int load_drop_floor(engine_t *e) {
  char *err = NULL;
  size_t vlen = 0;
  char *v = leveldb_get(e->db, e->ropts, DROP_FLOOR_META, sizeof DROP_FLOOR_META, &vlen, &err);
  if (err) return engine_ldb_err(err, "read drop floor", NULL);
  int rc = !v || vlen == 8 ? 0 : CHORUS_ECORRUPT;
  if (v && vlen == 8) e->drop_floor = be_get_u64(v);
  leveldb_free(v);
  if (rc) log_error("storage: %s holds a damaged drop floor", e->opts.dir);
  return rc;
}

/* The newest LevelDB key with this prefix byte: *out is an iterator
 * positioned on it, or NULL when there is none. */
static int seek_last(engine_t *e, char prefix, const char *what, leveldb_iterator_t **out) {
  *out = NULL;
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  char next = (char)(prefix + 1);
  leveldb_iter_seek(it, &next, 1);
  if (leveldb_iter_valid(it))
    leveldb_iter_prev(it);
  else
    leveldb_iter_seek_to_last(it);
  size_t klen = 0;
  if (leveldb_iter_valid(it)) {
    const char *k = leveldb_iter_key(it, &klen);
    if (klen >= 1 && k[0] == prefix) {
      *out = it;
      return 0;
    }
  }
  return engine_iter_end(it, what);
}

static int recover_events(engine_t *e) {
  leveldb_iterator_t *it;
  int rc = seek_last(e, KEY_EVENT, "find the newest event", &it);
  if (rc || !it) return rc;
  size_t klen = 0, vlen = 0;
  const char *k = leveldb_iter_key(it, &klen);
  const char *v = leveldb_iter_value(it, &vlen);
  event_t ev;
  event_init(&ev);
  rc = klen == 9 ? event_decode(v, vlen, &ev) : CHORUS_ECORRUPT;
  if (!rc && ev.id == be_get_u64(k + 1)) {
    e->event_seq = ev.id;
    rc = vv_copy(&e->clock, &ev.clock);
  } else if (!rc) {
    rc = CHORUS_ECORRUPT;
  }
  event_free(&ev);
  int it_rc = engine_iter_end(it, "read the newest event");
  if (rc) log_error("storage: the newest event log entry is unreadable: %s", chorus_strerror(rc));
  return rc ? rc : it_rc;
}

static int write_batch(engine_t *e, leveldb_writebatch_t *wb, const char *what) {
  char *err = NULL;
  leveldb_write(e->db, e->wnosync, wb, &err);
  leveldb_writebatch_clear(wb);
  return engine_ldb_err(err, what, NULL);
}

/* Deletes events older than the retention window (it may have shrunk since
 * the last run), in batches so a huge backlog does not build one giant batch. */
static int prune_events(engine_t *e) {
  if (e->event_seq <= e->opts.event_retention) return 0;
  uint64_t cutoff = e->event_seq - e->opts.event_retention; /* delete ids <= cutoff */
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  leveldb_writebatch_t *wb = leveldb_writebatch_create();
  dbkey_t k;
  dbkey_u64(&k, KEY_EVENT, 0);
  int rc = wb ? 0 : CHORUS_ENOMEM, n = 0;
  for (leveldb_iter_seek(it, k.b, k.len); !rc && leveldb_iter_valid(it); leveldb_iter_next(it)) {
    size_t klen = 0;
    const char *key = leveldb_iter_key(it, &klen);
    if (klen != 9 || key[0] != KEY_EVENT || be_get_u64(key + 1) > cutoff) break;
    leveldb_writebatch_delete(wb, key, klen);
    if (++n % BATCH_KEYS == 0) rc = write_batch(e, wb, "prune events");
  }
  int it_rc = engine_iter_end(it, "scan events to prune");
  if (!rc) rc = it_rc;
  if (!rc) rc = write_batch(e, wb, "prune events");
  if (wb) leveldb_writebatch_destroy(wb);
  if (!rc && n)
    log_info("storage: pruned %d events beyond the retention of %llu", n,
             (unsigned long long)e->opts.event_retention);
  return rc;
}

static int recover_requests(engine_t *e) {
  leveldb_iterator_t *it;
  int rc = seek_last(e, KEY_REQSEQ, "find the newest request", &it);
  if (rc || !it) return rc;
  size_t klen = 0;
  const char *k = leveldb_iter_key(it, &klen);
  rc = klen == 9 ? 0 : CHORUS_ECORRUPT;
  if (!rc) e->request_seq = be_get_u64(k + 1);
  int it_rc = engine_iter_end(it, "read the newest request");
  return rc ? rc : it_rc;
}

/* Format 1 kept rendered HTTP replies in the request log. Each such entry
 * becomes a mark that the request was applied here (REQLOG_REPLICATED with
 * the same op and key), so a retry after the upgrade is still not applied
 * twice; it is answered from the key's current state. */
static int upgrade_request_log(engine_t *e) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  leveldb_writebatch_t *wb = leveldb_writebatch_create();
  buf_t enc;
  buf_init(&enc);
  const char p = KEY_REQUEST;
  const char *k;
  size_t klen;
  int rc = wb ? 0 : CHORUS_ENOMEM, n = 0;
  for (leveldb_iter_seek(it, &p, 1); !rc && engine_iter_in(it, &p, 1, &k, &klen); leveldb_iter_next(it)) {
    size_t vlen = 0;
    const char *v = leveldb_iter_value(it, &vlen);
    reqlog_entry_t entry = {.kind = REQLOG_REPLICATED};
    if (reqlog_decode_v1(v, vlen, &entry.op, &entry.key, &entry.key_len) != 0) continue;
    buf_reset(&enc);
    rc = reqlog_encode(&entry, &enc);
    if (rc) {
      rc = 0; /* cannot be carried over (an out-of-range field): dropped */
      leveldb_writebatch_delete(wb, k, klen);
    } else {
      leveldb_writebatch_put(wb, k, klen, (const char *)enc.data, enc.len);
    }
    if (++n % BATCH_KEYS == 0) rc = write_batch(e, wb, "upgrade the request log");
  }
  int it_rc = engine_iter_end(it, "scan the request log");
  if (!rc) rc = it_rc;
  if (!rc) rc = write_batch(e, wb, "upgrade the request log");
  if (wb) leveldb_writebatch_destroy(wb);
  buf_free(&enc);
  if (!rc && n) log_info("storage: carried %d request-log entries over to format %s", n, STORE_FORMAT);
  return rc;
}

/* Formats 1 and 2 kept a record under 'd' key; format 3 keeps it under
 * KEY_DATA, its token, key (records in token order: a token range is one
 * scan). Each batch moves some records whole (put the new key, delete the
 * old), so a crash part-way leaves every record in exactly one place and
 * the next start moves the rest. */
static int upgrade_records(engine_t *e) {
  leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ropts);
  leveldb_writebatch_t *wb = leveldb_writebatch_create();
  const char p = KEY_DATA_V2;
  const char *k;
  size_t klen;
  int rc = wb ? 0 : CHORUS_ENOMEM, n = 0, dropped = 0;
  for (leveldb_iter_seek(it, &p, 1); !rc && engine_iter_in(it, &p, 1, &k, &klen); leveldb_iter_next(it)) {
    if (klen >= 2 && klen - 1 <= ENGINE_KEY_MAX) {
      size_t vlen = 0;
      const char *v = leveldb_iter_value(it, &vlen);
      dbkey_t nk;
      (void)dbkey_record(&nk, k + 1, klen - 1);
      leveldb_writebatch_put(wb, nk.b, nk.len, v, vlen);
    } else {
      dropped++; /* no key could have made it */
    }
    leveldb_writebatch_delete(wb, k, klen);
    if (++n % BATCH_KEYS == 0) rc = write_batch(e, wb, "move records");
  }
  int it_rc = engine_iter_end(it, "scan records to move");
  if (!rc) rc = it_rc;
  if (!rc) rc = write_batch(e, wb, "move records");
  if (wb) leveldb_writebatch_destroy(wb);
  if (!rc && n) log_info("storage: moved %d records into token order (format %s)", n - dropped, STORE_FORMAT);
  if (!rc && dropped) log_error("storage: dropped %d entries that were not records of any key", dropped);
  return rc;
}

static int stamp_format(engine_t *e) {
  char *err = NULL;
  leveldb_put(e->db, e->wsync, FORMAT_META, sizeof FORMAT_META, STORE_FORMAT, strlen(STORE_FORMAT), &err);
  return engine_ldb_err(err, "write format", NULL);
}

/* The actor of this store's dots (DESIGN §9: dots are never reused). A
 * store made before actors were stored uses the node id. A new store uses
 * the node id too, unless opts.new_actor says the node may have held data
 * under its id before (it has seeds: it joins a cluster that may remember
 * it): then "<id>.<8 random hex>", so a replica that lost its data and
 * came back under its old --node-id never hands out a dot its peers
 * already hold (a new write would look old and be repaired away). The
 * actor is stored before the format, so a crash in between leaves a store
 * that is new again, and gets a new actor again. */
static int load_actor(engine_t *e, bool is_new) {
  char *err = NULL;
  size_t vlen = 0;
  char *v = leveldb_get(e->db, e->ropts, ACTOR_META, sizeof ACTOR_META, &vlen, &err);
  if (err) return engine_ldb_err(err, "read actor", NULL);
  if (v && !is_new) {
    bool ok = vlen > 0 && vlen <= VV_NODE_MAX && vv_node_valid(v, vlen);
    if (ok) {
      memcpy(e->actor, v, vlen);
      e->actor[vlen] = '\0';
    } else {
      log_error("storage: %s holds an invalid actor id", e->opts.dir);
    }
    leveldb_free(v);
    return ok ? 0 : CHORUS_ECORRUPT;
  }
  leveldb_free(v);
  snprintf(e->actor, sizeof e->actor, "%s", e->node_id);
  if (!is_new) return 0;
  if (e->opts.new_actor) {
    uint8_t r[4];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) return CHORUS_EIO;
    size_t keep = strlen(e->node_id);
    if (keep > VV_NODE_MAX - 9) keep = VV_NODE_MAX - 9;
    snprintf(e->actor, sizeof e->actor, "%.*s.%02x%02x%02x%02x", (int)keep, e->node_id, r[0], r[1], r[2],
             r[3]);
    log_info("storage: new store under a node id that may have held data before: dots use actor %s",
             e->actor);
  }
  leveldb_put(e->db, e->wsync, ACTOR_META, sizeof ACTOR_META, e->actor, strlen(e->actor), &err);
  return engine_ldb_err(err, "write actor", NULL);
}

/* Refuses a store written in a format this build does not know, brings a
 * format 1 or 2 store up to date, stamps a new one. */
static int check_format(engine_t *e) {
  char *err = NULL;
  size_t vlen = 0;
  char *v = leveldb_get(e->db, e->ropts, FORMAT_META, sizeof FORMAT_META, &vlen, &err);
  if (err) return engine_ldb_err(err, "read format", NULL);
  e->created = v == NULL;
  int rc = load_actor(e, v == NULL);
  if (!rc) rc = load_drop_floor(e);
  if (rc) {
    leveldb_free(v);
    return rc;
  }
  if (!v) return stamp_format(e);
  bool current = vlen == strlen(STORE_FORMAT) && memcmp(v, STORE_FORMAT, vlen) == 0;
  bool v2 = vlen == strlen(STORE_FORMAT_V2) && memcmp(v, STORE_FORMAT_V2, vlen) == 0;
  bool v1 = vlen == strlen(STORE_FORMAT_V1) && memcmp(v, STORE_FORMAT_V1, vlen) == 0;
  if (!current && !v2 && !v1)
    log_error("storage: %s holds data in an unknown format '%.*s'", e->opts.dir, (int)vlen, v);
  leveldb_free(v);
  if (current) return 0;
  if (!v2 && !v1) return CHORUS_ECORRUPT;
  if (v1) rc = upgrade_request_log(e);
  if (!rc) rc = upgrade_records(e);
  return rc ? rc : stamp_format(e);
}

int engine_recover(engine_t *e) {
  int rc = check_format(e);
  if (!rc) rc = recover_events(e);
  if (!rc) rc = prune_events(e);
  if (!rc) rc = recover_requests(e);
  if (!rc) rc = engine_count_hints(e);
  return rc;
}
