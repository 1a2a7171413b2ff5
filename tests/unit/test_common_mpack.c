/* test_common_mpack.c - the bounded msgpack reader: each form at the edges of
 * its range, refusal of every non-shortest form and of values over the
 * caller's limits, sticky failure, and the packer's buf_t sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/mpack.h"

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static void reader(buf_reader_t *r, const uint8_t *p, size_t n) {
  buf_reader_init(r, p, n);
}

/* The whole input is one uint <= max equal to want, or (ok false) refused. */
static void expect_uint(const uint8_t *p, size_t n, uint64_t max, bool ok, uint64_t want) {
  buf_reader_t r;
  reader(&r, p, n);
  uint64_t v = mpack_uint(&r, max);
  assert_int_equal(r.err, ok ? 0 : CHORUS_ECORRUPT);
  assert_true(v == (ok ? want : 0));
  assert_int_equal(r.left, 0);
}

static void expect_int(const uint8_t *p, size_t n, int64_t min, int64_t max, bool ok, int64_t want) {
  buf_reader_t r;
  reader(&r, p, n);
  int64_t v = mpack_int(&r, min, max);
  assert_int_equal(r.err, ok ? 0 : CHORUS_ECORRUPT);
  assert_true(v == (ok ? want : 0));
  assert_int_equal(r.left, 0);
}

static void test_uints_in_shortest_form_only(void **state) {
  expect_uint(BYTES(0x00), UINT64_MAX, true, 0);
  expect_uint(BYTES(0x7f), UINT64_MAX, true, 127);
  expect_uint(BYTES(0xcc, 0x80), UINT64_MAX, true, 128);
  expect_uint(BYTES(0xcd, 0x01, 0x00), UINT64_MAX, true, 256);
  expect_uint(BYTES(0xce, 0x00, 0x01, 0x00, 0x00), UINT64_MAX, true, 65536);
  expect_uint(BYTES(0xcf, 0, 0, 0, 1, 0, 0, 0, 0), UINT64_MAX, true, (uint64_t)UINT32_MAX + 1);
  expect_uint(BYTES(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), UINT64_MAX, true, UINT64_MAX);
  expect_uint(BYTES(0xcc, 0x7f), UINT64_MAX, false, 0);
  expect_uint(BYTES(0xcd, 0x00, 0xff), UINT64_MAX, false, 0);
  expect_uint(BYTES(0xce, 0x00, 0x00, 0xff, 0xff), UINT64_MAX, false, 0);
  expect_uint(BYTES(0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), UINT64_MAX, false, 0);
  expect_uint(BYTES(0x08), 7, false, 0);
  expect_uint(BYTES(0xff), UINT64_MAX, false, 0); /* -1 */
  expect_uint(BYTES(0xd0, 0x01), UINT64_MAX, false, 0);
  expect_uint(BYTES(0xcd, 0x01), UINT64_MAX, false, 0); /* truncated */
}

static void test_ints_in_shortest_form_only(void **state) {
  expect_int(BYTES(0x05), INT64_MIN, INT64_MAX, true, 5);
  expect_int(BYTES(0xcc, 0xc8), INT64_MIN, INT64_MAX, true, 200);
  expect_int(BYTES(0xff), INT64_MIN, INT64_MAX, true, -1);
  expect_int(BYTES(0xe0), INT64_MIN, INT64_MAX, true, -32);
  expect_int(BYTES(0xd0, 0xdf), INT64_MIN, INT64_MAX, true, -33);
  expect_int(BYTES(0xd0, 0x80), INT64_MIN, INT64_MAX, true, -128);
  expect_int(BYTES(0xd1, 0xff, 0x7f), INT64_MIN, INT64_MAX, true, -129);
  expect_int(BYTES(0xd2, 0xff, 0xff, 0x7f, 0xff), INT64_MIN, INT64_MAX, true, -32769);
  expect_int(BYTES(0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff), INT64_MIN, INT64_MAX, true,
             -(int64_t)2147483649);
  expect_int(BYTES(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), INT64_MIN, INT64_MAX, true, INT64_MIN);
  /* not shortest: a fixint value in int8, an int8 value in int16, ... */
  expect_int(BYTES(0xd0, 0xff), INT64_MIN, INT64_MAX, false, 0);
  expect_int(BYTES(0xd1, 0xff, 0x80), INT64_MIN, INT64_MAX, false, 0);
  expect_int(BYTES(0xd2, 0xff, 0xff, 0x80, 0x00), INT64_MIN, INT64_MAX, false, 0);
  expect_int(BYTES(0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0), INT64_MIN, INT64_MAX, false, 0);
  /* values >= 0 only in the positive forms */
  expect_int(BYTES(0xd0, 0x05), INT64_MIN, INT64_MAX, false, 0);
  expect_int(BYTES(0xd1, 0x00, 0x05), INT64_MIN, INT64_MAX, false, 0);
  /* limits */
  expect_int(BYTES(0x01), INT64_MIN, 0, false, 0);
  expect_int(BYTES(0xfe), -1, 0, false, 0);
  expect_int(BYTES(0x02), 3, 9, false, 0);
  expect_int(BYTES(0xca, 0, 0, 0, 0), INT64_MIN, INT64_MAX, false, 0); /* float */
}

/* A length header of one kind, read by the matching function. */
typedef size_t (*len_fn)(buf_reader_t *r, size_t max);

static size_t str_len(buf_reader_t *r, size_t max) {
  size_t n;
  return mpack_str(r, max, &n) ? n : SIZE_MAX;
}

static size_t bin_len(buf_reader_t *r, size_t max) {
  size_t n;
  return mpack_bin(r, max, &n) ? n : SIZE_MAX;
}

/* Header p[0..n) followed by len filler bytes for str/bin (0 for containers). */
static void expect_len(len_fn fn, const uint8_t *p, size_t n, size_t body, size_t max, bool ok, size_t want) {
  static uint8_t in[70000];
  buf_reader_t r;
  memcpy(in, p, n);
  memset(in + n, 'x', body);
  reader(&r, in, n + body);
  size_t got = fn(&r, max);
  assert_int_equal(r.err, ok ? 0 : CHORUS_ECORRUPT);
  if (ok) assert_int_equal(got, want);
  assert_int_equal(r.left, 0);
}

static void test_lengths_in_shortest_form_only(void **state) {
  expect_len(str_len, BYTES(0xa0), 0, 10, true, 0);
  expect_len(str_len, BYTES(0xbf), 31, 100, true, 31);
  expect_len(str_len, BYTES(0xd9, 0x20), 32, 100, true, 32);
  expect_len(str_len, BYTES(0xda, 0x01, 0x00), 256, 1000, true, 256);
  expect_len(str_len, BYTES(0xdb, 0x00, 0x01, 0x00, 0x00), 65536, 70000, true, 65536);
  expect_len(str_len, BYTES(0xdb, 0x00, 0x01, 0x00, 0x00), 65535, 70000, false, 0); /* body cut short */
  expect_len(str_len, BYTES(0xd9, 0x1f), 31, 100, false, 0);
  expect_len(str_len, BYTES(0xda, 0x00, 0xff), 255, 1000, false, 0);
  expect_len(str_len, BYTES(0xa5), 5, 4, false, 0);
  expect_len(bin_len, BYTES(0xc4, 0x00), 0, 10, true, 0);
  expect_len(bin_len, BYTES(0xc4, 0xff), 255, 1000, true, 255);
  expect_len(bin_len, BYTES(0xc5, 0x01, 0x00), 256, 1000, true, 256);
  expect_len(bin_len, BYTES(0xc5, 0x00, 0xff), 255, 1000, false, 0);
  expect_len(bin_len, BYTES(0xc6, 0x00, 0x00, 0xff, 0xff), 65535, 70000, false, 0);
  expect_len(bin_len, BYTES(0xc4, 0x03), 3, 2, false, 0);
  expect_len(bin_len, BYTES(0xa1), 1, 10, false, 0); /* a str is not a bin */
  expect_len(mpack_array, BYTES(0x9f), 0, 20, true, 15);
  expect_len(mpack_array, BYTES(0xdc, 0x00, 0x10), 0, 20, true, 16);
  expect_len(mpack_array, BYTES(0xdc, 0x00, 0x0f), 0, 20, false, 0);
  expect_len(mpack_array, BYTES(0xdd, 0x00, 0x00, 0xff, 0xff), 0, UINT32_MAX, false, 0);
  expect_len(mpack_array, BYTES(0x93), 0, 2, false, 0);
  expect_len(mpack_map, BYTES(0x8f), 0, 20, true, 15);
  expect_len(mpack_map, BYTES(0xde, 0x01, 0x00), 0, 1024, true, 256);
  expect_len(mpack_map, BYTES(0xdf, 0x00, 0x01, 0x00, 0x00), 0, UINT32_MAX, true, 65536);
  expect_len(mpack_map, BYTES(0xde, 0x00, 0x01), 0, 20, false, 0);
  expect_len(mpack_map, BYTES(0xdf, 0x00, 0x00, 0xff, 0xff), 0, UINT32_MAX, false, 0);
  expect_len(mpack_map, BYTES(0x90), 0, 20, false, 0); /* an array is not a map */
}

static void test_nil_and_bool(void **state) {
  buf_reader_t r;
  reader(&r, BYTES(0xc0, 0xc3, 0xc2, 0x00));
  assert_true(mpack_is_nil(&r));
  mpack_nil(&r);
  assert_false(mpack_is_nil(&r));
  assert_true(mpack_bool(&r));
  assert_false(mpack_bool(&r));
  mpack_nil(&r);
  assert_int_equal(r.err, CHORUS_ECORRUPT);
  reader(&r, NULL, 0);
  assert_false(mpack_is_nil(&r));
}

/* After one failure every read returns nothing, even of valid bytes. */
static void test_failure_is_sticky(void **state) {
  buf_reader_t r;
  size_t n = 7;
  reader(&r, BYTES(0xc1, 0x01, 0xa1, 'a', 0xc0));
  assert_int_equal(mpack_uint(&r, 9), 0);
  assert_int_equal(r.err, CHORUS_ECORRUPT);
  assert_int_equal(mpack_uint(&r, 9), 0);
  assert_null(mpack_str(&r, 9, &n));
  assert_int_equal(n, 0);
  assert_false(mpack_is_nil(&r));
  assert_int_equal(r.err, CHORUS_ECORRUPT);
}

static void test_node_ids(void **state) {
  char id[NODE_ID_MAX + 1] = "keep";
  buf_reader_t r;
  reader(&r, BYTES(0xa3, 'n', '-', '1', 0xa0));
  mpack_node_id(&r, id, false);
  assert_string_equal(id, "n-1");
  mpack_node_id(&r, id, true);
  assert_string_equal(id, "");
  reader(&r, BYTES(0xa0));
  mpack_node_id(&r, id, false);
  assert_int_equal(r.err, CHORUS_ECORRUPT);
  reader(&r, BYTES(0xa2, 'a', ' '));
  mpack_node_id(&r, id, false);
  assert_int_equal(r.err, CHORUS_ECORRUPT);
}

static void test_packer_sink_appends_and_rolls_back(void **state) {
  buf_t b;
  buf_init(&b);
  assert_int_equal(mpack_buf_write(&b, "ab", 2), 0);
  size_t start = b.len;
  assert_int_equal(mpack_buf_write(&b, "cd", 2), 0);
  assert_int_equal(mpack_buf_end(&b, start), 0);
  assert_int_equal(b.len, 4);
  b.err = CHORUS_ENOMEM; /* as after a failed allocation */
  assert_int_equal(mpack_buf_write(&b, "ef", 2), CHORUS_ENOMEM);
  assert_int_equal(mpack_buf_end(&b, start), CHORUS_ENOMEM);
  assert_int_equal(b.len, start);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uints_in_shortest_form_only),
      cmocka_unit_test(test_ints_in_shortest_form_only),
      cmocka_unit_test(test_lengths_in_shortest_form_only),
      cmocka_unit_test(test_nil_and_bool),
      cmocka_unit_test(test_failure_is_sticky),
      cmocka_unit_test(test_node_ids),
      cmocka_unit_test(test_packer_sink_appends_and_rolls_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
