/* test_gossip_codec.c - SWIM packet and push-pull state codec: layout, round
 * trips, exact sizes, canonical form, and rejection of malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_check.h"
#include "common/err.h"
#include "gossip/swim_codec.h"

static const char long_id[] =
    "node-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTU"; /* 64 chars */
static const char long_host[] =
    "a-rather-long-host-name.of.some.data-centre.example.internal.io"; /* 63 chars */
_Static_assert(sizeof(long_id) == NODE_ID_MAX + 1, "longest id");
_Static_assert(sizeof(long_host) == SWIM_HOST_MAX + 1, "longest host");

static void set_addr(swim_addr_t *a, const char *host, uint16_t port, uint16_t peer_port) {
  memset(a, 0, sizeof(*a));
  strcpy(a->host, host);
  a->port = port;
  a->peer_port = peer_port;
}

/* Update i varies its status, string lengths and integer widths with i. */
static void sample_update(swim_update_t *u, size_t i, bool long_fields) {
  static const uint64_t incarnations[] = {0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, UINT64_MAX};
  memset(u, 0, sizeof(*u));
  u->status = (swim_status_t)(SWIM_ALIVE + i % 4);
  if (long_fields)
    strcpy(u->id, long_id);
  else
    snprintf(u->id, sizeof(u->id), "n%zu", i);
  u->incarnation = incarnations[i % (sizeof(incarnations) / sizeof(incarnations[0]))];
  set_addr(&u->addr, long_fields ? long_host : "10.0.0.1", (uint16_t)(i * 2039), (uint16_t)(65535 - i));
  if (i % 2) strcpy(u->from, long_fields ? long_id : "origin");
}

static void sample_msg(swim_msg_t *m, swim_msg_type_t type, size_t n_updates, bool long_fields) {
  memset(m, 0, sizeof(*m));
  m->type = type;
  m->seq = 123456;
  strcpy(m->from, long_fields ? long_id : "node-a");
  set_addr(&m->from_addr, long_fields ? long_host : "192.168.1.10", 8080, 9090);
  if (type == SWIM_MSG_PING || type == SWIM_MSG_PING_REQ) strcpy(m->target, long_fields ? long_id : "node-b");
  if (type == SWIM_MSG_PING_REQ) set_addr(&m->target_addr, long_fields ? long_host : "::1", 8081, 9091);
  m->n_updates = n_updates;
  for (size_t i = 0; i < n_updates; i++)
    sample_update(&m->updates[i], i, long_fields);
}

static void assert_same_addr(const swim_addr_t *a, const swim_addr_t *b) {
  assert_string_equal(a->host, b->host);
  assert_int_equal(a->port, b->port);
  assert_int_equal(a->peer_port, b->peer_port);
}

static void assert_same_msg(const swim_msg_t *a, const swim_msg_t *b) {
  assert_int_equal(a->type, b->type);
  assert_int_equal(a->seq, b->seq);
  assert_string_equal(a->from, b->from);
  assert_same_addr(&a->from_addr, &b->from_addr);
  assert_string_equal(a->target, b->target);
  assert_same_addr(&a->target_addr, &b->target_addr);
  assert_int_equal(a->n_updates, b->n_updates);
  for (size_t i = 0; i < a->n_updates; i++) {
    const swim_update_t *u = &a->updates[i], *v = &b->updates[i];
    assert_int_equal(u->status, v->status);
    assert_string_equal(u->id, v->id);
    assert_true(u->incarnation == v->incarnation);
    assert_same_addr(&u->addr, &v->addr);
    assert_string_equal(u->from, v->from);
  }
}

static void encode_msg(const swim_msg_t *m, buf_t *b) {
  buf_init(b);
  assert_int_equal(swim_msg_encode(m, b), 0);
}

/* decode(encode(m)) == m and encode(decode(b)) == b. */
static void round_trip(const swim_msg_t *m) {
  static swim_msg_t back;
  buf_t b, again;
  encode_msg(m, &b);
  assert_one_msgpack_object(b.data, b.len);
  assert_int_equal(swim_msg_decode(b.data, b.len, &back), 0);
  assert_same_msg(m, &back);
  encode_msg(&back, &again);
  assert_int_equal(again.len, b.len);
  assert_memory_equal(again.data, b.data, b.len);
  buf_free(&b);
  buf_free(&again);
}

static void expect_corrupt(const void *p, size_t len) {
  static swim_msg_t m;
  memset(&m, 0xa5, sizeof(m));
  assert_int_equal(swim_msg_decode(p, len, &m), CHORUS_ECORRUPT);
  assert_int_equal(m.n_updates, 0);
  assert_string_equal(m.from, "");
}

static void expect_state_corrupt(const void *p, size_t len) {
  swim_state_t s = {.join = true, .n = 3};
  assert_int_equal(swim_state_decode(p, len, &s), CHORUS_ECORRUPT);
  assert_null(s.members);
  assert_int_equal(s.n, 0);
  assert_false(s.join);
}

/* The two samples of the documented layout (see the test below). */
static const uint8_t layout_msg[] = {0x02, 0x97, 0x01, 0x07, 0xa1, 'a',  0x93, 0xa1, 'h',  0x50, 0x51, 0xa1,
                                     'b',  0x93, 0xa0, 0x00, 0x00, 0x91, 0x96, 0x01, 0xa1, 'c',  0xcd, 0x01,
                                     0x2c, 0x93, 0xa1, 'h',  0xcd, 0x1f, 0x90, 0xcd, 0x23, 0x82, 0xa0, 0x00};
static const uint8_t layout_state[] = {0x02, 0x92, 0xc3, 0x91, 0x95, 0xa1, 'a',  0x93,
                                       0xa1, 'h',  0x01, 0x02, 0x02, 0x00, 0x00};

static void test_status_names(void **state) {
  assert_string_equal(swim_status_name(SWIM_ALIVE), "alive");
  assert_string_equal(swim_status_name(SWIM_SUSPECT), "suspected");
  assert_string_equal(swim_status_name(SWIM_DEAD), "dead");
  assert_string_equal(swim_status_name(SWIM_LEFT), "left");
  assert_string_equal(swim_status_name((swim_status_t)0), "unknown");
  assert_string_equal(swim_status_name((swim_status_t)9), "unknown");
}

static void test_encoding_follows_the_documented_layout(void **state) {
  static swim_msg_t m;
  memset(&m, 0, sizeof(m));
  m.type = SWIM_MSG_PING;
  m.seq = 7;
  strcpy(m.from, "a");
  set_addr(&m.from_addr, "h", 80, 81);
  strcpy(m.target, "b");
  m.n_updates = 1;
  m.updates[0].status = SWIM_ALIVE;
  strcpy(m.updates[0].id, "c");
  m.updates[0].incarnation = 300;
  set_addr(&m.updates[0].addr, "h", 8080, 9090);
  buf_t b;
  encode_msg(&m, &b);
  assert_int_equal(b.len, sizeof(layout_msg));
  assert_memory_equal(b.data, layout_msg, sizeof(layout_msg));
  buf_free(&b);

  swim_member_info_t mi = {.id = "a", .status = SWIM_SUSPECT, .incarnation = 0};
  set_addr(&mi.addr, "h", 1, 2);
  swim_state_t s = {.join = true, .n = 1, .members = &mi};
  buf_init(&b);
  assert_int_equal(swim_state_encode(&s, &b), 0);
  assert_int_equal(b.len, sizeof(layout_state));
  assert_memory_equal(b.data, layout_state, sizeof(layout_state));
  buf_free(&b);
}

static void test_round_trips_every_type(void **state) {
  static swim_msg_t m;
  static const size_t counts[] = {0, 1, SWIM_MAX_UPDATES};
  for (int type = SWIM_MSG_PING; type <= SWIM_MSG_GOSSIP; type++)
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
      for (int long_fields = 0; long_fields <= 1; long_fields++) {
        sample_msg(&m, (swim_msg_type_t)type, counts[c], long_fields);
        round_trip(&m);
      }
}

static void test_round_trips_integer_boundaries(void **state) {
  static const uint64_t seqs[] = {0, 127, 128, 255, 256, 65535, 65536, UINT32_MAX};
  static const uint16_t ports[] = {0, 127, 128, 255, 256, 65535};
  static swim_msg_t m;
  for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
    sample_msg(&m, SWIM_MSG_ACK, 10, false);
    m.seq = (uint32_t)seqs[i];
    round_trip(&m);
  }
  for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
    sample_msg(&m, SWIM_MSG_PING_REQ, 1, false);
    m.from_addr.port = m.target_addr.peer_port = m.updates[0].addr.port = ports[i];
    round_trip(&m);
  }
}

static void test_update_size_is_exact(void **state) {
  static swim_msg_t m;
  for (int long_fields = 0; long_fields <= 1; long_fields++)
    for (size_t n = 0; n < SWIM_MAX_UPDATES; n++) {
      buf_t without, with;
      sample_msg(&m, SWIM_MSG_GOSSIP, n + 1, long_fields);
      encode_msg(&m, &with);
      m.n_updates = n;
      encode_msg(&m, &without);
      /* The updates header grows from fixarray to array16 at 16 elements. */
      size_t header_growth = n + 1 == 16 ? 2 : 0;
      assert_int_equal(with.len - without.len, swim_update_encoded_size(&m.updates[n]) + header_growth);
      buf_free(&without);
      buf_free(&with);
    }
}

static void test_base_size_bounds_every_encoding(void **state) {
  static swim_msg_t m;
  for (int long_fields = 0; long_fields <= 1; long_fields++)
    for (size_t n = 0; n <= SWIM_MAX_UPDATES; n++) {
      sample_msg(&m, SWIM_MSG_PING_REQ, n, long_fields);
      size_t bound = swim_msg_base_size(&m);
      for (size_t i = 0; i < n; i++)
        bound += swim_update_encoded_size(&m.updates[i]);
      buf_t b;
      encode_msg(&m, &b);
      assert_true(b.len <= bound);
      assert_int_equal(bound - b.len, n < 16 ? 2 : 0);
      buf_free(&b);
    }
}

/* One way to make a message invalid per k, false past the last. */
static bool break_msg(swim_msg_t *m, int k) {
  switch (k) {
  case 0: m->type = (swim_msg_type_t)0; break;
  case 1: m->type = (swim_msg_type_t)6; break;
  case 2: m->from[0] = '\0'; break;
  case 3: strcpy(m->from, "bad id"); break;
  case 4: memset(m->from, 'a', sizeof(m->from)); break;
  case 5: strcpy(m->target, "x/y"); break;
  case 6: memset(m->from_addr.host, 'h', sizeof(m->from_addr.host)); break;
  case 7: memset(m->target_addr.host, 'h', sizeof(m->target_addr.host)); break;
  case 8: m->n_updates = SWIM_MAX_UPDATES + 1; break;
  case 9: m->updates[1].status = (swim_status_t)0; break;
  case 10: m->updates[1].status = (swim_status_t)5; break;
  case 11: m->updates[1].id[0] = '\0'; break;
  case 12: strcpy(m->updates[1].from, "a\tb"); break;
  case 13: memset(m->updates[1].addr.host, 'h', sizeof(m->updates[1].addr.host)); break;
  default: return false;
  }
  return true;
}

static void test_invalid_messages_are_not_encoded(void **state) {
  static swim_msg_t m;
  for (int k = 0;; k++) {
    sample_msg(&m, SWIM_MSG_PING_REQ, 2, false);
    if (!break_msg(&m, k)) break;
    buf_t b;
    buf_init(&b);
    buf_put(&b, "x", 1);
    assert_int_equal(swim_msg_encode(&m, &b), CHORUS_EINVAL);
    assert_int_equal(b.len, 1);
    buf_free(&b);
  }
}

static void test_every_truncation_is_rejected(void **state) {
  static swim_msg_t m;
  expect_truncations_corrupt(expect_corrupt, layout_msg, sizeof(layout_msg));
  for (int long_fields = 0; long_fields <= 1; long_fields++) {
    buf_t b;
    sample_msg(&m, SWIM_MSG_PING_REQ, SWIM_MAX_UPDATES, long_fields);
    encode_msg(&m, &b);
    expect_truncations_corrupt(expect_corrupt, b.data, b.len);
    buf_free(&b);
  }
}

/* Each case breaks one field of layout_msg; the untouched sample decodes. */
static void test_malformed_fields_are_rejected(void **state) {
  static swim_msg_t m;
  static const uint8_t trailing[] = {0x00};
  const uint8_t *p = layout_msg;
  size_t n = sizeof(layout_msg);
  assert_int_equal(swim_msg_decode(p, n, &m), 0);
  expect_spliced(expect_corrupt, p, n, n, 0, trailing, sizeof(trailing));
  /* version */
  expect_spliced(expect_corrupt, p, n, 0, 1, REP(0x00));
  expect_spliced(expect_corrupt, p, n, 0, 1, REP(0x01));
  /* the update's phase: past SWIM_PHASE_LAST, or not in shortest form */
  expect_spliced(expect_corrupt, p, n, n - 1, 1, REP(0x03));
  expect_spliced(expect_corrupt, p, n, n - 1, 1, REP(0xcc, 0x01));
  expect_spliced(expect_corrupt, p, n, 0, 1, REP(0xff));
  /* outer array: field count, shortest form */
  expect_spliced(expect_corrupt, p, n, 1, 1, REP(0x96));
  expect_spliced(expect_corrupt, p, n, 1, 1, REP(0x98));
  expect_spliced(expect_corrupt, p, n, 1, 1, REP(0xdc, 0x00, 0x07));
  expect_spliced(expect_corrupt, p, n, 1, 1, REP(0xdd, 0x00, 0x00, 0x00, 0x07));
  expect_spliced(expect_corrupt, p, n, 1, 1, REP(0x87)); /* a map */
  /* type: unknown, not a positive int, not shortest */
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0x00));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0x06));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xff));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xc0));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xd0, 0x01));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xcc, 0x01));
  /* seq: over 32 bits, not shortest */
  expect_spliced(expect_corrupt, p, n, 3, 1, REP(0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00));
  expect_spliced(expect_corrupt, p, n, 3, 1, REP(0xcd, 0x00, 0x07));
  expect_spliced(expect_corrupt, p, n, 3, 1, REP(0xce, 0x00, 0x00, 0x00, 0x07));
  expect_spliced(expect_corrupt, p, n, 3, 1, REP(0xcf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07));
  expect_spliced(expect_corrupt, p, n, 3, 1, REP(0xcd, 0x00, 0xff));
  expect_spliced(expect_corrupt, p, n, 3, 1, REP(0xce, 0x00, 0x00, 0xff, 0xff));
  expect_spliced(expect_corrupt, p, n, 3, 1, REP(0xcf, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff));
  /* from: empty, NUL, bad character, not shortest, not a str */
  expect_spliced(expect_corrupt, p, n, 4, 2, REP(0xa0));
  expect_spliced(expect_corrupt, p, n, 4, 2, REP(0xa1, 0x00));
  expect_spliced(expect_corrupt, p, n, 4, 2, REP(0xa2, 'a', 0x00));
  expect_spliced(expect_corrupt, p, n, 4, 2, REP(0xa1, ' '));
  expect_spliced(expect_corrupt, p, n, 4, 2, REP(0xd9, 0x01, 'a'));
  expect_spliced(expect_corrupt, p, n, 4, 2, REP(0xda, 0x00, 0x01, 'a'));
  expect_spliced(expect_corrupt, p, n, 4, 2, REP(0xc4, 0x01, 'a'));
  /* target: bad character */
  expect_spliced(expect_corrupt, p, n, 11, 2, REP(0xa1, '/'));
  /* from_addr: field count, host NUL, port over 16 bits or not shortest */
  expect_spliced(expect_corrupt, p, n, 6, 1, REP(0x92));
  expect_spliced(expect_corrupt, p, n, 6, 1, REP(0x94));
  expect_spliced(expect_corrupt, p, n, 7, 2, REP(0xa1, 0x00));
  expect_spliced(expect_corrupt, p, n, 7, 2, REP(0xa3, 'h', 0x00, 'h'));
  expect_spliced(expect_corrupt, p, n, 9, 1, REP(0xce, 0x00, 0x01, 0x00, 0x00));
  expect_spliced(expect_corrupt, p, n, 9, 1, REP(0xcd, 0x00, 0x50));
  expect_spliced(expect_corrupt, p, n, 10, 1, REP(0xcc, 0x51));
  /* updates: count over the limit, not shortest */
  expect_spliced(expect_corrupt, p, n, 17, 1, REP(0xdc, 0x00, 0x01));
  expect_spliced(expect_corrupt, p, n, 17, 1, REP(0xdc, 0x00, SWIM_MAX_UPDATES + 1));
  expect_spliced(expect_corrupt, p, n, 17, 1, REP(0x92));
  /* update: field count, status, id, incarnation not shortest, from */
  expect_spliced(expect_corrupt, p, n, 18, 1, REP(0x94));
  expect_spliced(expect_corrupt, p, n, 19, 1, REP(0x00));
  expect_spliced(expect_corrupt, p, n, 19, 1, REP(0x05));
  expect_spliced(expect_corrupt, p, n, 20, 2, REP(0xa0));
  expect_spliced(expect_corrupt, p, n, 22, 3, REP(0xce, 0x00, 0x00, 0x01, 0x2c));
  expect_spliced(expect_corrupt, p, n, 34, 1, REP(0xa1, '!'));
}

/* Strings one byte over their limits, and the longest ones that are allowed. */
static void test_string_limits(void **state) {
  uint8_t rep[2 + NODE_ID_MAX + 1];
  static swim_msg_t m;
  for (size_t len = 1; len <= NODE_ID_MAX + 1; len++) {
    bool id_ok = len <= NODE_ID_MAX, host_ok = len <= SWIM_HOST_MAX;
    size_t head = len <= 31 ? 1 : 2;
    rep[0] = len <= 31 ? (uint8_t)(0xa0 | len) : 0xd9;
    rep[1] = (uint8_t)len;
    memset(rep + head, 'x', len);
    buf_t b;
    buf_init(&b);
    buf_put(&b, layout_msg, 4);
    buf_put(&b, rep, head + len);
    buf_put(&b, layout_msg + 6, 1);
    buf_put(&b, rep, head + len);
    buf_put(&b, layout_msg + 9, sizeof(layout_msg) - 9);
    assert_int_equal(b.err, 0);
    int rc = swim_msg_decode(b.data, b.len, &m);
    assert_int_equal(rc, id_ok && host_ok ? 0 : CHORUS_ECORRUPT);
    if (rc == 0) {
      assert_int_equal(strlen(m.from), len);
      assert_int_equal(strlen(m.from_addr.host), len);
    }
    buf_free(&b);
  }
}

/* Random bytes and random mutations of valid encodings: whatever decodes
 * re-encodes to exactly the input. */
static void test_garbage_never_decodes_to_another_encoding(void **state) {
  static swim_msg_t m, sample;
  uint8_t junk[256];
  uint64_t x = 0x9e3779b97f4a7c15ull;
  buf_t valid;
  sample_msg(&sample, SWIM_MSG_PING_REQ, 4, false);
  encode_msg(&sample, &valid);
  static const uint8_t version[] = {SWIM_WIRE_VERSION};
  for (int iter = 0; iter < 200000; iter++) {
    size_t len = garbage_input(&x, iter, junk, sizeof(junk), version, sizeof(version), &valid);
    if (swim_msg_decode(junk, len, &m) != 0) continue;
    buf_t again;
    encode_msg(&m, &again);
    assert_int_equal(again.len, len);
    assert_memory_equal(again.data, junk, len);
    buf_free(&again);
  }
  buf_free(&valid);
}

/* ---- push-pull state ---- */

static void sample_member(swim_member_info_t *mi, size_t i) {
  memset(mi, 0, sizeof(*mi));
  if (i % 7 == 0)
    strcpy(mi->id, long_id);
  else
    snprintf(mi->id, sizeof(mi->id), "member-%zu", i);
  set_addr(&mi->addr, i % 5 == 0 ? long_host : "10.1.2.3", (uint16_t)(i * 16), (uint16_t)(i * 17));
  mi->status = (swim_status_t)(SWIM_ALIVE + i % 4);
  mi->incarnation = (uint64_t)i * i * i * i * i * i;
}

static void state_round_trip(const swim_state_t *s) {
  buf_t b, again;
  swim_state_t back;
  buf_init(&b);
  buf_init(&again);
  assert_int_equal(swim_state_encode(s, &b), 0);
  assert_one_msgpack_object(b.data, b.len);
  assert_int_equal(swim_state_decode(b.data, b.len, &back), 0);
  assert_int_equal(back.join, s->join);
  assert_int_equal(back.n, s->n);
  if (s->n == 0) assert_null(back.members);
  for (size_t i = 0; i < s->n; i++) {
    assert_string_equal(back.members[i].id, s->members[i].id);
    assert_same_addr(&back.members[i].addr, &s->members[i].addr);
    assert_int_equal(back.members[i].status, s->members[i].status);
    assert_true(back.members[i].incarnation == s->members[i].incarnation);
  }
  assert_int_equal(swim_state_encode(&back, &again), 0);
  assert_int_equal(again.len, b.len);
  assert_memory_equal(again.data, b.data, b.len);
  free(back.members);
  buf_free(&b);
  buf_free(&again);
}

static void test_state_round_trips(void **state) {
  swim_state_t s = {.join = false, .n = 0, .members = NULL};
  state_round_trip(&s);
  s.join = true;
  state_round_trip(&s);
  s.members = calloc(SWIM_STATE_MAX, sizeof(*s.members));
  assert_non_null(s.members);
  for (size_t i = 0; i < SWIM_STATE_MAX; i++)
    sample_member(&s.members[i], i);
  static const size_t counts[] = {1, 15, 16, 100, SWIM_STATE_MAX};
  for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
    s.n = counts[c];
    s.join = c % 2;
    state_round_trip(&s);
  }
  free(s.members);
}

static void test_invalid_states_are_not_encoded(void **state) {
  swim_member_info_t *members = calloc(SWIM_STATE_MAX + 1, sizeof(*members));
  swim_state_t s = {.n = 1, .members = members};
  buf_t b;
  buf_init(&b);
  assert_non_null(members);
  for (size_t i = 0; i <= SWIM_STATE_MAX; i++)
    sample_member(&members[i], i);
  s.n = SWIM_STATE_MAX + 1;
  assert_int_equal(swim_state_encode(&s, &b), CHORUS_EINVAL);
  s.n = 1;
  s.members = NULL;
  assert_int_equal(swim_state_encode(&s, &b), CHORUS_EINVAL);
  s.members = members;
  members[0].status = (swim_status_t)0;
  assert_int_equal(swim_state_encode(&s, &b), CHORUS_EINVAL);
  sample_member(&members[0], 0);
  strcpy(members[0].id, "no spaces");
  assert_int_equal(swim_state_encode(&s, &b), CHORUS_EINVAL);
  sample_member(&members[0], 0);
  memset(members[0].addr.host, 'h', sizeof(members[0].addr.host));
  assert_int_equal(swim_state_encode(&s, &b), CHORUS_EINVAL);
  assert_int_equal(b.len, 0);
  buf_free(&b);
  free(members);
}

static void test_malformed_states_are_rejected(void **state) {
  static const uint8_t trailing[] = {0x00};
  const uint8_t *p = layout_state;
  size_t n = sizeof(layout_state);
  swim_state_t s;
  assert_int_equal(swim_state_decode(p, n, &s), 0);
  free(s.members);
  expect_truncations_corrupt(expect_state_corrupt, p, n);
  expect_spliced(expect_state_corrupt, p, n, n, 0, trailing, sizeof(trailing));
  expect_spliced(expect_state_corrupt, p, n, 0, 1, REP(0x01));
  expect_spliced(expect_state_corrupt, p, n, 1, 1, REP(0x93));
  expect_spliced(expect_state_corrupt, p, n, 1, 1, REP(0xdc, 0x00, 0x02));
  expect_spliced(expect_state_corrupt, p, n, 2, 1, REP(0xc0));
  expect_spliced(expect_state_corrupt, p, n, 2, 1, REP(0x01));
  expect_spliced(expect_state_corrupt, p, n, 3, 1, REP(0x92));
  expect_spliced(expect_state_corrupt, p, n, 3, 1, REP(0xdc, 0x00, 0x01));
  expect_spliced(expect_state_corrupt, p, n, 3, 1, REP(0xdc, 0x10, 0x01)); /* SWIM_STATE_MAX + 1 */
  expect_spliced(expect_state_corrupt, p, n, 3, 1, REP(0xdc, 0x10, 0x00)); /* more than the bytes can hold */
  expect_spliced(expect_state_corrupt, p, n, 4, 1, REP(0x94));
  expect_spliced(expect_state_corrupt, p, n, 5, 2, REP(0xa0));
  expect_spliced(expect_state_corrupt, p, n, 5, 2, REP(0xa1, 0x00));
  expect_spliced(expect_state_corrupt, p, n, 8, 2, REP(0xa1, 0x00));
  expect_spliced(expect_state_corrupt, p, n, 10, 1, REP(0xce, 0x00, 0x01, 0x00, 0x00));
  expect_spliced(expect_state_corrupt, p, n, 12, 1, REP(0x00));
  expect_spliced(expect_state_corrupt, p, n, 12, 1, REP(0x05));
  expect_spliced(expect_state_corrupt, p, n, 13, 1, REP(0xcc, 0x00));
  expect_spliced(expect_state_corrupt, p, n, 14, 1, REP(0x03)); /* a phase past SWIM_PHASE_LAST */
  /* A state whose last member only is broken frees the others. */
  swim_member_info_t members[20];
  swim_state_t many = {.n = 20, .members = members};
  for (size_t i = 0; i < 20; i++)
    sample_member(&members[i], i + 1);
  buf_t b;
  buf_init(&b);
  assert_int_equal(swim_state_encode(&many, &b), 0);
  expect_truncations_corrupt(expect_state_corrupt, b.data, b.len);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_names),
      cmocka_unit_test(test_encoding_follows_the_documented_layout),
      cmocka_unit_test(test_round_trips_every_type),
      cmocka_unit_test(test_round_trips_integer_boundaries),
      cmocka_unit_test(test_update_size_is_exact),
      cmocka_unit_test(test_base_size_bounds_every_encoding),
      cmocka_unit_test(test_invalid_messages_are_not_encoded),
      cmocka_unit_test(test_every_truncation_is_rejected),
      cmocka_unit_test(test_malformed_fields_are_rejected),
      cmocka_unit_test(test_string_limits),
      cmocka_unit_test(test_garbage_never_decodes_to_another_encoding),
      cmocka_unit_test(test_state_round_trips),
      cmocka_unit_test(test_invalid_states_are_not_encoded),
      cmocka_unit_test(test_malformed_states_are_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
