/*
 * test_storage_treelog.c - the stored forms of the tree's leaves
 * (treelog.h): chunks and journal entries round-trip, and every damage a
 * disk can do (a flipped bit, a cut, a wrong count or segment, trailing
 * bytes) is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/err.h"
#include "storage/treelog.h"

static void test_a_chunk_round_trips_and_refuses_damage(void **state) {
  (void)state;
  uint64_t leaves[TREELOG_CHUNK], back[TREELOG_CHUNK];
  for (size_t i = 0; i < TREELOG_CHUNK; i++)
    leaves[i] = i % 3 ? 0x9e3779b97f4a7c15ull * (i + 1) : 0;
  buf_t b;
  buf_init(&b);
  treelog_chunk_encode(&b, leaves, TREELOG_CHUNK);
  assert_int_equal(b.err, 0);
  assert_int_equal(b.len, 3 + 4 + 8 * TREELOG_CHUNK + 4);
  assert_int_equal(treelog_chunk_decode(b.data, b.len, back, TREELOG_CHUNK), 0);
  assert_memory_equal(back, leaves, sizeof leaves);
  /* a count the reader does not expect: a chunk of another tree shape */
  assert_int_equal(treelog_chunk_decode(b.data, b.len, back, 16), CHORUS_ECORRUPT);
  assert_int_equal(treelog_chunk_decode(b.data, b.len - 1, back, TREELOG_CHUNK), CHORUS_ECORRUPT);
  b.data[100] ^= 0x10;
  assert_int_equal(treelog_chunk_decode(b.data, b.len, back, TREELOG_CHUNK), CHORUS_ECORRUPT);
  assert_int_equal(treelog_chunk_decode(NULL, 0, back, TREELOG_CHUNK), CHORUS_ECORRUPT);
  buf_free(&b);
}

static void test_a_journal_entry_round_trips_and_refuses_damage(void **state) {
  (void)state;
  buf_t b;
  buf_init(&b);
  buf_put(&b, "xx", 2); /* an entry may start anywhere in a buffer */
  size_t start = treelog_entry_begin(&b, 1234567);
  treelog_entry_add(&b, 7, 0xabcdef);
  treelog_entry_add(&b, 255, 0); /* a segment that became empty */
  treelog_entry_finish(&b, start, 2);
  assert_int_equal(b.err, 0);
  const uint8_t *p = b.data + start;
  size_t len = b.len - start;
  treelog_entry_t e;
  assert_int_equal(treelog_entry_decode(p, len, 256, &e), 0);
  assert_int_equal(e.keys, 1234567);
  assert_int_equal(e.n, 2);
  uint32_t s;
  uint64_t leaf;
  treelog_entry_pair(&e, 0, &s, &leaf);
  assert_int_equal(s, 7);
  assert_true(leaf == 0xabcdef);
  treelog_entry_pair(&e, 1, &s, &leaf);
  assert_int_equal(s, 255);
  assert_true(leaf == 0);
  /* a segment outside a smaller tree */
  assert_int_equal(treelog_entry_decode(p, len, 255, &e), CHORUS_ECORRUPT);
  assert_int_equal(treelog_entry_decode(p, len - 3, 256, &e), CHORUS_ECORRUPT);
  buf_t longer;
  buf_init(&longer);
  buf_put(&longer, p, len);
  buf_put_u8(&longer, 0);
  assert_int_equal(treelog_entry_decode(longer.data, longer.len, 256, &e), CHORUS_ECORRUPT);
  buf_free(&longer);
  b.data[start + 5] ^= 1;
  assert_int_equal(treelog_entry_decode(p, len, 256, &e), CHORUS_ECORRUPT);
  /* an empty entry is never written, so never read */
  buf_reset(&b);
  start = treelog_entry_begin(&b, 0);
  treelog_entry_finish(&b, start, 0);
  assert_int_equal(treelog_entry_decode(b.data, b.len, 256, &e), CHORUS_ECORRUPT);
  /* a chunk is not an entry */
  buf_reset(&b);
  uint64_t one = 1;
  treelog_chunk_encode(&b, &one, 1);
  assert_int_equal(treelog_entry_decode(b.data, b.len, 256, &e), CHORUS_ECORRUPT);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_chunk_round_trips_and_refuses_damage),
      cmocka_unit_test(test_a_journal_entry_round_trips_and_refuses_damage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
