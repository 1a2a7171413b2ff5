/* test_storage_context.c - the opaque causal context token handed to clients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "common/err.h"
#include "storage/context.h"

static void sample(vv_t *v) {
  assert_int_equal(vv_set(v, "node-a", 3), 0);
  assert_int_equal(vv_set(v, "node-b", 1), 0);
  assert_int_equal(vv_set(v, "node-c", 1234567), 0);
}

/* Expects s to be refused with ctx left empty. */
static void expect_invalid(const char *s, size_t len) {
  vv_t v;
  vv_init(&v);
  sample(&v);
  assert_int_equal(context_decode(s, len, &v), CHORUS_EINVAL);
  assert_int_equal(v.n, 0);
  vv_free(&v);
}

/* The token of raw bytes: framing tests build the bytes by hand. */
static void expect_bytes_invalid(const uint8_t *p, size_t len) {
  char s[256];
  assert_int_equal(base64_encode(p, len, s, sizeof(s)), 0);
  expect_invalid(s, strlen(s));
}

/* Raw bytes of the token: magic, the vector, the checksum. */
static void raw_context(buf_t *b, const vv_t *v) {
  buf_put(b, "CX\x01", 3);
  vv_encode(v, b);
  buf_put_crc32c(b, 0);
  assert_int_equal(b->err, 0);
}

static void test_round_trips_empty_and_populated_contexts(void **state) {
  vv_t v, back;
  vv_init(&v);
  vv_init(&back);
  for (int pass = 0; pass < 2; pass++) {
    char *s;
    assert_int_equal(context_encode(&v, &s), 0);
    assert_int_equal(context_decode(s, strlen(s), &back), 0);
    assert_true(vv_equal(&v, &back));
    free(s);
    sample(&v);
  }
  vv_free(&v);
  vv_free(&back);
}

static void test_token_is_standard_base64_of_the_documented_bytes(void **state) {
  vv_t v;
  buf_t b;
  vv_init(&v);
  buf_init(&b);
  sample(&v);
  raw_context(&b, &v);
  char want[256], *got;
  assert_int_equal(base64_encode(b.data, b.len, want, sizeof(want)), 0);
  assert_int_equal(context_encode(&v, &got), 0);
  assert_string_equal(got, want);
  free(got);
  buf_free(&b);
  vv_free(&v);
}

static void test_url_safe_unpadded_spelling_is_accepted(void **state) {
  vv_t v, back;
  vv_init(&v);
  vv_init(&back);
  sample(&v);
  char *s;
  assert_int_equal(context_encode(&v, &s), 0);
  for (char *c = s; *c; c++)
    *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
  size_t len = strcspn(s, "=");
  assert_int_equal(context_decode(s, len, &back), 0);
  assert_true(vv_equal(&v, &back));
  free(s);
  vv_free(&v);
  vv_free(&back);
}

static void test_base64_garbage_is_rejected(void **state) {
  static const char *bad[] = {"", "!!!!", "Zm9v", "Q1gB AAAA", "Q1gBAA==\n", "%%%"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_invalid(bad[i], strlen(bad[i]));
  expect_invalid(NULL, 0);
}

static void test_every_truncation_of_a_token_is_rejected(void **state) {
  vv_t v;
  vv_init(&v);
  sample(&v);
  char *s;
  assert_int_equal(context_encode(&v, &s), 0);
  /* Dropping only the padding is the unpadded spelling of the same token. */
  size_t unpadded = strcspn(s, "=");
  for (size_t len = 0; len < strlen(s); len++)
    if (len != unpadded) expect_invalid(s, len);
  free(s);
  vv_free(&v);
}

static void test_wrong_checksum_and_every_bit_flip_are_rejected(void **state) {
  vv_t v;
  buf_t b;
  vv_init(&v);
  buf_init(&b);
  sample(&v);
  raw_context(&b, &v);
  for (size_t bit = 0; bit < b.len * 8; bit++) {
    b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    expect_bytes_invalid(b.data, b.len);
    b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  buf_free(&b);
  vv_free(&v);
}

static void test_bad_version_trailing_bytes_and_bad_vectors_are_rejected(void **state) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, "CX\x02\x00", 4);
  buf_put_crc32c(&b, 0);
  expect_bytes_invalid(b.data, b.len);
  buf_reset(&b);
  buf_put(&b, "CX\x01\x00\x00", 5);
  buf_put_crc32c(&b, 0);
  expect_bytes_invalid(b.data, b.len);
  buf_reset(&b);
  static const uint8_t unsorted[] = {'C', 'X', 1, 2, 1, 'b', 1, 1, 'a', 1};
  buf_put(&b, unsorted, sizeof(unsorted));
  buf_put_crc32c(&b, 0);
  expect_bytes_invalid(b.data, b.len);
  buf_free(&b);
}

static void test_overlong_strings_are_rejected_unread(void **state) {
  size_t len = CONTEXT_MAX_CHARS + 4;
  char *s = malloc(len);
  assert_non_null(s);
  memset(s, 'A', len);
  expect_invalid(s, len);
  free(s);
}

static void test_contexts_too_big_for_a_token_are_not_encoded(void **state) {
  vv_t v;
  vv_init(&v);
  char node[VV_NODE_MAX + 1];
  for (int i = 0; i < 1000; i++) {
    snprintf(node, sizeof(node), "%060d", i);
    assert_int_equal(vv_set(&v, node, 1), 0);
  }
  char *s = (char *)1;
  assert_int_equal(context_encode(&v, &s), CHORUS_ETOOBIG);
  assert_null(s);
  vv_free(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trips_empty_and_populated_contexts),
      cmocka_unit_test(test_token_is_standard_base64_of_the_documented_bytes),
      cmocka_unit_test(test_url_safe_unpadded_spelling_is_accepted),
      cmocka_unit_test(test_base64_garbage_is_rejected),
      cmocka_unit_test(test_every_truncation_of_a_token_is_rejected),
      cmocka_unit_test(test_wrong_checksum_and_every_bit_flip_are_rejected),
      cmocka_unit_test(test_bad_version_trailing_bytes_and_bad_vectors_are_rejected),
      cmocka_unit_test(test_overlong_strings_are_rejected_unread),
      cmocka_unit_test(test_contexts_too_big_for_a_token_are_not_encoded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
