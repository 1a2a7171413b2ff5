/*
 * kv_store.c - the simulated store (see kv_store.h).
 *
 * One sorted table of slots holds both key spaces: a key's record is the
 * slot (owner "", key) and a hint is (owner, key), so hints for one owner
 * are a contiguous range in key order, as LevelDB's 'h' prefix keeps them.
 * Lookups are binary searches and inserts shift the table: O(slots), which
 * the simulator's few dozen keys make nothing. A slot is removed when a
 * hint is delivered or expires, and when tombstone collection reaps a
 * record (ENGINE_REAP: exactly the tombstones it names); the reaped states
 * are kept aside for the checker (kv_store_reaped), which counts a
 * collected delete as present.
 *
 * Clock: an op with an event (all but hint_delete and hint_expire) joins
 * the job's remote clock into the node clock and ticks it, and hands the
 * result back as job->clock; the others hand back the clock as it is.
 */
#include "kv_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "ring/ring.h"
#include "storage/record.h"
#include "storage/treekeys.h"
#include "sim_grow.h"

typedef struct {
  char owner[VV_NODE_MAX + 1]; /* "" for the key's own record */
  char *key;
  size_t key_len;
  dvv_t state;
  uint64_t stored_at_ms; /* hints */
} slot_t;

struct kv_store {
  char node_id[VV_NODE_MAX + 1];
  char actor[VV_NODE_MAX + 1]; /* of its dots: the node id, then "<id>.<epoch>" after a wipe */
  slot_t *v;
  size_t n, cap;
  vv_t clock;
  uint64_t events;
  double sabotage;
  rng_t rng;
  uint64_t sabotaged;
  uint64_t hint_ttl_ms; /* 0: hints never expire */
  uint64_t drop_floor;  /* the highest counter of actor in a record it dropped (as the engine) */
  kv_reaped_t *reaped;  /* the checker's record of collected tombstones; survives a wipe */
  size_t n_reaped, cap_reaped;
};

int kv_store_create(const char *node_id, double sabotage, uint64_t seed, kv_store_t **out) {
  kv_store_t *s = calloc(1, sizeof *s);
  if (!s) return CHORUS_ENOMEM;
  snprintf(s->node_id, sizeof s->node_id, "%s", node_id);
  snprintf(s->actor, sizeof s->actor, "%s", node_id);
  vv_init(&s->clock);
  s->sabotage = sabotage;
  rng_seed(&s->rng, seed);
  *out = s;
  return 0;
}

static void slot_free(slot_t *sl) {
  free(sl->key);
  dvv_free(&sl->state);
}

void kv_store_destroy(kv_store_t *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++)
    slot_free(&s->v[i]);
  free(s->v);
  for (size_t i = 0; i < s->n_reaped; i++) {
    free(s->reaped[i].key);
    dvv_free(&s->reaped[i].state);
  }
  free(s->reaped);
  vv_free(&s->clock);
  free(s);
}

static int slot_cmp(const slot_t *sl, const char *owner, const char *key, size_t key_len) {
  int c = strcmp(sl->owner, owner);
  if (c) return c;
  size_t m = sl->key_len < key_len ? sl->key_len : key_len;
  c = memcmp(sl->key, key, m);
  if (c) return c;
  return sl->key_len < key_len ? -1 : sl->key_len > key_len;
}

/* The index of (owner, key), or where it would be inserted (*found false). */
static size_t slot_find(const kv_store_t *s, const char *owner, const char *key, size_t key_len,
                        bool *found) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) { /* the first slot not before (owner, key) */
    size_t mid = lo + (hi - lo) / 2;
    if (slot_cmp(&s->v[mid], owner, key, key_len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < s->n && slot_cmp(&s->v[lo], owner, key, key_len) == 0;
  return lo;
}

/* The slot for (owner, key), inserted empty if absent; NULL when out of memory. */
static slot_t *slot_get(kv_store_t *s, const char *owner, const char *key, size_t key_len) {
  bool found;
  size_t i = slot_find(s, owner, key, key_len, &found);
  if (found) return &s->v[i];
  void *v = s->v;
  int rc = sim_grow(&v, &s->cap, s->n, sizeof *s->v, 64);
  s->v = v;
  if (rc) return NULL;
  char *k = malloc(key_len + 1);
  if (!k) return NULL;
  memcpy(k, key, key_len);
  k[key_len] = '\0';
  memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
  s->n++;
  slot_t *sl = &s->v[i];
  memset(sl, 0, sizeof *sl);
  snprintf(sl->owner, sizeof sl->owner, "%s", owner);
  sl->key = k;
  sl->key_len = key_len;
  dvv_init(&sl->state);
  return sl;
}

static void slot_remove(kv_store_t *s, slot_t *sl) {
  size_t i = (size_t)(sl - s->v);
  slot_free(sl);
  memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
  s->n--;
}

/* Stores state into sl unless the sabotage throws the write away. */
static int keep(kv_store_t *s, slot_t *sl, const dvv_t *state) {
  if (rng_chance(&s->rng, s->sabotage)) {
    s->sabotaged++;
    return 0;
  }
  return dvv_copy(&sl->state, state);
}

/* put, delete, get: a client's op on the key's record. */
static int apply_client(kv_store_t *s, slot_t *sl, engine_job_t *job, uint64_t now) {
  int rc = dvv_copy(&job->state, &sl->state);
  if (rc) return rc;
  if (job->op != ENGINE_PUT && dvv_live_count(&job->state) == 0) job->err = CHORUS_ENOTFOUND;
  if (job->err || job->op == ENGINE_GET) return 0;
  bool tomb = job->op == ENGINE_DELETE;
  rc = dvv_update_above(&job->state, job->ctx, s->actor, s->drop_floor, tomb ? NULL : job->value,
                        tomb ? 0 : job->value_len, tomb, now, NULL, NULL);
  return rc ? rc : keep(s, sl, &job->state);
}

static int apply_merge(kv_store_t *s, slot_t *sl, engine_job_t *job) {
  int rc = dvv_copy(&job->state, &sl->state);
  if (!rc) rc = dvv_sync(&job->state, job->incoming);
  if (rc) return rc;
  job->changed = !dvv_equal(&sl->state, &job->state);
  return job->changed ? keep(s, sl, &job->state) : 0;
}

static int apply_hint_put(slot_t *sl, bool existed, engine_job_t *job, uint64_t now) {
  if (!existed) sl->stored_at_ms = now;
  int rc = dvv_copy(&job->state, &sl->state);
  if (!rc) rc = dvv_sync(&job->state, job->incoming);
  if (rc) return rc;
  job->changed = !existed || !dvv_equal(&sl->state, &job->state);
  job->stored_at_ms = sl->stored_at_ms;
  return dvv_copy(&sl->state, &job->state);
}

/* Drops the delivered hint unless a newer state was merged into it. */
static int apply_hint_delete(kv_store_t *s, engine_job_t *job) {
  bool found;
  size_t i = slot_find(s, job->hint_owner, job->key, job->key_len, &found);
  if (!found) return 0;
  slot_t *sl = &s->v[i];
  if (dvv_equal(&sl->state, job->incoming)) {
    slot_remove(s, sl);
    job->changed = true;
    return 0;
  }
  job->stored_at_ms = sl->stored_at_ms;
  return dvv_copy(&job->state, &sl->state);
}

/* Drops hints stored hint_ttl_ms or longer ago (the engine does it a slice
 * at a time; here the whole pass at once). */
static void apply_hint_expire(kv_store_t *s, engine_job_t *job, uint64_t now) {
  job->changed = true;
  for (size_t i = 0; s->hint_ttl_ms && i < s->n;) {
    slot_t *sl = &s->v[i];
    if (sl->owner[0] && sl->stored_at_ms <= now && now - sl->stored_at_ms >= s->hint_ttl_ms) {
      slot_remove(s, sl);
      job->count++;
    } else {
      i++;
    }
  }
}

/* Drops the record if it holds exactly the tombstones job->incoming names. */
static int apply_reap(kv_store_t *s, engine_job_t *job) {
  bool found;
  size_t i = slot_find(s, "", job->key, job->key_len, &found);
  if (!found) return 0;
  slot_t *sl = &s->v[i];
  int rc = dvv_copy(&job->state, &sl->state);
  bool exact = !rc && sl->state.n && !dvv_live_count(&sl->state) && dvv_equal(&sl->state, job->incoming);
  if (!exact) return rc;
  void *v = s->reaped;
  rc = sim_grow(&v, &s->cap_reaped, s->n_reaped, sizeof *s->reaped, 16);
  s->reaped = v;
  if (rc) return rc;
  kv_reaped_t *r = &s->reaped[s->n_reaped++];
  r->key = sl->key; /* the slot's key moves to the record of the reap */
  r->key_len = sl->key_len;
  r->state = sl->state;
  sl->key = NULL;
  dvv_init(&sl->state);
  slot_remove(s, sl);
  dvv_free(&job->state);
  job->changed = true;
  return 0;
}

/* Drops the record if it is exactly job->incoming (a handoff's drop). */
static int apply_drop(kv_store_t *s, engine_job_t *job) {
  bool found;
  size_t i = slot_find(s, "", job->key, job->key_len, &found);
  if (!found || !dvv_equal(&s->v[i].state, job->incoming))
    return found ? dvv_copy(&job->state, &s->v[i].state) : 0;
  uint64_t mine = dvv_max_counter(&s->v[i].state, s->actor); /* its dots it forgets: never handed out again */
  if (mine > s->drop_floor) s->drop_floor = mine;
  slot_remove(s, &s->v[i]);
  job->changed = true;
  return 0;
}

static int apply_op(kv_store_t *s, engine_job_t *job, uint64_t now) {
  slot_t *sl;
  bool existed = false;
  switch (job->op) {
  case ENGINE_PUT:
  case ENGINE_DELETE:
  case ENGINE_GET:
  case ENGINE_MERGE:
    sl = slot_get(s, "", job->key, job->key_len);
    if (!sl) return CHORUS_ENOMEM;
    return job->op == ENGINE_MERGE ? apply_merge(s, sl, job) : apply_client(s, sl, job, now);
  case ENGINE_HINT_PUT:
    slot_find(s, job->hint_owner, job->key, job->key_len, &existed);
    sl = slot_get(s, job->hint_owner, job->key, job->key_len);
    return sl ? apply_hint_put(sl, existed, job, now) : CHORUS_ENOMEM;
  case ENGINE_HINT_DELETE: return apply_hint_delete(s, job);
  case ENGINE_HINT_EXPIRE: apply_hint_expire(s, job, now); return 0;
  case ENGINE_RECEIVE: return 0;
  case ENGINE_REAP: return apply_reap(s, job);
  case ENGINE_DROP: return apply_drop(s, job);
  }
  return CHORUS_EINVAL;
}

void kv_store_apply(kv_store_t *s, engine_job_t *job, uint64_t now_ms) {
  bool has_event =
      job->op != ENGINE_HINT_DELETE && job->op != ENGINE_HINT_EXPIRE && job->op != ENGINE_DROP && !job->quiet;
  vv_t next;
  vv_init(&next);
  int rc = vv_copy(&next, &s->clock);
  if (!rc && has_event && job->remote_clock) rc = vv_join(&next, job->remote_clock);
  if (!rc && has_event) rc = vv_tick(&next, s->node_id, NULL);
  if (!rc) rc = apply_op(s, job, now_ms);
  if (!rc) rc = vv_copy(&job->clock, &next);
  if (rc) {
    job->err = rc;
    vv_clear(&job->clock);
    vv_free(&next);
    return;
  }
  vv_free(&s->clock);
  s->clock = next;
  if (has_event) job->event_id = ++s->events;
}

int kv_store_clock(const kv_store_t *s, vv_t *out) {
  return vv_copy(out, &s->clock);
}

int kv_store_hints(const kv_store_t *s, const char *owner, size_t limit, engine_hint_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  bool found;
  size_t i = slot_find(s, owner, "", 0, &found);
  size_t cnt = 0;
  while (i + cnt < s->n && cnt < limit && strcmp(s->v[i + cnt].owner, owner) == 0)
    cnt++;
  if (!cnt) return 0;
  engine_hint_t *hs = calloc(cnt, sizeof *hs);
  if (!hs) return CHORUS_ENOMEM;
  for (size_t k = 0; k < cnt; k++) {
    const slot_t *sl = &s->v[i + k];
    dvv_init(&hs[k].state);
    hs[k].key = malloc(sl->key_len + 1);
    if (!hs[k].key || dvv_copy(&hs[k].state, &sl->state) != 0) {
      engine_hints_free(hs, k + 1);
      return CHORUS_ENOMEM;
    }
    memcpy(hs[k].key, sl->key, sl->key_len + 1);
    hs[k].key_len = sl->key_len;
    hs[k].stored_at_ms = sl->stored_at_ms;
  }
  *out = hs;
  *n = cnt;
  return 0;
}

int kv_store_hint_counts(const kv_store_t *s, engine_hint_count_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  size_t owners = 0;
  for (size_t i = 0; i < s->n; i++)
    owners += s->v[i].owner[0] && (i == 0 || strcmp(s->v[i - 1].owner, s->v[i].owner) != 0);
  if (!owners) return 0;
  engine_hint_count_t *c = calloc(owners, sizeof *c);
  if (!c) return CHORUS_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (!s->v[i].owner[0]) continue;
    if (k == 0 || strcmp(c[k - 1].owner, s->v[i].owner) != 0)
      snprintf(c[k++].owner, sizeof c->owner, "%s", s->v[i].owner);
    c[k - 1].count++;
  }
  *out = c;
  *n = owners;
  return 0;
}

const dvv_t *kv_store_find(const kv_store_t *s, const char *key, size_t key_len) {
  bool found;
  size_t i = slot_find(s, "", key, key_len, &found);
  return found ? &s->v[i].state : NULL;
}

size_t kv_store_hint_total(const kv_store_t *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    n += s->v[i].owner[0] != '\0';
  return n;
}

uint64_t kv_store_sabotaged(const kv_store_t *s) {
  return s->sabotaged;
}

void kv_store_set_hint_ttl(kv_store_t *s, uint64_t ms) {
  s->hint_ttl_ms = ms;
}

const kv_reaped_t *kv_store_reaped(const kv_store_t *s, size_t *n) {
  *n = s->n_reaped;
  return s->reaped;
}

/* The newest tombstone of a record holding only tombstones, or 0. */
static uint64_t tomb_ts(const dvv_t *d) {
  if (d->n == 0 || dvv_live_count(d)) return 0;
  uint64_t ts = 0;
  for (size_t i = 0; i < d->n; i++)
    if (d->s[i].ts_ms > ts) ts = d->s[i].ts_ms;
  return ts ? ts : 1;
}

int kv_store_tombstones(const kv_store_t *s, uint64_t before_ms, size_t limit, engine_tombstone_t **out,
                        size_t *n) {
  *out = NULL;
  *n = 0;
  engine_tombstone_t *list = limit ? calloc(limit, sizeof *list) : NULL;
  if (limit && !list) return CHORUS_ENOMEM;
  size_t got = 0;
  for (size_t i = 0; i < s->n && got < limit; i++) {
    const slot_t *sl = &s->v[i];
    uint64_t ts = sl->owner[0] ? 0 : tomb_ts(&sl->state);
    if (!ts || ts >= before_ms) continue;
    char *key = malloc(sl->key_len + 1);
    if (!key) {
      engine_tombstones_free(list, got);
      return CHORUS_ENOMEM;
    }
    memcpy(key, sl->key, sl->key_len + 1);
    list[got++] = (engine_tombstone_t){key, sl->key_len, ts};
  }
  *out = list;
  *n = got;
  return 0;
}

/* ---- a lost disk ---- */

bool kv_store_empty(const kv_store_t *s) {
  return s->n == 0 && s->events == 0;
}

void kv_store_wipe(kv_store_t *s, uint32_t epoch) {
  for (size_t i = 0; i < s->n; i++)
    slot_free(&s->v[i]);
  s->n = 0;
  vv_clear(&s->clock);
  s->events = 0;
  s->drop_floor = 0; /* a new actor: none of its dots were ever dropped */
  snprintf(s->actor, sizeof s->actor, "%.40s.%08x", s->node_id, epoch);
}

/* ---- the anti-entropy tree, computed from the records when asked ---- */

void kv_store_tree_info(const kv_store_t *s, engine_tree_info_t *out) {
  memset(out, 0, sizeof *out);
  merkle_t *t;
  if (merkle_create(KV_TREE_BITS, &t) != 0) return;
  buf_t scratch;
  buf_init(&scratch);
  for (size_t i = 0; i < s->n; i++) {
    const slot_t *sl = &s->v[i];
    if (sl->owner[0] || sl->state.n == 0) continue;
    merkle_apply(t, merkle_segment(t, ring_key_token(sl->key, sl->key_len)),
                 engine_tree_item_hash(sl->key, sl->key_len, &sl->state, &scratch));
    out->keys++;
  }
  out->enabled = true;
  out->bits = KV_TREE_BITS;
  out->depth = merkle_depth(t);
  out->segments = merkle_segments(t);
  out->root = merkle_root(t);
  out->memory = merkle_memory(t);
  buf_free(&scratch);
  merkle_free(t);
}

/* Calls fn for each record whose token lies in the ranges (and, when segs is
 * not NULL, in one of segs[0..n), ascending), with its item hash. */
static int each_item(const kv_store_t *s, const merkle_t *t, const merkle_range_t *r, size_t nr,
                     const uint32_t *segs, size_t n,
                     void (*fn)(void *arg, const slot_t *sl, uint32_t seg, uint64_t h), void *arg) {
  buf_t scratch;
  buf_init(&scratch);
  for (size_t i = 0; i < s->n; i++) {
    const slot_t *sl = &s->v[i];
    if (sl->owner[0] || sl->state.n == 0) continue;
    uint64_t token = ring_key_token(sl->key, sl->key_len);
    uint32_t seg = merkle_segment(t, token);
    if (!merkle_ranges_contain(r, nr, token)) continue;
    bool wanted = !segs;
    for (size_t k = 0; segs && k < n && !wanted; k++)
      wanted = segs[k] == seg;
    if (wanted) fn(arg, sl, seg, engine_tree_item_hash(sl->key, sl->key_len, &sl->state, &scratch));
  }
  int rc = scratch.err ? CHORUS_ENOMEM : 0;
  buf_free(&scratch);
  return rc;
}

static void xor_into(void *arg, const slot_t *sl, uint32_t seg, uint64_t h) {
  (void)sl;
  merkle_apply(arg, seg, h);
}

int kv_store_tree_hashes(const kv_store_t *s, const merkle_range_t *r, size_t nr, unsigned level,
                         const uint64_t *idx, size_t n, uint64_t *out) {
  /* the tree of the records inside the ranges: its view over every token is the view over r */
  merkle_t *t;
  int rc = merkle_create(KV_TREE_BITS, &t);
  if (rc) return rc;
  if (level > merkle_depth(t)) rc = CHORUS_EINVAL;
  if (!rc) rc = each_item(s, t, r, nr, NULL, 0, xor_into, t);
  const merkle_range_t all = {0, UINT64_MAX};
  merkle_view_t v = {.tree = t, .ranges = &all, .n_ranges = 1};
  for (size_t i = 0; !rc && i < n; i++)
    out[i] = merkle_view_node(&v, level, idx[i]);
  merkle_free(t);
  return rc;
}

typedef struct {
  buf_t *out;
  uint32_t n;
} keys_t;

static void list_key(void *arg, const slot_t *sl, uint32_t seg, uint64_t h) {
  (void)seg;
  keys_t *k = arg;
  treekeys_add(k->out, sl->key, sl->key_len, h);
  k->n++;
}

int kv_store_tree_keys(const kv_store_t *s, const merkle_range_t *r, size_t nr, const uint32_t *segs,
                       size_t n, buf_t *out) {
  merkle_t *t;
  int rc = merkle_create(KV_TREE_BITS, &t);
  if (rc) return rc;
  size_t start = treekeys_begin(out);
  keys_t k = {out, 0};
  rc = each_item(s, t, r, nr, segs, n, list_key, &k);
  treekeys_finish(out, start, k.n);
  merkle_free(t);
  return rc ? rc : out->err ? CHORUS_ENOMEM : 0;
}

int kv_store_record_read(const kv_store_t *s, const char *key, size_t key_len, dvv_t *out) {
  const dvv_t *d = kv_store_find(s, key, key_len);
  if (!d || d->n == 0) return CHORUS_ENOTFOUND;
  return dvv_copy(out, d);
}

typedef struct {
  uint64_t token;
  const slot_t *sl;
} by_token_t;

static int cmp_token(const void *a, const void *b) {
  const by_token_t *x = a, *y = b;
  if (x->token != y->token) return x->token < y->token ? -1 : 1;
  size_t n = x->sl->key_len < y->sl->key_len ? x->sl->key_len : y->sl->key_len;
  int c = memcmp(x->sl->key, y->sl->key, n);
  return c ? c : (x->sl->key_len > y->sl->key_len) - (x->sl->key_len < y->sl->key_len);
}

/* Whether (t, key) comes strictly after the cursor. */
static bool past(uint64_t t, const slot_t *sl, const engine_cursor_t *from) {
  if (!from || !from->started) return true;
  if (t != from->token) return t > from->token;
  size_t n = sl->key_len < from->key_len ? sl->key_len : from->key_len;
  int c = memcmp(sl->key, from->key, n);
  return c > 0 || (c == 0 && sl->key_len > from->key_len);
}

int kv_store_records_in(const kv_store_t *s, const merkle_range_t *r, size_t nr, const engine_cursor_t *from,
                        engine_range_fn fn, void *arg) {
  by_token_t *v = malloc((s->n ? s->n : 1) * sizeof *v);
  if (!v) return CHORUS_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++) {
    const slot_t *sl = &s->v[i];
    if (sl->owner[0] || !sl->state.n) continue;
    uint64_t t = ring_key_token(sl->key, sl->key_len);
    if (merkle_ranges_contain(r, nr, t) && past(t, sl, from)) v[k++] = (by_token_t){t, sl};
  }
  qsort(v, k, sizeof *v, cmp_token);
  buf_t rec;
  buf_init(&rec);
  int rc = 0;
  for (size_t i = 0; i < k && !rc; i++) {
    buf_reset(&rec);
    rc = record_encode(&v[i].sl->state, &rec);
    if (!rc) rc = rec.err;
    if (!rc) rc = fn(arg, v[i].token, v[i].sl->key, v[i].sl->key_len, rec.data, rec.len);
  }
  buf_free(&rec);
  free(v);
  return rc;
}
