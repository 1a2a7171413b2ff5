/*
 * test_ring_preference.c - where a key goes: the owning vnode (ranges wrap past
 * the last token), the preference list of distinct members walking clockwise
 * from it, its stability when a member joins or leaves, and short or empty rings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/rng.h"
#include "ring/ring.h"

#include "ring_harness.h"

#define N_REPLICAS 3

/* The owning vnode by a linear scan: the first token >= t, else vnode 0. */
static size_t owner_by_scan(const ring_t *r, uint64_t t) {
  for (size_t i = 0; i < ring_vnode_count(r); i++)
    if (ring_vnode(r, i)->token >= t) return i;
  return 0;
}

static void test_preference_starts_at_the_owning_vnode_and_lists_distinct_members(void **state) {
  idset_t s;
  ids_uuid(&s, 12, 7);
  ring_t *r = build(s.ptr, 12, 150);
  rng_t g;
  rng_seed(&g, 1);
  for (int k = 0; k < 2000; k++) {
    char key[32];
    int len = snprintf(key, sizeof(key), "key-%llu", (unsigned long long)rng_next(&g));
    uint64_t t = ring_key_token(key, (size_t)len);
    size_t owner = owner_by_scan(r, t);
    assert_int_equal(ring_vnode_for(r, t), owner);

    uint32_t pref[N_REPLICAS], all[12];
    assert_int_equal(ring_preference(r, t, pref, N_REPLICAS), N_REPLICAS);
    assert_int_equal(ring_preference(r, t, all, 12), 12);
    assert_int_equal(pref[0], ring_vnode(r, owner)->member);
    assert_memory_equal(pref, all, sizeof(pref));
    uint8_t seen[12] = {0};
    for (size_t i = 0; i < 12; i++) {
      assert_true(all[i] < 12);
      assert_int_equal(seen[all[i]]++, 0);
    }
    /* Brute force: the distinct members met walking clockwise from the owner. */
    size_t got = 0;
    memset(seen, 0, sizeof(seen));
    for (size_t w = 0; w < ring_vnode_count(r) && got < N_REPLICAS; w++) {
      uint32_t m = ring_vnode(r, (owner + w) % ring_vnode_count(r))->member;
      if (!seen[m]++) assert_int_equal(pref[got++], m);
    }
  }
  ring_destroy(r);
}

static void test_vnode_ranges_include_their_token_and_wrap_past_the_last(void **state) {
  idset_t s;
  ids_named(&s, 5);
  ring_t *r = build(s.ptr, 5, 4);
  size_t n = ring_vnode_count(r);
  for (size_t i = 0; i < n; i++) {
    uint64_t t = ring_vnode(r, i)->token;
    assert_int_equal(ring_vnode_for(r, t), i);
    assert_int_equal(ring_vnode_for(r, t + 1), (i + 1) % n);
  }
  assert_int_equal(ring_vnode_for(r, 0), 0);
  assert_int_equal(ring_vnode_for(r, UINT64_MAX), 0);

  /* A real key whose token is above the largest vnode token goes to vnode 0. */
  uint64_t last = ring_vnode(r, n - 1)->token;
  bool found = false;
  for (unsigned k = 0; k < 100000 && !found; k++) {
    char key[16];
    int len = snprintf(key, sizeof(key), "wrap-%u", k);
    uint64_t t = ring_key_token(key, (size_t)len);
    if (t <= last) continue;
    found = true;
    uint32_t pref[1];
    assert_int_equal(ring_preference(r, t, pref, 1), 1);
    assert_int_equal(pref[0], ring_vnode(r, 0)->member);
  }
  assert_true(found);
  ring_destroy(r);
}

/* The ids of the full preference list of token t in r, with `skip` (may be NULL) left out. */
static size_t pref_ids(const ring_t *r, uint64_t t, const char *skip, const char **out) {
  uint32_t idx[MAX_TEST_MEMBERS];
  size_t n = ring_preference(r, t, idx, MAX_TEST_MEMBERS), k = 0;
  for (size_t i = 0; i < n; i++)
    if (!skip || strcmp(ring_member_id(r, idx[i]), skip) != 0) out[k++] = ring_member_id(r, idx[i]);
  return k;
}

static void test_adding_or_removing_a_member_only_inserts_or_removes_it(void **state) {
  enum { M = 11 };
  idset_t s;
  ids_named(&s, M);
  ring_t *big = build(s.ptr, M, 150);
  /* For each X, `small` lacks it and `big` has it: removing X from `big` is
   * adding it to `small` read backwards, so one comparison covers both. X
   * sorts first, in the middle and last, so member indices shift differently. */
  const size_t xs[] = {0, 2, 8};
  for (size_t xi = 0; xi < sizeof(xs) / sizeof(xs[0]); xi++) {
    const char *x = s.ptr[xs[xi]], *rest[M - 1];
    for (size_t i = 0, k = 0; i < M; i++)
      if (i != xs[xi]) rest[k++] = s.ptr[i];
    ring_t *small = build(rest, M - 1, 150);
    rng_t g;
    rng_seed(&g, 99 + xi);
    size_t x_in_top_n = 0;
    for (int k = 0; k < 3000; k++) {
      uint64_t t = rng_next(&g);
      const char *a[MAX_TEST_MEMBERS], *b[MAX_TEST_MEMBERS], *with_x[MAX_TEST_MEMBERS];
      assert_int_equal(pref_ids(small, t, NULL, a), M - 1);
      assert_int_equal(pref_ids(big, t, x, b), M - 1);
      for (size_t i = 0; i < M - 1; i++)
        assert_string_equal(a[i], b[i]);
      assert_int_equal(pref_ids(big, t, NULL, with_x), M);
      for (size_t i = 0; i < N_REPLICAS; i++)
        x_in_top_n += strcmp(with_x[i], x) == 0;
    }
    /* X takes about N/M of the replica slots: 3000 keys × 3/11 ≈ 818. */
    assert_true(x_in_top_n > 600 && x_in_top_n < 1050);
    ring_destroy(small);
  }
  ring_destroy(big);
}

static void test_fewer_members_than_n_yields_all_and_empty_ring_yields_none(void **state) {
  const char *ids[] = {"b", "a"};
  ring_t *r = build(ids, 2, 150);
  uint32_t out[N_REPLICAS] = {7, 7, 7};
  assert_int_equal(ring_preference(r, ring_key_token("k", 1), out, N_REPLICAS), 2);
  assert_true(out[0] != out[1] && out[0] < 2 && out[1] < 2);
  assert_int_equal(out[2], 7);
  assert_int_equal(ring_preference(r, 1, NULL, 0), 0);
  ring_destroy(r);

  r = build(NULL, 0, 150);
  assert_int_equal(ring_member_count(r), 0);
  assert_int_equal(ring_vnode_count(r), 0);
  assert_int_equal(ring_vnode_for(r, 5), 0);
  assert_int_equal(ring_preference(r, 5, out, N_REPLICAS), 0);
  assert_null(ring_member_id(r, 0));
  assert_null(ring_vnode(r, 0));
  assert_int_equal(ring_member_find(r, "a", NULL), CHORUS_ENOTFOUND);
  assert_true(ring_member_share(r, 0) == 0.0);
  ring_destroy(r);
  ring_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_preference_starts_at_the_owning_vnode_and_lists_distinct_members),
      cmocka_unit_test(test_vnode_ranges_include_their_token_and_wrap_past_the_last),
      cmocka_unit_test(test_adding_or_removing_a_member_only_inserts_or_removes_it),
      cmocka_unit_test(test_fewer_members_than_n_yields_all_and_empty_ring_yields_none),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
