/*
 * test_replication_quorum.c - the verdict of a coordinated request: acks,
 * failures, timeouts, hints that count or not, late replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "common/err.h"
#include "replication/quorum.h"

#define DEADLINE 5000

/* need W, and replicas a, b, c counting. */
static void three(quorum_t *q, uint32_t need) {
  quorum_init(q, need, DEADLINE);
  assert_int_equal(quorum_add(q, "a", NULL, true, NULL), 0);
  assert_int_equal(quorum_add(q, "b", NULL, true, NULL), 0);
  assert_int_equal(quorum_add(q, "c", NULL, true, NULL), 0);
  assert_int_equal(quorum_check(q), QUORUM_PENDING);
}

static void test_met_at_the_need_th_ack(void **state) {
  quorum_t q;
  three(&q, 2);
  assert_int_equal(quorum_reply(&q, 0, true), QUORUM_PENDING);
  assert_int_equal(quorum_reply(&q, 2, true), QUORUM_MET);
  assert_int_equal(quorum_waiting(&q), 1);
  assert_int_equal(quorum_deadline(&q), UINT64_MAX);
}

static void test_fails_as_soon_as_need_is_out_of_reach(void **state) {
  quorum_t q;
  three(&q, 2);
  assert_int_equal(quorum_reply(&q, 0, false), QUORUM_PENDING);
  assert_int_equal(quorum_reply(&q, 1, false), QUORUM_FAILED);
  /* The last replica's ack comes late: recorded, verdict kept. */
  assert_int_equal(quorum_reply(&q, 2, true), QUORUM_FAILED);
  assert_int_equal(q.t[2].state, QUORUM_OK);
  assert_true(q.t[2].late);
  assert_false(q.t[0].late);
}

static void test_all_needs_every_replica(void **state) {
  quorum_t q;
  three(&q, 3);
  assert_int_equal(quorum_reply(&q, 0, true), QUORUM_PENDING);
  assert_int_equal(quorum_reply(&q, 1, true), QUORUM_PENDING);
  assert_int_equal(quorum_reply(&q, 2, false), QUORUM_FAILED);
}

static void test_deadline_fails_and_marks_waiting_targets_timed_out(void **state) {
  quorum_t q;
  three(&q, 2);
  assert_int_equal(quorum_reply(&q, 1, true), QUORUM_PENDING);
  assert_int_equal(quorum_deadline(&q), DEADLINE);
  assert_int_equal(quorum_tick(&q, DEADLINE - 1), QUORUM_PENDING);
  assert_int_equal(quorum_tick(&q, DEADLINE), QUORUM_FAILED);
  assert_int_equal(q.t[0].state, QUORUM_TIMEOUT);
  assert_int_equal(q.t[2].state, QUORUM_TIMEOUT);
  assert_int_equal(q.t[1].state, QUORUM_OK);
  assert_int_equal(quorum_waiting(&q), 0);
  /* A reply after its timeout changes nothing. */
  assert_int_equal(quorum_reply(&q, 0, true), QUORUM_FAILED);
  assert_int_equal(q.t[0].state, QUORUM_TIMEOUT);
}

static void test_tick_after_met_keeps_met_and_times_out_stragglers(void **state) {
  quorum_t q;
  three(&q, 1);
  assert_int_equal(quorum_reply(&q, 0, true), QUORUM_MET);
  assert_int_equal(quorum_tick(&q, DEADLINE + 10), QUORUM_MET);
  assert_int_equal(q.t[1].state, QUORUM_TIMEOUT);
}

static void test_repeated_reply_is_ignored(void **state) {
  quorum_t q;
  three(&q, 2);
  assert_int_equal(quorum_reply(&q, 0, true), QUORUM_PENDING);
  assert_int_equal(quorum_reply(&q, 0, true), QUORUM_PENDING);
  assert_int_equal(q.ok_counting, 1);
  assert_int_equal(quorum_reply(&q, 0, false), QUORUM_PENDING);
  assert_int_equal(q.t[0].state, QUORUM_OK);
}

static void test_hint_outside_preference_list_counts(void **state) {
  quorum_t q;
  quorum_init(&q, 2, DEADLINE);
  size_t a, d;
  assert_int_equal(quorum_add(&q, "a", NULL, true, &a), 0);
  assert_int_equal(quorum_add(&q, "d", "b", true, &d), 0);
  assert_string_equal(q.t[d].hint_for, "b");
  assert_int_equal(quorum_check(&q), QUORUM_PENDING);
  assert_int_equal(quorum_reply(&q, a, true), QUORUM_PENDING);
  assert_int_equal(quorum_reply(&q, d, true), QUORUM_MET);
}

static void test_w_all_fails_at_once_when_a_replica_has_no_counting_stand_in(void **state) {
  /* Three nodes, N = 3, c down: the coordinator a keeps c's hint itself. */
  quorum_t q;
  quorum_init(&q, 3, DEADLINE);
  assert_int_equal(quorum_add(&q, "a", NULL, true, NULL), 0);
  assert_int_equal(quorum_add(&q, "b", NULL, true, NULL), 0);
  /* The hint is a second target on a: not allowed, ids are targets. */
  assert_int_equal(quorum_add(&q, "a", "c", false, NULL), CHORUS_EINVAL);
  assert_int_equal(quorum_check(&q), QUORUM_FAILED);
}

static void test_non_counting_targets_never_meet_a_quorum(void **state) {
  quorum_t q;
  quorum_init(&q, 1, DEADLINE);
  assert_int_equal(quorum_add(&q, "x", "a", false, NULL), 0);
  assert_int_equal(quorum_check(&q), QUORUM_FAILED);
  assert_int_equal(quorum_reply(&q, 0, true), QUORUM_FAILED);
  assert_true(q.t[0].late);
}

static void test_add_rejects_bad_ids_duplicates_and_overflow(void **state) {
  quorum_t q;
  quorum_init(&q, 1, DEADLINE);
  assert_int_equal(quorum_add(&q, "", NULL, true, NULL), CHORUS_EINVAL);
  assert_int_equal(quorum_add(&q, "bad id", NULL, true, NULL), CHORUS_EINVAL);
  assert_int_equal(quorum_add(&q, "a", "bad id", true, NULL), CHORUS_EINVAL);
  char id[8];
  for (int i = 0; i < QUORUM_MAX_TARGETS; i++) {
    snprintf(id, sizeof id, "n%d", i);
    assert_int_equal(quorum_add(&q, id, NULL, true, NULL), 0);
  }
  assert_int_equal(quorum_add(&q, "one-more", NULL, true, NULL), CHORUS_ETOOBIG);
  assert_int_equal(quorum_add(&q, "n3", NULL, true, NULL), CHORUS_EINVAL);
  assert_int_equal(quorum_find(&q, "n3"), 3);
  assert_int_equal(quorum_find(&q, "zz"), SIZE_MAX);
}

static void test_reply_to_unknown_index_changes_nothing(void **state) {
  quorum_t q;
  three(&q, 2);
  assert_int_equal(quorum_reply(&q, 7, true), QUORUM_PENDING);
  assert_int_equal(q.ok_counting, 0);
  assert_int_equal(quorum_waiting(&q), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_met_at_the_need_th_ack),
      cmocka_unit_test(test_fails_as_soon_as_need_is_out_of_reach),
      cmocka_unit_test(test_all_needs_every_replica),
      cmocka_unit_test(test_deadline_fails_and_marks_waiting_targets_timed_out),
      cmocka_unit_test(test_tick_after_met_keeps_met_and_times_out_stragglers),
      cmocka_unit_test(test_repeated_reply_is_ignored),
      cmocka_unit_test(test_hint_outside_preference_list_counts),
      cmocka_unit_test(test_w_all_fails_at_once_when_a_replica_has_no_counting_stand_in),
      cmocka_unit_test(test_non_counting_targets_never_meet_a_quorum),
      cmocka_unit_test(test_add_rejects_bad_ids_duplicates_and_overflow),
      cmocka_unit_test(test_reply_to_unknown_index_changes_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
