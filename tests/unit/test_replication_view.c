/*
 * test_replication_view.c - published cluster views: the ring follows the
 * member set (not statuses), left members leave the ring, held views stay
 * valid across swaps, self is always present.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "replication/view.h"

static swim_member_t member(const char *id, swim_status_t st) {
  swim_member_t m;
  memset(&m, 0, sizeof m);
  snprintf(m.id, sizeof m.id, "%s", id);
  snprintf(m.addr.host, sizeof m.addr.host, "127.0.0.1");
  m.addr.port = 8081;
  m.addr.peer_port = 9081;
  m.status = st;
  m.incarnation = 1;
  return m;
}

static view_holder_t *holder(void) {
  swim_addr_t a = member("n1", SWIM_ALIVE).addr;
  view_holder_t *h = NULL;
  assert_int_equal(view_holder_create("n1", &a, 150, 3, &h), 0);
  return h;
}

static void test_first_view_has_only_self_on_the_ring(void **state) {
  view_holder_t *h = holder();
  view_t *v = view_acquire(h);
  assert_int_equal(v->n, 1);
  assert_string_equal(v->members[0].id, "n1");
  assert_int_equal(view_ring_members(v), 1);
  assert_true(view_is_up(v, "n1"));
  assert_false(view_is_up(v, "n2"));
  assert_null(view_find(v, "n2"));
  view_release(v);
  view_holder_destroy(h);
}

static void test_status_change_keeps_the_ring_set_change_rebuilds_it(void **state) {
  view_holder_t *h = holder();
  swim_member_t m[3] = {member("n3", SWIM_ALIVE), member("n1", SWIM_ALIVE), member("n2", SWIM_ALIVE)};
  assert_int_equal(view_holder_publish(h, m, 3), 0);
  view_t *a = view_acquire(h);
  assert_int_equal(view_ring_members(a), 3);
  assert_string_equal(a->members[0].id, "n1");
  assert_string_equal(a->members[2].id, "n3");
  uint64_t version = ring_version(a->ring);
  /* n2 dies: still on the ring, same ring object, but down. */
  m[2].status = SWIM_DEAD;
  assert_int_equal(view_holder_publish(h, m, 3), 0);
  view_t *b = view_acquire(h);
  assert_ptr_equal(b->ring, a->ring);
  assert_false(view_is_up(b, "n2"));
  assert_true(view_is_up(a, "n2")); /* the older view is unchanged */
  assert_true(b->seq > a->seq);
  /* n2 suspected: up. n3 leaves: off the ring. */
  m[2].status = SWIM_SUSPECT;
  m[0].status = SWIM_LEFT;
  assert_int_equal(view_holder_publish(h, m, 3), 0);
  view_t *c = view_acquire(h);
  assert_true(view_is_up(c, "n2"));
  assert_false(view_is_up(c, "n3"));
  assert_int_equal(view_ring_members(c), 2);
  assert_true(ring_version(c->ring) != version);
  assert_int_equal(c->n, 3); /* still listed, as left */
  view_release(a);
  view_release(b);
  view_release(c);
  view_holder_destroy(h);
}

static void test_held_view_survives_the_holder(void **state) {
  view_holder_t *h = holder();
  swim_member_t m[2] = {member("n1", SWIM_ALIVE), member("n2", SWIM_ALIVE)};
  assert_int_equal(view_holder_publish(h, m, 2), 0);
  view_t *v = view_acquire(h);
  view_holder_destroy(h);
  assert_int_equal(view_ring_members(v), 2);
  assert_string_equal(ring_member_id(v->ring, 1), "n2");
  view_release(v);
}

static void test_self_is_added_when_missing_and_repeats_dropped(void **state) {
  view_holder_t *h = holder();
  swim_member_t m[3] = {member("n2", SWIM_ALIVE), member("n2", SWIM_DEAD), member("n4", SWIM_ALIVE)};
  assert_int_equal(view_holder_publish(h, m, 3), 0);
  view_t *v = view_acquire(h);
  assert_int_equal(v->n, 3);
  assert_non_null(view_find(v, "n1"));
  assert_int_equal(view_find(v, "n1")->addr.port, 8081);
  assert_int_equal(view_find(v, "n2")->status, SWIM_ALIVE);
  view_release(v);
  view_holder_destroy(h);
}

static void test_create_rejects_bad_arguments(void **state) {
  swim_addr_t a = member("n1", SWIM_ALIVE).addr;
  view_holder_t *h = NULL;
  assert_int_equal(view_holder_create("bad id", &a, 150, 3, &h), CHORUS_EINVAL);
  assert_int_equal(view_holder_create("n1", &a, 0, 3, &h), CHORUS_EINVAL);
  assert_int_equal(view_holder_create("n1", &a, 150, 0, &h), CHORUS_EINVAL);
  assert_int_equal(view_holder_create("n1", NULL, 150, 3, &h), CHORUS_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_view_has_only_self_on_the_ring),
      cmocka_unit_test(test_status_change_keeps_the_ring_set_change_rebuilds_it),
      cmocka_unit_test(test_held_view_survives_the_holder),
      cmocka_unit_test(test_self_is_added_when_missing_and_repeats_dropped),
      cmocka_unit_test(test_create_rejects_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
