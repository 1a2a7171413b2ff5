/*
 * test_storage_rowcache.c - the record cache: hits return the bytes put,
 * replacing and erasing, eviction of the least recently used entries by
 * bytes, values too large to keep, a disabled cache, growth of the table,
 * and a long random run checked against a reference model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/rng.h"
#include "storage/rowcache.h"

static const uint8_t SEED[SIPHASH_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void put_str(rowcache_t *c, const char *k, const char *v) {
  assert_int_equal(rowcache_put(c, k, strlen(k), v, strlen(v)), 0);
}

/* 1 and the value matched, 0 on a miss. */
static int get_is(rowcache_t *c, const char *k, const char *want) {
  const uint8_t *v;
  size_t n;
  if (!rowcache_get(c, k, strlen(k), &v, &n)) return 0;
  assert_int_equal(n, strlen(want));
  assert_memory_equal(v, want, n);
  return 1;
}

static void test_a_put_is_read_back_and_replaced(void **state) {
  rowcache_t c;
  assert_int_equal(rowcache_init(&c, 1 << 20, SEED), 0);
  assert_int_equal(get_is(&c, "a", ""), 0);
  put_str(&c, "a", "one");
  put_str(&c, "b", "two");
  assert_int_equal(get_is(&c, "a", "one"), 1);
  assert_int_equal(get_is(&c, "b", "two"), 1);
  put_str(&c, "a", "three");
  assert_int_equal(get_is(&c, "a", "three"), 1);
  assert_int_equal(c.count, 2);
  assert_int_equal(c.bytes, rowcache_entry_cost(1, 5) + rowcache_entry_cost(1, 3));
  assert_int_equal(c.hits, 3);
  assert_int_equal(c.misses, 1);
  rowcache_free(&c);
}

static void test_an_empty_value_is_a_hit_with_no_bytes(void **state) {
  rowcache_t c;
  assert_int_equal(rowcache_init(&c, 1 << 20, SEED), 0);
  assert_int_equal(rowcache_put(&c, "gone", 4, NULL, 0), 0);
  assert_int_equal(get_is(&c, "gone", ""), 1);
  rowcache_free(&c);
}

static void test_keys_differing_in_one_byte_or_length_are_distinct(void **state) {
  rowcache_t c;
  assert_int_equal(rowcache_init(&c, 1 << 20, SEED), 0);
  assert_int_equal(rowcache_put(&c, "ab\0", 3, "x", 1), 0);
  assert_int_equal(rowcache_put(&c, "ab", 2, "y", 1), 0);
  put_str(&c, "ac", "z");
  assert_int_equal(get_is(&c, "ab", "y"), 1);
  assert_int_equal(get_is(&c, "ac", "z"), 1);
  const uint8_t *v;
  size_t n;
  assert_true(rowcache_get(&c, "ab\0", 3, &v, &n));
  assert_memory_equal(v, "x", 1);
  rowcache_free(&c);
}

static void test_erase_and_clear_remove_entries(void **state) {
  rowcache_t c;
  assert_int_equal(rowcache_init(&c, 1 << 20, SEED), 0);
  put_str(&c, "a", "1");
  put_str(&c, "b", "2");
  rowcache_erase(&c, "a", 1);
  rowcache_erase(&c, "missing", 7);
  assert_int_equal(get_is(&c, "a", "1"), 0);
  assert_int_equal(get_is(&c, "b", "2"), 1);
  rowcache_clear(&c);
  assert_int_equal(get_is(&c, "b", "2"), 0);
  assert_int_equal(c.count, 0);
  assert_int_equal(c.bytes, 0);
  put_str(&c, "c", "3"); /* usable after a clear */
  assert_int_equal(get_is(&c, "c", "3"), 1);
  rowcache_free(&c);
}

static void test_the_least_recently_used_entry_is_evicted_first(void **state) {
  rowcache_t c;
  size_t cost = rowcache_entry_cost(2, 100);
  char v[101];
  memset(v, 'v', 100);
  v[100] = '\0';
  /* room for 16 entries, each at most 1/16 of the bound */
  assert_int_equal(rowcache_init(&c, 16 * cost, SEED), 0);
  char k[3];
  for (int i = 0; i < 16; i++) {
    snprintf(k, sizeof k, "%02d", i);
    put_str(&c, k, v);
  }
  assert_int_equal(c.count, 16);
  assert_int_equal(get_is(&c, "00", v), 1); /* 00 is now the newest; 01 the oldest */
  put_str(&c, "16", v);
  assert_int_equal(c.count, 16);
  assert_int_equal(c.evictions, 1);
  assert_int_equal(get_is(&c, "01", v), 0);
  assert_int_equal(get_is(&c, "00", v), 1);
  assert_int_equal(get_is(&c, "02", v), 1);
  assert_true(c.bytes <= c.max_bytes);
  rowcache_free(&c);
}

static void test_a_value_over_its_share_is_not_kept_and_drops_the_old_one(void **state) {
  rowcache_t c;
  assert_int_equal(rowcache_init(&c, 16 * 1024, SEED), 0);
  put_str(&c, "k", "small");
  static char big[2048];
  memset(big, 'b', sizeof big - 1);
  assert_int_equal(rowcache_put(&c, "k", 1, big, sizeof big - 1), 0);
  assert_int_equal(get_is(&c, "k", "small"), 0); /* absent, never stale */
  assert_int_equal(c.count, 0);
  rowcache_free(&c);
}

static void test_would_keep_tells_what_a_put_keeps(void **state) {
  rowcache_t c;
  assert_int_equal(rowcache_init(&c, 16 * 1024, SEED), 0);
  size_t share = 1024; /* a sixteenth */
  size_t fits = share - rowcache_entry_cost(1, 0);
  assert_true(rowcache_would_keep(&c, 1, fits));
  assert_false(rowcache_would_keep(&c, 1, fits + 1));
  assert_false(rowcache_would_keep(&c, SIZE_MAX, 1));
  rowcache_free(&c);
  assert_int_equal(rowcache_init(&c, 0, SEED), 0);
  assert_false(rowcache_would_keep(&c, 1, 1));
  rowcache_free(&c);
}

static void test_a_disabled_cache_keeps_nothing(void **state) {
  rowcache_t c;
  assert_int_equal(rowcache_init(&c, 0, SEED), 0);
  put_str(&c, "a", "1");
  assert_int_equal(get_is(&c, "a", "1"), 0);
  rowcache_erase(&c, "a", 1);
  rowcache_clear(&c);
  rowcache_free(&c);
}

static void test_the_table_grows_and_keeps_every_entry(void **state) {
  rowcache_t c;
  assert_int_equal(rowcache_init(&c, 64 << 20, SEED), 0);
  size_t first = c.nbuckets;
  char k[16], v[16];
  for (int i = 0; i < 10000; i++) {
    snprintf(k, sizeof k, "key-%d", i);
    snprintf(v, sizeof v, "val-%d", i);
    put_str(&c, k, v);
  }
  assert_true(c.nbuckets > first);
  assert_true(c.count <= c.nbuckets);
  for (int i = 0; i < 10000; i++) {
    snprintf(k, sizeof k, "key-%d", i);
    snprintf(v, sizeof v, "val-%d", i);
    assert_int_equal(get_is(&c, k, v), 1);
  }
  rowcache_free(&c);
}

/* A reference model: the last value put per key, and the recency order. */
#define MODEL_KEYS 64
typedef struct {
  bool present;
  size_t len;
  uint8_t v[64];
  uint64_t used; /* logical time of the last put or hit */
} model_slot_t;

static size_t model_bytes(const model_slot_t *m) {
  size_t b = 0;
  for (int i = 0; i < MODEL_KEYS; i++)
    if (m[i].present) b += rowcache_entry_cost(4, m[i].len);
  return b;
}

static void test_random_operations_agree_with_a_model(void **state) {
  rowcache_t c;
  size_t bound = 24 * rowcache_entry_cost(4, 64); /* about a third of the keys fit */
  assert_int_equal(rowcache_init(&c, bound, SEED), 0);
  model_slot_t m[MODEL_KEYS] = {0};
  rng_t r;
  rng_seed(&r, 42);
  uint64_t now = 0;
  for (int step = 0; step < 200000; step++) {
    int i = (int)rng_below(&r, MODEL_KEYS);
    char k[5];
    snprintf(k, sizeof k, "k%03d", i);
    uint64_t op = rng_below(&r, 10);
    now++;
    if (op < 5) {
      const uint8_t *v;
      size_t n;
      bool hit = rowcache_get(&c, k, 4, &v, &n);
      if (hit) {
        /* a hit is never stale */
        assert_true(m[i].present);
        assert_int_equal(n, m[i].len);
        assert_memory_equal(v, m[i].v, n);
        m[i].used = now;
      } else {
        m[i].present = false;
      }
    } else if (op < 9) {
      size_t len = (size_t)rng_below(&r, 65);
      for (size_t j = 0; j < len; j++)
        m[i].v[j] = (uint8_t)rng_next(&r);
      m[i].len = len;
      assert_int_equal(rowcache_put(&c, k, 4, m[i].v, len), 0);
      /* the model evicts the least recently used until the new entry fits */
      m[i].present = false;
      while (model_bytes(m) + rowcache_entry_cost(4, len) > bound) {
        int oldest = -1;
        for (int j = 0; j < MODEL_KEYS; j++)
          if (m[j].present && (oldest < 0 || m[j].used < m[oldest].used)) oldest = j;
        m[oldest].present = false;
      }
      m[i].present = true;
      m[i].used = now;
    } else {
      rowcache_erase(&c, k, 4);
      m[i].present = false;
    }
    assert_int_equal(c.bytes, model_bytes(m));
    assert_true(c.bytes <= bound);
  }
  rowcache_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_put_is_read_back_and_replaced),
      cmocka_unit_test(test_an_empty_value_is_a_hit_with_no_bytes),
      cmocka_unit_test(test_keys_differing_in_one_byte_or_length_are_distinct),
      cmocka_unit_test(test_erase_and_clear_remove_entries),
      cmocka_unit_test(test_the_least_recently_used_entry_is_evicted_first),
      cmocka_unit_test(test_a_value_over_its_share_is_not_kept_and_drops_the_old_one),
      cmocka_unit_test(test_would_keep_tells_what_a_put_keeps),
      cmocka_unit_test(test_a_disabled_cache_keeps_nothing),
      cmocka_unit_test(test_the_table_grows_and_keeps_every_entry),
      cmocka_unit_test(test_random_operations_agree_with_a_model),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
