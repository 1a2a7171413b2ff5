/* test_common_buf.c - byte writer, bounded reader and CRC-32C. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/crc32c.h"
#include "common/err.h"

static void test_fixed_width_integers_round_trip_big_endian(void **state) {
  buf_t b;
  buf_init(&b);
  buf_put_u8(&b, 0xab);
  buf_put_u16be(&b, 0x1234);
  buf_put_u32be(&b, 0xdeadbeef);
  buf_put_u64be(&b, 0x0102030405060708ull);
  assert_int_equal(b.err, 0);
  assert_int_equal(b.len, 15);
  static const uint8_t want[] = {0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8};
  assert_memory_equal(b.data, want, sizeof(want));

  buf_reader_t r;
  buf_reader_init(&r, b.data, b.len);
  assert_int_equal(buf_read_u8(&r), 0xab);
  assert_int_equal(buf_read_u16be(&r), 0x1234);
  assert_int_equal(buf_read_u32be(&r), 0xdeadbeef);
  assert_true(buf_read_u64be(&r) == 0x0102030405060708ull);
  assert_int_equal(r.err, 0);
  assert_int_equal(r.left, 0);
  buf_free(&b);
}

static void test_varints_round_trip_at_every_boundary(void **state) {
  static const struct {
    uint64_t v;
    size_t len;
  } cases[] = {
      {0, 1},          {1, 1},          {127, 1},         {128, 2},         {16383, 2},          {16384, 3},
      {UINT32_MAX, 5}, {1ull << 56, 9}, {1ull << 63, 10}, {UINT64_MAX, 10}, {UINT64_MAX - 1, 10}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    buf_t b;
    buf_init(&b);
    buf_put_varint(&b, cases[i].v);
    assert_int_equal(b.len, cases[i].len);
    buf_reader_t r;
    buf_reader_init(&r, b.data, b.len);
    assert_true(buf_read_varint(&r) == cases[i].v);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.left, 0);
    buf_free(&b);
  }
}

static void expect_bad_varint(const uint8_t *p, size_t len) {
  buf_reader_t r;
  buf_reader_init(&r, p, len);
  assert_true(buf_read_varint(&r) == 0);
  assert_int_equal(r.err, CHORUS_ECORRUPT);
}

static void test_varint_rejects_overlong_overflowing_and_truncated_forms(void **state) {
  static const uint8_t overlong_zero[] = {0x80, 0x00};
  static const uint8_t overlong_one[] = {0x81, 0x80, 0x00};
  static const uint8_t eleven[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00};
  static const uint8_t bit64[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  static const uint8_t truncated[] = {0x80, 0x80};
  expect_bad_varint(overlong_zero, sizeof(overlong_zero));
  expect_bad_varint(overlong_one, sizeof(overlong_one));
  expect_bad_varint(eleven, sizeof(eleven));
  expect_bad_varint(bit64, sizeof(bit64));
  expect_bad_varint(truncated, sizeof(truncated));
  expect_bad_varint(NULL, 0);
}

static void test_reader_error_is_sticky_and_never_reads_past_the_end(void **state) {
  static const uint8_t three[] = {1, 2, 3};
  buf_reader_t r;
  buf_reader_init(&r, three, sizeof(three));
  assert_int_equal(buf_read_u32be(&r), 0);
  assert_int_equal(r.err, CHORUS_ECORRUPT);
  /* After the first failure even a read that would fit fails. */
  assert_int_equal(buf_read_u8(&r), 0);
  assert_null(buf_read_raw(&r, 0));
  assert_int_equal(r.err, CHORUS_ECORRUPT);
}

static void test_lbytes_bounds_length_by_max_and_by_remaining(void **state) {
  buf_t b;
  buf_init(&b);
  buf_put_lbytes(&b, "hello", 5);
  size_t len = 99;
  buf_reader_t r;

  buf_reader_init(&r, b.data, b.len);
  const uint8_t *p = buf_read_lbytes(&r, 5, &len);
  assert_non_null(p);
  assert_int_equal(len, 5);
  assert_memory_equal(p, "hello", 5);

  buf_reader_init(&r, b.data, b.len);
  assert_null(buf_read_lbytes(&r, 4, &len));
  assert_int_equal(len, 0);
  assert_int_equal(r.err, CHORUS_ECORRUPT);

  buf_reader_init(&r, b.data, b.len - 1);
  assert_null(buf_read_lbytes(&r, 100, &len));
  assert_int_equal(r.err, CHORUS_ECORRUPT);
  buf_free(&b);
}

static void test_zero_length_reads_return_a_pointer_even_over_no_input(void **state) {
  static const uint8_t zero[] = {0};
  size_t len = 7;
  buf_reader_t r;
  buf_reader_init(&r, zero, 1);
  assert_non_null(buf_read_lbytes(&r, 10, &len));
  assert_int_equal(len, 0);
  buf_reader_init(&r, NULL, 0);
  assert_non_null(buf_read_raw(&r, 0));
  assert_int_equal(r.err, 0);
}

static void test_writer_failure_is_sticky_and_detach_returns_null(void **state) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, "abc", 3);
  assert_int_equal(buf_reserve(&b, SIZE_MAX), CHORUS_ENOMEM);
  buf_put_u8(&b, 1);
  assert_int_equal(b.len, 3);
  assert_int_equal(b.err, CHORUS_ENOMEM);
  size_t len = 5;
  assert_null(buf_detach(&b, &len));
  assert_int_equal(len, 0);
  assert_null(b.data);
  assert_int_equal(b.err, 0);
}

static void test_detach_hands_over_and_reset_keeps_allocation(void **state) {
  buf_t b;
  buf_init(&b);
  for (int i = 0; i < 1000; i++)
    buf_put_u8(&b, (uint8_t)i);
  size_t cap = b.cap;
  buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, cap);
  buf_put(&b, "xyz", 3);
  size_t len;
  uint8_t *p = buf_detach(&b, &len);
  assert_int_equal(len, 3);
  assert_memory_equal(p, "xyz", 3);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  free(p);
}

static void test_crc32c_matches_the_castagnoli_check_value(void **state) {
  assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
  assert_int_equal(crc32c(0, "", 0), 0);
  /* Extending a checksum equals checksumming the concatenation. */
  assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

/* RFC 3720 B.4 vectors: 32 bytes each, long enough for the 8-byte steps. */
static void test_crc32c_matches_the_iscsi_vectors(void **state) {
  uint8_t v[32];
  memset(v, 0, sizeof v);
  assert_int_equal(crc32c(0, v, sizeof v), 0x8A9136AAu);
  memset(v, 0xff, sizeof v);
  assert_int_equal(crc32c(0, v, sizeof v), 0x62A8AB43u);
  for (int i = 0; i < 32; i++) v[i] = (uint8_t)i;
  assert_int_equal(crc32c(0, v, sizeof v), 0x46DD794Eu);
  for (int i = 0; i < 32; i++) v[i] = (uint8_t)(31 - i);
  assert_int_equal(crc32c(0, v, sizeof v), 0x113FDB5Cu);
  /* unaligned starts and odd tails agree with extending byte by byte */
  uint32_t whole = crc32c(0, v + 3, 27), parts = 0;
  for (int i = 3; i < 30; i++) parts = crc32c(parts, v + i, 1);
  assert_int_equal(whole, parts);
}

static void test_crc_trailer_is_verified_and_stripped(void **state) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, "prefix", 6);
  size_t start = b.len;
  buf_put(&b, "payload", 7);
  buf_put_crc32c(&b, start);
  size_t body;
  assert_int_equal(buf_check_crc32c(b.data + start, b.len - start, &body), 0);
  assert_int_equal(body, 7);
  b.data[start] ^= 1;
  assert_int_equal(buf_check_crc32c(b.data + start, b.len - start, &body), CHORUS_ECORRUPT);
  assert_int_equal(buf_check_crc32c(b.data, 3, &body), CHORUS_ECORRUPT);
  assert_int_equal(buf_check_crc32c(NULL, 0, &body), CHORUS_ECORRUPT);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixed_width_integers_round_trip_big_endian),
      cmocka_unit_test(test_varints_round_trip_at_every_boundary),
      cmocka_unit_test(test_varint_rejects_overlong_overflowing_and_truncated_forms),
      cmocka_unit_test(test_reader_error_is_sticky_and_never_reads_past_the_end),
      cmocka_unit_test(test_lbytes_bounds_length_by_max_and_by_remaining),
      cmocka_unit_test(test_zero_length_reads_return_a_pointer_even_over_no_input),
      cmocka_unit_test(test_writer_failure_is_sticky_and_detach_returns_null),
      cmocka_unit_test(test_detach_hands_over_and_reset_keeps_allocation),
      cmocka_unit_test(test_crc32c_matches_the_castagnoli_check_value),
      cmocka_unit_test(test_crc32c_matches_the_iscsi_vectors),
      cmocka_unit_test(test_crc_trailer_is_verified_and_stripped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
