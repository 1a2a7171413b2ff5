/*
 * engine_harness.h - what the engine tests share: a store in a fresh temp
 * dir per test, completions counted under a mutex (they arrive on the
 * writer thread), a stored-reply formatter, and a gate that holds the writer
 * so several jobs queue up and are applied as one group.
 *
 * Header-only (static functions): each test binary includes it once, after
 * cmocka.h.
 */
#ifndef CHORUS_TEST_ENGINE_HARNESS_H
#define CHORUS_TEST_ENGINE_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leveldb/c.h>

#include "common/be.h"
#include "ring/ring.h"
#include "storage/engine.h"

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int done;
  bool gate_held; /* the writer is inside the gate job's completion */
  bool gate_open;
} waiter_t;

static waiter_t W = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, false};
static char dir[256];
static int gate_tag; /* job.user of a gate job */

static void on_done(engine_job_t *job, void *state) {
  pthread_mutex_lock(&W.mu);
  if (job->user == &gate_tag) {
    W.gate_held = true;
    pthread_cond_broadcast(&W.cond);
    while (!W.gate_open)
      pthread_cond_wait(&W.cond, &W.mu);
    W.gate_held = false;
  }
  W.done++;
  pthread_cond_broadcast(&W.cond);
  pthread_mutex_unlock(&W.mu);
}

static void wait_done(int n) {
  pthread_mutex_lock(&W.mu);
  while (W.done < n)
    pthread_cond_wait(&W.cond, &W.mu);
  W.done -= n;
  pthread_mutex_unlock(&W.mu);
}

/* Submits a get of an unused key and holds the writer in its completion, so
 * whatever is submitted until gate_release forms the next group. */
static inline void gate_hold(engine_t *e, engine_job_t *gate) {
  engine_job_init(gate);
  gate->op = ENGINE_GET;
  gate->key = "gate";
  gate->key_len = 4;
  gate->user = &gate_tag;
  pthread_mutex_lock(&W.mu);
  W.gate_open = false;
  pthread_mutex_unlock(&W.mu);
  if (engine_submit(e, gate) != 0) abort();
  pthread_mutex_lock(&W.mu);
  while (!W.gate_held)
    pthread_cond_wait(&W.cond, &W.mu);
  pthread_mutex_unlock(&W.mu);
}

/* Lets the writer go on; the gate job counts as one completion. */
static inline void gate_release(void) {
  pthread_mutex_lock(&W.mu);
  W.gate_open = true;
  pthread_cond_broadcast(&W.cond);
  pthread_mutex_unlock(&W.mu);
}

static inline engine_opts_t engine_test_opts(uint64_t retention, fsync_mode_t fsync) {
  return (engine_opts_t){.node_id = "n1",
                         .dir = dir,
                         .fsync = fsync,
                         .event_retention = retention,
                         .on_done = on_done,
                         .state = NULL};
}

static int setup(void **state) {
  const char *base = getenv("CHORUS_TEST_TMP");
  if (!base || !*base) base = "/tmp";
  char cmd[600];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", base);
  if (system(cmd) != 0) return -1;
  snprintf(dir, sizeof dir, "%s/engine-XXXXXX", base);
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static inline engine_t *open_engine_opts(const engine_opts_t *o) {
  engine_t *e = NULL;
  assert_int_equal(engine_open(o, &e), 0);
  return e;
}

static inline engine_t *open_engine(uint64_t retention, fsync_mode_t fsync) {
  engine_opts_t o = engine_test_opts(retention, fsync);
  return open_engine_opts(&o);
}

/* Runs one job to completion; the caller releases it. */
static inline void run(engine_t *e, engine_job_t *j, engine_op_t op, const char *key, const char *value,
                       const vv_t *ctx, const char *rid) {
  engine_job_init(j);
  j->op = op;
  j->key = key;
  j->key_len = strlen(key);
  j->value = (const uint8_t *)value;
  j->value_len = value ? strlen(value) : 0;
  j->ctx = ctx;
  j->request_id = rid;
  assert_int_equal(engine_submit(e, j), 0);
  wait_done(1);
}

/* The conflict index holds exactly key, with that many siblings. */
static inline void expect_one_conflict(engine_t *e, const char *key, uint32_t siblings) {
  engine_conflict_t *cs = NULL;
  size_t n = 0;
  assert_int_equal(engine_conflicts(e, 10, &cs, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(cs[0].key, key);
  assert_int_equal(cs[0].siblings, siblings);
  free(cs[0].key);
  free(cs);
  assert_int_equal(atomic_load(&engine_stats(e)->conflicts_now), 1);
}

/* Writes (value non-NULL) or deletes raw bytes in the store while no engine
 * has it open: damage, or a store as an older build or a crash left it. */
static inline void raw_write(const char *key, size_t key_len, const char *value, size_t value_len) {
  leveldb_options_t *o = leveldb_options_create();
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, dir, &err);
  assert_null(err);
  leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
  if (value)
    leveldb_put(db, wo, key, key_len, value, value_len, &err);
  else
    leveldb_delete(db, wo, key, key_len, &err);
  assert_null(err);
  leveldb_writeoptions_destroy(wo);
  leveldb_close(db);
  leveldb_options_destroy(o);
}

/* Writes (value non-NULL) or deletes key's record where this build keeps
 * records: 'k', the key's u64be token, the key. */
static inline void raw_write_record(const char *key, const char *value, size_t value_len) {
  size_t n = strlen(key);
  char k[9 + 256];
  assert_true(n <= 256);
  k[0] = 'k';
  be_put_u64(k + 1, ring_key_token(key, n));
  memcpy(k + 9, key, n);
  raw_write(k, 9 + n, value, value_len);
}

#endif
