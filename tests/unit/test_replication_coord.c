/*
 * test_replication_coord.c - the coordinator (coord_client.c) in one
 * process, without peers: a real engine in a temp dir, a loop, and a view
 * of three members of which the other two are dead. N = 3 on three members
 * leaves no fallback, so a write keeps both hints itself and no message
 * leaves the node: what is tested is when a request is answered and what
 * its result claims.
 *
 * Out of memory is injected into Chorus's own code: this binary is linked
 * with --wrap=calloc and --wrap=realloc (CMakeLists.txt), and an armed
 * allocator fails on the test's thread (the loop) only, so the storage
 * writer and the libraries (libuv, LevelDB) allocate as usual.
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
#include "replication/coord_internal.h"

/* ---- allocation failures ---- */

static _Thread_local bool fail_calloc, fail_realloc;

void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

void *__wrap_calloc(size_t n, size_t size) {
  return fail_calloc ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size) {
  return fail_realloc ? NULL : __real_realloc(p, size);
}

/* ---- one node whose key's other replicas are dead ---- */

typedef struct {
  char dir[256];
  uv_loop_t loop;
  config_t cfg;
  engine_t *engine;
  view_holder_t *view;
  coord_t *coord;
} node_t;

typedef struct {
  coord_req_t req;
  node_t *n;
  bool done;
  uint64_t hints_at_answer; /* hints the engine held when the answer went out */
} call_t;

/* static: a request still in flight when its test fails is answered by the teardown */
static node_t node;
static call_t first, second;

static int node_start(node_t *n, uint64_t max_hints) {
  memset(n, 0, sizeof *n);
  const char *base = getenv("CHORUS_TEST_TMP");
  char cmd[600];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", base && *base ? base : "/tmp");
  assert_int_equal(system(cmd), 0);
  snprintf(n->dir, sizeof n->dir, "%s/coord-XXXXXX", base && *base ? base : "/tmp");
  assert_non_null(mkdtemp(n->dir));
  assert_int_equal(uv_loop_init(&n->loop), 0);
  config_defaults(&n->cfg);
  snprintf(n->cfg.bind, sizeof n->cfg.bind, "127.0.0.1");
  n->cfg.peer_port = 0; /* any free port: nothing is sent to it */
  n->cfg.replicas = 3;
  engine_opts_t eo = {.node_id = "n0",
                      .dir = n->dir,
                      .fsync = FSYNC_ALWAYS, /* as chorusd by default: a hint commit takes an fsync */
                      .event_retention = 1000,
                      .on_done = engine_hook_done,
                      .max_hints = max_hints};
  assert_int_equal(engine_open(&eo, &n->engine), 0);
  swim_addr_t self = {.host = "127.0.0.1", .port = 1};
  assert_int_equal(view_holder_create("n0", &self, (uint32_t)n->cfg.vnodes, 3, &n->view), 0);
  swim_member_t members[3] = {
      {.id = "n0", .addr = self, .status = SWIM_ALIVE, .incarnation = 1},
      {.id = "n1", .addr = {.host = "127.0.0.1", .port = 2, .peer_port = 2}, .status = SWIM_DEAD, .incarnation = 1},
      {.id = "n2", .addr = {.host = "127.0.0.1", .port = 3, .peer_port = 3}, .status = SWIM_DEAD, .incarnation = 1},
  };
  assert_int_equal(view_holder_publish(n->view, members, 3), 0);
  coord_opts_t co = {.cfg = &n->cfg, .node_id = "n0", .engine = n->engine, .view = n->view};
  assert_int_equal(coord_start(&n->loop, &co, &n->coord), 0);
  return 0;
}

static int node_stop(node_t *n) {
  coord_close(n->coord);
  engine_close(n->engine);
  coord_destroy(n->coord);
  uv_run(&n->loop, UV_RUN_DEFAULT);
  view_holder_destroy(n->view);
  assert_int_equal(uv_loop_close(&n->loop), 0);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", n->dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* cmocka setups and teardown: the node outlives a failed assertion of its test */
static int start(void **state) {
  return node_start(&node, 0);
}

static int start_max_hints_1(void **state) {
  return node_start(&node, 1);
}

static int stop(void **state) {
  fail_calloc = fail_realloc = false;
  int rc = node_stop(&node); /* answers what is still in flight */
  coord_result_free(&first.req.result);
  coord_result_free(&second.req.result);
  return rc;
}

static uint64_t hints_held(node_t *n) {
  engine_hint_count_t *counts = NULL;
  size_t k = 0;
  assert_int_equal(engine_hint_counts(n->engine, &counts, &k), 0);
  uint64_t total = 0;
  for (size_t i = 0; i < k; i++)
    total += counts[i].count;
  free(counts);
  return total;
}

static void answered(coord_req_t *req) {
  call_t *call = req->user;
  fail_calloc = fail_realloc = false; /* what failed did; the test looks with working allocations */
  call->done = true;
  call->hints_at_answer = hints_held(call->n);
}

static void call_init(call_t *call, node_t *n, engine_op_t op, const char *key, const char *value) {
  memset(call, 0, sizeof *call);
  call->n = n;
  call->req.kind = COORD_DATA;
  call->req.op = op;
  call->req.key = key;
  call->req.key_len = strlen(key);
  call->req.value = (const uint8_t *)value;
  call->req.value_len = value ? strlen(value) : 0;
  call->req.r = call->req.w = 1;
  call->req.done = answered;
  call->req.user = call;
}

/* Runs the loop until call is answered (5 s at most). */
static void wait_answer(call_t *call) {
  uint64_t end = uv_now(&call->n->loop) + 5000;
  while (!call->done && uv_now(&call->n->loop) < end) {
    uv_run(&call->n->loop, UV_RUN_ONCE);
    uv_update_time(&call->n->loop);
  }
  assert_true(call->done);
}

static void put(call_t *call, node_t *n, const char *key, const char *value, uint32_t w) {
  call_init(call, n, ENGINE_PUT, key, value);
  call->req.w = w;
  assert_int_equal(coord_submit(n->coord, &call->req), 0);
  wait_answer(call);
}

/* ---- tests ---- */

static void test_write_with_replicas_down_answers_once_its_hints_are_committed(void **state) {
  put(&first, &node, "k", "v", 1); /* W = 1: met by the local apply, before any hint is back */
  assert_int_equal(first.req.result.err, 0);
  assert_int_equal(first.req.result.n_local_hints, 2);
  assert_int_equal(first.req.result.hints_kept, 2);
  assert_int_equal(first.hints_at_answer, 2);
}

static void test_write_missing_its_quorum_answers_once_its_hints_are_committed(void **state) {
  put(&first, &node, "k", "v", 3); /* W = 3 with one live replica: failed at the local apply */
  assert_int_equal(first.req.result.err, CHORUS_ETIMEDOUT);
  assert_int_equal(first.req.result.quorum.verdict, QUORUM_FAILED);
  assert_int_equal(first.req.result.hints_kept, 2);
  assert_int_equal(first.hints_at_answer, 2);
}

static void test_refused_hints_are_not_counted_as_kept(void **state) {
  put(&first, &node, "a", "v", 1); /* --max-hints 1 */
  assert_int_equal(first.req.result.err, 0);
  assert_int_equal(first.req.result.hints_kept, 1); /* the second owner's hint is refused */
  put(&second, &node, "b", "v", 1);
  assert_int_equal(second.req.result.err, 0);
  assert_int_equal(second.req.result.n_local_hints, 2);
  assert_int_equal(second.req.result.hints_kept, 0);
  assert_int_equal(second.hints_at_answer, 1);
}

static void test_write_whose_context_cannot_be_copied_fails_out_of_memory(void **state) {
  static vv_t ctx;
  vv_init(&ctx);
  assert_int_equal(vv_set(&ctx, "n0", 1), 0);
  call_init(&first, &node, ENGINE_PUT, "k", "v");
  first.req.ctx = &ctx;
  fail_realloc = true; /* a context copy grows an empty clock */
  coord_client_start(node.coord, &first.req, false);
  vv_free(&ctx);
  assert_true(first.done);
  assert_int_equal(first.req.result.err, CHORUS_ENOMEM);
  call_init(&second, &node, ENGINE_GET, "k", NULL);
  assert_int_equal(coord_submit(node.coord, &second.req), 0);
  wait_answer(&second);
  assert_int_equal(second.req.result.err, CHORUS_ENOTFOUND); /* nothing was written */
}

static void test_read_reply_that_cannot_be_merged_counts_as_failed(void **state) {
  put(&first, &node, "k", "v", 1);
  assert_int_equal(first.req.result.err, 0);
  call_init(&second, &node, ENGINE_GET, "k", NULL);
  coord_client_start(node.coord, &second.req, false); /* the local read job is submitted */
  fail_calloc = true;                                  /* its state cannot be copied when it comes back */
  wait_answer(&second);
  assert_int_equal(second.req.result.err, CHORUS_ETIMEDOUT); /* R = 1 not met; never "not found" */
  assert_int_equal(second.req.result.quorum.t[0].state, QUORUM_ERROR);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_write_with_replicas_down_answers_once_its_hints_are_committed, start,
                                      stop),
      cmocka_unit_test_setup_teardown(test_write_missing_its_quorum_answers_once_its_hints_are_committed, start,
                                      stop),
      cmocka_unit_test_setup_teardown(test_refused_hints_are_not_counted_as_kept, start_max_hints_1, stop),
      cmocka_unit_test_setup_teardown(test_write_whose_context_cannot_be_copied_fails_out_of_memory, start, stop),
      cmocka_unit_test_setup_teardown(test_read_reply_that_cannot_be_merged_counts_as_failed, start, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
