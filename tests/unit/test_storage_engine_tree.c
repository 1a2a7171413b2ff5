/*
 * test_storage_engine_tree.c - the anti-entropy tree kept by the writer
 * (hook_merkle.c, engine_tree.c) and tombstone collection's side of the
 * store (hook_tombs.c, ENGINE_REAP): the tree follows every record change
 * in the same batch and verifies clean, survives a reopen without a
 * rebuild (checkpoint and journal), is built once for a store written
 * without it, refuses a damaged journal until a rebuild, names the keys of
 * a segment, and a reap drops exactly the tombstones it names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/err.h"
#include "engine_harness.h"
#include "ring/ring.h"
#include "storage/treekeys.h"
#include "storage/treelog.h"

#define SMALL_BITS 8 /* 256 segments: several keys per segment */

static engine_t *open_tree(bool off) {
  engine_opts_t o = engine_test_opts(1000, FSYNC_NEVER);
  o.tree_bits = SMALL_BITS;
  o.tree_off = off;
  return open_engine_opts(&o);
}

static void put(engine_t *e, const char *key, const char *value) {
  engine_job_t j;
  run(e, &j, value ? ENGINE_PUT : ENGINE_DELETE, key, value, NULL, NULL);
  assert_int_equal(j.err, 0);
  engine_job_release(&j);
}

static void expect_clean(engine_t *e, uint64_t records) {
  engine_tree_verify_t v;
  assert_int_equal(engine_tree_verify(e, &v), 0);
  assert_true(v.clean);
  assert_int_equal(v.records, records);
  assert_int_equal(v.leaves_damaged, 0);
  engine_tree_info_t ti;
  engine_tree_info(e, &ti);
  assert_true(ti.enabled);
  assert_int_equal(ti.keys, records);
  assert_true(ti.root == v.root); /* the in-memory tree is the one the records make */
}

static void test_tree_follows_puts_deletes_and_merges(void **state) {
  engine_t *e = open_tree(false);
  engine_tree_info_t ti;
  engine_tree_info(e, &ti);
  assert_int_equal(ti.bits, SMALL_BITS);
  assert_true(ti.root == 0);
  char key[32];
  for (int i = 0; i < 300; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    put(e, key, "v");
  }
  expect_clean(e, 300);
  engine_tree_info(e, &ti);
  uint64_t root = ti.root;
  assert_true(root != 0);
  /* a delete changes the key's versions (a tombstone), so its leaf */
  put(e, "key-7", NULL);
  expect_clean(e, 300);
  engine_tree_info(e, &ti);
  assert_true(ti.root != root);
  /* a merge that changes nothing changes no leaf */
  engine_job_t g, m;
  run(e, &g, ENGINE_GET, "key-8", NULL, NULL, NULL);
  engine_job_init(&m);
  m.op = ENGINE_MERGE;
  m.key = "key-8";
  m.key_len = 5;
  m.incoming = &g.state;
  assert_int_equal(engine_submit(e, &m), 0);
  wait_done(1);
  assert_false(m.changed);
  engine_tree_info_t after;
  engine_tree_info(e, &after);
  assert_true(after.root == ti.root);
  engine_job_release(&m);
  engine_job_release(&g);
  expect_clean(e, 300);
  engine_close(e);
  /* 300 changes over 256 segments wrote a checkpoint and a journal after it: loaded as they were */
  e = open_tree(false);
  engine_tree_info(e, &ti);
  assert_true(ti.root == after.root);
  expect_clean(e, 300);
  engine_close(e);
}

static void test_tree_survives_a_reopen_without_a_rebuild(void **state) {
  engine_t *e = open_tree(false);
  for (int i = 0; i < 50; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    put(e, key, "v");
  }
  engine_tree_info_t before;
  engine_tree_info(e, &before);
  engine_close(e);
  /* no records may be read at open: a damaged record would show in a rebuild, not in a load */
  raw_write_record("k0", "garbage", 7);
  e = open_tree(false);
  engine_tree_info_t ti;
  engine_tree_info(e, &ti);
  assert_true(ti.root == before.root);
  assert_int_equal(ti.keys, 50);
  /* verify names the damage the load did not look for */
  engine_tree_verify_t v;
  assert_int_equal(engine_tree_verify(e, &v), 0);
  assert_false(v.clean);
  assert_int_equal(v.damaged_records, 1);
  engine_close(e);
}

static void test_a_store_without_the_tree_is_indexed_once_at_open(void **state) {
  engine_t *e = open_tree(true);
  engine_tree_info_t ti;
  engine_tree_info(e, &ti);
  assert_false(ti.enabled);
  engine_tree_verify_t v;
  assert_int_equal(engine_tree_verify(e, &v), CHORUS_ENOTFOUND);
  for (int i = 0; i < 40; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    put(e, key, "v");
  }
  engine_close(e);
  e = open_tree(false);
  expect_clean(e, 40);
  engine_close(e);
}

static void test_an_operator_rebuild_repairs_a_damaged_tree(void **state) {
  engine_t *e = open_tree(false);
  for (int i = 0; i < 30; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    put(e, key, "v");
  }
  engine_close(e);
  /* leaves the records do not make, as a damaged disk might leave them: the
   * journal replays the 30 keys' segments over them, the rest stay wrong */
  uint64_t leaves[1u << SMALL_BITS];
  for (size_t i = 0; i < sizeof leaves / sizeof *leaves; i++)
    leaves[i] = 0x0102030405060708ull + i;
  buf_t b;
  buf_init(&b);
  treelog_chunk_encode(&b, leaves, sizeof leaves / sizeof *leaves);
  const char chunk[5] = {'L', 0, 0, 0, 0};
  raw_write(chunk, sizeof chunk, (const char *)b.data, b.len);
  buf_free(&b);
  e = open_tree(false);
  engine_tree_verify_t v;
  assert_int_equal(engine_tree_verify(e, &v), 0);
  assert_false(v.clean);
  assert_true(v.leaf_segments_differing >= 1);
  engine_close(e);
  engine_opts_t o = engine_test_opts(1000, FSYNC_NEVER);
  o.tree_bits = SMALL_BITS;
  o.tree_rebuild = true;
  e = open_engine_opts(&o);
  expect_clean(e, 30);
  engine_close(e);
}

/* A stored part that does not decode stops the start, with a clear error:
 * a tree loaded wrong would hide differences; a rebuild repairs it. */
static void test_a_damaged_journal_refuses_the_start_until_a_rebuild(void **state) {
  engine_t *e = open_tree(false);
  put(e, "k", "v");
  engine_close(e);
  const char entry[9] = {'J', 0, 0, 0, 0, 0, 0, 0, 0};
  raw_write(entry, sizeof entry, "TJ\x01garbage", 10);
  engine_opts_t o = engine_test_opts(1000, FSYNC_NEVER);
  o.tree_bits = SMALL_BITS;
  engine_t *bad = NULL;
  assert_int_equal(engine_open(&o, &bad), CHORUS_ECORRUPT);
  assert_null(bad);
  o.tree_rebuild = true;
  e = open_engine_opts(&o);
  expect_clean(e, 1);
  engine_close(e);
}

static void test_segment_keys_and_view_hashes(void **state) {
  engine_t *e = open_tree(false);
  const char *keys[] = {"alpha", "beta", "gamma", "delta", "epsilon"};
  for (size_t i = 0; i < 5; i++)
    put(e, keys[i], "v");
  /* the segment of "gamma" lists it, with the hash its leaf holds alone or with neighbours */
  uint64_t token = ring_key_token("gamma", 5);
  uint32_t seg = (uint32_t)(token >> (64 - SMALL_BITS));
  const merkle_range_t all = {0, UINT64_MAX};
  buf_t out;
  buf_init(&out);
  assert_int_equal(engine_tree_keys(e, &all, 1, &seg, 1, &out), 0);
  treekeys_entry_t *ent = NULL;
  size_t n = 0;
  assert_int_equal(treekeys_decode(out.data, out.len, &ent, &n), 0);
  bool found = false;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    found |= ent[i].key_len == 5 && memcmp(ent[i].key, "gamma", 5) == 0;
    x ^= ent[i].hash;
  }
  assert_true(found);
  uint64_t leaf, idx = seg;
  assert_int_equal(engine_tree_hashes(e, &all, 1, SMALL_BITS / 4, &idx, 1, &leaf), 0);
  assert_true(leaf == x); /* a leaf is the XOR of its keys' hashes */
  free(ent);
  /* a range that leaves gamma's token out: gamma is not listed, and the root changes by its hash */
  merkle_range_t cut[2] = {{0, token - 1}, {token + 1, UINT64_MAX}};
  size_t nc = token == 0 ? 1 : 2;
  const merkle_range_t *rs = token == 0 ? &cut[1] : cut;
  buf_reset(&out);
  assert_int_equal(engine_tree_keys(e, rs, nc, &seg, 1, &out), 0);
  assert_int_equal(treekeys_decode(out.data, out.len, &ent, &n), 0);
  for (size_t i = 0; i < n; i++)
    assert_false(ent[i].key_len == 5 && memcmp(ent[i].key, "gamma", 5) == 0);
  free(ent);
  uint64_t root_all, root_cut, zero = 0;
  assert_int_equal(engine_tree_hashes(e, &all, 1, 0, &zero, 1, &root_all), 0);
  assert_int_equal(engine_tree_hashes(e, rs, nc, 0, &zero, 1, &root_cut), 0);
  dvv_t d;
  dvv_init(&d);
  assert_int_equal(engine_record_read(e, "gamma", 5, &d), 0);
  buf_t scratch;
  buf_init(&scratch);
  assert_true((root_all ^ root_cut) == engine_tree_item_hash("gamma", 5, &d, &scratch));
  buf_free(&scratch);
  dvv_free(&d);
  assert_int_equal(engine_record_read(e, "nope", 4, &d), CHORUS_ENOTFOUND);
  buf_free(&out);
  engine_close(e);
}

static void reap(engine_t *e, engine_job_t *j, const char *key, const dvv_t *expected) {
  engine_job_init(j);
  j->op = ENGINE_REAP;
  j->key = key;
  j->key_len = strlen(key);
  j->incoming = expected;
  assert_int_equal(engine_submit(e, j), 0);
  wait_done(1);
  assert_int_equal(j->err, 0);
}

static void test_reap_drops_exactly_the_tombstones_named(void **state) {
  engine_t *e = open_tree(false);
  put(e, "gone", "v");
  put(e, "kept", "v");
  engine_job_t d;
  run(e, &d, ENGINE_DELETE, "gone", NULL, NULL, NULL);
  assert_int_equal(d.err, 0);
  /* listed as a tombstone once its newest delete is older than the bound */
  engine_tombstone_t *t = NULL;
  size_t n = 0;
  assert_int_equal(engine_tombstones(e, UINT64_MAX, 10, &t, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(t[0].key, "gone");
  assert_true(t[0].ts_ms == d.state.s[0].ts_ms);
  engine_tombstones_free(t, n);
  assert_int_equal(engine_tombstones(e, d.state.s[0].ts_ms, 10, &t, &n), 0);
  assert_int_equal(n, 0); /* not older than ts itself */
  engine_tombstones_free(t, n);
  /* a state that is not the stored one drops nothing */
  engine_job_t live, r;
  run(e, &live, ENGINE_GET, "kept", NULL, NULL, NULL);
  reap(e, &r, "kept", &live.state);
  assert_false(r.changed);
  assert_int_equal(r.event_id, 0);
  engine_job_release(&r);
  /* the stored tombstones, exactly: dropped, with a reap event, out of the tree and the index */
  reap(e, &r, "gone", &d.state);
  assert_true(r.changed);
  assert_true(r.event_id > 0);
  engine_job_release(&r);
  engine_job_t g;
  run(e, &g, ENGINE_GET, "gone", NULL, NULL, NULL);
  assert_int_equal(g.err, CHORUS_ENOTFOUND);
  assert_int_equal(g.state.n, 0);
  engine_job_release(&g);
  assert_int_equal(engine_tombstones(e, UINT64_MAX, 10, &t, &n), 0);
  assert_int_equal(n, 0);
  engine_tombstones_free(t, n);
  expect_clean(e, 1);
  /* again: nothing left to drop */
  reap(e, &r, "gone", &d.state);
  assert_false(r.changed);
  engine_job_release(&r);
  /* a tombstone a new write superseded is not dropped by a reap of the old one */
  engine_job_t d2;
  run(e, &d2, ENGINE_DELETE, "kept", NULL, NULL, NULL);
  put(e, "kept", "again");
  reap(e, &r, "kept", &d2.state);
  assert_false(r.changed);
  engine_job_release(&r);
  engine_job_release(&d2);
  engine_job_release(&live);
  engine_job_release(&d);
  expect_clean(e, 1);
  engine_close(e);
  /* the index survives a reopen */
  e = open_tree(false);
  assert_int_equal(engine_tombstones(e, UINT64_MAX, 10, &t, &n), 0);
  assert_int_equal(n, 0);
  engine_tombstones_free(t, n);
  engine_close(e);
}

/* A record dropped in a hand-off (ENGINE_DROP) goes only if it is exactly the
 * state named; the node's later writes of that key never reuse the dots it
 * forgot, not even after a restart (Riak's kv679). */
static void test_drop_takes_exactly_the_state_named_and_dots_are_never_reused(void **state) {
  engine_t *e = open_tree(false);
  engine_job_t a, b, drop, again;
  run(e, &a, ENGINE_PUT, "moved", "v1", NULL, NULL);
  run(e, &b, ENGINE_PUT, "moved", "v2", NULL, NULL);
  assert_int_equal(b.err, 0);
  uint64_t last = b.state.s[0].counter;
  /* the older state is not what is stored: nothing goes */
  engine_job_init(&drop);
  drop.op = ENGINE_DROP;
  drop.key = "moved";
  drop.key_len = 5;
  drop.incoming = &a.state;
  assert_int_equal(engine_submit(e, &drop), 0);
  wait_done(1);
  assert_int_equal(drop.err, 0);
  assert_false(drop.changed);
  dvv_t d;
  dvv_init(&d);
  assert_int_equal(engine_record_read(e, "moved", 5, &d), 0);
  dvv_free(&d);
  engine_job_release(&drop);
  /* the stored state goes, and no event is recorded for it */
  uint64_t events = engine_event_count(e);
  engine_job_init(&drop);
  drop.op = ENGINE_DROP;
  drop.key = "moved";
  drop.key_len = 5;
  drop.incoming = &b.state;
  assert_int_equal(engine_submit(e, &drop), 0);
  wait_done(1);
  assert_true(drop.changed);
  assert_true(engine_event_count(e) == events);
  assert_int_equal(engine_record_read(e, "moved", 5, &d), CHORUS_ENOTFOUND);
  expect_clean(e, 0);
  engine_close(e);
  /* after a restart, a write of the forgotten key starts above every dot dropped */
  e = open_tree(false);
  run(e, &again, ENGINE_PUT, "moved", "v3", NULL, NULL);
  assert_int_equal(again.err, 0);
  assert_true(again.state.s[0].counter > last);
  engine_job_release(&a);
  engine_job_release(&b);
  engine_job_release(&drop);
  engine_job_release(&again);
  engine_close(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tree_follows_puts_deletes_and_merges, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tree_survives_a_reopen_without_a_rebuild, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_store_without_the_tree_is_indexed_once_at_open, setup, teardown),
      cmocka_unit_test_setup_teardown(test_an_operator_rebuild_repairs_a_damaged_tree, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_damaged_journal_refuses_the_start_until_a_rebuild, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_segment_keys_and_view_hashes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reap_drops_exactly_the_tombstones_named, setup, teardown),
      cmocka_unit_test_setup_teardown(test_drop_takes_exactly_the_state_named_and_dots_are_never_reused,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
