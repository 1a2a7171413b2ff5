/*
 * test_api_jsonr.c - the request-body JSON reader: what it accepts, what it
 * rejects, and how it decodes escapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/jsonr.h"

static jsonr_result_t parse(const char *text, jsonr_field_t *f) {
  f[0] = (jsonr_field_t){.name = "value"};
  f[1] = (jsonr_field_t){.name = "context"};
  return jsonr_object_strings(text, strlen(text), f, 2);
}

static void expect_decoded(const char *text, const char *want, size_t want_len) {
  jsonr_field_t f[2];
  assert_int_equal(parse(text, f), JSONR_OK);
  assert_int_equal(f[0].kind, JSONR_STRING);
  assert_int_equal(f[0].decoded_len, want_len);
  char out[64];
  jsonr_unescape(&f[0], out);
  assert_memory_equal(out, want, want_len);
  assert_int_equal(out[want_len], '\0');
}

static void test_finds_value_and_context_among_other_members(void **state) {
  jsonr_field_t f[2];
  assert_int_equal(parse(" {\"x\":[1,{\"y\":null}],\"value\":\"v\",\"context\":\"c\",\"z\":-0.5e3} ", f),
                   JSONR_OK);
  assert_int_equal(f[0].kind, JSONR_STRING);
  assert_int_equal(f[1].kind, JSONR_STRING);
  assert_int_equal(f[1].decoded_len, 1);
}

static void test_decodes_every_escape(void **state) {
  expect_decoded("{\"value\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}", "a\"b\\c/d\b\f\n\r\t", 12);
  expect_decoded("{\"value\":\"\\u00e9\\u20ac\"}", "\xc3\xa9\xe2\x82\xac", 5);
  expect_decoded("{\"value\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80", 4);
  expect_decoded("{\"value\":\"nul\\u0000in\"}", "nul\0in", 6);
  expect_decoded("{\"val\\u0075e\":\"escaped name\"}", "escaped name", 12);
  expect_decoded("{\"value\":\"\"}", "", 0);
}

static void test_rejects_what_is_not_json(void **state) {
  const char *bad[] = {"",
                       "{",
                       "{\"value\":}",
                       "{\"value\":\"x\"",
                       "{\"value\":\"x\"} x",
                       "{'value':'x'}",
                       "{\"value\":\"\\x\"}",
                       "{\"value\":\"\\ud800\"}",
                       "{\"value\":\"\\udc00\"}",
                       "{\"value\":01}",
                       "{\"value\":1.}",
                       "{\"value\":-}",
                       "{\"value\":tru}",
                       "[1,]",
                       "{\"a\":1,}",
                       "{\"value\":\"a\x01\"}",
                       "{\"value\":\"\xff\"}",
                       "{\"value\":\"\xc0\x80\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    jsonr_field_t f[2];
    assert_int_equal(parse(bad[i], f), JSONR_MALFORMED);
  }
}

static void test_reports_non_objects_and_duplicates(void **state) {
  jsonr_field_t f[2];
  assert_int_equal(parse("\"x\"", f), JSONR_NOT_OBJECT);
  assert_int_equal(parse(" [1, 2] ", f), JSONR_NOT_OBJECT);
  assert_int_equal(parse("null", f), JSONR_NOT_OBJECT);
  assert_int_equal(parse("{\"value\":\"a\",\"value\":\"b\"}", f), JSONR_DUPLICATE);
  assert_int_equal(parse("{\"other\":1,\"other\":2,\"value\":\"a\"}", f), JSONR_OK);
}

static void test_kinds_of_wanted_members(void **state) {
  jsonr_field_t f[2];
  assert_int_equal(parse("{\"value\":null,\"context\":[\"x\"]}", f), JSONR_OK);
  assert_int_equal(f[0].kind, JSONR_NULL);
  assert_int_equal(f[1].kind, JSONR_OTHER);
  assert_int_equal(parse("{}", f), JSONR_OK);
  assert_int_equal(f[0].kind, JSONR_ABSENT);
}

static void test_nesting_is_bounded(void **state) {
  char deep[2 * JSONR_MAX_DEPTH + 40];
  size_t n = 0;
  n += (size_t)sprintf(deep, "{\"a\":");
  for (int i = 0; i < JSONR_MAX_DEPTH; i++)
    deep[n++] = '[';
  for (int i = 0; i < JSONR_MAX_DEPTH; i++)
    deep[n++] = ']';
  deep[n++] = '}';
  deep[n] = '\0';
  jsonr_field_t f[2];
  assert_int_equal(parse(deep, f), JSONR_MALFORMED); /* the object itself is one level */
  memmove(deep + 5, deep + 6, n - 5);                /* one bracket pair fewer */
  memmove(deep + 5 + JSONR_MAX_DEPTH - 1, deep + 5 + JSONR_MAX_DEPTH, n - 5 - JSONR_MAX_DEPTH);
  assert_int_equal(parse(deep, f), JSONR_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_finds_value_and_context_among_other_members),
      cmocka_unit_test(test_decodes_every_escape),
      cmocka_unit_test(test_rejects_what_is_not_json),
      cmocka_unit_test(test_reports_non_objects_and_duplicates),
      cmocka_unit_test(test_kinds_of_wanted_members),
      cmocka_unit_test(test_nesting_is_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
