/*
 * test_api_ws_events.c - the /ws events and conflicts messages rendered
 * from a gather's parts (ws_events.c, run on a worker): what each member's
 * cursor lets through, a log that restarted, conflicts pushed only when
 * they change, members that failed or sent bytes that do not decode left
 * out, and events of several members in the REST route's order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/ws_internal.h"
#include "common/err.h"

#define T0 1700000000000ull

/* A member's part with events ids first..last (timestamp T0 + id * 10)
 * and, when siblings > 0, the key "k" in conflict. */
static void add_part(coord_result_t *res, const char *node, uint64_t first, uint64_t last, uint64_t total,
                     uint32_t siblings) {
  coord_part_t *slot = &res->parts[res->n_parts++];
  snprintf(slot->node, sizeof slot->node, "%s", node);
  buf_init(&slot->body);
  events_part_t p;
  events_part_init(&p);
  snprintf(p.node, sizeof p.node, "%s", node);
  assert_int_equal(vv_set(&p.clock, node, total ? total : 1), 0);
  p.total = total;
  if (last >= first && last) {
    p.n_events = last - first + 1;
    p.events = calloc(p.n_events, sizeof *p.events);
    assert_non_null(p.events);
    for (size_t i = 0; i < p.n_events; i++) {
      event_t *ev = &p.events[i];
      event_init(ev);
      ev->id = first + i;
      ev->type = EVENT_PUT;
      ev->ts_ms = T0 + ev->id * 10;
      snprintf(ev->node, sizeof ev->node, "%s", node);
      ev->key = strdup("k");
      ev->key_len = 1;
      assert_int_equal(vv_set(&ev->clock, node, ev->id), 0);
    }
  }
  if (siblings) {
    p.conflicts = calloc(1, sizeof *p.conflicts);
    assert_non_null(p.conflicts);
    p.conflicts[0] = (events_part_conflict_t){strdup("k"), 1, siblings};
    p.n_conflicts = 1;
  }
  assert_int_equal(events_part_encode(&p, &slot->body), 0);
  events_part_free(&p);
}

static void result_init(coord_result_t *res) {
  coord_result_init(res);
  res->parts = calloc(8, sizeof *res->parts);
  assert_non_null(res->parts);
}

/* The JSON data of a frame's {"type", "data"} message; NULL when empty. */
static json_t *frame_data(const buf_t *frame, const char *type) {
  if (!frame->len) return NULL;
  size_t n = frame->data[1] & 0x7f, hl = 2;
  if (n == 126) {
    n = (size_t)frame->data[2] << 8 | frame->data[3];
    hl = 4;
  } else if (n == 127) {
    n = 0;
    for (int i = 0; i < 8; i++)
      n = n << 8 | frame->data[2 + i];
    hl = 10;
  }
  assert_int_equal(frame->data[0], 0x81); /* one final text frame */
  assert_int_equal(hl + n, frame->len);
  json_t *msg = json_loadb((const char *)frame->data + hl, n, 0, NULL);
  assert_non_null(msg);
  assert_string_equal(json_string_value(json_object_get(msg, "type")), type);
  json_t *data = json_incref(json_object_get(msg, "data"));
  json_decref(msg);
  return data;
}

/* The ids of the events message, in order, as "node:id ..." */
static void event_ids(const ws_render_t *r, char *out, size_t cap) {
  out[0] = '\0';
  json_t *data = frame_data(&r->events_frame, "events");
  json_t *evs = json_object_get(data, "events");
  for (size_t i = 0; i < json_array_size(evs); i++) {
    json_t *ev = json_array_get(evs, i);
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s%s:%lld", len ? " " : "",
             json_string_value(json_object_get(ev, "node_id")),
             (long long)json_integer_value(json_object_get(ev, "id")));
  }
  json_decref(data);
}

static ws_cursor_t *cursor(ws_render_t *r, const char *node) {
  for (size_t i = 0; i < r->n_cursors; i++)
    if (strcmp(r->cursors[i].node, node) == 0) return &r->cursors[i];
  return NULL;
}

/* One round of the pusher: the last round's frames went out, this one's
 * are rendered from res (freed here, as the gather is). */
static void round_of(ws_render_t *r, coord_result_t *res) {
  buf_reset(&r->events_frame);
  buf_reset(&r->conflicts_frame);
  assert_int_equal(ws_render_events(res, r), 0);
  coord_result_free(res);
  result_init(res);
}

/* The "conflicts" message's list: its size, and the first key's siblings
 * and number of nodes (0 without one). */
static void conflicts_of(const ws_render_t *r, size_t *n, json_int_t *siblings, size_t *nodes) {
  json_t *data = frame_data(&r->conflicts_frame, "conflicts");
  json_t *cl = json_object_get(data, "conflicts"), *first = json_array_get(cl, 0);
  *n = json_array_size(cl);
  *siblings = json_integer_value(json_object_get(first, "siblings"));
  *nodes = json_array_size(json_object_get(first, "nodes"));
  json_decref(data);
}

static void test_first_round_pushes_only_events_since_the_pusher_started(void **state) {
  coord_result_t res;
  ws_render_t r;
  char ids[256];
  result_init(&res);
  ws_render_init(&r);
  r.started_wall = T0 + 30; /* events 3, 4, 5 are stamped since */
  add_part(&res, "n1", 1, 5, 5, 0);
  round_of(&r, &res);
  event_ids(&r, ids, sizeof ids);
  assert_string_equal(ids, "n1:3 n1:4 n1:5");
  ws_cursor_t *c = cursor(&r, "n1");
  assert_non_null(c);
  assert_true(c->known);
  assert_int_equal(c->last, 5);
  assert_int_equal(c->total, 5);
  ws_render_free(&r);
  coord_result_free(&res);
}

static void test_later_rounds_push_only_events_past_the_cursor(void **state) {
  coord_result_t res;
  ws_render_t r;
  char ids[256];
  result_init(&res);
  ws_render_init(&r); /* started_wall 0: every event of the first round is new */
  add_part(&res, "n1", 1, 5, 5, 0);
  round_of(&r, &res);
  add_part(&res, "n1", 4, 7, 7, 0); /* asked from an older cursor: 4 and 5 again */
  round_of(&r, &res);
  event_ids(&r, ids, sizeof ids);
  assert_string_equal(ids, "n1:6 n1:7");
  add_part(&res, "n1", 6, 7, 7, 0);
  round_of(&r, &res);
  assert_int_equal(r.events_frame.len, 0); /* nothing new: no message */
  ws_render_free(&r);
  coord_result_free(&res);
}

/* A member whose count fell below its cursor restarted its log: its
 * cursor is forgotten and its events count by time again. */
static void test_a_log_that_restarted_starts_over_by_time(void **state) {
  coord_result_t res;
  ws_render_t r;
  result_init(&res);
  ws_render_init(&r);
  add_part(&res, "n1", 1, 50, 50, 0);
  round_of(&r, &res);
  add_part(&res, "n1", 1, 3, 3, 0);
  round_of(&r, &res);
  assert_int_equal(r.events_frame.len, 0);
  assert_false(cursor(&r, "n1")->known);
  assert_int_equal(cursor(&r, "n1")->last, 0);
  ws_render_free(&r);
  coord_result_free(&res);
}

static void test_conflicts_are_pushed_only_when_they_change(void **state) {
  coord_result_t res;
  ws_render_t r;
  size_t n, nodes;
  json_int_t siblings;
  result_init(&res);
  ws_render_init(&r);
  add_part(&res, "n1", 0, 0, 0, 2);
  add_part(&res, "n2", 0, 0, 0, 3);
  round_of(&r, &res);
  conflicts_of(&r, &n, &siblings, &nodes);
  assert_int_equal(n, 1);
  assert_int_equal(siblings, 3); /* the most any member holds */
  assert_int_equal(nodes, 2);
  add_part(&res, "n1", 0, 0, 0, 2);
  add_part(&res, "n2", 0, 0, 0, 3);
  round_of(&r, &res);
  assert_int_equal(r.conflicts_frame.len, 0); /* unchanged */
  add_part(&res, "n1", 0, 0, 0, 0);
  round_of(&r, &res);
  conflicts_of(&r, &n, &siblings, &nodes); /* resolved: an empty list */
  assert_int_equal(n, 0);
  ws_render_free(&r);
  coord_result_free(&res);
}

static void test_failed_and_undecodable_parts_are_left_out(void **state) {
  coord_result_t res;
  ws_render_t r;
  char ids[256];
  size_t n, nodes;
  json_int_t siblings;
  result_init(&res);
  ws_render_init(&r);
  add_part(&res, "n1", 1, 2, 2, 0);
  add_part(&res, "n2", 1, 2, 2, 2);
  res.parts[1].status = CHORUS_ETIMEDOUT;
  add_part(&res, "n3", 1, 2, 2, 2);
  res.parts[2].body.data[res.parts[2].body.len - 1] ^= 1; /* checksum fails */
  add_part(&res, "n4", 1, 2, 2, 2);
  snprintf(res.parts[3].node, sizeof res.parts[3].node, "n5"); /* n4's part, sent as n5's */
  round_of(&r, &res);
  event_ids(&r, ids, sizeof ids);
  assert_string_equal(ids, "n1:1 n1:2");
  assert_int_equal(r.n_cursors, 1);
  conflicts_of(&r, &n, &siblings, &nodes);
  assert_int_equal(n, 0);
  ws_render_free(&r);
  coord_result_free(&res);
}

/* As GET /api/v1/cluster/events orders them: timestamp, then node, then id. */
static void test_events_of_several_members_are_ordered_by_time_then_node(void **state) {
  coord_result_t res;
  ws_render_t r;
  char ids[256];
  result_init(&res);
  ws_render_init(&r);
  add_part(&res, "n2", 1, 3, 3, 0);
  add_part(&res, "n1", 2, 3, 3, 0);
  round_of(&r, &res);
  event_ids(&r, ids, sizeof ids);
  assert_string_equal(ids, "n2:1 n1:2 n2:2 n1:3 n2:3");
  ws_render_free(&r);
  coord_result_free(&res);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_round_pushes_only_events_since_the_pusher_started),
      cmocka_unit_test(test_later_rounds_push_only_events_past_the_cursor),
      cmocka_unit_test(test_a_log_that_restarted_starts_over_by_time),
      cmocka_unit_test(test_conflicts_are_pushed_only_when_they_change),
      cmocka_unit_test(test_failed_and_undecodable_parts_are_left_out),
      cmocka_unit_test(test_events_of_several_members_are_ordered_by_time_then_node),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
