/*
 * test_replication_xfer_state.c - a node's transfer state on disk
 * (xfer_state.h): it round-trips, and damage (a flipped bit, a cut, ranges
 * out of order, a bad node id) is refused, leaving nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/be.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "replication/xfer_state.h"

static void sample(xfer_state_t *s, merkle_range_t *r) {
  memset(s, 0, sizeof *s);
  s->phase = 1;
  s->next_id = 9;
  s->n = 2;
  s->pulls = calloc(2, sizeof *s->pulls);
  assert_non_null(s->pulls);
  xfer_pull_t *a = &s->pulls[0], *b = &s->pulls[1];
  a->id = 7;
  a->reason = XFER_JOIN;
  snprintf(a->sources[0], sizeof a->sources[0], "node-1");
  snprintf(a->sources[1], sizeof a->sources[1], "node-2");
  a->n_sources = 2;
  a->ranges = malloc(2 * sizeof *r);
  assert_non_null(a->ranges);
  memcpy(a->ranges, r, 2 * sizeof *r);
  a->nr = 2;
  a->cursor.started = true;
  a->cursor.token = 12345;
  memcpy(a->cursor.key, "user:1", 6);
  a->cursor.key_len = 6;
  a->keys = 10;
  a->bytes = 10240;
  a->started_ms = 1700000000000ull;
  b->id = 8;
  b->reason = XFER_REMOVE;
  b->done = true;
  b->ranges = malloc(sizeof *r);
  assert_non_null(b->ranges);
  b->ranges[0] = (merkle_range_t){0, UINT64_MAX};
  b->nr = 1;
  b->finished_ms = 5;
}

static void test_a_state_round_trips(void **state) {
  (void)state;
  merkle_range_t r[2] = {{10, 20}, {22, UINT64_MAX - 1}};
  xfer_state_t s, back;
  sample(&s, r);
  buf_t b;
  buf_init(&b);
  assert_int_equal(xfer_state_encode(&s, &b), 0);
  assert_int_equal(xfer_state_decode(b.data, b.len, &back), 0);
  assert_int_equal(back.phase, 1);
  assert_true(back.next_id == 9);
  assert_int_equal(back.n, 2);
  const xfer_pull_t *a = &back.pulls[0];
  assert_true(a->id == 7 && a->reason == XFER_JOIN && !a->done && a->n_sources == 2);
  assert_string_equal(a->sources[1], "node-2");
  assert_int_equal(a->nr, 2);
  assert_true(a->ranges[1].hi == UINT64_MAX - 1);
  assert_true(a->cursor.started && a->cursor.token == 12345 && a->cursor.key_len == 6);
  assert_memory_equal(a->cursor.key, "user:1", 6);
  assert_true(a->keys == 10 && a->bytes == 10240 && a->started_ms == 1700000000000ull);
  assert_true(back.pulls[1].done && back.pulls[1].reason == XFER_REMOVE && !back.pulls[1].cursor.started);
  /* every flipped bit and every cut is refused */
  for (size_t i = 0; i < b.len; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      b.data[i] ^= (uint8_t)(1u << bit);
      xfer_state_t x;
      assert_int_equal(xfer_state_decode(b.data, b.len, &x), CHORUS_ECORRUPT);
      assert_null(x.pulls);
      b.data[i] ^= (uint8_t)(1u << bit);
    }
    xfer_state_t x;
    assert_int_equal(xfer_state_decode(b.data, i, &x), CHORUS_ECORRUPT);
  }
  xfer_state_free(&back);
  xfer_state_free(&s);
  buf_free(&b);
}

static void test_what_the_decoder_refuses_is_never_written(void **state) {
  (void)state;
  merkle_range_t r[2] = {{10, 20}, {21, 30}}; /* touching: not normalised */
  xfer_state_t s;
  sample(&s, r);
  buf_t b;
  buf_init(&b);
  assert_int_equal(xfer_state_encode(&s, &b), CHORUS_EINVAL);
  s.pulls[0].ranges[1].lo = 22;
  snprintf(s.pulls[0].sources[1], sizeof s.pulls[0].sources[1], "bad id");
  assert_int_equal(xfer_state_encode(&s, &b), CHORUS_EINVAL);
  snprintf(s.pulls[0].sources[1], sizeof s.pulls[0].sources[1], "node-2");
  s.pulls[0].cursor.key_len = 0; /* a started cursor needs a key */
  assert_int_equal(xfer_state_encode(&s, &b), CHORUS_EINVAL);
  s.pulls[0].cursor.key_len = 6;
  s.phase = 3;
  assert_int_equal(xfer_state_encode(&s, &b), CHORUS_EINVAL);
  s.phase = 2;
  assert_int_equal(xfer_state_encode(&s, &b), 0);
  /* a checksum that matches bytes that do not make sense: still refused */
  b.data[3] = 7; /* phase */
  be_put_u32(b.data + b.len - 4, crc32c(0, b.data, b.len - 4));
  xfer_state_t x;
  assert_int_equal(xfer_state_decode(b.data, b.len, &x), CHORUS_ECORRUPT);
  xfer_state_free(&s);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_state_round_trips),
      cmocka_unit_test(test_what_the_decoder_refuses_is_never_written),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
