/* test_storage_vv.c - version vectors: operations, order, codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "storage/vv.h"

/* v = {node: counter, ...} from a NULL-terminated list of pairs. */
static void vv_of(vv_t *v, ...) {
  va_list ap;
  va_start(ap, v);
  vv_clear(v);
  for (const char *node; (node = va_arg(ap, const char *)) != NULL;)
    assert_int_equal(vv_set(v, node, va_arg(ap, uint64_t)), 0);
  va_end(ap);
}

static void test_set_get_keeps_entries_sorted_and_counter_zero_removes(void **state) {
  vv_t v;
  vv_init(&v);
  assert_int_equal(vv_set(&v, "c", 3), 0);
  assert_int_equal(vv_set(&v, "a", 1), 0);
  assert_int_equal(vv_set(&v, "b", 2), 0);
  assert_int_equal(v.n, 3);
  assert_string_equal(v.e[0].node, "a");
  assert_string_equal(v.e[1].node, "b");
  assert_string_equal(v.e[2].node, "c");
  assert_int_equal(vv_get(&v, "b"), 2);
  assert_int_equal(vv_get(&v, "zz"), 0);
  assert_int_equal(vv_set(&v, "b", 7), 0);
  assert_int_equal(vv_get(&v, "b"), 7);
  assert_int_equal(vv_set(&v, "b", 0), 0);
  assert_int_equal(v.n, 2);
  assert_int_equal(vv_get(&v, "b"), 0);
  assert_int_equal(vv_set(&v, "absent", 0), 0);
  assert_int_equal(v.n, 2);
  vv_free(&v);
  assert_null(v.e);
}

static void test_invalid_node_ids_are_rejected(void **state) {
  char long_id[VV_NODE_MAX + 2];
  memset(long_id, 'n', sizeof(long_id) - 1);
  long_id[sizeof(long_id) - 1] = '\0';
  const char *bad[] = {"", "has space", "slash/", "caf\xc3\xa9", "tab\t", long_id};
  vv_t v;
  vv_init(&v);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(vv_set(&v, bad[i], 1), CHORUS_EINVAL);
    assert_int_equal(vv_max_with(&v, bad[i], 1), CHORUS_EINVAL);
    assert_int_equal(vv_tick(&v, bad[i], NULL), CHORUS_EINVAL);
  }
  assert_int_equal(vv_set(&v, NULL, 1), CHORUS_EINVAL);
  assert_int_equal(v.n, 0);
  long_id[VV_NODE_MAX] = '\0';
  assert_int_equal(vv_set(&v, long_id, 1), 0);
  assert_true(vv_node_valid("node-1.dc_2:7000", 16));
  assert_false(vv_node_valid("ok", 0));
  vv_free(&v);
}

static void test_tick_and_max_with_only_move_forward(void **state) {
  vv_t v;
  vv_init(&v);
  uint64_t c = 0;
  assert_int_equal(vv_tick(&v, "a", &c), 0);
  assert_int_equal(c, 1);
  assert_int_equal(vv_tick(&v, "a", &c), 0);
  assert_int_equal(c, 2);
  assert_int_equal(vv_max_with(&v, "a", 1), 0);
  assert_int_equal(vv_get(&v, "a"), 2);
  assert_int_equal(vv_max_with(&v, "a", 9), 0);
  assert_int_equal(vv_get(&v, "a"), 9);
  assert_int_equal(vv_set(&v, "a", UINT64_MAX), 0);
  assert_int_equal(vv_tick(&v, "a", &c), CHORUS_ETOOBIG);
  assert_true(vv_get(&v, "a") == UINT64_MAX);
  vv_free(&v);
}

static void test_join_is_the_pointwise_maximum(void **state) {
  vv_t a, b;
  vv_init(&a);
  vv_init(&b);
  vv_of(&a, "a", (uint64_t)3, "c", (uint64_t)1, NULL);
  vv_of(&b, "b", (uint64_t)2, "c", (uint64_t)5, "d", (uint64_t)1, NULL);
  assert_int_equal(vv_join(&a, &b), 0);
  assert_int_equal(a.n, 4);
  assert_int_equal(vv_get(&a, "a"), 3);
  assert_int_equal(vv_get(&a, "b"), 2);
  assert_int_equal(vv_get(&a, "c"), 5);
  assert_int_equal(vv_get(&a, "d"), 1);
  assert_true(vv_descends(&a, &b));
  assert_int_equal(vv_join(&a, &a), 0);
  assert_int_equal(a.n, 4);
  vv_free(&a);
  vv_free(&b);
}

static void test_compare_descends_and_covers_follow_the_partial_order(void **state) {
  vv_t a, b, empty;
  vv_init(&a);
  vv_init(&b);
  vv_init(&empty);
  vv_of(&a, "a", (uint64_t)2, "b", (uint64_t)1, NULL);
  vv_of(&b, "a", (uint64_t)2, "b", (uint64_t)1, NULL);
  assert_int_equal(vv_compare(&a, &b), VV_EQUAL);
  assert_true(vv_equal(&a, &b));
  assert_int_equal(vv_compare(&empty, &empty), VV_EQUAL);

  vv_of(&b, "a", (uint64_t)3, "b", (uint64_t)1, NULL);
  assert_int_equal(vv_compare(&a, &b), VV_BEFORE);
  assert_int_equal(vv_compare(&b, &a), VV_AFTER);
  assert_true(vv_descends(&b, &a));
  assert_false(vv_descends(&a, &b));
  assert_int_equal(vv_compare(&empty, &a), VV_BEFORE);
  assert_true(vv_descends(&a, &empty));

  vv_of(&b, "a", (uint64_t)1, "c", (uint64_t)1, NULL);
  assert_int_equal(vv_compare(&a, &b), VV_CONCURRENT);
  assert_false(vv_equal(&a, &b));

  assert_true(vv_covers(&a, "a", 1));
  assert_true(vv_covers(&a, "a", 2));
  assert_false(vv_covers(&a, "a", 3));
  assert_false(vv_covers(&a, "c", 1));
  vv_free(&a);
  vv_free(&b);
}

static void test_copy_replaces_the_destination(void **state) {
  vv_t a, b;
  vv_init(&a);
  vv_init(&b);
  vv_of(&a, "x", (uint64_t)4, NULL);
  vv_of(&b, "y", (uint64_t)1, "z", (uint64_t)2, NULL);
  assert_int_equal(vv_copy(&a, &b), 0);
  assert_true(vv_equal(&a, &b));
  vv_free(&a);
  vv_free(&b);
}

static void test_vectors_cannot_grow_beyond_what_decoders_accept(void **state) {
  vv_t v;
  vv_init(&v);
  char node[16];
  for (int i = 0; i < VV_MAX_ENTRIES; i++) {
    snprintf(node, sizeof(node), "n%05d", i);
    assert_int_equal(vv_set(&v, node, 1), 0);
  }
  assert_int_equal(vv_set(&v, "one-too-many", 1), CHORUS_ETOOBIG);
  assert_int_equal(v.n, VV_MAX_ENTRIES);
  vv_t more;
  vv_init(&more);
  vv_of(&more, "zzz", (uint64_t)1, NULL);
  assert_int_equal(vv_join(&v, &more), CHORUS_ETOOBIG);
  assert_int_equal(v.n, VV_MAX_ENTRIES);
  vv_free(&v);
  vv_free(&more);
}

static void test_codec_round_trips(void **state) {
  vv_t a, b;
  vv_init(&a);
  vv_init(&b);
  vv_of(&a, "alpha", (uint64_t)1, "beta", (uint64_t)UINT64_MAX, "gamma", (uint64_t)300, NULL);
  for (int pass = 0; pass < 2; pass++) {
    buf_t out;
    buf_init(&out);
    vv_encode(&a, &out);
    buf_reader_t r;
    buf_reader_init(&r, out.data, out.len);
    assert_int_equal(vv_decode(&r, &b), 0);
    assert_int_equal(r.left, 0);
    assert_true(vv_equal(&a, &b));
    buf_free(&out);
    vv_clear(&a);
  }
  vv_free(&a);
  vv_free(&b);
}

/* Decodes hand-written bytes, expecting a rejection that leaves v empty. */
static void expect_rejected(const uint8_t *p, size_t len) {
  vv_t v;
  vv_init(&v);
  assert_int_equal(vv_set(&v, "stale", 1), 0);
  buf_reader_t r;
  buf_reader_init(&r, p, len);
  assert_int_equal(vv_decode(&r, &v), CHORUS_ECORRUPT);
  assert_int_equal(v.n, 0);
  vv_free(&v);
}

static void test_decoder_rejects_non_canonical_or_invalid_vectors(void **state) {
  static const uint8_t unsorted[] = {2, 1, 'b', 1, 1, 'a', 1};
  static const uint8_t duplicate[] = {2, 1, 'a', 1, 1, 'a', 2};
  static const uint8_t zero_counter[] = {1, 1, 'a', 0};
  static const uint8_t bad_node[] = {1, 1, ' ', 1};
  static const uint8_t empty_node[] = {1, 0, 1};
  static const uint8_t truncated[] = {2, 1, 'a', 1};
  static const uint8_t too_many[] = {0x81, 0x20}; /* 4097 */
  expect_rejected(unsorted, sizeof(unsorted));
  expect_rejected(duplicate, sizeof(duplicate));
  expect_rejected(zero_counter, sizeof(zero_counter));
  expect_rejected(bad_node, sizeof(bad_node));
  expect_rejected(empty_node, sizeof(empty_node));
  expect_rejected(truncated, sizeof(truncated));
  expect_rejected(too_many, sizeof(too_many));
  uint8_t long_node[2 + VV_NODE_MAX + 2] = {1, VV_NODE_MAX + 1};
  memset(long_node + 2, 'x', VV_NODE_MAX + 1);
  long_node[sizeof(long_node) - 1] = 1;
  expect_rejected(long_node, sizeof(long_node));
}

static void test_node_ids_round_trip_alone_and_must_be_valid(void **state) {
  buf_t b;
  buf_init(&b);
  vv_encode_node("node-7", &b);
  char node[VV_NODE_MAX + 1];
  buf_reader_t r;
  buf_reader_init(&r, b.data, b.len);
  assert_int_equal(vv_decode_node(&r, node), 0);
  assert_string_equal(node, "node-7");
  assert_int_equal(r.left, 0);
  static const uint8_t nul_inside[] = {3, 'a', 0, 'b'};
  static const uint8_t truncated[] = {3, 'a'};
  buf_reader_init(&r, nul_inside, sizeof(nul_inside));
  assert_int_equal(vv_decode_node(&r, node), CHORUS_ECORRUPT);
  buf_reader_init(&r, truncated, sizeof(truncated));
  assert_int_equal(vv_decode_node(&r, node), CHORUS_ECORRUPT);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_set_get_keeps_entries_sorted_and_counter_zero_removes),
      cmocka_unit_test(test_invalid_node_ids_are_rejected),
      cmocka_unit_test(test_tick_and_max_with_only_move_forward),
      cmocka_unit_test(test_join_is_the_pointwise_maximum),
      cmocka_unit_test(test_compare_descends_and_covers_follow_the_partial_order),
      cmocka_unit_test(test_copy_replaces_the_destination),
      cmocka_unit_test(test_vectors_cannot_grow_beyond_what_decoders_accept),
      cmocka_unit_test(test_codec_round_trips),
      cmocka_unit_test(test_decoder_rejects_non_canonical_or_invalid_vectors),
      cmocka_unit_test(test_node_ids_round_trip_alone_and_must_be_valid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
