/* test_storage_record.c - the on-disk codec of a key's versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "storage/record.h"

/* One sibling written field by field, valid or not, for the decoder to judge. */
typedef struct {
  uint8_t flags;
  const char *node;
  uint64_t counter;
  const char *ctx_node; /* NULL: empty context */
  uint64_t ctx_counter;
  const char *value;
} raw_sibling_t;

/* Writes the layout of record.h by hand, with a correct checksum. */
static void raw_record(buf_t *b, uint8_t version, const raw_sibling_t *s, size_t n) {
  buf_put(b, "CR", 2);
  buf_put_u8(b, version);
  buf_put_varint(b, n);
  for (size_t i = 0; i < n; i++) {
    buf_put_u8(b, s[i].flags);
    buf_put_lbytes(b, s[i].node, strlen(s[i].node));
    buf_put_varint(b, s[i].counter);
    buf_put_u64be(b, 1000 + i);
    buf_put_varint(b, s[i].ctx_node ? 1 : 0);
    if (s[i].ctx_node) {
      buf_put_lbytes(b, s[i].ctx_node, strlen(s[i].ctx_node));
      buf_put_varint(b, s[i].ctx_counter);
    }
    buf_put_lbytes(b, s[i].value, strlen(s[i].value));
  }
  buf_put_crc32c(b, 0);
  assert_int_equal(b->err, 0);
}

static void expect_corrupt(const void *p, size_t len) {
  dvv_t d;
  dvv_init(&d);
  assert_int_equal(dvv_update(&d, NULL, "stale", "s", 1, false, 1, NULL), 0);
  assert_int_equal(record_decode(p, len, &d), CHORUS_ECORRUPT);
  assert_int_equal(d.n, 0);
  assert_null(d.s);
}

static void expect_raw_rejected(uint8_t version, const raw_sibling_t *s, size_t n) {
  buf_t b;
  buf_init(&b);
  raw_record(&b, version, s, n);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
}

static void round_trip(const dvv_t *d) {
  buf_t b;
  dvv_t back;
  buf_init(&b);
  dvv_init(&back);
  assert_int_equal(record_encode(d, &b), 0);
  assert_int_equal(record_decode(b.data, b.len, &back), 0);
  assert_true(dvv_equal(d, &back));
  dvv_free(&back);
  buf_free(&b);
}

/* A state with two concurrent values, a tombstone and non-empty contexts. */
static void sample(dvv_t *d) {
  vv_t ctx;
  vv_init(&ctx);
  assert_int_equal(dvv_update(d, NULL, "node-a", "first", 5, false, 100, NULL), 0);
  assert_int_equal(dvv_update(d, &ctx, "node-b", "second", 6, false, 200, NULL), 0);
  assert_int_equal(vv_set(&ctx, "node-a", 1), 0);
  assert_int_equal(dvv_update(d, &ctx, "node-c", NULL, 0, true, 300, NULL), 0);
  assert_int_equal(dvv_update(d, &ctx, "node-a", "", 0, false, 400, NULL), 0);
  vv_free(&ctx);
}

static void encode_sample(buf_t *b) {
  dvv_t d;
  dvv_init(&d);
  sample(&d);
  assert_int_equal(record_encode(&d, b), 0);
  dvv_free(&d);
}

static void test_encoding_follows_the_documented_layout(void **state) {
  dvv_t d;
  buf_t got, want;
  dvv_init(&d);
  buf_init(&got);
  buf_init(&want);
  assert_int_equal(dvv_update(&d, NULL, "a", "v", 1, false, 1000, NULL), 0);
  assert_int_equal(record_encode(&d, &got), 0);
  raw_sibling_t s = {0, "a", 1, NULL, 0, "v"};
  raw_record(&want, RECORD_VERSION, &s, 1);
  assert_int_equal(got.len, want.len);
  assert_memory_equal(got.data, want.data, got.len);
  dvv_free(&d);
  buf_free(&got);
  buf_free(&want);
}

static void test_round_trips_values_tombstones_and_contexts(void **state) {
  dvv_t d;
  dvv_init(&d);
  sample(&d);
  assert_int_equal(d.n, 3);
  round_trip(&d);
  dvv_free(&d);
}

static void test_round_trips_a_one_mebibyte_value(void **state) {
  size_t len = 1u << 20;
  uint8_t *big = malloc(len);
  assert_non_null(big);
  for (size_t i = 0; i < len; i++)
    big[i] = (uint8_t)(i * 31 + 7);
  dvv_t d;
  dvv_init(&d);
  assert_int_equal(dvv_update(&d, NULL, "a", big, len, false, 1, NULL), 0);
  round_trip(&d);
  dvv_free(&d);
  free(big);
}

static void test_round_trips_the_most_siblings_allowed(void **state) {
  dvv_t d;
  vv_t empty;
  dvv_init(&d);
  vv_init(&empty);
  for (int i = 0; i < RECORD_MAX_SIBLINGS; i++) {
    bool tombstone = i % 3 == 0;
    assert_int_equal(dvv_update(&d, &empty, i % 2 ? "a" : "b", tombstone ? NULL : "v", !tombstone, tombstone,
                                (uint64_t)i, NULL),
                     0);
  }
  assert_int_equal(d.n, RECORD_MAX_SIBLINGS);
  round_trip(&d);
  assert_int_equal(dvv_update(&d, &empty, "c", "v", 1, false, 1, NULL), 0);
  buf_t b;
  buf_init(&b);
  assert_int_equal(record_encode(&d, &b), CHORUS_ETOOBIG);
  assert_int_equal(b.len, 0);
  buf_free(&b);
  vv_free(&empty);
  dvv_free(&d);
}

static void test_round_trips_a_context_with_the_most_entries_allowed(void **state) {
  vv_t ctx;
  vv_init(&ctx);
  char node[16];
  for (int i = 0; i < VV_MAX_ENTRIES; i++) {
    snprintf(node, sizeof(node), "n%04d", i);
    assert_int_equal(vv_set(&ctx, node, (uint64_t)i + 1), 0);
  }
  dvv_t d;
  dvv_init(&d);
  assert_int_equal(dvv_update(&d, &ctx, "zz", "v", 1, false, 1, NULL), 0);
  assert_int_equal(d.s[0].ctx.n, VV_MAX_ENTRIES);
  round_trip(&d);
  vv_free(&ctx);
  dvv_free(&d);
}

static void test_encode_appends_and_refuses_an_empty_state(void **state) {
  dvv_t d;
  buf_t b;
  dvv_init(&d);
  buf_init(&b);
  assert_int_equal(record_encode(&d, &b), CHORUS_EINVAL);
  buf_put(&b, "head", 4);
  sample(&d);
  assert_int_equal(record_encode(&d, &b), 0);
  assert_memory_equal(b.data, "head", 4);
  dvv_t back;
  dvv_init(&back);
  assert_int_equal(record_decode(b.data + 4, b.len - 4, &back), 0);
  assert_true(dvv_equal(&d, &back));
  dvv_free(&back);
  dvv_free(&d);
  buf_free(&b);
}

static void test_every_truncation_is_rejected(void **state) {
  buf_t b;
  buf_init(&b);
  encode_sample(&b);
  for (size_t len = 0; len < b.len; len++)
    expect_corrupt(b.data, len);
  expect_corrupt(NULL, 0);
  buf_free(&b);
}

static void test_every_single_bit_flip_is_rejected(void **state) {
  buf_t b;
  buf_init(&b);
  encode_sample(&b);
  for (size_t bit = 0; bit < b.len * 8; bit++) {
    b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    expect_corrupt(b.data, b.len);
    b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  buf_free(&b);
}

static void test_trailing_bytes_are_rejected(void **state) {
  buf_t b;
  buf_init(&b);
  encode_sample(&b);
  buf_put_u8(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
  /* Also when the checksum covers them. */
  raw_sibling_t s = {0, "a", 1, NULL, 0, "v"};
  buf_init(&b);
  raw_record(&b, RECORD_VERSION, &s, 1);
  b.len -= 4;
  buf_put_u8(&b, 0);
  buf_put_crc32c(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
}

static void test_bad_magic_or_version_is_rejected(void **state) {
  raw_sibling_t s = {0, "a", 1, NULL, 0, "v"};
  expect_raw_rejected(0, &s, 1);
  expect_raw_rejected(RECORD_VERSION + 1, &s, 1);
  buf_t b;
  buf_init(&b);
  raw_record(&b, RECORD_VERSION, &s, 1);
  b.data[0] = 'X';
  b.len -= 4;
  buf_put_crc32c(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
}

static void test_unsorted_or_duplicate_dots_are_rejected(void **state) {
  raw_sibling_t unsorted_nodes[] = {{0, "b", 1, NULL, 0, "x"}, {0, "a", 1, NULL, 0, "y"}};
  raw_sibling_t unsorted_counters[] = {{0, "a", 2, NULL, 0, "x"}, {0, "a", 1, NULL, 0, "y"}};
  raw_sibling_t duplicate[] = {{0, "a", 1, NULL, 0, "x"}, {0, "a", 1, NULL, 0, "x"}};
  raw_sibling_t sorted[] = {{0, "a", 1, NULL, 0, "x"}, {0, "a", 2, NULL, 0, "y"}};
  expect_raw_rejected(RECORD_VERSION, unsorted_nodes, 2);
  expect_raw_rejected(RECORD_VERSION, unsorted_counters, 2);
  expect_raw_rejected(RECORD_VERSION, duplicate, 2);
  buf_t b;
  dvv_t d;
  buf_init(&b);
  dvv_init(&d);
  raw_record(&b, RECORD_VERSION, sorted, 2);
  assert_int_equal(record_decode(b.data, b.len, &d), 0);
  assert_int_equal(d.n, 2);
  dvv_free(&d);
  buf_free(&b);
}

static void test_a_sibling_obsoleted_by_another_context_is_rejected(void **state) {
  raw_sibling_t s[] = {{0, "a", 1, NULL, 0, "old"}, {0, "b", 1, "a", 1, "new"}};
  expect_raw_rejected(RECORD_VERSION, s, 2);
}

static void test_a_tombstone_carrying_a_value_is_rejected(void **state) {
  raw_sibling_t s = {1, "a", 1, NULL, 0, "ghost"};
  expect_raw_rejected(RECORD_VERSION, &s, 1);
}

static void test_invalid_fields_are_rejected(void **state) {
  raw_sibling_t unknown_flag = {2, "a", 1, NULL, 0, "v"};
  raw_sibling_t zero_counter = {0, "a", 0, NULL, 0, "v"};
  raw_sibling_t bad_node = {0, "a b", 1, NULL, 0, "v"};
  raw_sibling_t empty_node = {0, "", 1, NULL, 0, "v"};
  raw_sibling_t bad_ctx = {0, "a", 1, "c", 0, "v"};
  expect_raw_rejected(RECORD_VERSION, &unknown_flag, 1);
  expect_raw_rejected(RECORD_VERSION, &zero_counter, 1);
  expect_raw_rejected(RECORD_VERSION, &bad_node, 1);
  expect_raw_rejected(RECORD_VERSION, &empty_node, 1);
  expect_raw_rejected(RECORD_VERSION, &bad_ctx, 1);
  expect_raw_rejected(RECORD_VERSION, NULL, 0);
  /* A node id with a NUL inside would read back as a shorter, different id. */
  buf_t b;
  buf_init(&b);
  static const uint8_t nul_in_node[] = {'C', 'R', 1, 1, 0, 3, 'a', 0, 'b', 1};
  buf_put(&b, nul_in_node, sizeof(nul_in_node));
  buf_put_u64be(&b, 1);
  buf_put(&b, "\0\0", 2);
  buf_put_crc32c(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
}

static void test_counts_beyond_the_limits_are_rejected_before_allocating(void **state) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, "CR\x01", 3);
  buf_put_varint(&b, RECORD_MAX_SIBLINGS + 1);
  buf_put_crc32c(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_reset(&b);
  /* A sibling count the remaining bytes cannot hold. */
  buf_put(&b, "CR\x01", 3);
  buf_put_varint(&b, 1000);
  buf_put(&b, "\0\1a\1", 4);
  buf_put_crc32c(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_reset(&b);
  /* A value length far beyond the bytes present. */
  static const uint8_t one_sibling[] = {'C', 'R', 1, 1, 0, 1, 'a', 1};
  buf_put(&b, one_sibling, sizeof(one_sibling));
  buf_put_u64be(&b, 1);
  buf_put_u8(&b, 0);
  buf_put_varint(&b, RECORD_MAX_VALUE);
  buf_put_crc32c(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encoding_follows_the_documented_layout),
      cmocka_unit_test(test_round_trips_values_tombstones_and_contexts),
      cmocka_unit_test(test_round_trips_a_one_mebibyte_value),
      cmocka_unit_test(test_round_trips_the_most_siblings_allowed),
      cmocka_unit_test(test_round_trips_a_context_with_the_most_entries_allowed),
      cmocka_unit_test(test_encode_appends_and_refuses_an_empty_state),
      cmocka_unit_test(test_every_truncation_is_rejected),
      cmocka_unit_test(test_every_single_bit_flip_is_rejected),
      cmocka_unit_test(test_trailing_bytes_are_rejected),
      cmocka_unit_test(test_bad_magic_or_version_is_rejected),
      cmocka_unit_test(test_unsorted_or_duplicate_dots_are_rejected),
      cmocka_unit_test(test_a_sibling_obsoleted_by_another_context_is_rejected),
      cmocka_unit_test(test_a_tombstone_carrying_a_value_is_rejected),
      cmocka_unit_test(test_invalid_fields_are_rejected),
      cmocka_unit_test(test_counts_beyond_the_limits_are_rejected_before_allocating),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
