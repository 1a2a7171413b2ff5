/*
 * test_storage_engine_replica.c - the storage side of replication on a real
 * store: merges of other nodes' states (siblings, idempotence, clocks and
 * peers of receive events, a coordinator's receive events, durability, grouping with client writes, request
 * ids applied by replication) and hints (merge, listing, delete-if-equal,
 * expiry, the bound, counts across reopen, unreadable hints).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <time.h>

#include "common/err.h"
#include "storage/engine.h"

#include "engine_harness.h"

static engine_t *open_with(uint64_t max_hints, uint64_t hint_ttl_ms) {
  engine_opts_t o = engine_test_opts(100, FSYNC_ALWAYS);
  o.max_hints = max_hints;
  o.hint_ttl_ms = hint_ttl_ms;
  return open_engine_opts(&o);
}

/* States of a fresh key written through a coordinator: S1 through n1 (this
 * node), S2 through n2, so the two are concurrent. */
static dvv_t S1, S2;

static void remote_write(dvv_t *out, const char *node, const char *value) {
  dvv_init(out);
  assert_int_equal(dvv_update(out, NULL, node, value, strlen(value), false, 1000, NULL), 0);
}

static int setup_states(void **state) {
  remote_write(&S1, "n1", "one");
  remote_write(&S2, "n2", "two");
  return setup(state);
}

static int teardown_states(void **state) {
  dvv_free(&S1);
  dvv_free(&S2);
  return teardown(state);
}

/* Prepares (does not submit) a job of a replication op. */
static void prepare(engine_job_t *j, engine_op_t op, const char *owner, const char *key,
                    const dvv_t *incoming) {
  engine_job_init(j);
  j->op = op;
  j->hint_owner = owner;
  j->key = key;
  j->key_len = key ? strlen(key) : 0;
  j->incoming = incoming;
}

static void run_prepared(engine_t *e, engine_job_t *j) {
  assert_int_equal(engine_submit(e, j), 0);
  wait_done(1);
}

static void merge(engine_t *e, engine_job_t *j, const char *key, const dvv_t *incoming, const char *rid) {
  prepare(j, ENGINE_MERGE, NULL, key, incoming);
  j->request_id = rid;
  run_prepared(e, j);
}

static void hint(engine_t *e, engine_job_t *j, engine_op_t op, const char *owner, const char *key,
                 const dvv_t *incoming) {
  prepare(j, op, owner, key, incoming);
  run_prepared(e, j);
}

/* A step whose outcome the test does not look at. */
static void hint_step(engine_t *e, engine_op_t op, const char *owner, const char *key,
                      const dvv_t *incoming) {
  engine_job_t j;
  hint(e, &j, op, owner, key, incoming);
  assert_int_equal(j.err, 0);
  engine_job_release(&j);
}

/* The newest event of the log (the caller frees it). */
static void last_event(engine_t *e, event_t *out) {
  event_t *evs = NULL;
  size_t n = 0;
  uint64_t count = engine_event_count(e);
  assert_true(count > 0);
  assert_int_equal(engine_events(e, count - 1, 1, &evs, &n), 0);
  assert_int_equal(n, 1);
  *out = evs[0];
  free(evs);
}

static void test_merge_of_a_concurrent_state_makes_siblings_and_marks_the_conflict(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "k", "local", NULL, NULL);
  engine_job_release(&j);
  merge(e, &j, "k", &S2, NULL);
  assert_int_equal(j.err, 0);
  assert_true(j.changed);
  assert_int_equal(j.state.n, 2);
  assert_string_equal(j.state.s[0].node, "n1");
  assert_string_equal(j.state.s[1].node, "n2");
  assert_true(j.event_id > 0);
  engine_job_release(&j);

  expect_one_conflict(e, "k", 2);
  engine_close(e);
}

static void test_merge_of_an_older_state_changes_nothing_but_records_an_event(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "k", "v1", NULL, NULL);
  dvv_t old;
  dvv_init(&old);
  assert_int_equal(dvv_copy(&old, &j.state), 0);
  engine_job_release(&j);
  run(e, &j, ENGINE_PUT, "k", "v2", NULL, NULL);
  engine_job_release(&j);
  uint64_t writes = atomic_load(&engine_stats(e)->writes);

  merge(e, &j, "k", &old, NULL);
  assert_int_equal(j.err, 0);
  assert_false(j.changed);
  assert_int_equal(j.state.n, 1);
  assert_memory_equal(j.state.s[0].value, "v2", 2);
  assert_int_equal(j.event_id, 3);
  assert_int_equal(atomic_load(&engine_stats(e)->writes), writes);
  engine_job_release(&j);
  event_t ev;
  last_event(e, &ev);
  assert_int_equal(ev.type, EVENT_REPLICATE);
  assert_string_equal(ev.preview, "v1"); /* what was received */
  event_free(&ev);
  dvv_free(&old);
  engine_close(e);
}

/* A merge is a receive event: its clock dominates the sender's and the
 * node's own, and it names the sender. */
static void test_merged_clock_dominates_the_remote_and_local_clocks(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "k", "v", NULL, NULL);
  vv_t local, remote;
  vv_init(&local);
  vv_init(&remote);
  assert_int_equal(vv_copy(&local, &j.clock), 0);
  assert_int_equal(vv_get(&local, "n1"), 1);
  engine_job_release(&j);
  assert_int_equal(vv_set(&remote, "n2", 5), 0);
  assert_int_equal(vv_set(&remote, "n3", 2), 0);

  prepare(&j, ENGINE_MERGE, NULL, "k", &S2);
  j.remote_clock = &remote;
  j.peer = "n2";
  j.event_type = EVENT_READ_REPAIR;
  run_prepared(e, &j);
  assert_int_equal(j.err, 0);
  assert_true(vv_descends(&j.clock, &remote));
  assert_true(vv_descends(&j.clock, &local));
  assert_int_equal(vv_get(&j.clock, "n1"), 2);
  assert_int_equal(vv_get(&j.clock, "n2"), 5);
  assert_int_equal(vv_get(&j.clock, "n3"), 2);
  event_t ev;
  last_event(e, &ev);
  assert_int_equal(ev.id, j.event_id);
  assert_int_equal(ev.type, EVENT_READ_REPAIR);
  assert_string_equal(ev.peer, "n2");
  assert_true(vv_equal(&ev.clock, &j.clock));
  event_free(&ev);
  engine_job_release(&j);

  /* event_type 0 is a replicate; a hint delivery is named as such */
  merge(e, &j, "k", &S2, NULL);
  assert_int_equal(j.err, 0);
  last_event(e, &ev);
  assert_int_equal(ev.type, EVENT_REPLICATE);
  assert_string_equal(ev.peer, "");
  event_free(&ev);
  engine_job_release(&j);
  prepare(&j, ENGINE_MERGE, NULL, "k", &S2);
  j.event_type = EVENT_HINT_DELIVERED;
  j.peer = "n4";
  run_prepared(e, &j);
  last_event(e, &ev);
  assert_int_equal(ev.type, EVENT_HINT_DELIVERED);
  assert_string_equal(ev.peer, "n4");
  event_free(&ev);
  engine_job_release(&j);

  /* a forwarded client write joins the sender's clock too */
  assert_int_equal(vv_set(&remote, "n3", 9), 0);
  engine_job_init(&j);
  j.op = ENGINE_PUT;
  j.key = "fw";
  j.key_len = 2;
  j.remote_clock = &remote;
  j.peer = "n3";
  run_prepared(e, &j);
  assert_int_equal(j.err, 0);
  assert_int_equal(vv_get(&j.clock, "n3"), 9);
  assert_int_equal(vv_get(&j.clock, "n1"), 5);
  vv_t published;
  vv_init(&published);
  assert_int_equal(engine_clock(e, &published), 0);
  assert_true(vv_equal(&published, &j.clock));
  engine_job_release(&j);

  vv_free(&published);
  vv_free(&local);
  vv_free(&remote);
  engine_close(e);
}

static void test_merge_is_durable_across_reopen(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "k", "local", NULL, NULL);
  engine_job_release(&j);
  prepare(&j, ENGINE_MERGE, NULL, "k", &S2);
  j.peer = "n2";
  run_prepared(e, &j);
  assert_int_equal(j.err, 0);
  vv_t clock;
  vv_init(&clock);
  assert_int_equal(vv_copy(&clock, &j.clock), 0);
  engine_job_release(&j);
  engine_close(e);

  e = open_with(0, 0);
  run(e, &j, ENGINE_GET, "k", NULL, NULL, NULL);
  assert_int_equal(j.err, 0);
  assert_int_equal(j.state.n, 2);
  engine_job_release(&j);
  assert_int_equal(atomic_load(&engine_stats(e)->conflicts_now), 1);
  event_t *evs = NULL;
  size_t n = 0;
  assert_int_equal(engine_events(e, 1, 1, &evs, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(evs[0].type, EVENT_REPLICATE);
  assert_string_equal(evs[0].peer, "n2");
  assert_true(vv_equal(&evs[0].clock, &clock));
  event_free(&evs[0]);
  free(evs);
  vv_free(&clock);
  engine_close(e);
}

/* A merge, a put and the same merge again in one group: the put sees the
 * merged sibling (its context covers it), and the repeated merge sees the
 * put (nothing changes). */
static void test_merge_and_put_in_one_group_see_each_other(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t gate, m1, put, m2;
  gate_hold(e, &gate);
  prepare(&m1, ENGINE_MERGE, NULL, "k", &S2);
  engine_job_init(&put);
  put.op = ENGINE_PUT;
  put.key = "k";
  put.key_len = 1;
  put.value = (const uint8_t *)"mine";
  put.value_len = 4;
  prepare(&m2, ENGINE_MERGE, NULL, "k", &S2);
  assert_int_equal(engine_submit(e, &m1), 0);
  assert_int_equal(engine_submit(e, &put), 0);
  assert_int_equal(engine_submit(e, &m2), 0);
  uint64_t batches = atomic_load(&engine_stats(e)->batches);
  gate_release();
  wait_done(4);
  assert_int_equal(atomic_load(&engine_stats(e)->batches), batches + 1);
  assert_true(m1.changed);
  assert_int_equal(m1.state.n, 1);
  assert_int_equal(put.err, 0);
  assert_int_equal(put.state.n, 1);
  assert_string_equal(put.state.s[0].node, "n1");
  assert_true(vv_covers(&put.state.s[0].ctx, "n2", 1));
  assert_int_equal(m2.err, 0);
  assert_false(m2.changed);
  assert_true(dvv_equal(&m2.state, &put.state));
  assert_int_equal(m2.event_id, put.event_id + 1);
  engine_job_release(&gate);
  engine_job_release(&m1);
  engine_job_release(&put);
  engine_job_release(&m2);
  engine_close(e);
}

/* A client retries through this node a write this node already merged as a
 * replica: the retry is not applied again (no new dot, no event). */
static void test_request_id_applied_by_replication_is_not_applied_again(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  prepare(&j, ENGINE_MERGE, NULL, "k", &S2);
  j.request_id = "rq-1";
  j.request_op = ENGINE_PUT;
  run_prepared(e, &j);
  assert_int_equal(j.err, 0);
  engine_job_release(&j);
  uint64_t events = engine_event_count(e);

  run(e, &j, ENGINE_PUT, "k", "x", NULL, "rq-1");
  assert_int_equal(j.err, 0);
  assert_true(j.replicated_request);
  assert_null(j.replay);
  assert_int_equal(j.event_id, 0);
  assert_true(dvv_equal(&j.state, &S2));
  assert_true(j.clock.n > 0);
  engine_job_release(&j);
  assert_int_equal(engine_event_count(e), events);

  /* the same id for another key, or another op, is a reuse */
  run(e, &j, ENGINE_PUT, "other", "x", NULL, "rq-1");
  assert_true(j.request_reused);
  assert_int_equal(j.err, CHORUS_EINVAL);
  engine_job_release(&j);
  run(e, &j, ENGINE_DELETE, "k", NULL, NULL, "rq-1");
  assert_true(j.request_reused);
  engine_job_release(&j);
  engine_close(e);

  /* after a reopen, and with the op unknown (either op matches) */
  e = open_with(0, 0);
  run(e, &j, ENGINE_PUT, "k", "x", NULL, "rq-1");
  assert_true(j.replicated_request);
  assert_int_equal(j.state.n, 1);
  engine_job_release(&j);
  merge(e, &j, "k", &S2, "rq-2");
  engine_job_release(&j);
  run(e, &j, ENGINE_DELETE, "k", NULL, NULL, "rq-2");
  assert_int_equal(j.err, 0);
  assert_true(j.replicated_request);
  assert_false(j.state.s[0].tombstone);
  engine_job_release(&j);

  /* a reply stored for the id is not replaced by a later merge's mark */
  engine_job_t first;
  run(e, &first, ENGINE_PUT, "p", "v", NULL, "rq-3");
  merge(e, &j, "p", &S2, "rq-3");
  engine_job_release(&j);
  run(e, &j, ENGINE_PUT, "p", "v", NULL, "rq-3");
  assert_false(j.replicated_request);
  assert_non_null(j.replay);
  assert_int_equal(j.replay->event_id, first.event_id);
  assert_true(dvv_equal(&j.replay->state, &first.state));
  engine_job_release(&j);
  engine_job_release(&first);
  engine_close(e);
}

/* The mark of a merge is seen by a retry in the same group. */
static void test_request_id_of_a_merge_is_seen_within_its_group(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t gate, m, put;
  gate_hold(e, &gate);
  prepare(&m, ENGINE_MERGE, NULL, "k", &S2);
  m.request_id = "rq";
  m.request_op = ENGINE_PUT;
  engine_job_init(&put);
  put.op = ENGINE_PUT;
  put.key = "k";
  put.key_len = 1;
  put.value = (const uint8_t *)"x";
  put.value_len = 1;
  put.request_id = "rq";
  assert_int_equal(engine_submit(e, &m), 0);
  assert_int_equal(engine_submit(e, &put), 0);
  gate_release();
  wait_done(3);
  assert_int_equal(put.err, 0);
  assert_true(put.replicated_request);
  assert_true(dvv_equal(&put.state, &S2));
  engine_job_release(&gate);
  engine_job_release(&m);
  engine_job_release(&put);
  engine_close(e);
}

static void test_jobs_with_invalid_inputs_are_refused(void **state) {
  engine_t *e = open_with(0, 0);
  dvv_t empty;
  dvv_init(&empty);
  engine_job_t j;
  prepare(&j, ENGINE_MERGE, NULL, "k", NULL);
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  j.incoming = &empty;
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  j.incoming = &S2;
  j.event_type = EVENT_PUT;
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  j.event_type = 0;
  j.peer = "not a node";
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  j.peer = NULL;
  j.request_op = ENGINE_GET;
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  prepare(&j, ENGINE_HINT_PUT, NULL, "k", &S2);
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  j.hint_owner = "";
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  j.op = (engine_op_t)(ENGINE_DROP + 1);
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  /* a receive event needs an ack or read-reply type, a peer and its clock */
  vv_t remote;
  vv_init(&remote);
  engine_job_init(&j);
  j.op = ENGINE_RECEIVE;
  j.key = "k";
  j.key_len = 1;
  j.event_type = EVENT_ACK;
  j.peer = "n2";
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL); /* no remote clock */
  j.remote_clock = &remote;
  j.event_type = EVENT_REPLICATE;
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  j.event_type = EVENT_READ_REPLY;
  j.peer = "";
  assert_int_equal(engine_submit(e, &j), CHORUS_EINVAL);
  engine_job_release(&j);
  vv_free(&remote);
  engine_close(e);
}

/* A coordinator receiving a replica's reply records a receive event: the
 * reply's clock joined in, the peer named, nothing else stored, no fsync. */
static void test_receive_records_an_event_joined_with_the_reply_clock(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  run(e, &j, ENGINE_PUT, "k", "v", NULL, NULL);
  engine_job_release(&j);
  uint64_t fsyncs = atomic_load(&engine_stats(e)->fsyncs);
  uint64_t writes = atomic_load(&engine_stats(e)->writes);
  vv_t remote;
  vv_init(&remote);
  assert_int_equal(vv_set(&remote, "n1", 1), 0);
  assert_int_equal(vv_set(&remote, "n2", 3), 0);
  const event_type_t types[] = {EVENT_ACK, EVENT_READ_REPLY};
  for (size_t i = 0; i < 2; i++) {
    engine_job_init(&j);
    j.op = ENGINE_RECEIVE;
    j.key = "k";
    j.key_len = 1;
    j.event_type = types[i];
    j.peer = "n2";
    j.remote_clock = &remote;
    run_prepared(e, &j);
    assert_int_equal(j.err, 0);
    assert_int_equal(j.event_id, 2 + i);
    assert_int_equal(vv_get(&j.clock, "n1"), 2 + i);
    assert_int_equal(vv_get(&j.clock, "n2"), 3);
    event_t ev;
    last_event(e, &ev);
    assert_int_equal(ev.type, types[i]);
    assert_string_equal(ev.peer, "n2");
    assert_string_equal(ev.key, "k");
    assert_true(vv_equal(&ev.clock, &j.clock));
    event_free(&ev);
    engine_job_release(&j);
  }
  assert_string_equal(event_type_name(EVENT_ACK), "ack");
  assert_string_equal(event_type_name(EVENT_READ_REPLY), "read_reply");
  assert_int_equal(atomic_load(&engine_stats(e)->fsyncs), fsyncs);
  assert_int_equal(atomic_load(&engine_stats(e)->writes), writes);
  /* the key's versions are untouched */
  run(e, &j, ENGINE_GET, "k", NULL, NULL, NULL);
  assert_int_equal(j.err, 0);
  assert_int_equal(j.state.n, 1);
  engine_job_release(&j);
  vv_free(&remote);
  engine_close(e);
}

static void expect_counts(engine_t *e, size_t n, const char *owners[], const uint64_t counts[]) {
  engine_hint_count_t *c = NULL;
  size_t got = 0;
  assert_int_equal(engine_hint_counts(e, &c, &got), 0);
  assert_int_equal(got, n);
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(c[i].owner, owners[i]);
    assert_int_equal(c[i].count, counts[i]);
    total += counts[i];
  }
  free(c);
  assert_int_equal(atomic_load(&engine_stats(e)->hints), total);
}

static void test_hints_merge_and_are_listed_per_owner_in_key_order(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  hint(e, &j, ENGINE_HINT_PUT, "n3", "b", &S1);
  assert_int_equal(j.err, 0);
  assert_true(j.changed);
  uint64_t stored_at = j.stored_at_ms;
  assert_true(stored_at > 0);
  event_t ev;
  last_event(e, &ev);
  assert_int_equal(ev.type, EVENT_HINT_STORED);
  assert_string_equal(ev.peer, "n3");
  assert_string_equal(ev.key, "b");
  event_free(&ev);
  engine_job_release(&j);
  usleep(2000);
  hint(e, &j, ENGINE_HINT_PUT, "n3", "b", &S2);
  assert_true(j.changed);
  assert_int_equal(j.state.n, 2);
  assert_int_equal(j.stored_at_ms, stored_at);
  engine_job_release(&j);
  hint(e, &j, ENGINE_HINT_PUT, "n3", "b", &S1);
  assert_false(j.changed);
  assert_true(j.event_id > 0);
  engine_job_release(&j);
  hint_step(e, ENGINE_HINT_PUT, "n3", "a", &S1);
  prepare(&j, ENGINE_HINT_PUT, "n4", "a", &S2);
  j.peer = "n2";
  run_prepared(e, &j);
  engine_job_release(&j);
  last_event(e, &ev);
  assert_string_equal(ev.peer, "n2");
  event_free(&ev);

  engine_hint_t *hs = NULL;
  size_t n = 0;
  assert_int_equal(engine_hints(e, "n3", 10, &hs, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(hs[0].key, "a");
  assert_int_equal(hs[0].state.n, 1);
  assert_string_equal(hs[1].key, "b");
  assert_int_equal(hs[1].state.n, 2);
  assert_int_equal(hs[1].stored_at_ms, stored_at);
  engine_hints_free(hs, n);
  assert_int_equal(engine_hints(e, "n3", 1, &hs, &n), 0);
  assert_int_equal(n, 1);
  engine_hints_free(hs, n);
  assert_int_equal(engine_hints(e, "n5", 10, &hs, &n), 0);
  assert_int_equal(n, 0);
  engine_hints_free(hs, n);
  assert_int_equal(engine_hints(e, "bad owner", 10, &hs, &n), CHORUS_EINVAL);

  const char *owners[] = {"n3", "n4"};
  const uint64_t counts[] = {2, 1};
  expect_counts(e, 2, owners, counts);
  assert_int_equal(atomic_load(&engine_stats(e)->hints_stored_total), 5);
  engine_close(e);
}

/* A delivered hint is dropped only if nothing newer was merged into it meanwhile. */
static void test_hint_delete_only_drops_the_state_that_was_delivered(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  hint_step(e, ENGINE_HINT_PUT, "n3", "k", &S1);
  uint64_t events = engine_event_count(e);
  hint(e, &j, ENGINE_HINT_DELETE, "n3", "k", &S1);
  assert_int_equal(j.err, 0);
  assert_true(j.changed);
  assert_int_equal(j.state.n, 0);
  assert_int_equal(j.event_id, 0);
  engine_job_release(&j);
  assert_int_equal(engine_event_count(e), events);
  assert_int_equal(atomic_load(&engine_stats(e)->hints), 0);

  hint_step(e, ENGINE_HINT_PUT, "n3", "k", &S1);
  hint(e, &j, ENGINE_HINT_PUT, "n3", "k", &S2);
  dvv_t both;
  dvv_init(&both);
  assert_int_equal(dvv_copy(&both, &j.state), 0);
  engine_job_release(&j);
  hint(e, &j, ENGINE_HINT_DELETE, "n3", "k", &S1);
  assert_int_equal(j.err, 0);
  assert_false(j.changed);
  assert_int_equal(j.state.n, 2);
  engine_job_release(&j);
  assert_int_equal(atomic_load(&engine_stats(e)->hints), 1);
  hint(e, &j, ENGINE_HINT_DELETE, "n4", "k", &both); /* another owner's: nothing there */
  assert_false(j.changed);
  engine_job_release(&j);
  hint(e, &j, ENGINE_HINT_DELETE, "n3", "k", &both);
  assert_true(j.changed);
  engine_job_release(&j);
  assert_int_equal(atomic_load(&engine_stats(e)->hints), 0);
  assert_int_equal(atomic_load(&engine_stats(e)->hints_deleted_total), 2);
  expect_counts(e, 0, NULL, NULL);
  dvv_free(&both);
  engine_close(e);
}

static void test_hints_expire_after_the_ttl(void **state) {
  engine_t *e = open_with(0, 0); /* the default TTL: hours */
  engine_job_t j;
  hint_step(e, ENGINE_HINT_PUT, "n3", "a", &S1);
  hint_step(e, ENGINE_HINT_PUT, "n4", "b", &S1);
  hint_step(e, ENGINE_HINT_PUT, "n4", "c", &S1);
  prepare(&j, ENGINE_HINT_EXPIRE, NULL, NULL, NULL);
  run_prepared(e, &j);
  assert_int_equal(j.err, 0);
  assert_int_equal(j.count, 0);
  engine_job_release(&j);
  engine_close(e);

  e = open_with(0, 1);
  usleep(5000);
  uint64_t events = engine_event_count(e);
  prepare(&j, ENGINE_HINT_EXPIRE, NULL, NULL, NULL);
  run_prepared(e, &j);
  assert_int_equal(j.err, 0);
  assert_int_equal(j.count, 3);
  assert_int_equal(j.event_id, 0);
  engine_job_release(&j);
  assert_int_equal(engine_event_count(e), events);
  assert_int_equal(atomic_load(&engine_stats(e)->hints_expired_total), 3);
  expect_counts(e, 0, NULL, NULL);
  engine_hint_t *hs = NULL;
  size_t n = 0;
  assert_int_equal(engine_hints(e, "n4", 10, &hs, &n), 0);
  assert_int_equal(n, 0);
  engine_hints_free(hs, n);
  engine_close(e);
}

/* Expiry walks the hints in slices of ENGINE_HINT_EXPIRE_SCAN keys, so no
 * group holds the writer for a scan of every hint; a slice says whether it
 * finished the pass, and the next pass starts from the first hint again. */
static void test_hint_expiry_runs_in_bounded_slices(void **state) {
  enum { N = ENGINE_HINT_EXPIRE_SCAN + 10 };
  engine_t *e = open_with(0, 1);
  static engine_job_t jobs[N];
  static char keys[N][24];
  for (size_t i = 0; i < N; i++) {
    snprintf(keys[i], sizeof keys[i], "k%05zu", i);
    prepare(&jobs[i], ENGINE_HINT_PUT, "n3", keys[i], &S1);
    assert_int_equal(engine_submit(e, &jobs[i]), 0);
  }
  wait_done(N);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(jobs[i].err, 0);
    engine_job_release(&jobs[i]);
  }
  usleep(5000);
  uint64_t expected[] = {ENGINE_HINT_EXPIRE_SCAN, 10, 0};
  bool finished[] = {false, true, true};
  for (size_t s = 0; s < 3; s++) {
    engine_job_t j;
    prepare(&j, ENGINE_HINT_EXPIRE, NULL, NULL, NULL);
    run_prepared(e, &j);
    assert_int_equal(j.err, 0);
    assert_int_equal(j.count, expected[s]);
    assert_int_equal(j.changed, finished[s]);
    engine_job_release(&j);
  }
  assert_int_equal(atomic_load(&engine_stats(e)->hints), 0);
  assert_int_equal(atomic_load(&engine_stats(e)->hints_expired_total), N);
  engine_close(e);
}

/* Expiry runs in a group of its own: a hint put queued right behind it is
 * not lost to it, and both keep the counts right. */
static void test_hint_expire_is_not_grouped_with_other_jobs(void **state) {
  engine_t *e = open_with(0, 1);
  engine_job_t gate, x, p;
  hint_step(e, ENGINE_HINT_PUT, "n3", "a", &S1);
  usleep(5000);
  gate_hold(e, &gate);
  prepare(&x, ENGINE_HINT_EXPIRE, NULL, NULL, NULL);
  prepare(&p, ENGINE_HINT_PUT, "n3", "a", &S1);
  uint64_t batches = atomic_load(&engine_stats(e)->batches);
  assert_int_equal(engine_submit(e, &x), 0);
  assert_int_equal(engine_submit(e, &p), 0);
  gate_release();
  wait_done(3);
  assert_int_equal(atomic_load(&engine_stats(e)->batches), batches + 2);
  assert_int_equal(x.count, 1);
  assert_int_equal(p.err, 0);
  assert_true(p.changed);
  const char *owners[] = {"n3"};
  const uint64_t counts[] = {1};
  expect_counts(e, 1, owners, counts);
  engine_job_release(&gate);
  engine_job_release(&x);
  engine_job_release(&p);
  engine_close(e);
}

static void test_hints_are_bounded_by_max_hints(void **state) {
  engine_t *e = open_with(2, 0);
  engine_job_t j;
  hint_step(e, ENGINE_HINT_PUT, "n3", "a", &S1);
  hint_step(e, ENGINE_HINT_PUT, "n4", "b", &S1);
  uint64_t events = engine_event_count(e);
  hint(e, &j, ENGINE_HINT_PUT, "n3", "c", &S1);
  assert_int_equal(j.err, CHORUS_EBUSY);
  assert_false(j.changed);
  assert_int_equal(j.event_id, 0);
  engine_job_release(&j);
  assert_int_equal(engine_event_count(e), events);
  assert_int_equal(atomic_load(&engine_stats(e)->hints_refused_total), 1);
  hint(e, &j, ENGINE_HINT_PUT, "n3", "a", &S2); /* an existing hint still takes newer states */
  assert_int_equal(j.err, 0);
  assert_true(j.changed);
  dvv_t both;
  dvv_init(&both);
  assert_int_equal(dvv_copy(&both, &j.state), 0);
  engine_job_release(&j);
  hint(e, &j, ENGINE_HINT_DELETE, "n3", "a", &both);
  engine_job_release(&j);

  /* the bound counts the hints of the group being applied too */
  engine_job_t gate, p[3];
  const char *keys[] = {"x", "y", "z"};
  gate_hold(e, &gate);
  for (int i = 0; i < 3; i++) {
    prepare(&p[i], ENGINE_HINT_PUT, "n5", keys[i], &S1);
    assert_int_equal(engine_submit(e, &p[i]), 0);
  }
  gate_release();
  wait_done(4);
  assert_int_equal(p[0].err, 0);
  assert_int_equal(p[1].err, CHORUS_EBUSY);
  assert_int_equal(p[2].err, CHORUS_EBUSY);
  const char *owners[] = {"n4", "n5"};
  const uint64_t counts[] = {1, 1};
  expect_counts(e, 2, owners, counts);
  engine_job_release(&gate);
  for (int i = 0; i < 3; i++)
    engine_job_release(&p[i]);
  dvv_free(&both);
  engine_close(e);
}

static void test_hint_counts_survive_reopen(void **state) {
  engine_t *e = open_with(0, 0);
  const char *keys[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++)
    hint_step(e, ENGINE_HINT_PUT, i ? "node-2" : "node-10", keys[i], &S1);
  engine_close(e);
  e = open_with(0, 0);
  const char *owners[] = {"node-10", "node-2"};
  const uint64_t counts[] = {1, 2};
  expect_counts(e, 2, owners, counts);
  engine_close(e);
}

/* Damaged hints are skipped by the listing, replaced by the next hint for
 * their key, and dropped by expiry when they cannot even say their age. */
static void test_unreadable_hints_are_skipped_and_never_crash(void **state) {
  engine_t *e = open_with(0, 0);
  engine_job_t j;
  hint_step(e, ENGINE_HINT_PUT, "n3", "a", &S1);
  hint_step(e, ENGINE_HINT_PUT, "n3", "d", &S1);
  engine_close(e);

  raw_write("hn3\0b", 5, "\0\0\0\0\0\0\0\1CR\1garbage", 18); /* a good header, a bad record */
  raw_write("hn3\0c", 5, "xy", 2);                           /* too short for a header */
  raw_write("hzz", 3, "whatever", 8);                        /* not a hint key at all */

  e = open_with(0, 0);
  const char *owners[] = {"n3"};
  const uint64_t four[] = {4};
  expect_counts(e, 1, owners, four);
  engine_hint_t *hs = NULL;
  size_t n = 0;
  assert_int_equal(engine_hints(e, "n3", 10, &hs, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(hs[0].key, "a");
  assert_string_equal(hs[1].key, "d");
  engine_hints_free(hs, n);
  assert_int_equal(atomic_load(&engine_stats(e)->hints_unreadable_total), 2);

  /* a delete cannot match it; a put replaces it */
  hint(e, &j, ENGINE_HINT_DELETE, "n3", "b", &S1);
  assert_false(j.changed);
  engine_job_release(&j);
  hint(e, &j, ENGINE_HINT_PUT, "n3", "b", &S1);
  assert_int_equal(j.err, 0);
  assert_true(j.changed);
  engine_job_release(&j);
  assert_int_equal(engine_hints(e, "n3", 10, &hs, &n), 0);
  assert_int_equal(n, 3);
  engine_hints_free(hs, n);
  expect_counts(e, 1, owners, four);

  prepare(&j, ENGINE_HINT_EXPIRE, NULL, NULL, NULL);
  run_prepared(e, &j);
  assert_int_equal(j.count, 2); /* the short one and the stray key */
  engine_job_release(&j);
  const uint64_t three[] = {3};
  expect_counts(e, 1, owners, three);
  engine_close(e);
}

int main(void) {
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup_states, teardown_states)
  const struct CMUnitTest tests[] = {
      TEST(test_merge_of_a_concurrent_state_makes_siblings_and_marks_the_conflict),
      TEST(test_merge_of_an_older_state_changes_nothing_but_records_an_event),
      TEST(test_merged_clock_dominates_the_remote_and_local_clocks),
      TEST(test_merge_is_durable_across_reopen),
      TEST(test_merge_and_put_in_one_group_see_each_other),
      TEST(test_request_id_applied_by_replication_is_not_applied_again),
      TEST(test_request_id_of_a_merge_is_seen_within_its_group),
      TEST(test_jobs_with_invalid_inputs_are_refused),
      TEST(test_receive_records_an_event_joined_with_the_reply_clock),
      TEST(test_hints_merge_and_are_listed_per_owner_in_key_order),
      TEST(test_hint_delete_only_drops_the_state_that_was_delivered),
      TEST(test_hints_expire_after_the_ttl),
      TEST(test_hint_expire_is_not_grouped_with_other_jobs),
      TEST(test_hint_expiry_runs_in_bounded_slices),
      TEST(test_hints_are_bounded_by_max_hints),
      TEST(test_hint_counts_survive_reopen),
      TEST(test_unreadable_hints_are_skipped_and_never_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
