/*
 * test_storage_recbatch.c - the record batches of an ownership transfer
 * (recbatch.h): a batch round-trips, and every malformed one (a wrong
 * magic, a count the bytes cannot hold, an empty or over-long key, an
 * empty record, a cut, trailing bytes) is refused without leaving
 * anything behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "storage/recbatch.h"

static void test_a_batch_round_trips_in_order(void **state) {
  (void)state;
  buf_t b;
  buf_init(&b);
  buf_put(&b, "xx", 2);
  size_t start = recbatch_begin(&b);
  recbatch_add(&b, "alpha", 5, "\x01\x02\x03", 3);
  char big[300];
  memset(big, 'r', sizeof big);
  recbatch_add(&b, "b", 1, big, sizeof big);
  recbatch_finish(&b, start, 2);
  assert_int_equal(b.err, 0);
  recbatch_entry_t *e = NULL;
  size_t n = 0;
  assert_int_equal(recbatch_decode(b.data + start, b.len - start, &e, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(e[0].key_len, 5);
  assert_memory_equal(e[0].key, "alpha", 5);
  assert_int_equal(e[0].rec_len, 3);
  assert_memory_equal(e[0].rec, "\x01\x02\x03", 3);
  assert_int_equal(e[1].key_len, 1);
  assert_int_equal(e[1].rec_len, sizeof big);
  assert_memory_equal(e[1].rec, big, sizeof big);
  free(e);
  /* every cut is refused */
  for (size_t cut = 0; cut < b.len - start; cut++) {
    e = (recbatch_entry_t *)1;
    n = 7;
    assert_int_equal(recbatch_decode(b.data + start, cut, &e, &n), CHORUS_ECORRUPT);
    assert_null(e);
    assert_int_equal(n, 0);
  }
  buf_free(&b);
}

static void test_an_empty_batch_decodes_to_nothing(void **state) {
  (void)state;
  buf_t b;
  buf_init(&b);
  recbatch_finish(&b, recbatch_begin(&b), 0);
  recbatch_entry_t *e = NULL;
  size_t n = 1;
  assert_int_equal(recbatch_decode(b.data, b.len, &e, &n), 0);
  assert_int_equal(n, 0);
  assert_null(e);
  buf_free(&b);
}

static int decode_one(const char *key, size_t key_len, const void *rec, size_t rec_len, const char *tail) {
  buf_t b;
  buf_init(&b);
  size_t start = recbatch_begin(&b);
  recbatch_add(&b, key, key_len, rec, rec_len);
  recbatch_finish(&b, start, 1);
  if (tail) buf_put(&b, tail, strlen(tail));
  recbatch_entry_t *e = NULL;
  size_t n = 0;
  int rc = recbatch_decode(b.data, b.len, &e, &n);
  free(e);
  buf_free(&b);
  return rc;
}

static void test_malformed_batches_are_refused(void **state) {
  (void)state;
  static char key[RECBATCH_KEY_MAX + 1];
  memset(key, 'k', sizeof key);
  assert_int_equal(decode_one(key, RECBATCH_KEY_MAX, "r", 1, NULL), 0);
  assert_int_equal(decode_one(key, RECBATCH_KEY_MAX + 1, "r", 1, NULL), CHORUS_ECORRUPT);
  assert_int_equal(decode_one(key, 0, "r", 1, NULL), CHORUS_ECORRUPT);
  assert_int_equal(decode_one("k", 1, "", 0, NULL), CHORUS_ECORRUPT);
  assert_int_equal(decode_one("k", 1, "r", 1, "!"), CHORUS_ECORRUPT);
  /* a count the bytes cannot hold, and a wrong magic */
  const uint8_t many[] = {'R', 'B', 1, 0x00, 0x01, 0x00, 0x00, 1, 'k', 1, 'r'};
  recbatch_entry_t *e = NULL;
  size_t n = 0;
  assert_int_equal(recbatch_decode(many, sizeof many, &e, &n), CHORUS_ECORRUPT);
  const uint8_t wrong[] = {'R', 'C', 1, 0, 0, 0, 1, 1, 'k', 1, 'r'};
  assert_int_equal(recbatch_decode(wrong, sizeof wrong, &e, &n), CHORUS_ECORRUPT);
  const uint8_t right[] = {'R', 'B', 1, 0, 0, 0, 1, 1, 'k', 1, 'r'};
  assert_int_equal(recbatch_decode(right, sizeof right, &e, &n), 0);
  assert_int_equal(n, 1);
  free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_batch_round_trips_in_order),
      cmocka_unit_test(test_an_empty_batch_decodes_to_nothing),
      cmocka_unit_test(test_malformed_batches_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
