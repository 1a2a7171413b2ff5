/*
 * test_gossip_join.c - how members enter the table: the join announcement to
 * the seeds, push-pull tables merged on join (and this node's own table), a
 * push-pull for a member announcing itself, and what adds no member (an
 * unknown sender, SUSPECT or DEAD about a stranger).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "gossip/swim.h"

#include "swim_harness.h"

static void test_join_announces_self_alive_to_each_seed_except_self(void **state) {
  node_t n;
  node_init(&n);
  swim_addr_t seeds[3] = {addr_of(1), addr_of(0), addr_of(2)};
  assert_int_equal(swim_join(n.s, seeds, 3, n.now, &n.out), 0);
  assert_int_equal(n.out.n_push_pulls, 0);
  assert_int_equal(n.out.n_sends, 2);
  for (size_t i = 0; i < 2; i++) {
    const swim_send_t *x = &n.out.sends[i];
    assert_string_equal(x->to.host, i == 0 ? "10.0.0.1" : "10.0.0.2");
    assert_int_equal(x->msg.type, SWIM_MSG_GOSSIP);
    assert_int_equal(x->msg.n_updates, 1);
    const swim_update_t *u = &x->msg.updates[0];
    assert_int_equal(u->status, SWIM_ALIVE);
    assert_string_equal(u->id, "self");
    assert_int_equal(u->incarnation, 1);
    assert_int_equal(u->addr.peer_port, addr_of(0).peer_port);
  }
  assert_int_equal(swim_join(n.s, NULL, 1, n.now, &n.out), CHORUS_EINVAL);
  node_free(&n);
}

static void test_member_announcing_itself_back_to_life_gets_a_push_pull_and_others_do_not(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  /* m9 announces itself: unknown before, ALIVE about itself with its address. */
  swim_update_t u = make_update(SWIM_ALIVE, id_of(9), 1, NULL);
  u.addr = addr_of(9);
  deliver_update(&n, 9, &u);
  assert_int_equal(n.out.n_push_pulls, 1);
  assert_string_equal(n.out.push_pulls[0].to.host, "10.0.0.9");
  assert_int_equal(n.out.push_pulls[0].to.peer_port, addr_of(9).peer_port);
  /* Known and live, announcing itself again at no higher incarnation: it
   * restarted (without its data dir) before anyone noticed; it gets the
   * table all the same. */
  deliver_update(&n, 9, &u);
  assert_int_equal(n.out.n_push_pulls, 1);
  assert_string_equal(n.out.push_pulls[0].to.host, "10.0.0.9");
  /* A higher incarnation about itself is a refutation, not a join: none. */
  u.incarnation = 2;
  deliver_update(&n, 9, &u);
  assert_int_equal(n.out.n_push_pulls, 0);
  /* Two updates in one message are dissemination, not a join: none. */
  swim_msg_t two = make_msg(SWIM_MSG_GOSSIP, 0, 9, NULL);
  two.updates[0] = u;
  two.updates[1] = make_update(SWIM_ALIVE, id_of(1), 1, NULL);
  two.n_updates = 2;
  deliver(&n, &two);
  assert_int_equal(n.out.n_push_pulls, 0);
  /* Learning of a new member from someone else: no push-pull either. */
  u = make_update(SWIM_ALIVE, id_of(8), 1, NULL);
  u.addr = addr_of(8);
  deliver_update(&n, 1, &u);
  assert_int_equal(n.out.n_push_pulls, 0);
  /* A dead member back with a higher incarnation (restarted): it gets the table. */
  swim_update_t dead = make_update(SWIM_DEAD, id_of(2), 1, id_of(1));
  deliver_update(&n, 1, &dead);
  u = make_update(SWIM_ALIVE, id_of(2), 2, NULL);
  u.addr = addr_of(2);
  deliver_update(&n, 2, &u);
  assert_int_equal(n.out.n_push_pulls, 1);
  assert_string_equal(n.out.push_pulls[0].to.host, "10.0.0.2");
  node_free(&n);
}

/* A member that left (or died) and restarted without its data dir announces
 * an incarnation below its departure's: it gets the table, which tells it
 * it is gone, and it refutes above it and is back. */
static void test_a_member_that_left_and_returns_with_a_lower_incarnation_gets_the_table(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  swim_update_t left = make_update(SWIM_LEFT, id_of(2), 5, NULL);
  deliver_update(&n, 1, &left);
  swim_update_t u = make_update(SWIM_ALIVE, id_of(2), 1, NULL);
  u.addr = addr_of(2);
  deliver_update(&n, 2, &u);
  assert_int_equal(n.out.n_push_pulls, 1);
  assert_string_equal(n.out.push_pulls[0].to.host, "10.0.0.2");
  assert_int_equal(n.out.push_pulls[0].to.peer_port, addr_of(2).peer_port);
  /* its table says it left: it is not back until it refutes */
  swim_member_t info;
  assert_true(swim_find(n.s, id_of(2), &info));
  assert_int_equal(info.status, SWIM_LEFT);
  u.incarnation = 6;
  deliver_update(&n, 2, &u);
  assert_true(swim_find(n.s, id_of(2), &info));
  assert_int_equal(info.status, SWIM_ALIVE);
  /* someone else's stale news of a member alive is no announcement: no table */
  u.incarnation = 1;
  deliver_update(&n, 1, &u);
  assert_int_equal(n.out.n_push_pulls, 0);
  node_free(&n);
}

static void test_join_state_adds_members_with_events(void **state) {
  node_t n;
  node_init(&n);
  swim_member_info_t mi[3];
  memset(mi, 0, sizeof(mi));
  const swim_status_t st[3] = {SWIM_ALIVE, SWIM_SUSPECT, SWIM_DEAD};
  for (int i = 0; i < 3; i++) {
    snprintf(mi[i].id, sizeof(mi[i].id), "%s", id_of(i + 1));
    mi[i].addr = addr_of(i + 1);
    mi[i].status = st[i];
    mi[i].incarnation = 3;
  }
  swim_state_t s = {.join = true, .n = 3, .members = mi};
  assert_int_equal(swim_on_state(n.s, &s, n.now, &n.out), 0);
  assert_int_equal(swim_member_count(n.s), 4);
  for (int i = 0; i < 3; i++) {
    const swim_member_t m_copy = member_of(n.s, id_of(i + 1)), *m = &m_copy;
    assert_non_null(m);
    assert_int_equal(m->status, st[i]);
    assert_int_equal(m->incarnation, 3);
    assert_string_equal(m->addr.host, mi[i].addr.host);
    const swim_event_t *ev = find_event(&n.out, SWIM_EV_MEMBER, id_of(i + 1));
    assert_non_null(ev);
    assert_int_equal(ev->old_status, 0);
    assert_int_equal(ev->member.status, st[i]);
  }
  /* ALIVE and SUSPECT are news worth spreading; a dead stranger is not. */
  assert_non_null(find_rumor(n.s, "m1"));
  assert_non_null(find_rumor(n.s, "m2"));
  assert_null(find_rumor(n.s, "m3"));
  assert_int_equal(swim_stats(n.s)->updates_in, 3);
  node_free(&n);
}

static void test_local_state_lists_self_first_then_live_members(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 3);
  swim_update_t d = make_update(SWIM_DEAD, "m1", 1, "m2");
  deliver_update(&n, 2, &d);
  swim_state_t st;
  assert_int_equal(swim_local_state(n.s, true, &st), 0);
  assert_true(st.join);
  assert_int_equal(st.n, 4);
  assert_string_equal(st.members[0].id, "self");
  assert_int_equal(st.members[0].incarnation, 1);
  assert_int_equal(st.members[1].status, SWIM_ALIVE);
  assert_int_equal(st.members[2].status, SWIM_ALIVE);
  assert_string_equal(st.members[3].id, "m1");
  assert_int_equal(st.members[3].status, SWIM_DEAD);
  free(st.members);
  node_free(&n);
}

static void test_message_from_unknown_sender_does_not_add_it(void **state) {
  node_t n;
  node_init(&n);
  swim_msg_t g = make_msg(SWIM_MSG_GOSSIP, 0, 7, NULL);
  deliver(&n, &g);
  assert_false(swim_find(n.s, "m7", NULL));
  /* ... but an ALIVE update about it does. */
  swim_update_t u = make_update(SWIM_ALIVE, "m7", 2, NULL);
  u.addr = addr_of(7);
  deliver_update(&n, 7, &u);
  const swim_member_t m_copy = member_of(n.s, "m7"), *m = &m_copy;
  assert_non_null(m);
  assert_int_equal(m->status, SWIM_ALIVE);
  assert_string_equal(m->addr.host, "10.0.0.7");
  assert_non_null(find_event(&n.out, SWIM_EV_MEMBER, "m7"));
  node_free(&n);
}

static void test_suspect_or_dead_gossip_about_unknown_member_is_ignored(void **state) {
  node_t n;
  node_init(&n);
  node_join(&n, 1);
  swim_update_t s = make_update(SWIM_SUSPECT, "m9", 1, "m1");
  deliver_update(&n, 1, &s);
  swim_update_t d = make_update(SWIM_DEAD, "m8", 1, "m1");
  deliver_update(&n, 1, &d);
  assert_false(swim_find(n.s, "m9", NULL));
  assert_false(swim_find(n.s, "m8", NULL));
  assert_int_equal(n.out.n_events, 0);
  node_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_join_announces_self_alive_to_each_seed_except_self),
      cmocka_unit_test(test_member_announcing_itself_back_to_life_gets_a_push_pull_and_others_do_not),
      cmocka_unit_test(test_a_member_that_left_and_returns_with_a_lower_incarnation_gets_the_table),
      cmocka_unit_test(test_join_state_adds_members_with_events),
      cmocka_unit_test(test_local_state_lists_self_first_then_live_members),
      cmocka_unit_test(test_message_from_unknown_sender_does_not_add_it),
      cmocka_unit_test(test_suspect_or_dead_gossip_about_unknown_member_is_ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
