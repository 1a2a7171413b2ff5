/*
 * test_replication_plan.c - who takes part in a request: preference list,
 * coordinator, fallbacks holding hints, hints the coordinator keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "replication/plan.h"
#include "ring/ring.h"

typedef struct {
  const char *down[8];
} liveness_t;

static bool is_up(const char *id, void *state) {
  const liveness_t *l = state;
  for (size_t i = 0; i < 8 && l->down[i]; i++)
    if (strcmp(l->down[i], id) == 0) return false;
  return true;
}

static ring_t *ring_of(size_t n) {
  static char ids[16][32];
  const char *p[16];
  for (size_t i = 0; i < n; i++) {
    snprintf(ids[i], sizeof ids[i], "node-%zu", i + 1);
    p[i] = ids[i];
  }
  ring_t *r = NULL;
  assert_int_equal(ring_build(p, n, 150, &r), 0);
  return r;
}

static uint64_t token(const char *key) {
  return ring_key_token(key, strlen(key));
}

static bool in_pref(const plan_t *p, const char *id) {
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->pref[i], id) == 0) return true;
  return false;
}

static void test_all_up_targets_are_the_preference_list(void **state) {
  ring_t *r = ring_of(5);
  liveness_t l = {{NULL}};
  plan_t p;
  assert_int_equal(plan_make(r, token("user:1"), 3, "node-1", PLAN_WRITE, is_up, &l, &p), 0);
  assert_int_equal(p.n, 3);
  assert_int_equal(p.n_fallbacks, 2);
  assert_int_equal(p.n_targets, 3);
  uint32_t idx[3];
  assert_int_equal(ring_preference(r, token("user:1"), idx, 3), 3);
  for (size_t i = 0; i < 3; i++) {
    assert_string_equal(p.pref[i], ring_member_id(r, idx[i]));
    assert_string_equal(p.targets[i].node, p.pref[i]);
    assert_string_equal(p.targets[i].hint_for, "");
    assert_true(p.targets[i].counts);
  }
  assert_int_equal(p.n_local_hints, 0);
  ring_destroy(r);
}

static void test_coordinator_is_self_when_a_replica_else_first_up_replica(void **state) {
  ring_t *r = ring_of(5);
  liveness_t l = {{NULL}};
  plan_t p;
  for (int k = 0; k < 50; k++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", k);
    assert_int_equal(plan_make(r, token(key), 3, "node-2", PLAN_WRITE, is_up, &l, &p), 0);
    if (in_pref(&p, "node-2")) {
      assert_true(p.self_is_replica);
      assert_string_equal(p.coordinator, "node-2");
    } else {
      assert_false(p.self_is_replica);
      assert_string_equal(p.coordinator, p.pref[0]);
      /* The first replica down: the second one coordinates. */
      l.down[0] = p.pref[0];
      plan_t q;
      assert_int_equal(plan_make(r, token(key), 3, "node-2", PLAN_WRITE, is_up, &l, &q), 0);
      assert_string_equal(q.coordinator, p.pref[1]);
      l.down[0] = NULL;
    }
  }
  ring_destroy(r);
}

static void test_down_replica_gets_the_next_up_fallback_with_a_hint(void **state) {
  ring_t *r = ring_of(5);
  liveness_t l = {{NULL}};
  plan_t all;
  assert_int_equal(plan_make(r, token("cart"), 3, "node-1", PLAN_WRITE, is_up, &l, &all), 0);
  uint32_t walk[5];
  assert_int_equal(ring_preference(r, token("cart"), walk, 5), 5);
  /* Take down the second replica and the first fallback. */
  l.down[0] = all.pref[1];
  l.down[1] = ring_member_id(r, walk[3]);
  plan_t p;
  assert_int_equal(plan_make(r, token("cart"), 3, all.pref[0], PLAN_WRITE, is_up, &l, &p), 0);
  assert_int_equal(p.n_targets, 3);
  assert_false(p.pref_up[1]);
  const plan_target_t *t = &p.targets[1];
  assert_string_equal(t->node, ring_member_id(r, walk[4]));
  assert_string_equal(t->hint_for, all.pref[1]);
  assert_true(t->counts);
  assert_int_equal(p.n_local_hints, 0);
  ring_destroy(r);
}

static void test_without_fallbacks_the_coordinator_keeps_the_hint(void **state) {
  ring_t *r = ring_of(3);
  liveness_t l = {{"node-3"}};
  plan_t p;
  assert_int_equal(plan_make(r, token("x"), 3, "node-1", PLAN_WRITE, is_up, &l, &p), 0);
  assert_int_equal(p.n, 3);
  assert_int_equal(p.n_targets, 2);
  assert_int_equal(p.n_local_hints, 1);
  assert_string_equal(p.local_hints[0], "node-3");
  for (size_t i = 0; i < p.n_targets; i++)
    assert_string_not_equal(p.targets[i].node, "node-3");
  assert_int_equal(plan_cap_quorum(&p, 2), 2);
  ring_destroy(r);
}

static void test_reads_skip_down_replicas_without_fallbacks(void **state) {
  ring_t *r = ring_of(5);
  plan_t all;
  liveness_t l = {{NULL}};
  assert_int_equal(plan_make(r, token("r"), 3, "node-5", PLAN_READ, is_up, &l, &all), 0);
  l.down[0] = all.pref[0];
  plan_t p;
  assert_int_equal(plan_make(r, token("r"), 3, "node-5", PLAN_READ, is_up, &l, &p), 0);
  assert_int_equal(p.n_targets, 2);
  assert_string_equal(p.targets[0].node, all.pref[1]);
  assert_string_equal(p.targets[1].node, all.pref[2]);
  ring_destroy(r);
}

static void test_small_cluster_keeps_every_key_everywhere_and_caps_quorums(void **state) {
  ring_t *r = ring_of(1);
  liveness_t l = {{NULL}};
  plan_t p;
  assert_int_equal(plan_make(r, token("solo"), 3, "node-1", PLAN_WRITE, is_up, &l, &p), 0);
  assert_int_equal(p.n, 1);
  assert_int_equal(p.n_targets, 1);
  assert_true(p.self_is_replica);
  assert_int_equal(plan_cap_quorum(&p, 2), 1);
  assert_int_equal(plan_cap_quorum(&p, 0), 1);
  ring_destroy(r);
  r = ring_of(2);
  assert_int_equal(plan_make(r, token("duo"), 3, "node-2", PLAN_WRITE, is_up, &l, &p), 0);
  assert_int_equal(p.n, 2);
  assert_int_equal(plan_cap_quorum(&p, 3), 2);
  ring_destroy(r);
}

static void test_self_counts_as_up_even_if_membership_says_otherwise(void **state) {
  ring_t *r = ring_of(3);
  liveness_t l = {{"node-1"}};
  plan_t p;
  assert_int_equal(plan_make(r, token("me"), 3, "node-1", PLAN_WRITE, is_up, &l, &p), 0);
  assert_string_equal(p.coordinator, "node-1");
  assert_int_equal(p.n_targets, 3);
  ring_destroy(r);
}

static void test_no_replica_up_means_no_coordinator(void **state) {
  ring_t *r = ring_of(3);
  liveness_t l = {{"node-1", "node-2", "node-3"}};
  plan_t p;
  assert_int_equal(plan_make(r, token("k"), 3, "node-9", PLAN_WRITE, is_up, &l, &p), 0);
  assert_string_equal(p.coordinator, "");
  assert_int_equal(p.n_targets, 0);
  ring_destroy(r);
}

static void test_empty_ring_and_bad_arguments(void **state) {
  ring_t *r = NULL;
  assert_int_equal(ring_build(NULL, 0, 150, &r), 0);
  liveness_t l = {{NULL}};
  plan_t p;
  assert_int_equal(plan_make(r, 1, 3, "a", PLAN_WRITE, is_up, &l, &p), 0);
  assert_int_equal(p.n, 0);
  assert_int_equal(p.n_targets, 0);
  assert_int_equal(plan_make(r, 1, 0, "a", PLAN_WRITE, is_up, &l, &p), CHORUS_EINVAL);
  assert_int_equal(plan_make(r, 1, 16, "a", PLAN_WRITE, is_up, &l, &p), CHORUS_EINVAL);
  assert_int_equal(plan_make(r, 1, 3, NULL, PLAN_WRITE, is_up, &l, &p), CHORUS_EINVAL);
  assert_int_equal(plan_make(r, 1, 3, "a", 7, is_up, &l, &p), CHORUS_EINVAL);
  ring_destroy(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_up_targets_are_the_preference_list),
      cmocka_unit_test(test_coordinator_is_self_when_a_replica_else_first_up_replica),
      cmocka_unit_test(test_down_replica_gets_the_next_up_fallback_with_a_hint),
      cmocka_unit_test(test_without_fallbacks_the_coordinator_keeps_the_hint),
      cmocka_unit_test(test_reads_skip_down_replicas_without_fallbacks),
      cmocka_unit_test(test_small_cluster_keeps_every_key_everywhere_and_caps_quorums),
      cmocka_unit_test(test_self_counts_as_up_even_if_membership_says_otherwise),
      cmocka_unit_test(test_no_replica_up_means_no_coordinator),
      cmocka_unit_test(test_empty_ring_and_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
