/*
 * test_storage_reqlog.c - the request-log entry codec: round trips, the
 * retired version 1 read for its op and key only, and
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

static const uint8_t RECORD[] = {1, 2, 3, 4, 5};
/* dots: n1:9, having replaced n1:7 and n2:3 */
static const uint8_t DOTS[] = {3, 2, 'n', '1', 9, 2, 'n', '1', 7, 2, 'n', '2', 3};

static reqlog_entry_t sample(void) {
  return (reqlog_entry_t){.kind = REQLOG_OUTCOME,
                          .dots = DOTS,
                          .dots_len = sizeof DOTS,
                          .op = 1,
                          .key = "user:1",
                          .key_len = 6,
                          .event_id = 0x0102030405060708ull,
                          .record = RECORD,
                          .record_len = sizeof RECORD,
                          .value = (const uint8_t *)"hello",
                          .value_len = 5};
}

static void encode_sample(buf_t *b) {
  reqlog_entry_t e = sample();
  buf_init(b);
  assert_int_equal(reqlog_encode(&e, b), 0);
}

static void test_round_trip_keeps_every_field(void **state) {
  buf_t b;
  encode_sample(&b);
  reqlog_entry_t d;
  assert_int_equal(reqlog_decode(b.data, b.len, &d), 0);
  assert_int_equal(d.kind, REQLOG_OUTCOME);
  assert_int_equal(d.op, 1);
  assert_int_equal(d.key_len, 6);
  assert_memory_equal(d.key, "user:1", 6);
  assert_false(d.not_found);
  assert_int_equal(d.event_id, 0x0102030405060708ull);
  assert_int_equal(d.record_len, sizeof RECORD);
  assert_memory_equal(d.record, RECORD, sizeof RECORD);
  assert_int_equal(d.value_len, 5);
  assert_memory_equal(d.value, "hello", 5);
  dvv_dot_t dot;
  dvv_dots_t replaced = {0};
  assert_int_equal(reqlog_dots(&d, &dot, &replaced), 0);
  assert_string_equal(dot.node, "n1");
  assert_int_equal(dot.counter, 9);
  assert_int_equal(replaced.n, 2);
  assert_string_equal(replaced.d[1].node, "n2");
  assert_int_equal(replaced.d[1].counter, 3);
  dvv_dots_free(&replaced);
  buf_free(&b);
}

/* An entry written before writes named their dots (version 2) still
 * answers its retry, without dots; dots that do not decode are refused. */
static void test_version_2_entry_decodes_without_dots(void **state) {
  reqlog_entry_t e = sample();
  e.dots = NULL;
  e.dots_len = 0;
  buf_t b, v2;
  buf_init(&b);
  buf_init(&v2);
  assert_int_equal(reqlog_encode(&e, &b), 0);
  assert_int_equal(b.data[b.len - 5], 0); /* no dots: one varint 0 before the checksum */
  buf_put(&v2, b.data, b.len - 5);
  v2.data[2] = 2;
  buf_put_crc32c(&v2, 0);
  reqlog_entry_t d;
  assert_int_equal(reqlog_decode(v2.data, v2.len, &d), 0);
  assert_int_equal(d.value_len, 5);
  assert_int_equal(d.dots_len, 0);
  dvv_dot_t dot;
  dvv_dots_t replaced = {0};
  assert_int_equal(reqlog_dots(&d, &dot, &replaced), 0);
  assert_int_equal(dot.counter, 0);
  /* the same bytes as version 3 lack their dots */
  buf_reset(&v2);
  buf_put(&v2, b.data, b.len - 5);
  buf_put_crc32c(&v2, 0);
  assert_int_equal(reqlog_decode(v2.data, v2.len, &d), CHORUS_ECORRUPT);
  static const uint8_t zero_counter[] = {1, 2, 'n', '1', 0};
  e.dots = zero_counter;
  e.dots_len = sizeof zero_counter;
  buf_reset(&b);
  assert_int_equal(reqlog_encode(&e, &b), 0);
  assert_int_equal(reqlog_decode(b.data, b.len, &d), CHORUS_ECORRUPT);
  buf_free(&b);
  buf_free(&v2);
}

/* A delete of a key without a live value: no record, no value. */
static void test_not_found_outcome_round_trips(void **state) {
  reqlog_entry_t e = {
      .kind = REQLOG_OUTCOME, .op = 3, .key = "k", .key_len = 1, .not_found = true, .event_id = 7};
  buf_t b;
  buf_init(&b);
  assert_int_equal(reqlog_encode(&e, &b), 0);
  reqlog_entry_t d;
  assert_int_equal(reqlog_decode(b.data, b.len, &d), 0);
  assert_true(d.not_found);
  assert_int_equal(d.event_id, 7);
  assert_int_equal(d.record_len, 0);
  assert_int_equal(d.value_len, 0);
  buf_free(&b);
}

/* A replica's mark: no outcome, and an op that may be unknown. */
static void test_replicated_entry_round_trips(void **state) {
  for (uint8_t op = 0; op <= 3; op++) {
    reqlog_entry_t e = {.kind = REQLOG_REPLICATED, .op = op, .key = "k", .key_len = 1};
    buf_t b;
    buf_init(&b);
    assert_int_equal(reqlog_encode(&e, &b), 0);
    reqlog_entry_t d;
    assert_int_equal(reqlog_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.kind, REQLOG_REPLICATED);
    assert_int_equal(d.op, op);
    assert_int_equal(d.record_len, 0);
    buf_free(&b);
  }
}

static void test_out_of_range_fields_are_not_encoded(void **state) {
  buf_t b;
  buf_init(&b);
  reqlog_entry_t e = sample();
  e.kind = 2;
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  e = sample();
  e.op = 9;
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  e.op = 0; /* only a replicated entry may leave the op unknown */
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  e = sample();
  e.key_len = 0;
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  e = sample();
  e.kind = REQLOG_REPLICATED; /* and carries no outcome */
  assert_int_equal(reqlog_encode(&e, &b), CHORUS_EINVAL);
  assert_int_equal(b.len, 0);
  buf_free(&b);
}

/* The retired version 1 is not decoded as an entry, but its op and key are
 * read for the start-up rewrite. */
static void test_version_1_entry_gives_its_op_and_key_only(void **state) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, "CQ\x01", 3);
  buf_put_u16be(&b, 200);
  buf_put_u8(&b, 3);
  buf_put_lbytes(&b, "key", 3);
  buf_put_lbytes(&b, "{}", 2);
  buf_put_crc32c(&b, 0);
  reqlog_entry_t d;
  assert_int_equal(reqlog_decode(b.data, b.len, &d), CHORUS_ECORRUPT);
  uint8_t op = 0;
  const char *key = NULL;
  size_t key_len = 0;
  assert_int_equal(reqlog_decode_v1(b.data, b.len, &op, &key, &key_len), 0);
  assert_int_equal(op, 3);
  assert_int_equal(key_len, 3);
  assert_memory_equal(key, "key", 3);
  b.data[4] ^= 1; /* the checksum fails */
  assert_int_equal(reqlog_decode_v1(b.data, b.len, &op, &key, &key_len), CHORUS_ECORRUPT);
  buf_free(&b);
  encode_sample(&b); /* a version 2 entry is not a version 1 one */
  assert_int_equal(reqlog_decode_v1(b.data, b.len, &op, &key, &key_len), CHORUS_ECORRUPT);
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
      cmocka_unit_test(test_version_2_entry_decodes_without_dots),
      cmocka_unit_test(test_not_found_outcome_round_trips),
      cmocka_unit_test(test_replicated_entry_round_trips),
      cmocka_unit_test(test_out_of_range_fields_are_not_encoded),
      cmocka_unit_test(test_version_1_entry_gives_its_op_and_key_only),
      cmocka_unit_test(test_every_truncation_is_rejected),
      cmocka_unit_test(test_every_bit_flip_is_rejected),
      cmocka_unit_test(test_trailing_bytes_are_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
