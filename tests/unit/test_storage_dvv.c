/*
 * test_storage_dvv.c - dotted version vectors: the scenarios of DESIGN §5,
 * then random histories of replicas and clients checked against a model
 * that tracks every write's causal history directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "storage/dvv.h"

/* Writes value through node with ctx (NULL: none); returns the dot counter. */
static uint64_t put(dvv_t *d, const vv_t *ctx, const char *node, const char *value, uint64_t ts) {
  uint64_t counter = 0;
  assert_int_equal(dvv_update(d, ctx, node, value, strlen(value), false, ts, &counter), 0);
  assert_true(dvv_valid(d));
  return counter;
}

static void read_ctx(const dvv_t *d, vv_t *ctx) {
  assert_int_equal(dvv_context(d, ctx), 0);
}

static void assert_value(const dvv_sibling_t *s, const char *value) {
  assert_non_null(s);
  assert_int_equal(s->value_len, strlen(value));
  assert_memory_equal(s->value, value, s->value_len);
}

static void test_put_with_read_context_replaces_without_siblings(void **state) {
  dvv_t d;
  vv_t ctx;
  dvv_init(&d);
  vv_init(&ctx);
  read_ctx(&d, &ctx);
  put(&d, &ctx, "a", "v1", 1);
  read_ctx(&d, &ctx);
  put(&d, &ctx, "a", "v2", 2);
  assert_int_equal(d.n, 1);
  assert_false(dvv_has_conflict(&d));
  assert_value(&d.s[0], "v2");
  assert_int_equal(d.s[0].counter, 2);
  vv_free(&ctx);
  dvv_free(&d);
}

static void test_two_puts_with_the_same_context_through_one_node_become_siblings(void **state) {
  dvv_t d;
  vv_t ctx;
  dvv_init(&d);
  vv_init(&ctx);
  put(&d, NULL, "a", "v0", 1);
  read_ctx(&d, &ctx);
  assert_int_equal(put(&d, &ctx, "a", "x", 2), 2);
  assert_int_equal(put(&d, &ctx, "a", "y", 3), 3);
  assert_int_equal(d.n, 2);
  assert_true(dvv_has_conflict(&d));
  assert_int_equal(dvv_live_count(&d), 2);
  assert_value(&d.s[0], "x");
  assert_value(&d.s[1], "y");
  vv_free(&ctx);
  dvv_free(&d);
}

static void test_put_whose_context_covers_all_siblings_collapses_them(void **state) {
  dvv_t d;
  vv_t ctx;
  dvv_init(&d);
  vv_init(&ctx);
  read_ctx(&d, &ctx);
  put(&d, &ctx, "a", "x", 1);
  put(&d, &ctx, "a", "y", 2);
  put(&d, &ctx, "b", "z", 3);
  assert_int_equal(d.n, 3);
  read_ctx(&d, &ctx);
  put(&d, &ctx, "b", "merged", 4);
  assert_int_equal(d.n, 1);
  assert_value(&d.s[0], "merged");
  assert_string_equal(d.s[0].node, "b");
  assert_int_equal(d.s[0].counter, 2);
  vv_free(&ctx);
  dvv_free(&d);
}

static void test_put_without_context_supersedes_what_this_node_holds(void **state) {
  dvv_t d;
  vv_t empty;
  dvv_init(&d);
  vv_init(&empty);
  put(&d, &empty, "a", "x", 1);
  put(&d, &empty, "b", "y", 2);
  assert_int_equal(d.n, 2);
  put(&d, NULL, "a", "blind", 3);
  assert_int_equal(d.n, 1);
  assert_value(&d.s[0], "blind");
  vv_t ctx;
  vv_init(&ctx);
  read_ctx(&d, &ctx);
  assert_int_equal(vv_get(&ctx, "a"), 2);
  assert_int_equal(vv_get(&ctx, "b"), 1);
  vv_free(&ctx);
  vv_free(&empty);
  dvv_free(&d);
}

static void test_update_names_the_dots_it_replaced(void **state) {
  dvv_t d;
  vv_t ctx, empty;
  dvv_init(&d);
  vv_init(&ctx);
  vv_init(&empty);
  dvv_dots_t gone = {0};
  put(&d, &empty, "a", "x", 1);
  read_ctx(&d, &ctx); /* saw a:1 */
  put(&d, &empty, "b", "y", 2);
  /* a write with the context of a:1 replaces a:1 alone: b:1 came later */
  uint64_t counter = 0;
  assert_int_equal(dvv_update_above(&d, &ctx, "a", 0, "z", 1, false, 3, &counter, &gone), 0);
  assert_int_equal(counter, 2);
  assert_int_equal(gone.n, 1);
  assert_string_equal(gone.d[0].node, "a");
  assert_int_equal(gone.d[0].counter, 1);
  /* a write with the empty context replaces nothing */
  assert_int_equal(dvv_update_above(&d, &empty, "b", 0, "w", 1, false, 4, NULL, &gone), 0);
  assert_int_equal(gone.n, 0);
  assert_null(gone.d);
  assert_int_equal(d.n, 3);
  /* a blind tombstone replaces everything the node holds, in dot order */
  assert_int_equal(dvv_update_above(&d, NULL, "b", 0, NULL, 0, true, 5, &counter, &gone), 0);
  assert_int_equal(counter, 3);
  assert_int_equal(gone.n, 3);
  const char *nodes[] = {"a", "b", "b"};
  uint64_t counters[] = {2, 1, 2};
  for (size_t i = 0; i < 3; i++) {
    assert_string_equal(gone.d[i].node, nodes[i]);
    assert_int_equal(gone.d[i].counter, counters[i]);
  }
  dvv_dots_t copy = {0};
  assert_int_equal(dvv_dots_copy(&copy, &gone), 0);
  assert_int_equal(copy.n, 3);
  assert_int_equal(copy.d[2].counter, 2);
  /* a refused update leaves no list behind */
  assert_int_equal(dvv_update_above(&d, NULL, "", 0, "v", 1, false, 6, NULL, &gone), CHORUS_EINVAL);
  assert_int_equal(gone.n, 0);
  dvv_dots_free(&copy);
  vv_free(&ctx);
  vv_free(&empty);
  dvv_free(&d);
}

static void test_racing_writes_through_different_nodes_become_siblings_after_sync(void **state) {
  dvv_t ra, rb, ab, ba;
  vv_t ctx;
  dvv_init(&ra);
  dvv_init(&rb);
  dvv_init(&ab);
  dvv_init(&ba);
  vv_init(&ctx);
  /* From an empty context. */
  put(&ra, &ctx, "a", "from-a", 1);
  put(&rb, &ctx, "b", "from-b", 1);
  assert_int_equal(dvv_copy(&ab, &ra), 0);
  assert_int_equal(dvv_sync(&ab, &rb), 0);
  assert_int_equal(dvv_copy(&ba, &rb), 0);
  assert_int_equal(dvv_sync(&ba, &ra), 0);
  assert_int_equal(ab.n, 2);
  assert_true(dvv_equal(&ab, &ba));

  /* From the same context read after the replicas converged. */
  assert_int_equal(dvv_copy(&ra, &ab), 0);
  assert_int_equal(dvv_copy(&rb, &ab), 0);
  read_ctx(&ab, &ctx);
  put(&ra, &ctx, "a", "a2", 2);
  put(&rb, &ctx, "b", "b2", 2);
  assert_int_equal(ra.n, 1);
  assert_int_equal(dvv_sync(&ra, &rb), 0);
  assert_int_equal(ra.n, 2);
  assert_value(&ra.s[0], "a2");
  assert_value(&ra.s[1], "b2");
  vv_free(&ctx);
  dvv_free(&ra);
  dvv_free(&rb);
  dvv_free(&ab);
  dvv_free(&ba);
}

static void test_tombstone_with_covering_context_replaces_the_value(void **state) {
  dvv_t d;
  vv_t ctx;
  dvv_init(&d);
  vv_init(&ctx);
  put(&d, NULL, "a", "x", 1);
  put(&d, &ctx, "b", "y", 2);
  read_ctx(&d, &ctx);
  assert_int_equal(dvv_update(&d, &ctx, "c", NULL, 0, true, 3, NULL), 0);
  assert_int_equal(d.n, 1);
  assert_true(d.s[0].tombstone);
  assert_null(d.s[0].value);
  assert_int_equal(dvv_live_count(&d), 0);
  assert_null(dvv_newest_live(&d));
  vv_free(&ctx);
  dvv_free(&d);
}

static void test_dot_counters_never_repeat_for_a_node_after_siblings_were_dropped(void **state) {
  dvv_t d;
  vv_t ctx;
  dvv_init(&d);
  vv_init(&ctx);
  for (int i = 0; i < 5; i++)
    put(&d, NULL, "a", "x", 1);
  /* A write through b supersedes a:5; only b's context remembers it. */
  read_ctx(&d, &ctx);
  put(&d, &ctx, "b", "y", 2);
  assert_int_equal(d.n, 1);
  assert_string_equal(d.s[0].node, "b");
  assert_int_equal(put(&d, NULL, "a", "z", 3), 6);
  /* A client may have seen later dots of a than this replica holds. */
  vv_clear(&ctx);
  assert_int_equal(vv_set(&ctx, "a", 9), 0);
  assert_int_equal(put(&d, &ctx, "a", "w", 4), 10);
  vv_free(&ctx);
  dvv_free(&d);
}

static void test_newest_live_picks_the_newest_timestamp_among_live_siblings(void **state) {
  dvv_t d;
  vv_t empty;
  dvv_init(&d);
  vv_init(&empty);
  assert_null(dvv_newest_live(&d));
  put(&d, &empty, "a", "old", 10);
  put(&d, &empty, "b", "newer", 20);
  assert_int_equal(dvv_update(&d, &empty, "c", NULL, 0, true, 30, NULL), 0);
  put(&d, &empty, "d", "older", 5);
  assert_int_equal(d.n, 4);
  assert_int_equal(dvv_live_count(&d), 3);
  assert_value(dvv_newest_live(&d), "newer");
  /* Equal timestamps: the greatest dot wins. */
  put(&d, &empty, "a", "tie-a", 20);
  assert_value(dvv_newest_live(&d), "newer");
  put(&d, &empty, "e", "tie-e", 20);
  assert_value(dvv_newest_live(&d), "tie-e");
  vv_free(&empty);
  dvv_free(&d);
}

static void test_update_rejects_invalid_arguments_and_leaves_the_state_unchanged(void **state) {
  dvv_t d, before;
  dvv_init(&d);
  dvv_init(&before);
  put(&d, NULL, "a", "x", 1);
  assert_int_equal(dvv_copy(&before, &d), 0);
  assert_int_equal(dvv_update(&d, NULL, "bad node", "v", 1, false, 2, NULL), CHORUS_EINVAL);
  assert_int_equal(dvv_update(&d, NULL, NULL, "v", 1, false, 2, NULL), CHORUS_EINVAL);
  assert_int_equal(dvv_update(&d, NULL, "a", "v", 1, true, 2, NULL), CHORUS_EINVAL);
  assert_int_equal(dvv_update(&d, NULL, "a", NULL, 1, false, 2, NULL), CHORUS_EINVAL);
  vv_t ctx;
  vv_init(&ctx);
  assert_int_equal(vv_set(&ctx, "a", UINT64_MAX), 0);
  assert_int_equal(dvv_update(&d, &ctx, "a", "v", 1, false, 2, NULL), CHORUS_ETOOBIG);
  assert_true(dvv_equal(&d, &before));
  vv_free(&ctx);
  dvv_free(&d);
  dvv_free(&before);
}

static void test_empty_values_are_live_and_stored_without_a_buffer(void **state) {
  dvv_t d;
  dvv_init(&d);
  assert_int_equal(dvv_update(&d, NULL, "a", NULL, 0, false, 1, NULL), 0);
  assert_int_equal(dvv_live_count(&d), 1);
  assert_null(d.s[0].value);
  assert_non_null(dvv_newest_live(&d));
  dvv_free(&d);
}

static void test_sync_keeps_one_copy_of_a_write_both_replicas_hold(void **state) {
  dvv_t a, b;
  dvv_init(&a);
  dvv_init(&b);
  put(&a, NULL, "a", "x", 1);
  assert_int_equal(dvv_copy(&b, &a), 0);
  assert_int_equal(dvv_sync(&a, &b), 0);
  assert_int_equal(a.n, 1);
  assert_int_equal(dvv_sync(&a, &a), 0);
  assert_true(dvv_equal(&a, &b));
  dvv_free(&b);
  assert_int_equal(dvv_sync(&b, &a), 0);
  assert_true(dvv_equal(&a, &b));
  dvv_free(&a);
  dvv_free(&b);
}

static void test_sync_picks_the_same_write_when_two_claim_one_dot(void **state) {
  dvv_t a, b, ab, ba;
  dvv_init(&a);
  dvv_init(&b);
  dvv_init(&ab);
  dvv_init(&ba);
  put(&a, NULL, "a", "first life", 1);
  put(&b, NULL, "a", "second life", 2);
  assert_int_equal(dvv_copy(&ab, &a), 0);
  assert_int_equal(dvv_sync(&ab, &b), 0);
  assert_int_equal(dvv_copy(&ba, &b), 0);
  assert_int_equal(dvv_sync(&ba, &a), 0);
  assert_int_equal(ab.n, 1);
  assert_true(dvv_equal(&ab, &ba));
  dvv_free(&a);
  dvv_free(&b);
  dvv_free(&ab);
  dvv_free(&ba);
}

/* ---- Random histories ------------------------------------------------- */

#define REPLICAS 3
#define CLIENTS 4
#define MAX_WRITES 64 /* one bit each in a write set */
#define HISTORIES 3000
#define STEPS 60

typedef uint64_t wset_t;

static uint64_t rng_state;

/* splitmix64: small, fast and fully determined by the seed. */
static uint64_t rng(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static unsigned pick(unsigned n) {
  return (unsigned)(rng() % n);
}

static const char *const replica_node[REPLICAS] = {"a", "b", "c"};

/* The model: each write's dot and causal history (the writes its writer had
 * seen), and what every replica and client knows, as sets of write ids. */
typedef struct {
  size_t nwrites;
  unsigned node[MAX_WRITES];
  uint64_t counter[MAX_WRITES];
  wset_t hist[MAX_WRITES];
  wset_t replica_knows[REPLICAS];
  wset_t client_knows[CLIENTS];
  bool client_has_ctx[CLIENTS];
  vv_t client_ctx[CLIENTS];
  dvv_t replica[REPLICAS];
} world_t;

static void world_init(world_t *w) {
  memset(w, 0, sizeof(*w));
  for (int i = 0; i < REPLICAS; i++)
    dvv_init(&w->replica[i]);
  for (int i = 0; i < CLIENTS; i++)
    vv_init(&w->client_ctx[i]);
}

static void world_free(world_t *w) {
  for (int i = 0; i < REPLICAS; i++)
    dvv_free(&w->replica[i]);
  for (int i = 0; i < CLIENTS; i++)
    vv_free(&w->client_ctx[i]);
}

static size_t write_of_dot(const world_t *w, const char *node, uint64_t counter) {
  for (size_t i = 0; i < w->nwrites; i++)
    if (strcmp(replica_node[w->node[i]], node) == 0 && w->counter[i] == counter) return i;
  fail_msg("sibling %s:%llu is no write of the history", node, (unsigned long long)counter);
  return 0;
}

/* The writes of `known` that no other known write has seen: the truly concurrent ones. */
static wset_t maximal(const world_t *w, wset_t known) {
  wset_t seen = 0;
  for (size_t i = 0; i < w->nwrites; i++)
    if (known >> i & 1) seen |= w->hist[i];
  return known & ~seen;
}

static void vv_of_writes(const world_t *w, wset_t set, vv_t *out) {
  vv_clear(out);
  for (size_t i = 0; i < w->nwrites; i++)
    if (set >> i & 1) assert_int_equal(vv_max_with(out, replica_node[w->node[i]], w->counter[i]), 0);
}

/* A replica holds exactly the maximal writes it knows, each with the context
 * of its history, and hands out the context of everything it knows. */
static void check_replica(const world_t *w, const dvv_t *d, wset_t knows) {
  vv_t want, got;
  vv_init(&want);
  vv_init(&got);
  assert_true(dvv_valid(d));
  wset_t siblings = 0;
  for (size_t i = 0; i < d->n; i++) {
    size_t id = write_of_dot(w, d->s[i].node, d->s[i].counter);
    siblings |= (wset_t)1 << id;
    vv_of_writes(w, w->hist[id], &want);
    assert_true(vv_equal(&d->s[i].ctx, &want));
    char value[16];
    snprintf(value, sizeof(value), "w%zu", id);
    if (!d->s[i].tombstone) assert_value(&d->s[i], value);
  }
  assert_true(siblings == maximal(w, knows));
  vv_of_writes(w, knows, &want);
  read_ctx(d, &got);
  assert_true(vv_equal(&got, &want));
  vv_free(&want);
  vv_free(&got);
}

static void step_read(world_t *w) {
  unsigned c = pick(CLIENTS), r = pick(REPLICAS);
  read_ctx(&w->replica[r], &w->client_ctx[c]);
  w->client_knows[c] = w->replica_knows[r];
  w->client_has_ctx[c] = true;
}

static void step_write(world_t *w, uint64_t ts) {
  unsigned c = pick(CLIENTS), r = pick(REPLICAS);
  bool with_ctx = w->client_has_ctx[c] && pick(4) != 0;
  bool tombstone = pick(8) == 0;
  size_t id = w->nwrites++;
  char value[16];
  snprintf(value, sizeof(value), "w%zu", id);
  uint64_t counter;
  assert_int_equal(dvv_update(&w->replica[r], with_ctx ? &w->client_ctx[c] : NULL, replica_node[r],
                              tombstone ? NULL : value, tombstone ? 0 : strlen(value), tombstone, ts,
                              &counter),
                   0);
  w->node[id] = r;
  w->counter[id] = counter;
  w->hist[id] = with_ctx ? w->client_knows[c] : w->replica_knows[r];
  w->replica_knows[r] |= w->hist[id] | (wset_t)1 << id;
  check_replica(w, &w->replica[r], w->replica_knows[r]);
}

/* sync(A,B) == sync(B,A), and sync(A,A) == A. */
static void check_commutative_and_idempotent(const dvv_t *a, const dvv_t *b) {
  dvv_t ab, ba, aa;
  dvv_init(&ab);
  dvv_init(&ba);
  dvv_init(&aa);
  assert_int_equal(dvv_copy(&ab, a), 0);
  assert_int_equal(dvv_sync(&ab, b), 0);
  assert_int_equal(dvv_copy(&ba, b), 0);
  assert_int_equal(dvv_sync(&ba, a), 0);
  assert_true(dvv_equal(&ab, &ba));
  assert_int_equal(dvv_copy(&aa, a), 0);
  assert_int_equal(dvv_sync(&aa, a), 0);
  assert_true(dvv_equal(&aa, a));
  dvv_free(&ab);
  dvv_free(&ba);
  dvv_free(&aa);
}

static void check_associative(const dvv_t *a, const dvv_t *b, const dvv_t *c) {
  dvv_t left, right, bc;
  dvv_init(&left);
  dvv_init(&right);
  dvv_init(&bc);
  assert_int_equal(dvv_copy(&left, a), 0);
  assert_int_equal(dvv_sync(&left, b), 0);
  assert_int_equal(dvv_sync(&left, c), 0);
  assert_int_equal(dvv_copy(&bc, b), 0);
  assert_int_equal(dvv_sync(&bc, c), 0);
  assert_int_equal(dvv_copy(&right, a), 0);
  assert_int_equal(dvv_sync(&right, &bc), 0);
  assert_true(dvv_equal(&left, &right));
  dvv_free(&left);
  dvv_free(&right);
  dvv_free(&bc);
}

static void sync_into(world_t *w, unsigned dst, unsigned src) {
  assert_int_equal(dvv_sync(&w->replica[dst], &w->replica[src]), 0);
  w->replica_knows[dst] |= w->replica_knows[src];
  check_replica(w, &w->replica[dst], w->replica_knows[dst]);
}

static void step_sync(world_t *w) {
  unsigned a = pick(REPLICAS), b = (a + 1 + pick(REPLICAS - 1)) % REPLICAS;
  check_commutative_and_idempotent(&w->replica[a], &w->replica[b]);
  sync_into(w, a, b);
  if (pick(2)) sync_into(w, b, a);
}

static void run_history(world_t *w) {
  for (uint64_t t = 1; t <= STEPS; t++) {
    unsigned kind = pick(3);
    if (kind == 0 && w->nwrites < MAX_WRITES)
      step_write(w, t);
    else if (kind == 1)
      step_read(w);
    else
      step_sync(w);
  }
  check_associative(&w->replica[0], &w->replica[1], &w->replica[2]);
  check_associative(&w->replica[2], &w->replica[0], &w->replica[1]);
  /* Anti-entropy: after everyone has synced with everyone, replicas agree. */
  sync_into(w, 0, 1);
  sync_into(w, 0, 2);
  sync_into(w, 1, 0);
  sync_into(w, 2, 0);
  assert_true(dvv_equal(&w->replica[0], &w->replica[1]));
  assert_true(dvv_equal(&w->replica[0], &w->replica[2]));
}

static void run_histories(uint64_t seed) {
  rng_state = seed;
  for (int h = 0; h < HISTORIES; h++) {
    world_t w;
    world_init(&w);
    run_history(&w);
    world_free(&w);
  }
}

static void test_random_histories_keep_exactly_the_concurrent_writes(void **state) {
  run_histories(0x43686f727573ull);
}

static void test_random_histories_with_another_seed(void **state) {
  run_histories(20240611);
}

/* dvv_covers against its definition: a merge of b into a keeps a's dots. */
static bool same_dots(const dvv_t *a, const dvv_t *b) {
  if (a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->s[i].node, b->s[i].node) != 0 || a->s[i].counter != b->s[i].counter) return false;
  return true;
}

static void strip(dvv_t *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->s[i].value);
    d->s[i].value = NULL;
    d->s[i].value_len = 0;
  }
}

static void test_covers_says_whether_a_merge_would_change_the_versions(void **state) {
  (void)state;
  dvv_t a, b, merged;
  dvv_init(&a);
  dvv_init(&b);
  dvv_init(&merged);
  vv_t ctx;
  vv_init(&ctx);
  put(&a, NULL, "n1", "x", 1);
  assert_int_equal(dvv_copy(&b, &a), 0);
  assert_true(dvv_covers(&a, &b) && dvv_covers(&b, &a));
  strip(&b); /* versions alone still compare equal, both ways */
  assert_true(dvv_covers(&a, &b) && dvv_covers(&b, &a));
  read_ctx(&a, &ctx);
  put(&a, &ctx, "n2", "y", 2); /* a newer than b: a covers b, not the reverse */
  assert_true(dvv_covers(&a, &b));
  assert_false(dvv_covers(&b, &a));
  put(&b, NULL, "n3", "z", 3); /* concurrent with a's newest: neither covers */
  assert_false(dvv_covers(&a, &b));
  assert_false(dvv_covers(&b, &a));
  dvv_t empty;
  dvv_init(&empty);
  assert_true(dvv_covers(&a, &empty));
  assert_false(dvv_covers(&empty, &a));
  /* the definition, on every pair of a's and b's states so far */
  assert_int_equal(dvv_copy(&merged, &a), 0);
  assert_int_equal(dvv_sync(&merged, &b), 0);
  assert_int_equal(dvv_covers(&a, &b), same_dots(&merged, &a));
  assert_int_equal(dvv_copy(&merged, &b), 0);
  assert_int_equal(dvv_sync(&merged, &a), 0);
  assert_int_equal(dvv_covers(&b, &a), same_dots(&merged, &b));
  vv_free(&ctx);
  dvv_free(&a);
  dvv_free(&b);
  dvv_free(&merged);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_with_read_context_replaces_without_siblings),
      cmocka_unit_test(test_covers_says_whether_a_merge_would_change_the_versions),
      cmocka_unit_test(test_two_puts_with_the_same_context_through_one_node_become_siblings),
      cmocka_unit_test(test_put_whose_context_covers_all_siblings_collapses_them),
      cmocka_unit_test(test_put_without_context_supersedes_what_this_node_holds),
      cmocka_unit_test(test_racing_writes_through_different_nodes_become_siblings_after_sync),
      cmocka_unit_test(test_tombstone_with_covering_context_replaces_the_value),
      cmocka_unit_test(test_dot_counters_never_repeat_for_a_node_after_siblings_were_dropped),
      cmocka_unit_test(test_newest_live_picks_the_newest_timestamp_among_live_siblings),
      cmocka_unit_test(test_update_rejects_invalid_arguments_and_leaves_the_state_unchanged),
      cmocka_unit_test(test_empty_values_are_live_and_stored_without_a_buffer),
      cmocka_unit_test(test_sync_keeps_one_copy_of_a_write_both_replicas_hold),
      cmocka_unit_test(test_sync_picks_the_same_write_when_two_claim_one_dot),
      cmocka_unit_test(test_update_names_the_dots_it_replaced),
      cmocka_unit_test(test_random_histories_keep_exactly_the_concurrent_writes),
      cmocka_unit_test(test_random_histories_with_another_seed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
