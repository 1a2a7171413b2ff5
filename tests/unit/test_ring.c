/* test_ring.c - consistent-hash ring: tokens, determinism, balance, preference lists, ownership. */
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

#define MAX_TEST_MEMBERS 64
#define N_REPLICAS 3

typedef struct {
  char id[MAX_TEST_MEMBERS][40];
  const char *ptr[MAX_TEST_MEMBERS];
  size_t n;
} idset_t;

/* "node-1" .. "node-<n>". */
static void ids_named(idset_t *s, size_t n) {
  assert_true(n <= MAX_TEST_MEMBERS);
  for (size_t i = 0; i < n; i++) {
    snprintf(s->id[i], sizeof(s->id[i]), "node-%zu", i + 1);
    s->ptr[i] = s->id[i];
  }
  s->n = n;
}

/* n UUID-shaped ids drawn from a fixed seed, as libuuid would name nodes. */
static void ids_uuid(idset_t *s, size_t n, uint64_t seed) {
  rng_t r;
  rng_seed(&r, seed);
  assert_true(n <= MAX_TEST_MEMBERS);
  for (size_t i = 0; i < n; i++) {
    uint64_t a = rng_next(&r), b = rng_next(&r);
    snprintf(s->id[i], sizeof(s->id[i]), "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffULL));
    s->ptr[i] = s->id[i];
  }
  s->n = n;
}

static ring_t *build(const char *const *ids, size_t n, uint32_t vnodes) {
  ring_t *r = NULL;
  assert_int_equal(ring_build(ids, n, vnodes, &r), 0);
  assert_non_null(r);
  return r;
}

/* The owning vnode by a linear scan: the first token >= t, else vnode 0. */
static size_t owner_by_scan(const ring_t *r, uint64_t t) {
  for (size_t i = 0; i < ring_vnode_count(r); i++)
    if (ring_vnode(r, i)->token >= t) return i;
  return 0;
}

static bool has_token(const ring_t *r, uint64_t t) {
  for (size_t i = 0; i < ring_vnode_count(r); i++)
    if (ring_vnode(r, i)->token == t) return true;
  return false;
}

static void test_tokens_are_the_documented_sha256_prefixes(void **state) {
  /* printf '\x06node-1\x00\x00\x00\x00' | sha256sum  -> 4d73ee68a1f9fa2a...
   * printf '\x06node-1\x00\x00\x00\x95' | sha256sum  -> 3b63220afd35d164... (j = 149) */
  const char *ids[] = {"node-1"};
  ring_t *r = build(ids, 1, RING_VNODES_DEFAULT);
  assert_int_equal(ring_vnode_count(r), 150);
  assert_true(has_token(r, 0x4d73ee68a1f9fa2aULL));
  assert_true(has_token(r, 0x3b63220afd35d164ULL));
  ring_destroy(r);
  /* printf 'hello' | sha256sum; printf '' | sha256sum */
  assert_true(ring_key_token("hello", 5) == 0x2cf24dba5fb0a30eULL);
  assert_true(ring_key_token(NULL, 0) == 0xe3b0c44298fc1c14ULL);
  assert_true(ring_key_token("", 0) == 0xe3b0c44298fc1c14ULL);
}

static void test_version_is_the_documented_sha256_prefix_and_prints_as_hex(void **state) {
  /* printf '\x01\x00\x00\x00\x96\x00\x00\x00\x02\x06node-1\x06node-2' | sha256sum */
  const char *ids[] = {"node-2", "node-1"};
  ring_t *r = build(ids, 2, 150);
  assert_true(ring_version(r) == 0x23969ba9f68261bcULL);
  char hex[RING_VERSION_HEX_LEN + 1];
  ring_version_hex(ring_version(r), hex);
  assert_string_equal(hex, "23969ba9f68261bc");
  ring_destroy(r);
  /* printf '\x01\x00\x00\x00\x96\x00\x00\x00\x00' | sha256sum */
  r = build(NULL, 0, 150);
  assert_true(ring_version(r) == 0x0cb0759d4b13280cULL);
  ring_destroy(r);
  ring_version_hex(0x00000000000000a5ULL, hex);
  assert_string_equal(hex, "00000000000000a5");
}

static void assert_same_ring(const ring_t *a, const ring_t *b) {
  assert_int_equal(ring_member_count(a), ring_member_count(b));
  for (size_t i = 0; i < ring_member_count(a); i++)
    assert_string_equal(ring_member_id(a, i), ring_member_id(b, i));
  assert_int_equal(ring_vnode_count(a), ring_vnode_count(b));
  for (size_t i = 0; i < ring_vnode_count(a); i++) {
    assert_true(ring_vnode(a, i)->token == ring_vnode(b, i)->token);
    assert_int_equal(ring_vnode(a, i)->member, ring_vnode(b, i)->member);
  }
  if (ring_vnode_count(a))
    assert_memory_equal(ring_vnode(a, 0), ring_vnode(b, 0), ring_vnode_count(a) * sizeof(ring_vnode_t));
  assert_true(ring_version(a) == ring_version(b));
}

static void test_same_set_in_any_order_or_with_duplicates_builds_the_same_ring(void **state) {
  const char *sorted[] = {"alpha", "bravo", "charlie", "delta"};
  const char *shuffled[] = {"charlie", "alpha", "delta", "bravo"};
  const char *dups[] = {"delta", "bravo", "alpha", "delta", "charlie", "alpha", "alpha"};
  ring_t *a = build(sorted, 4, 150);
  ring_t *b = build(shuffled, 4, 150);
  ring_t *c = build(dups, 7, 150);
  assert_int_equal(ring_member_count(c), 4);
  for (size_t i = 0; i < 4; i++)
    assert_string_equal(ring_member_id(a, i), sorted[i]);
  assert_same_ring(a, b);
  assert_same_ring(a, c);
  for (size_t i = 1; i < ring_vnode_count(a); i++) {
    const ring_vnode_t *p = ring_vnode(a, i - 1), *q = ring_vnode(a, i);
    assert_true(p->token < q->token || (p->token == q->token && p->member <= q->member));
  }

  const char *fewer[] = {"alpha", "bravo", "charlie"};
  const char *other[] = {"alpha", "bravo", "charlie", "echo"};
  ring_t *d = build(fewer, 3, 150);
  ring_t *e = build(other, 4, 150);
  ring_t *f = build(sorted, 4, 149);
  assert_true(ring_version(d) != ring_version(a));
  assert_true(ring_version(e) != ring_version(a));
  assert_true(ring_version(f) != ring_version(a));
  assert_int_equal(ring_vnodes_per_member(f), 149);
  assert_int_equal(ring_vnode_count(f), 4 * 149);
  ring_destroy(a);
  ring_destroy(b);
  ring_destroy(c);
  ring_destroy(d);
  ring_destroy(e);
  ring_destroy(f);
}

static void test_members_are_found_by_id(void **state) {
  const char *ids[] = {"n3", "n1", "n2"};
  ring_t *r = build(ids, 3, 8);
  uint32_t idx = 99;
  assert_int_equal(ring_member_find(r, "n2", &idx), 0);
  assert_int_equal(idx, 1);
  assert_int_equal(ring_member_find(r, "n1", NULL), 0);
  assert_int_equal(ring_member_find(r, "n4", &idx), CHORUS_ENOTFOUND);
  assert_int_equal(ring_member_find(r, NULL, &idx), CHORUS_ENOTFOUND);
  assert_null(ring_member_id(r, 3));
  assert_null(ring_vnode(r, 24));
  ring_destroy(r);
}

/* Worst |share·M - 1| over the members of a ring. */
static double worst_relative_deviation(const ring_t *r) {
  double m = (double)ring_member_count(r), worst = 0;
  for (size_t i = 0; i < ring_member_count(r); i++) {
    double dev = ring_member_share(r, i) * m - 1.0;
    if (dev < 0) dev = -dev;
    if (dev > worst) worst = dev;
  }
  return worst;
}

static void test_150_vnodes_give_every_member_its_share_within_tolerance(void **state) {
  /* Measured worst relative deviation from 1/M with 150 vnodes (M: worst):
   *   node-<i> ids: M 3..10: 0.227 (M 9), 11..25: 0.188 (M 14), 26..50: 0.266 (M 35);
   *   UUID ids:     M 3..10: 0.217 (M 8), 11..25: 0.247 (M 15), 26..50: 0.313 (M 45).
   * A member's share is a sum of 150 gaps, so its spread is about
   * 1/sqrt(150) = 8% and the worst of up to 50 members lands near 3-4 sigma;
   * the tolerance leaves a third again above the worst case. */
  const double tolerance = 0.42;
  for (size_t m = 3; m <= 50; m++) {
    idset_t named, uuids;
    ids_named(&named, m);
    ids_uuid(&uuids, m, 0x5eed0000u + m);
    ring_t *a = build(named.ptr, m, RING_VNODES_DEFAULT);
    ring_t *b = build(uuids.ptr, m, RING_VNODES_DEFAULT);
    double wa = worst_relative_deviation(a), wb = worst_relative_deviation(b);
    assert_true(wa < tolerance);
    assert_true(wb < tolerance);
    ring_destroy(a);
    ring_destroy(b);
  }
}

static void test_ownership_sums_to_the_whole_token_space(void **state) {
  idset_t s;
  ids_named(&s, 7);
  ring_t *r = build(s.ptr, 7, 150);
  uint64_t sum = 0;
  double share = 0;
  for (size_t i = 0; i < 7; i++) {
    sum += ring_member_owned(r, i); /* wraps: the exact total is 2^64 */
    share += ring_member_share(r, i);
    assert_true(ring_member_owned(r, i) > 0);
  }
  assert_true(sum == 0);
  assert_true(share > 1 - 1e-12 && share < 1 + 1e-12);
  assert_true(ring_member_owned(r, 7) == 0);
  assert_true(ring_member_share(r, 7) == 0.0);

  /* Shares agree with where uniformly spread tokens land. */
  size_t hits[7] = {0};
  rng_t g;
  rng_seed(&g, 42);
  const size_t samples = 200000;
  for (size_t k = 0; k < samples; k++)
    hits[ring_vnode(r, ring_vnode_for(r, rng_next(&g)))->member]++;
  for (size_t i = 0; i < 7; i++) {
    double seen = (double)hits[i] / (double)samples, want = ring_member_share(r, i);
    assert_true(seen > want - 0.01 && seen < want + 0.01);
  }
  ring_destroy(r);
}

static void test_a_lone_member_owns_everything_even_with_one_vnode(void **state) {
  const char *ids[] = {"solo"};
  for (uint32_t v = 1; v <= 150; v += 149) {
    ring_t *r = build(ids, 1, v);
    assert_true(ring_member_owned(r, 0) == UINT64_MAX);
    assert_true(ring_member_share(r, 0) == 1.0);
    uint32_t out[3];
    assert_int_equal(ring_preference(r, 12345, out, 3), 1);
    assert_int_equal(out[0], 0);
    ring_destroy(r);
  }
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

static void test_invalid_arguments_are_rejected(void **state) {
  char long_id[66];
  memset(long_id, 'n', 65);
  long_id[65] = '\0';
  const char *bad[] = {"", "has space", "slash/", "caf\xc3\xa9", long_id, NULL};
  ring_t *r = (ring_t *)&r; /* non-NULL: must be cleared on error */
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const char *ids[] = {"good", bad[i]};
    r = (ring_t *)&r;
    assert_int_equal(ring_build(ids, 2, 150, &r), CHORUS_EINVAL);
    assert_null(r);
  }
  const char *ok[] = {"good"};
  assert_int_equal(ring_build(ok, 1, 0, &r), CHORUS_EINVAL);
  assert_int_equal(ring_build(ok, 1, RING_VNODES_MAX + 1, &r), CHORUS_EINVAL);
  assert_int_equal(ring_build(NULL, 1, 150, &r), CHORUS_EINVAL);
  assert_int_equal(ring_build(ok, 1, 150, NULL), CHORUS_EINVAL);
  assert_null(r);
  r = build(ok, 1, RING_VNODES_MAX);
  assert_int_equal(ring_vnode_count(r), RING_VNODES_MAX);
  ring_destroy(r);
  long_id[64] = '\0'; /* exactly NODE_ID_MAX bytes */
  const char *longest[] = {long_id};
  r = build(longest, 1, 1);
  ring_destroy(r);
}

static void test_too_many_distinct_members_are_refused(void **state) {
  enum { N = RING_MEMBERS_MAX + 1 };
  static char names[N][16];
  static const char *ids[2 * N];
  for (size_t i = 0; i < N; i++) {
    snprintf(names[i], sizeof(names[i]), "m%zu", i);
    ids[i] = ids[N + i] = names[i];
  }
  ring_t *r = NULL;
  assert_int_equal(ring_build(ids, N, 1, &r), CHORUS_ETOOBIG);
  assert_null(r);
  /* Duplicates do not count: RING_MEMBERS_MAX distinct ids, each twice. */
  ids[N - 1] = ids[2 * N - 1] = names[0];
  assert_int_equal(ring_build(ids, 2 * N, 1, &r), 0);
  assert_int_equal(ring_member_count(r), RING_MEMBERS_MAX);
  uint32_t out[RING_MEMBERS_MAX];
  assert_int_equal(ring_preference(r, 0, out, RING_MEMBERS_MAX), RING_MEMBERS_MAX);
  ring_destroy(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tokens_are_the_documented_sha256_prefixes),
      cmocka_unit_test(test_version_is_the_documented_sha256_prefix_and_prints_as_hex),
      cmocka_unit_test(test_same_set_in_any_order_or_with_duplicates_builds_the_same_ring),
      cmocka_unit_test(test_members_are_found_by_id),
      cmocka_unit_test(test_150_vnodes_give_every_member_its_share_within_tolerance),
      cmocka_unit_test(test_ownership_sums_to_the_whole_token_space),
      cmocka_unit_test(test_a_lone_member_owns_everything_even_with_one_vnode),
      cmocka_unit_test(test_preference_starts_at_the_owning_vnode_and_lists_distinct_members),
      cmocka_unit_test(test_vnode_ranges_include_their_token_and_wrap_past_the_last),
      cmocka_unit_test(test_adding_or_removing_a_member_only_inserts_or_removes_it),
      cmocka_unit_test(test_fewer_members_than_n_yields_all_and_empty_ring_yields_none),
      cmocka_unit_test(test_invalid_arguments_are_rejected),
      cmocka_unit_test(test_too_many_distinct_members_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
