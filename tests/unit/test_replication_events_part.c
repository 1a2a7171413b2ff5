/*
 * test_replication_events_part.c - the codec of a member's part of a
 * cluster-events gather: round trips byte for byte, the encoder refusing
 * what the decoder would refuse, and every truncation, bit flip, trailing
 * byte, old event version and over-long count rejected cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "replication/events_part.h"
#include "storage/record.h"

#include "codec_check.h"

static char *dup_str(const char *s) {
  char *d = strdup(s);
  assert_non_null(d);
  return d;
}

static void set_event(event_t *ev, uint64_t id, event_type_t type, const char *key, const char *peer) {
  event_init(ev);
  ev->id = id;
  ev->type = type;
  ev->ts_ms = 1700000000000ull + id;
  strcpy(ev->node, "node-a");
  strcpy(ev->peer, peer);
  ev->key = dup_str(key);
  ev->key_len = strlen(key);
  assert_int_equal(event_set_preview(ev, "value", 5), 0);
  assert_int_equal(vv_set(&ev->clock, "node-a", id), 0);
  if (peer[0]) assert_int_equal(vv_set(&ev->clock, peer, 2), 0);
}

/* node-a with three events (ids 4, 5, 9) and two conflicting keys. */
static void sample(events_part_t *p) {
  events_part_init(p);
  strcpy(p->node, "node-a");
  assert_int_equal(vv_set(&p->clock, "node-a", 9), 0);
  assert_int_equal(vv_set(&p->clock, "node-b", 2), 0);
  p->total = 9;
  p->events = calloc(3, sizeof *p->events);
  assert_non_null(p->events);
  p->n_events = 3;
  set_event(&p->events[0], 4, EVENT_PUT, "user:1", "");
  set_event(&p->events[1], 5, EVENT_REPLICATE, "user:2", "node-b");
  set_event(&p->events[2], 9, EVENT_GET, "", "");
  p->conflicts = calloc(2, sizeof *p->conflicts);
  assert_non_null(p->conflicts);
  p->n_conflicts = 2;
  p->conflicts[0] = (events_part_conflict_t){dup_str("a"), 1, 2};
  p->conflicts[1] = (events_part_conflict_t){dup_str("ab"), 2, 3};
}

static void encode_sample(buf_t *b) {
  events_part_t p;
  sample(&p);
  buf_init(b);
  assert_int_equal(events_part_encode(&p, b), 0);
  events_part_free(&p);
}

static void expect_corrupt(const void *bytes, size_t len) {
  events_part_t p;
  events_part_init(&p);
  assert_int_equal(events_part_decode(bytes, len, &p), CHORUS_ECORRUPT);
  assert_int_equal(p.n_events, 0);
  assert_null(p.events);
  assert_int_equal(p.n_conflicts, 0);
  assert_int_equal(p.clock.n, 0);
}

static void test_round_trip_keeps_every_field_and_byte(void **state) {
  events_part_t in, out;
  sample(&in);
  events_part_init(&out);
  buf_t b, again;
  buf_init(&b);
  buf_init(&again);
  assert_int_equal(events_part_encode(&in, &b), 0);
  assert_int_equal(events_part_decode(b.data, b.len, &out), 0);
  assert_string_equal(out.node, "node-a");
  assert_true(vv_equal(&out.clock, &in.clock));
  assert_int_equal(out.total, 9);
  assert_int_equal(out.n_events, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(out.events[i].id, in.events[i].id);
    assert_int_equal(out.events[i].type, in.events[i].type);
    assert_string_equal(out.events[i].key, in.events[i].key);
    assert_string_equal(out.events[i].peer, in.events[i].peer);
    assert_true(vv_equal(&out.events[i].clock, &in.events[i].clock));
  }
  assert_int_equal(out.n_conflicts, 2);
  assert_string_equal(out.conflicts[1].key, "ab");
  assert_int_equal(out.conflicts[1].key_len, 2);
  assert_int_equal(out.conflicts[1].siblings, 3);
  assert_int_equal(events_part_encode(&out, &again), 0);
  assert_int_equal(again.len, b.len);
  assert_memory_equal(again.data, b.data, b.len);
  events_part_free(&in);
  events_part_free(&out);
  buf_free(&b);
  buf_free(&again);
}

/* A member with an empty log and no conflicts still reports its clock. */
static void test_empty_part_round_trips(void **state) {
  events_part_t in, out;
  events_part_init(&in);
  events_part_init(&out);
  strcpy(in.node, "n1");
  buf_t b;
  buf_init(&b);
  assert_int_equal(events_part_encode(&in, &b), 0);
  assert_int_equal(events_part_decode(b.data, b.len, &out), 0);
  assert_string_equal(out.node, "n1");
  assert_int_equal(out.n_events + out.n_conflicts + out.total + out.clock.n, 0);
  events_part_free(&out);
  buf_free(&b);
}

/* Each change leaves a part the decoder would refuse: none is encoded. */
static void test_encoder_refuses_what_the_decoder_would(void **state) {
  events_part_t p;
  buf_t b;
  buf_init(&b);
  buf_put(&b, "x", 1);
  for (int k = 0; k < 8; k++) {
    sample(&p);
    switch (k) {
    case 0: strcpy(p.node, "bad id"); break;
    case 1: p.events[2].id = 5; break; /* ids must increase */
    case 2: p.conflicts[1].key[1] = '\0'; p.conflicts[1].key_len = 1; break; /* duplicate key */
    case 3: p.conflicts[0].key[0] = 'b'; break; /* "b" before "ab": out of order */
    case 4: p.conflicts[0].key_len = 0; break;
    case 5: p.conflicts[1].key[1] = (char)0xff; break; /* not UTF-8 */
    case 6: p.conflicts[0].siblings = RECORD_MAX_SIBLINGS + 1; break;
    case 7: p.n_events = EVENTS_PART_MAX_EVENTS + 1; break;
    }
    assert_int_equal(events_part_encode(&p, &b), CHORUS_EINVAL);
    assert_int_equal(b.len, 1);
    p.n_events = 3; /* what was allocated, for the free */
    events_part_free(&p);
  }
  buf_free(&b);
}

static void test_every_truncation_is_rejected(void **state) {
  buf_t b;
  encode_sample(&b);
  expect_truncations_corrupt(expect_corrupt, b.data, b.len);
  buf_free(&b);
}

static void test_every_bit_flip_is_rejected(void **state) {
  buf_t b;
  encode_sample(&b);
  expect_bit_flips_corrupt(expect_corrupt, b.data, b.len);
  buf_free(&b);
}

static void test_trailing_bytes_are_rejected(void **state) {
  buf_t b;
  encode_sample(&b);
  size_t len = b.len;
  buf_put_u8(&b, 0);
  expect_corrupt(b.data, b.len);
  /* the same with the checksum recomputed over the extra byte */
  b.len = len - 4;
  buf_put_u8(&b, 0);
  buf_put_crc32c(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
}

/* Writes a part by hand around the given events section (a count and the
 * bytes that follow it), with no conflicts and a correct checksum. */
static void raw_part(buf_t *b, uint64_t n_events, const buf_t *events) {
  buf_init(b);
  buf_put(b, "CG\x01", 3);
  vv_encode_node("node-a", b);
  buf_put_varint(b, 0); /* empty clock */
  buf_put_varint(b, 1); /* total */
  buf_put_varint(b, n_events);
  if (events) buf_put(b, events->data, events->len);
  buf_put_varint(b, 0); /* conflicts */
  buf_put_crc32c(b, 0);
  assert_int_equal(b->err, 0);
}

/* A version-1 event decodes on its own but would re-encode as version 2,
 * so a part may not carry one. */
static void test_version_1_event_is_refused_in_a_part(void **state) {
  buf_t ev, events, part;
  buf_init(&ev);
  buf_init(&events);
  buf_put(&ev, "CE\x01", 3);
  buf_put_varint(&ev, 1);
  buf_put_u8(&ev, EVENT_PUT);
  buf_put_u64be(&ev, 99);
  buf_put_lbytes(&ev, "node-a", 6);
  buf_put_lbytes(&ev, "k", 1);
  buf_put_lbytes(&ev, "", 0);
  buf_put_varint(&ev, 0);
  buf_put_crc32c(&ev, 0);
  event_t check;
  event_init(&check);
  assert_int_equal(event_decode(ev.data, ev.len, &check), 0);
  event_free(&check);
  buf_put_lbytes(&events, ev.data, ev.len);
  raw_part(&part, 1, &events);
  expect_corrupt(part.data, part.len);
  buf_free(&part);
  /* the same event as version 2 is accepted */
  ev.len = 0;
  event_t v2;
  set_event(&v2, 1, EVENT_PUT, "k", "");
  assert_int_equal(event_encode(&v2, &ev), 0);
  event_free(&v2);
  events.len = 0;
  buf_put_lbytes(&events, ev.data, ev.len);
  raw_part(&part, 1, &events);
  events_part_t p;
  events_part_init(&p);
  assert_int_equal(events_part_decode(part.data, part.len, &p), 0);
  assert_int_equal(p.n_events, 1);
  events_part_free(&p);
  buf_free(&part);
  buf_free(&ev);
  buf_free(&events);
}

/* Counts past the maximum, or past what the bytes left could hold, are
 * refused before anything is allocated for them. */
static void test_counts_beyond_the_bytes_or_the_maximum_are_refused(void **state) {
  buf_t part;
  raw_part(&part, EVENTS_PART_MAX_EVENTS, NULL);
  expect_corrupt(part.data, part.len);
  buf_free(&part);
  raw_part(&part, EVENTS_PART_MAX_EVENTS + 1, NULL);
  expect_corrupt(part.data, part.len);
  buf_free(&part);
  raw_part(&part, UINT64_MAX, NULL);
  expect_corrupt(part.data, part.len);
  buf_free(&part);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_keeps_every_field_and_byte),
      cmocka_unit_test(test_empty_part_round_trips),
      cmocka_unit_test(test_encoder_refuses_what_the_decoder_would),
      cmocka_unit_test(test_every_truncation_is_rejected),
      cmocka_unit_test(test_every_bit_flip_is_rejected),
      cmocka_unit_test(test_trailing_bytes_are_rejected),
      cmocka_unit_test(test_version_1_event_is_refused_in_a_part),
      cmocka_unit_test(test_counts_beyond_the_bytes_or_the_maximum_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
