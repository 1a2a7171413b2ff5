/*
 * test_ring_build.c - building a ring: tokens and version are the documented
 * SHA-256 prefixes, the member set alone (any order, any duplicates) makes the
 * ring, members are found by id, and bad or too many ids are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "ring/ring.h"

#include "ring_harness.h"

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
      cmocka_unit_test(test_invalid_arguments_are_rejected),
      cmocka_unit_test(test_too_many_distinct_members_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
