/*
 * test_storage_reqlog.c - the request-log entry codec: round trips, and
 * every truncation and single-bit flip of a sample rejected cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "storage/reqlog.h"

static const char BODY[] = "{\"key\":\"k\",\"value\":\"v\"}";

static void encode_sample(buf_t *b) {
  reqlog_entry_t e = {.status = 200,
                      .op = 1,
                      .key = "user:1",
                      .key_len = 6,
                      .body = (const uint8_t *)BODY,
                      .body_len = sizeof BODY - 1};
  buf_init(b);
  assert_int_equal(reqlog_encode(&e, b), 0);
}

static void test_round_trip_keeps_every_field(void **state) {
  buf_t b;
  encode_sample(&b);
  reqlog_entry_t d;
  assert_int_equal(reqlog_decode(b.data, b.len, &d), 0);
  assert_int_equal(d.status, 200);
  assert_int_equal(d.op, 1);
  assert_int_equal(d.key_len, 6);
  assert_memory_equal(d.key, "user:1", 6);
  assert_int_equal(d.body_len, sizeof BODY - 1);
  assert_memory_equal(d.body, BODY, sizeof BODY - 1);
  buf_free(&b);
}

static void test_empty_body_round_trips(void **state) {
  reqlog_entry_t e = {.status = 404, .op = 3, .key = "k", .key_len = 1, .body = NULL, .body_len = 0};
  buf_t b;
  buf_init(&b);
  assert_int_equal(reqlog_encode(&e, &b), 0);
  reqlog_entry_t d;
  assert_int_equal(reqlog_decode(b.data, b.len, &d), 0);
  assert_int_equal(d.status, 404);
  assert_int_equal(d.body_len, 0);
  buf_free(&b);
}

/* A replica's mark: no reply, and an op that may be unknown. */
static void test_replicated_entry_round_trips(void **state) {
  for (uint8_t op = 0; op <= 3; op++) {
    reqlog_entry_t e = {.status = REQLOG_REPLICATED, .op = op, .key = "k", .key_len = 1};
    buf_t b;
    buf_init(&b);
    assert_int_equal(reqlog_encode(&e, &b), 0);
    reqlog_entry_t d;
    assert_int_equal(reqlog_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.status, REQLOG_REPLICATED);
    assert_int_equal(d.op, op);
    assert_int_equal(d.body_len, 0);
    buf_free(&b);
  }
}

static void test_out_of_range_fields_are_not_encoded(void **state) {
  buf_t b;
  buf_init(&b);
  reqlog_entry_t e = {.status = 99, .op = 1, .key = "k", .key_len = 1};
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  e.status = 200;
  e.op = 9;
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  e.op = 0; /* only a replicated entry may leave the op unknown */
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  e.op = 1;
  e.key_len = 0;
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  e.key_len = 1;
  e.status = REQLOG_REPLICATED; /* and carries no reply */
  e.body = (const uint8_t *)"x";
  e.body_len = 1;
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  buf_free(&b);
}

static void test_every_truncation_is_rejected(void **state) {
  buf_t b;
  encode_sample(&b);
  reqlog_entry_t d;
  for (size_t n = 0; n < b.len; n++)
    assert_int_equal(reqlog_decode(b.data, n, &d), CHORUS_ECORRUPT);
  buf_free(&b);
}

static void test_every_bit_flip_is_rejected(void **state) {
  buf_t b;
  encode_sample(&b);
  reqlog_entry_t d;
  for (size_t i = 0; i < b.len; i++)
    for (int bit = 0; bit < 8; bit++) {
      b.data[i] ^= (uint8_t)(1u << bit);
      assert_int_equal(reqlog_decode(b.data, b.len, &d), CHORUS_ECORRUPT);
      b.data[i] ^= (uint8_t)(1u << bit);
    }
  buf_free(&b);
}

static void test_trailing_bytes_are_rejected(void **state) {
  buf_t b;
  encode_sample(&b);
  uint8_t big[256];
  memcpy(big, b.data, b.len);
  big[b.len] = 0;
  reqlog_entry_t d;
  assert_int_equal(reqlog_decode(big, b.len + 1, &d), CHORUS_ECORRUPT);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_keeps_every_field),
      cmocka_unit_test(test_empty_body_round_trips),
      cmocka_unit_test(test_replicated_entry_round_trips),
      cmocka_unit_test(test_out_of_range_fields_are_not_encoded),
      cmocka_unit_test(test_every_truncation_is_rejected),
      cmocka_unit_test(test_every_bit_flip_is_rejected),
      cmocka_unit_test(test_trailing_bytes_are_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
