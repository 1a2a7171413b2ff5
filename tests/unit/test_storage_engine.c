/*
 * test_storage_engine.c - the LevelDB engine on a real store in a temp dir:
 * ordering, group commit, recovery after reopen, request-log replays, event
 * retention, the conflict index and the record cache. Runs under TSan too (submitters on
 * several threads, completions on the writer thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "storage/context.h"
#include "storage/engine.h"
#include "storage/record.h"

#include "engine_harness.h"

static void test_put_then_get_returns_the_value(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t put, get;
  run(e, &put, ENGINE_PUT, "k", "v1", NULL, NULL);
  assert_int_equal(put.err, 0);
  assert_int_equal(put.event_id, 1);
  run(e, &get, ENGINE_GET, "k", NULL, NULL, NULL);
  assert_int_equal(get.err, 0);
  assert_int_equal(get.state.n, 1);
  assert_memory_equal(get.state.s[0].value, "v1", 2);
  assert_int_equal(get.event_id, 2);
  engine_job_release(&put);
  engine_job_release(&get);
  engine_close(e);
}

static void test_get_and_delete_of_a_missing_key_are_not_found(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t get, del;
  run(e, &get, ENGINE_GET, "nope", NULL, NULL, NULL);
  assert_int_equal(get.err, CHORUS_ENOTFOUND);
  run(e, &del, ENGINE_DELETE, "nope", NULL, NULL, NULL);
  assert_int_equal(del.err, CHORUS_ENOTFOUND);
  engine_job_release(&get);
  engine_job_release(&del);
  engine_close(e);
}

/* Holds the writer and queues PUTs of "1" then "2" to key "same", so that
 * they form one group once the caller calls gate_release. */
static void queue_two_puts_to_one_key(engine_t *e, engine_job_t *gate, engine_job_t *a, engine_job_t *b) {
  gate_hold(e, gate);
  engine_job_init(a);
  engine_job_init(b);
  a->op = b->op = ENGINE_PUT;
  a->key = b->key = "same";
  a->key_len = b->key_len = 4;
  a->value = (const uint8_t *)"1";
  b->value = (const uint8_t *)"2";
  a->value_len = b->value_len = 1;
  assert_int_equal(engine_submit(e, a), 0);
  assert_int_equal(engine_submit(e, b), 0);
}

/* Two writes to one key queued together land in one group and the second sees the first. */
static void test_writes_in_one_group_see_each_other(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t gate, a, b;
  queue_two_puts_to_one_key(e, &gate, &a, &b);
  uint64_t batches = atomic_load(&engine_stats(e)->batches);
  gate_release();
  wait_done(3);
  assert_int_equal(atomic_load(&engine_stats(e)->batches), batches + 1); /* a and b: one group */
  assert_int_equal(b.err, 0);
  assert_int_equal(b.state.n, 1);
  assert_int_equal(a.state.n, 1);
  assert_true(b.state.s[0].counter == a.state.s[0].counter + 1); /* b's dot follows a's: it saw it */
  assert_memory_equal(b.state.s[0].value, "2", 1);
  engine_job_release(&gate);
  engine_job_release(&a);
  engine_job_release(&b);
  engine_close(e);
}

#define THREADS 4
#define PER_THREAD 300

typedef struct {
  engine_t *e;
  int id;
  engine_job_t jobs[PER_THREAD];
  char keys[PER_THREAD][32];
} submitter_t;

static void *submit_many(void *arg) {
  submitter_t *s = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    engine_job_t *j = &s->jobs[i];
    engine_job_init(j);
    snprintf(s->keys[i], sizeof s->keys[i], "t%d-k%d", s->id, i);
    j->op = ENGINE_PUT;
    j->key = s->keys[i];
    j->key_len = strlen(s->keys[i]);
    j->value = (const uint8_t *)s->keys[i];
    j->value_len = j->key_len;
    if (engine_submit(s->e, j) != 0) return (void *)1;
  }
  return NULL;
}

/* Concurrent writers with fsync=always share fsyncs (group commit), every
 * write completes, and all are there after a reopen. */
static void test_concurrent_writes_are_grouped_and_durable(void **state) {
  engine_t *e = open_engine(100000, FSYNC_ALWAYS);
  static submitter_t subs[THREADS];
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++) {
    subs[t].e = e;
    subs[t].id = t;
    assert_int_equal(pthread_create(&th[t], NULL, submit_many, &subs[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) {
    void *rv = NULL;
    pthread_join(th[t], &rv);
    assert_null(rv);
  }
  wait_done(THREADS * PER_THREAD);
  const engine_stats_t *st = engine_stats(e);
  uint64_t fsyncs = atomic_load(&st->fsyncs);
  assert_true(fsyncs >= 1);
  assert_true(fsyncs <= atomic_load(&st->batches));
  assert_int_equal(atomic_load(&st->writes), THREADS * PER_THREAD);
  assert_int_equal(engine_event_count(e), THREADS * PER_THREAD);
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; i < PER_THREAD; i++) {
      assert_int_equal(subs[t].jobs[i].err, 0);
      engine_job_release(&subs[t].jobs[i]);
    }
  engine_close(e);

  e = open_engine(100000, FSYNC_ALWAYS);
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; i < PER_THREAD; i += 37) {
      engine_job_t g;
      run(e, &g, ENGINE_GET, subs[t].keys[i], NULL, NULL, NULL);
      assert_int_equal(g.err, 0);
      assert_int_equal(g.state.s[0].value_len, strlen(subs[t].keys[i]));
      assert_memory_equal(g.state.s[0].value, subs[t].keys[i], g.state.s[0].value_len);
      engine_job_release(&g);
    }
  engine_close(e);
}

static void test_reopen_continues_event_ids_and_clock(void **state) {
  engine_t *e = open_engine(100, FSYNC_NEVER);
  engine_job_t j;
  for (int i = 0; i < 3; i++) {
    run(e, &j, ENGINE_PUT, "k", "v", NULL, NULL);
    engine_job_release(&j);
  }
  engine_close(e);
  e = open_engine(100, FSYNC_NEVER);
  assert_int_equal(engine_event_count(e), 3);
  vv_t clock;
  vv_init(&clock);
  assert_int_equal(engine_clock(e, &clock), 0);
  assert_int_equal(vv_get(&clock, "n1"), 3);
  run(e, &j, ENGINE_PUT, "k", "v", NULL, NULL);
  assert_int_equal(j.event_id, 4);
  assert_int_equal(j.state.s[0].counter, 4);
  engine_job_release(&j);
  assert_int_equal(engine_clock(e, &clock), 0);
  assert_int_equal(vv_get(&clock, "n1"), 4);
  vv_free(&clock);
  engine_close(e);
}

/* DESIGN §9, dots are never reused: a store wiped and made again under the
 * same node id (new_actor: the node joins a cluster that may remember it)
 * writes under a new actor, so the state a peer kept from before the wipe
 * does not swallow the new write. Without it, the new dot n1:1 is covered
 * by the old state's n1:3 and sync drops it. */
static void test_a_new_store_under_an_old_id_never_reuses_a_dot(void **state) {
  engine_opts_t o = engine_test_opts(100, FSYNC_NEVER);
  o.new_actor = true;
  engine_t *e = open_engine_opts(&o);
  const char *a1 = engine_actor(e);
  assert_int_equal(strncmp(a1, "n1.", 3), 0);
  assert_int_equal(strlen(a1), 3 + 8);
  char first[VV_NODE_MAX + 1];
  snprintf(first, sizeof first, "%s", a1);
  engine_job_t j;
  dvv_t peer; /* what a peer holds after three writes */
  dvv_init(&peer);
  for (int i = 0; i < 3; i++) {
    run(e, &j, ENGINE_PUT, "k", "old", NULL, NULL);
    assert_string_equal(j.state.s[0].node, first);
    assert_int_equal(dvv_copy(&peer, &j.state), 0);
    engine_job_release(&j);
  }
  engine_close(e);
  /* Reopened: the same actor (the store is not new). */
  e = open_engine_opts(&o);
  assert_string_equal(engine_actor(e), first);
  engine_close(e);
  /* Wiped: a new store, a new actor. */
  assert_int_equal(teardown(state), 0);
  assert_int_equal(setup(state), 0);
  e = open_engine_opts(&o);
  assert_string_not_equal(engine_actor(e), first);
  run(e, &j, ENGINE_PUT, "k", "new", NULL, NULL);
  assert_int_equal(j.err, 0);
  dvv_t merged;
  dvv_init(&merged);
  assert_int_equal(dvv_copy(&merged, &peer), 0);
  assert_int_equal(dvv_sync(&merged, &j.state), 0);
  /* the new write survives the peer's merge, as a sibling of the old one */
  assert_int_equal(merged.n, 2);
  bool has_new = false;
  for (size_t i = 0; i < merged.n; i++)
    has_new |= merged.s[i].value_len == 3 && memcmp(merged.s[i].value, "new", 3) == 0;
  assert_true(has_new);
  dvv_free(&merged);
  dvv_free(&peer);
  engine_job_release(&j);
  engine_close(e);
  /* Without new_actor (a node with no seeds founds its cluster) the actor is the node id. */
  assert_int_equal(teardown(state), 0);
  assert_int_equal(setup(state), 0);
  e = open_engine(100, FSYNC_NEVER);
  assert_string_equal(engine_actor(e), "n1");
  engine_close(e);
}

static void test_request_id_replays_the_first_answer_after_reopen(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t a, b;
  run(e, &a, ENGINE_PUT, "k", "v", NULL, "req-1");
  assert_int_equal(a.err, 0);
  assert_null(a.replay); /* the first application answers from its own outputs */
  run(e, &b, ENGINE_PUT, "k", "v", NULL, "req-1");
  assert_non_null(b.replay);
  assert_int_equal(b.replay->err, 0);
  assert_int_equal(b.replay->event_id, a.event_id);
  assert_true(dvv_equal(&b.replay->state, &a.state));
  assert_int_equal(b.replay->value_len, 1);
  assert_memory_equal(b.replay->value, "v", 1);
  assert_int_equal(b.event_id, 0);
  assert_int_equal(engine_event_count(e), 1);
  engine_job_release(&b);
  engine_close(e);

  e = open_engine(100, FSYNC_ALWAYS);
  run(e, &b, ENGINE_PUT, "k", "other", NULL, "req-1");
  assert_non_null(b.replay);
  assert_int_equal(b.replay->event_id, a.event_id);
  assert_true(dvv_equal(&b.replay->state, &a.state));
  assert_memory_equal(b.replay->value, "v", 1); /* the first value, not the retry's */
  engine_job_release(&b);
  run(e, &b, ENGINE_GET, "k", NULL, NULL, NULL);
  assert_int_equal(b.state.n, 1);
  assert_int_equal(b.state.s[0].counter, 1);
  engine_job_release(&b);
  engine_job_release(&a);
  engine_close(e);
}

/* Flips every byte of the middle half of each table file in the store: the
 * data blocks of the event log written by gets_then_tables. */
static void damage_tables(void) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd,
           "for f in '%s'/*.ldb; do s=$(stat -c %%s \"$f\"); "
           "python3 -c 'import sys; p=sys.argv[1]; s=int(sys.argv[2]); b=bytearray(open(p,\"rb\").read()); "
           "b[s//4:s*3//4]=bytes(x^0xff for x in b[s//4:s*3//4]); open(p,\"wb\").write(b)' \"$f\" $s; done",
           dir);
  assert_int_equal(system(cmd), 0);
}

/* n gets of missing keys (events only, no records), then a reopen that
 * moves them from LevelDB's log into a table file. */
static void gets_then_tables(uint64_t retention, int n) {
  engine_t *e = open_engine(retention, FSYNC_NEVER);
  static engine_job_t jobs[3000];
  static char keys[3000][24];
  assert_true(n <= 3000);
  for (int i = 0; i < n; i++) {
    snprintf(keys[i], sizeof keys[i], "missing-%d", i);
    engine_job_init(&jobs[i]);
    jobs[i].op = ENGINE_GET;
    jobs[i].key = keys[i];
    jobs[i].key_len = strlen(keys[i]);
    assert_int_equal(engine_submit(e, &jobs[i]), 0);
  }
  wait_done((size_t)n);
  for (int i = 0; i < n; i++)
    engine_job_release(&jobs[i]);
  engine_close(e);
  e = open_engine(retention, FSYNC_NEVER);
  engine_close(e);
}

/* An event log that cannot be read is not taken for a short or an empty
 * one: start-up (here pruning the log past a smaller retention) refuses the
 * store rather than restart event ids and the node clock. */
static void test_start_up_refuses_a_store_whose_event_log_is_unreadable(void **state) {
  gets_then_tables(100000, 3000);
  damage_tables();
  engine_opts_t o = engine_test_opts(100, FSYNC_NEVER);
  engine_t *e = NULL;
  assert_int_not_equal(engine_open(&o, &e), 0);
  assert_null(e);
}

/* A query that meets a damaged block fails instead of returning the
 * events before it as if they were all. */
static void test_event_query_over_a_damaged_block_fails(void **state) {
  gets_then_tables(100000, 3000);
  damage_tables();
  engine_t *e = open_engine(100000, FSYNC_NEVER);
  event_t *evs = NULL;
  size_t n = 0;
  assert_int_not_equal(engine_events(e, 0, 3000, &evs, &n), 0);
  assert_null(evs);
  assert_int_equal(n, 0);
  engine_close(e);
}

/* A delete of a missing key keeps its not-found outcome for a retry. */
static void test_request_id_replays_a_not_found_delete(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t a, b;
  run(e, &a, ENGINE_DELETE, "nothing", NULL, NULL, "req-d");
  assert_int_equal(a.err, CHORUS_ENOTFOUND);
  run(e, &b, ENGINE_DELETE, "nothing", NULL, NULL, "req-d");
  assert_int_equal(b.err, 0);
  assert_non_null(b.replay);
  assert_int_equal(b.replay->err, CHORUS_ENOTFOUND);
  assert_int_equal(b.replay->event_id, a.event_id);
  engine_job_release(&a);
  engine_job_release(&b);
  engine_close(e);
}

/* A store of format 1 kept rendered replies; start-up turns each into a
 * mark that the request was applied, so a retry is still not applied twice. */
static void test_format_1_request_log_is_carried_over_as_applied_marks(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "k", "v", NULL, NULL);
  engine_job_release(&j);
  engine_close(e);
  buf_t b;
  buf_init(&b);
  buf_put(&b, "CQ\x01", 3);
  buf_put_u16be(&b, 200);
  buf_put_u8(&b, ENGINE_PUT);
  buf_put_lbytes(&b, "k", 1);
  buf_put_lbytes(&b, "{}", 2);
  buf_put_crc32c(&b, 0);
  raw_write("rold-1", 6, (const char *)b.data, b.len);
  raw_write("mformat", 7, "1", 1);
  buf_free(&b);

  e = open_engine(100, FSYNC_ALWAYS);
  run(e, &j, ENGINE_PUT, "k", "again", NULL, "old-1");
  assert_int_equal(j.err, 0);
  assert_true(j.replicated_request);
  assert_int_equal(j.event_id, 0);
  assert_int_equal(j.state.n, 1);
  assert_memory_equal(j.state.s[0].value, "v", 1);
  engine_job_release(&j);
  engine_close(e);
}

/* Format 2 kept a record under 'd' key; start-up moves each into token
 * order, drops what no key could have made, and the tree covers them. */
static void test_format_2_records_move_into_token_order(void **state) {
  engine_opts_t o = engine_test_opts(100, FSYNC_ALWAYS);
  engine_t *e = open_engine_opts(&o);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "old", "v", NULL, NULL);
  buf_t b;
  buf_init(&b);
  assert_int_equal(record_encode(&j.state, &b), 0);
  engine_job_release(&j);
  engine_close(e);
  raw_write_record("old", NULL, 0);
  raw_write("dold", 4, (const char *)b.data, b.len);
  raw_write("d", 1, "x", 1);
  raw_write("mformat", 7, "2", 1);
  buf_free(&b);
  for (int open = 0; open < 2; open++) { /* the move, then a plain start */
    e = open_engine_opts(&o);
    run(e, &j, ENGINE_GET, "old", NULL, NULL, NULL);
    assert_int_equal(j.err, 0);
    assert_int_equal(j.state.n, 1);
    assert_memory_equal(j.state.s[0].value, "v", 1);
    engine_job_release(&j);
    engine_tree_verify_t v;
    assert_int_equal(engine_tree_verify(e, &v), 0);
    assert_true(v.clean);
    assert_int_equal(v.records, 1);
    engine_close(e);
  }
}

static void test_event_log_keeps_only_the_retention_window(void **state) {
  engine_t *e = open_engine(5, FSYNC_NEVER);
  engine_job_t j;
  for (int i = 0; i < 12; i++) {
    run(e, &j, i % 2 ? ENGINE_GET : ENGINE_PUT, "k", "v", NULL, NULL);
    engine_job_release(&j);
  }
  event_t *evs = NULL;
  size_t n = 0;
  assert_int_equal(engine_events(e, 0, 100, &evs, &n), 0);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(evs[i].id, 8 + i);
    assert_int_equal(vv_get(&evs[i].clock, "n1"), 8 + i);
    event_free(&evs[i]);
  }
  free(evs);
  assert_int_equal(engine_events(e, 10, 100, &evs, &n), 0);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++)
    event_free(&evs[i]);
  free(evs);
  engine_close(e);

  /* a smaller retention on restart prunes the backlog */
  e = open_engine(2, FSYNC_NEVER);
  assert_int_equal(engine_events(e, 0, 100, &evs, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(evs[0].id, 11);
  for (size_t i = 0; i < n; i++)
    event_free(&evs[i]);
  free(evs);
  engine_close(e);
}

static void test_conflict_index_follows_siblings(void **state) {
  engine_t *e = open_engine(100, FSYNC_NEVER);
  engine_job_t j;
  vv_t ctx;
  vv_init(&ctx);
  run(e, &j, ENGINE_PUT, "c", "base", NULL, NULL);
  assert_int_equal(dvv_context(&j.state, &ctx), 0);
  engine_job_release(&j);
  run(e, &j, ENGINE_PUT, "c", "a", &ctx, NULL);
  engine_job_release(&j);
  run(e, &j, ENGINE_PUT, "c", "b", &ctx, NULL);
  assert_int_equal(j.state.n, 2);
  assert_int_equal(dvv_context(&j.state, &ctx), 0);
  engine_job_release(&j);

  expect_one_conflict(e, "c", 2);
  engine_conflict_t *cs = NULL;
  size_t n = 0;

  run(e, &j, ENGINE_PUT, "c", "resolved", &ctx, NULL);
  assert_int_equal(j.state.n, 1);
  engine_job_release(&j);
  assert_int_equal(engine_conflicts(e, 10, &cs, &n), 0);
  assert_int_equal(n, 0);
  free(cs);
  assert_int_equal(atomic_load(&engine_stats(e)->conflicts_now), 0);
  vv_free(&ctx);
  engine_close(e);
}

/* The count of keys holding a live value follows puts and deletes, survives
 * a reopen, and is rebuilt from the records when a store lacks it. */
static void test_key_count_follows_live_keys_and_survives_reopen(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t j;
  const char *keys[] = {"a", "b", "c", "a"};
  for (size_t i = 0; i < 4; i++) {
    run(e, &j, ENGINE_PUT, keys[i], "v", NULL, NULL);
    engine_job_release(&j);
  }
  assert_int_equal(atomic_load(&engine_stats(e)->keys), 3);
  run(e, &j, ENGINE_DELETE, "b", NULL, NULL, NULL);
  engine_job_release(&j);
  run(e, &j, ENGINE_DELETE, "b", NULL, NULL, NULL); /* not found: nothing changes */
  engine_job_release(&j);
  assert_int_equal(atomic_load(&engine_stats(e)->keys), 2);
  run(e, &j, ENGINE_PUT, "b", "again", NULL, NULL);
  engine_job_release(&j);
  assert_int_equal(atomic_load(&engine_stats(e)->keys), 3);
  engine_close(e);

  e = open_engine(100, FSYNC_ALWAYS);
  assert_int_equal(atomic_load(&engine_stats(e)->keys), 3);
  run(e, &j, ENGINE_DELETE, "c", NULL, NULL, NULL);
  engine_job_release(&j);
  engine_close(e);

  /* a store written before the count existed: counted from its records */
  raw_write("mkeys", 5, NULL, 0);
  e = open_engine(100, FSYNC_ALWAYS);
  assert_int_equal(atomic_load(&engine_stats(e)->keys), 2);
  engine_close(e);
}

static void test_delete_leaves_a_tombstone_and_get_is_not_found(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "d", "v", NULL, NULL);
  engine_job_release(&j);
  run(e, &j, ENGINE_DELETE, "d", NULL, NULL, NULL);
  assert_int_equal(j.err, 0);
  assert_int_equal(j.state.n, 1);
  assert_true(j.state.s[0].tombstone);
  engine_job_release(&j);
  run(e, &j, ENGINE_GET, "d", NULL, NULL, NULL);
  assert_int_equal(j.err, CHORUS_ENOTFOUND);
  assert_int_equal(j.state.n, 1); /* the tombstone's context is still there for the client */
  engine_job_release(&j);
  engine_close(e);
}

/* A damaged record fails the operations on its key, with a clean error,
 * and nothing else: the rest keeps working and the record is not overwritten. */
static void test_a_corrupt_record_fails_only_its_own_key(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "good", "v", NULL, NULL);
  engine_job_release(&j);
  engine_close(e);

  raw_write_record("bad", "CR\x01garbage", 10);

  e = open_engine(100, FSYNC_ALWAYS);
  engine_job_t a, b, c;
  engine_job_init(&a);
  engine_job_init(&b);
  engine_job_init(&c);
  a.op = ENGINE_GET;
  b.op = ENGINE_PUT;
  c.op = ENGINE_PUT;
  a.key = b.key = "bad";
  a.key_len = b.key_len = 3;
  c.key = "good";
  c.key_len = 4;
  b.value = c.value = (const uint8_t *)"w";
  b.value_len = c.value_len = 1;
  assert_int_equal(engine_submit(e, &a), 0);
  assert_int_equal(engine_submit(e, &b), 0);
  assert_int_equal(engine_submit(e, &c), 0);
  wait_done(3);
  assert_int_equal(a.err, CHORUS_ECORRUPT);
  assert_int_equal(b.err, CHORUS_ECORRUPT);
  assert_int_equal(c.err, 0);
  assert_int_equal(c.state.n, 1);
  assert_int_equal(atomic_load(&engine_stats(e)->read_only), 0);
  engine_job_release(&a);
  engine_job_release(&b);
  engine_job_release(&c);
  engine_close(e);
}

static engine_t *open_engine_with_cache(uint64_t bytes, bool off) {
  engine_opts_t o = engine_test_opts(1000, FSYNC_NEVER);
  o.record_cache_bytes = bytes;
  o.record_cache_off = off;
  return open_engine_opts(&o);
}

/* The value a GET of key returns, NULL when not found (static buffer). */
static const char *get_value(engine_t *e, const char *key) {
  static char out[64];
  engine_job_t g;
  run(e, &g, ENGINE_GET, key, NULL, NULL, NULL);
  const char *r = NULL;
  if (g.err == 0) {
    assert_int_equal(g.state.n, 1);
    assert_true(g.state.s[0].value_len < sizeof out);
    memcpy(out, g.state.s[0].value, g.state.s[0].value_len);
    out[g.state.s[0].value_len] = '\0';
    r = out;
  } else {
    assert_int_equal(g.err, CHORUS_ENOTFOUND);
  }
  engine_job_release(&g);
  return r;
}

static void put_value(engine_t *e, const char *key, const char *value) {
  engine_job_t p;
  run(e, &p, value ? ENGINE_PUT : ENGINE_DELETE, key, value, NULL, NULL);
  assert_int_equal(p.err, 0);
  engine_job_release(&p);
}

/* Reads through a record cache far smaller than the data (so entries are
 * evicted and read again from LevelDB) and without one agree with what was
 * written: overwrites, deletes, keys never written. */
static void test_reads_follow_writes_through_a_small_record_cache_and_without_one(void **state) {
  for (int pass = 0; pass < 2; pass++) {
    engine_t *e = open_engine_with_cache(4096, pass == 1);
    char k[16], v[16];
    for (int i = 0; pass == 0 && i < 200; i++) {
      snprintf(k, sizeof k, "k%d", i);
      snprintf(v, sizeof v, "a%d", i);
      put_value(e, k, v);
      assert_string_equal(get_value(e, k), v);
    }
    for (int i = 0; pass == 0 && i < 200; i += 2) {
      snprintf(k, sizeof k, "k%d", i);
      snprintf(v, sizeof v, "b%d", i);
      put_value(e, k, i % 4 == 0 ? v : NULL);
    }
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "%c%d", i % 2 ? 'a' : 'b', i);
        const char *got = get_value(e, k);
        if (i % 4 == 2)
          assert_null(got);
        else
          assert_string_equal(got, v);
      }
      assert_null(get_value(e, "never-written"));
    }
    uint64_t hits = atomic_load(&engine_stats(e)->record_cache_hits);
    if (pass == 0) {
      assert_true(hits > 0);
      assert_true(atomic_load(&engine_stats(e)->record_cache_bytes) <= 4096);
    } else {
      assert_int_equal(hits, 0);
      assert_int_equal(atomic_load(&engine_stats(e)->record_cache_entries), 0);
    }
    engine_close(e); /* the second pass reopens the same store */
  }
}

/* The length of the value a GET of key returns (0 when not found). */
static size_t get_len(engine_t *e, const char *key) {
  engine_job_t g;
  run(e, &g, ENGINE_GET, key, NULL, NULL, NULL);
  size_t n = g.err == 0 ? g.state.s[0].value_len : 0;
  engine_job_release(&g);
  return n;
}

/* A record too large for the cache replaces a cached small one: the small
 * one must not be read again, and the large one is read from LevelDB. */
static void test_a_record_too_large_to_cache_drops_the_cached_one(void **state) {
  engine_t *e = open_engine_with_cache(4096, false); /* at most 256 bytes per entry */
  static char big[400];
  memset(big, 'b', sizeof big - 1);
  put_value(e, "k", "small");
  assert_string_equal(get_value(e, "k"), "small"); /* now cached */
  put_value(e, "k", big);
  uint64_t reads = atomic_load(&engine_stats(e)->reads);
  assert_int_equal(get_len(e, "k"), sizeof big - 1);
  assert_int_equal(atomic_load(&engine_stats(e)->reads), reads + 1); /* from LevelDB */
  put_value(e, "k", "small again");
  assert_string_equal(get_value(e, "k"), "small again");
  engine_close(e);
}

/* Two writes to one key in one group: the cache ends with the later one,
 * and the next read is served from it. */
static void test_the_record_cache_keeps_the_last_write_of_a_group(void **state) {
  engine_t *e = open_engine(100, FSYNC_ALWAYS);
  put_value(e, "same", "0");
  engine_job_t gate, a, b;
  queue_two_puts_to_one_key(e, &gate, &a, &b);
  gate_release();
  wait_done(3);
  uint64_t hits = atomic_load(&engine_stats(e)->record_cache_hits);
  uint64_t reads = atomic_load(&engine_stats(e)->reads);
  assert_string_equal(get_value(e, "same"), "2");
  assert_int_equal(atomic_load(&engine_stats(e)->record_cache_hits), hits + 1);
  assert_int_equal(atomic_load(&engine_stats(e)->reads), reads);
  engine_job_release(&gate);
  engine_job_release(&a);
  engine_job_release(&b);
  engine_close(e);
}

static void test_a_second_open_of_the_same_store_is_refused(void **state) {
  engine_t *e = open_engine(100, FSYNC_NEVER);
  engine_opts_t o = {
      .node_id = "n1", .dir = dir, .fsync = FSYNC_NEVER, .event_retention = 100, .on_done = on_done};
  engine_t *second = NULL;
  assert_int_equal(engine_open(&o, &second), CHORUS_EIO);
  assert_null(second);
  engine_close(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_put_then_get_returns_the_value, setup, teardown),
      cmocka_unit_test_setup_teardown(test_get_and_delete_of_a_missing_key_are_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_writes_in_one_group_see_each_other, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_writes_are_grouped_and_durable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_continues_event_ids_and_clock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_new_store_under_an_old_id_never_reuses_a_dot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_request_id_replays_the_first_answer_after_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_request_id_replays_a_not_found_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_start_up_refuses_a_store_whose_event_log_is_unreadable, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_event_query_over_a_damaged_block_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_format_1_request_log_is_carried_over_as_applied_marks, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_format_2_records_move_into_token_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_event_log_keeps_only_the_retention_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_conflict_index_follows_siblings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_key_count_follows_live_keys_and_survives_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delete_leaves_a_tombstone_and_get_is_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_corrupt_record_fails_only_its_own_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_second_open_of_the_same_store_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reads_follow_writes_through_a_small_record_cache_and_without_one,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_the_record_cache_keeps_the_last_write_of_a_group, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_record_too_large_to_cache_drops_the_cached_one, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
