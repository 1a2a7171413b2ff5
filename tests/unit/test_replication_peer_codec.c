/* test_replication_peer_codec.c - peer transport codec: documented layout, round trips of
 * every message type at its limits, canonical form, rejection of malformed
 * input, frame splitting and building, and sealed frames.
 *
 * With CHORUS_PEER_CORPUS_DIR set, test_seed_frames_split_and_decode also
 * writes its frames there: the seed corpus of tests/fuzz/fuzz_peer_frame.c
 * (tests/fuzz/corpus/peer_frame/). */
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
#include "common/mpack.h"
#include "common/seal.h"
#include "replication/peer_codec.h"

static const char long_id[] =
    "node-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTU"; /* 64 chars */
_Static_assert(sizeof(long_id) == NODE_ID_MAX + 1, "longest id");

/* Bytes for bin and str fields: letters only, so they hold no NUL. */
#define FILLER_BYTES (128 * 1024)
#define WIDE_BIN 100000 /* needs bin32 */
static uint8_t filler[FILLER_BYTES];

static int setup_filler(void **state) {
  for (size_t i = 0; i < sizeof(filler); i++)
    filler[i] = (uint8_t)('a' + i % 26);
  return 0;
}

static peer_bytes_t some(size_t len) {
  peer_bytes_t b = {filler, len};
  return b;
}

static const peer_bytes_t nil = {NULL, 0};

/* i < 10000 as four decimal digits, so that ids sort as their numbers. */
static void four_digits(char *out, size_t i) {
  for (int k = 3; k >= 0; k--, i /= 10)
    out[k] = (char)('0' + i % 10);
}

/* SHORT: small non-nil fields; NILS: every nil-able field nil, the rest at
 * their minimum; LONGEST: every field at its limit or in its widest form. */
typedef enum { SHORT, NILS, LONGEST, VARIANTS } variant_t;

static void sample_clock(vv_t *clock, variant_t v) {
  static const uint64_t counters[] = {
      1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX};
  vv_clear(clock);
  size_t n = v == NILS ? 0 : v == LONGEST ? PEER_CLOCK_MAX : 3;
  for (size_t i = 0; i < n; i++) {
    char id[NODE_ID_MAX + 1];
    if (v == LONGEST) {
      memcpy(id, long_id, sizeof(id));
      four_digits(id, i); /* 64 chars, sorted by i */
    } else {
      snprintf(id, sizeof(id), "node-%zu", i);
    }
    assert_int_equal(vv_set(clock, id, counters[i % (sizeof(counters) / sizeof(counters[0]))]), 0);
  }
}

/* Node lists empty (NILS), of two ids (SHORT) or full of the longest ids. */
static void sample_forward_reply(peer_forward_reply_t *f, variant_t v) {
  static peer_nodes_t lists[PEER_FWD_LISTS];
  bool s = v == SHORT, l = v == LONGEST;
  f->lists = v == NILS ? NULL : lists;
  f->status = s ? CHORUS_ETIMEDOUT : l ? INT32_MIN : 0;
  f->flags = (uint8_t)(s ? PEER_FWD_QUORUM : l ? PEER_FWD_FLAGS : 0);
  f->event_id = s ? 42 : l ? UINT64_MAX : 0;
  f->record = s ? some(30) : l ? some(WIDE_BIN) : nil;
  f->required = (uint8_t)(s ? 2 : l ? UINT8_MAX : 0);
  snprintf(f->responsible, sizeof f->responsible, "%s", s ? "node-1" : l ? long_id : "");
  for (size_t k = 0; f->lists && k < PEER_FWD_LISTS; k++) {
    f->lists[k].n = (uint8_t)(s ? 2 : l ? PEER_NODES_MAX : 0);
    for (size_t i = 0; i < f->lists[k].n; i++) {
      if (l) {
        memcpy(f->lists[k].id[i], long_id, NODE_ID_MAX + 1);
        four_digits(f->lists[k].id[i], i);
      } else {
        snprintf(f->lists[k].id[i], NODE_ID_MAX + 1, "node-%zu", i + k);
      }
    }
  }
  /* the write's dot and what it replaced: none, two, or the most a record holds */
  static dvv_dot_t dots[PEER_DOTS_MAX - 1];
  f->dot.counter = s ? 7 : l ? UINT64_MAX : 0;
  snprintf(f->dot.node, sizeof f->dot.node, "%s", s ? "node-1" : long_id);
  f->replaced = (dvv_dots_t){dots, s ? 2 : l ? PEER_DOTS_MAX - 1 : 0};
  for (size_t i = 0; i < f->replaced.n; i++) {
    memcpy(dots[i].node, long_id, NODE_ID_MAX + 1);
    four_digits(dots[i].node, i);
    dots[i].counter = i + 1;
  }
}

static void sample_body(peer_msg_t *m, variant_t v) {
  bool s = v == SHORT, l = v == LONGEST;
  peer_bytes_t key = some(s ? 6 : l ? PEER_KEY_MAX : 1);
  peer_bytes_t request_id = s ? some(8) : l ? some(PEER_REQUEST_ID_MAX) : nil;
  switch (m->type) {
  case PEER_REPLICATE:
    m->replicate.op = s ? PEER_OP_PUT : l ? PEER_OP_HINT : PEER_OP_DELETE;
    m->replicate.key = key;
    m->replicate.record = some(s ? 40 : l ? WIDE_BIN : 0);
    strcpy(m->replicate.hint_for, s ? "node-c" : l ? long_id : "");
    m->replicate.request_id = request_id;
    break;
  case PEER_REPLICATE_ACK:
    m->replicate_ack.status = s ? 0 : l ? INT32_MIN : CHORUS_ENOTFOUND;
    m->replicate_ack.event_id = s ? 9 : l ? UINT64_MAX : 0;
    break;
  case PEER_READ:
    m->read.key = key;
    m->read.have = s ? some(30) : l ? some(WIDE_BIN) : nil;
    break;
  case PEER_READ_REPLY:
    m->read_reply.status = s ? 0 : l ? -129 : CHORUS_ENOTFOUND;
    m->read_reply.record = s ? some(40) : l ? some(WIDE_BIN) : nil;
    m->read_reply.covered = !s && !l; /* covered: no record */
    break;
  case PEER_FORWARD:
    m->forward.op = l ? PEER_OP_DELETE : PEER_OP_PUT;
    m->forward.key = key;
    m->forward.value = s ? some(5) : l ? some(70000) : nil;
    m->forward.context = s ? some(20) : l ? some(PEER_CONTEXT_MAX) : nil;
    m->forward.r = s ? 2 : l ? UINT8_MAX : 0;
    m->forward.w = s ? 3 : l ? UINT8_MAX : 0;
    m->forward.request_id = request_id;
    break;
  case PEER_FORWARD_REPLY: sample_forward_reply(&m->forward_reply, v); break;
  case PEER_EVENTS:
    m->events.since = s ? 12 : l ? UINT64_MAX : 0;
    m->events.limit = s ? 100 : l ? UINT32_MAX : 0;
    break;
  case PEER_EVENTS_REPLY:
    m->events_reply.status = s ? 0 : l ? -32 : -1;
    m->events_reply.events = some(s ? 2 : l ? WIDE_BIN : 0);
    break;
  case PEER_PUSH_PULL:
  case PEER_PUSH_PULL_REPLY: m->push_pull.state = some(s ? 50 : l ? WIDE_BIN : 0); break;
  case PEER_TREE:
    m->tree.ring_version = s ? 77 : l ? UINT64_MAX : 0;
    m->tree.level = (uint8_t)(s ? 2 : l ? PEER_TREE_LEVEL_MAX : 0);
    m->tree.nodes = some(s ? 16 : l ? 8 * PEER_TREE_NODES_MAX : 0);
    break;
  case PEER_TREE_REPLY:
    m->tree_reply.status = s ? 0 : l ? INT32_MIN : CHORUS_EAGAIN;
    m->tree_reply.hashes = some(s ? 16 : l ? 8 * PEER_TREE_NODES_MAX : 0);
    break;
  case PEER_TREE_KEYS:
    m->tree_keys.ring_version = s ? 77 : l ? UINT64_MAX : 0;
    m->tree_keys.segments = some(s ? 8 : l ? 4 * PEER_TREE_SEGMENTS_MAX : 0);
    break;
  case PEER_TREE_KEYS_REPLY:
    m->tree_keys_reply.status = s ? 0 : l ? -40 : CHORUS_ENOTFOUND;
    m->tree_keys_reply.keys = some(s ? 30 : l ? WIDE_BIN : 0);
    break;
  case PEER_RANGE:
    m->range.ranges = some(s ? 32 : l ? 16 * PEER_RANGES_MAX : 0);
    m->range.after = s ? some(12) : l ? some(8 + PEER_KEY_MAX) : (peer_bytes_t){NULL, 0};
    m->range.max_bytes = s ? 1 << 20 : l ? UINT32_MAX : 0;
    break;
  case PEER_RANGE_REPLY:
    m->range_reply.status = s ? 0 : l ? -40 : CHORUS_ENOTFOUND;
    m->range_reply.batch = some(s ? 40 : l ? WIDE_BIN : 0);
    m->range_reply.done = !s;
    break;
  case PEER_HANDOFF:
    m->handoff.mode = s ? PEER_HANDOFF_OFFER : PEER_HANDOFF_PUSH;
    m->handoff.batch = some(s ? 40 : l ? WIDE_BIN : 0);
    break;
  case PEER_HANDOFF_REPLY:
    m->handoff_reply.status = s ? 0 : l ? -40 : CHORUS_ENOTFOUND;
    m->handoff_reply.covered = some(s ? 3 : l ? PEER_COVERED_MAX : 0);
    break;
  case PEER_KEYRING: /* install a key, remove by id, list */
    m->keyring.op = s ? PEER_KEYS_INSTALL : l ? PEER_KEYS_REMOVE : PEER_KEYS_LIST;
    m->keyring.entry = s ? some(SEAL_KEY_BYTES) : l ? some(KEYRING_ID_BYTES) : nil;
    break;
  case PEER_KEYRING_REPLY:
    m->keyring_reply.status = s || l ? 0 : CHORUS_EBUSY;
    m->keyring_reply.ids = some(s ? KEYRING_ID_BYTES : l ? KEYRING_MAX * KEYRING_ID_BYTES : 0);
    break;
  default: break;
  }
}

/* m must be initialised; its clock is replaced. */
static void sample_msg(peer_msg_t *m, peer_type_t type, variant_t v) {
  vv_t clock = m->clock;
  memset(m, 0, sizeof(*m));
  m->clock = clock;
  m->type = type;
  m->req_id = v == LONGEST ? UINT64_MAX : v == SHORT ? 42 : 0;
  strcpy(m->from, v == LONGEST ? long_id : "node-a");
  sample_clock(&m->clock, v);
  sample_body(m, v);
}

static void assert_same_bytes(peer_bytes_t a, peer_bytes_t b) {
  assert_int_equal(a.p == NULL, b.p == NULL);
  assert_int_equal(a.len, b.len);
  if (a.len) assert_memory_equal(a.p, b.p, a.len);
}

static void assert_same_body(const peer_msg_t *a, const peer_msg_t *b) {
  switch (a->type) {
  case PEER_REPLICATE:
    assert_int_equal(a->replicate.op, b->replicate.op);
    assert_same_bytes(a->replicate.key, b->replicate.key);
    assert_same_bytes(a->replicate.record, b->replicate.record);
    assert_string_equal(a->replicate.hint_for, b->replicate.hint_for);
    assert_same_bytes(a->replicate.request_id, b->replicate.request_id);
    break;
  case PEER_REPLICATE_ACK:
    assert_int_equal(a->replicate_ack.status, b->replicate_ack.status);
    assert_true(a->replicate_ack.event_id == b->replicate_ack.event_id);
    break;
  case PEER_READ:
    assert_same_bytes(a->read.key, b->read.key);
    assert_same_bytes(a->read.have, b->read.have);
    break;
  case PEER_READ_REPLY:
    assert_int_equal(a->read_reply.status, b->read_reply.status);
    assert_same_bytes(a->read_reply.record, b->read_reply.record);
    assert_int_equal(a->read_reply.covered, b->read_reply.covered);
    break;
  case PEER_FORWARD:
    assert_int_equal(a->forward.op, b->forward.op);
    assert_same_bytes(a->forward.key, b->forward.key);
    assert_same_bytes(a->forward.value, b->forward.value);
    assert_same_bytes(a->forward.context, b->forward.context);
    assert_int_equal(a->forward.r, b->forward.r);
    assert_int_equal(a->forward.w, b->forward.w);
    assert_same_bytes(a->forward.request_id, b->forward.request_id);
    break;
  case PEER_FORWARD_REPLY: {
    const peer_forward_reply_t *x = &a->forward_reply, *y = &b->forward_reply;
    assert_int_equal(x->status, y->status);
    assert_int_equal(x->flags, y->flags);
    assert_true(x->event_id == y->event_id);
    assert_same_bytes(x->record, y->record);
    assert_int_equal(x->required, y->required);
    assert_string_equal(x->responsible, y->responsible);
    for (size_t k = 0; k < PEER_FWD_LISTS; k++) { /* no lists reads as empty ones */
      size_t nx = x->lists ? x->lists[k].n : 0, ny = y->lists ? y->lists[k].n : 0;
      assert_int_equal(nx, ny);
      for (size_t i = 0; i < nx; i++)
        assert_string_equal(x->lists[k].id[i], y->lists[k].id[i]);
    }
    assert_true(x->dot.counter == y->dot.counter);
    if (x->dot.counter) assert_string_equal(x->dot.node, y->dot.node);
    assert_int_equal(x->replaced.n, y->replaced.n);
    for (size_t i = 0; i < x->replaced.n; i++) {
      assert_string_equal(x->replaced.d[i].node, y->replaced.d[i].node);
      assert_true(x->replaced.d[i].counter == y->replaced.d[i].counter);
    }
    break;
  }
  case PEER_EVENTS:
    assert_true(a->events.since == b->events.since);
    assert_int_equal(a->events.limit, b->events.limit);
    break;
  case PEER_EVENTS_REPLY:
    assert_int_equal(a->events_reply.status, b->events_reply.status);
    assert_same_bytes(a->events_reply.events, b->events_reply.events);
    break;
  case PEER_PUSH_PULL:
  case PEER_PUSH_PULL_REPLY: assert_same_bytes(a->push_pull.state, b->push_pull.state); break;
  case PEER_TREE:
    assert_true(a->tree.ring_version == b->tree.ring_version);
    assert_int_equal(a->tree.level, b->tree.level);
    assert_same_bytes(a->tree.nodes, b->tree.nodes);
    break;
  case PEER_TREE_REPLY:
    assert_int_equal(a->tree_reply.status, b->tree_reply.status);
    assert_same_bytes(a->tree_reply.hashes, b->tree_reply.hashes);
    break;
  case PEER_TREE_KEYS:
    assert_true(a->tree_keys.ring_version == b->tree_keys.ring_version);
    assert_same_bytes(a->tree_keys.segments, b->tree_keys.segments);
    break;
  case PEER_TREE_KEYS_REPLY:
    assert_int_equal(a->tree_keys_reply.status, b->tree_keys_reply.status);
    assert_same_bytes(a->tree_keys_reply.keys, b->tree_keys_reply.keys);
    break;
  case PEER_RANGE:
    assert_same_bytes(a->range.ranges, b->range.ranges);
    assert_same_bytes(a->range.after, b->range.after);
    assert_int_equal(a->range.max_bytes, b->range.max_bytes);
    break;
  case PEER_RANGE_REPLY:
    assert_int_equal(a->range_reply.status, b->range_reply.status);
    assert_same_bytes(a->range_reply.batch, b->range_reply.batch);
    assert_int_equal(a->range_reply.done, b->range_reply.done);
    break;
  case PEER_HANDOFF:
    assert_int_equal(a->handoff.mode, b->handoff.mode);
    assert_same_bytes(a->handoff.batch, b->handoff.batch);
    break;
  case PEER_HANDOFF_REPLY:
    assert_int_equal(a->handoff_reply.status, b->handoff_reply.status);
    assert_same_bytes(a->handoff_reply.covered, b->handoff_reply.covered);
    break;
  case PEER_KEYRING:
    assert_int_equal(a->keyring.op, b->keyring.op);
    assert_same_bytes(a->keyring.entry, b->keyring.entry);
    break;
  case PEER_KEYRING_REPLY:
    assert_int_equal(a->keyring_reply.status, b->keyring_reply.status);
    assert_same_bytes(a->keyring_reply.ids, b->keyring_reply.ids);
    break;
  default: break;
  }
}

static void assert_same_msg(const peer_msg_t *a, const peer_msg_t *b) {
  assert_int_equal(a->type, b->type);
  assert_true(a->req_id == b->req_id);
  assert_string_equal(a->from, b->from);
  assert_true(vv_equal(&a->clock, &b->clock));
  assert_same_body(a, b);
}

static void encode_msg(const peer_msg_t *m, buf_t *b) {
  buf_init(b);
  assert_int_equal(peer_msg_encode(m, b), 0);
}

/* decode(encode(m)) == m and encode(decode(b)) == b. */
static void round_trip(const peer_msg_t *m) {
  static peer_msg_t back;
  buf_t b, again;
  encode_msg(m, &b);
  assert_one_msgpack_object(b.data, b.len);
  peer_msg_init(&back);
  assert_int_equal(peer_msg_decode(b.data, b.len, &back), 0);
  assert_same_msg(m, &back);
  encode_msg(&back, &again);
  assert_int_equal(again.len, b.len);
  assert_memory_equal(again.data, b.data, b.len);
  peer_msg_free(&back);
  buf_free(&b);
  buf_free(&again);
}

/* Refused, with nothing of the input left in the message. */
static void expect_corrupt(const void *p, size_t len) {
  static peer_msg_t m;
  peer_msg_init(&m);
  assert_int_equal(vv_set(&m.clock, "stale", 5), 0);
  m.type = PEER_PING;
  strcpy(m.from, "stale");
  assert_int_equal(peer_msg_decode(p, len, &m), CHORUS_ECORRUPT);
  assert_int_equal(m.type, 0);
  assert_true(m.req_id == 0);
  assert_string_equal(m.from, "");
  assert_int_equal(m.clock.n, 0);
  assert_null(m.replicate.key.p);
  peer_msg_free(&m);
}

/* A forward reply whose dots are one: node "a", counter 5. */
static void expect_dot_a5(const void *p, size_t len) {
  peer_msg_t m;
  peer_msg_init(&m);
  assert_int_equal(peer_msg_decode(p, len, &m), 0);
  assert_int_equal(m.type, PEER_FORWARD_REPLY);
  assert_string_equal(m.forward_reply.dot.node, "a");
  assert_true(m.forward_reply.dot.counter == 5);
  assert_int_equal(m.forward_reply.replaced.n, 0);
  peer_msg_free(&m);
}

/* A REPLICATE, req_id 128, from "n", empty clock, hint delivery of key "k",
 * record "CR" to owner "o", no request id. */
static const uint8_t layout_replicate[] = {0x02, 0x95, 0x01, 0xcc, 0x80, 0xa1, 'n', 0x80, 0x95, 0x04,
                                           0xc4, 0x01, 'k',  0xc4, 0x02, 'C',  'R', 0xa1, 'o',  0xc0};
/* A REPLICATE_ACK, req_id 7, from "a", clock {a: 1, b: 300}, status
 * CHORUS_ECORRUPT, no event. */
static const uint8_t layout_ack[] = {0x02, 0x95, 0x02, 0x07, 0xa1, 'a',  0x82, 0xa1, 'a',
                                     0x01, 0xa1, 'b',  0xcd, 0x01, 0x2c, 0x92, 0xfd, 0x00};
/* A PING, req_id 0, from "n", empty clock; the clock is byte 6. */
static const uint8_t layout_ping[] = {0x02, 0x95, 0x09, 0x00, 0xa1, 'n', 0x80, 0x90};
#define PING_CLOCK_AT 6

static void test_encoding_follows_the_documented_layout(void **state) {
  peer_msg_t m;
  buf_t b;
  peer_msg_init(&m);
  m.type = PEER_REPLICATE;
  m.req_id = 128;
  strcpy(m.from, "n");
  m.replicate.op = PEER_OP_HINT;
  m.replicate.key.p = (const uint8_t *)"k";
  m.replicate.key.len = 1;
  m.replicate.record.p = (const uint8_t *)"CR";
  m.replicate.record.len = 2;
  strcpy(m.replicate.hint_for, "o");
  encode_msg(&m, &b);
  assert_int_equal(b.len, sizeof(layout_replicate));
  assert_memory_equal(b.data, layout_replicate, sizeof(layout_replicate));
  buf_free(&b);

  peer_msg_free(&m);
  m.type = PEER_REPLICATE_ACK;
  m.req_id = 7;
  strcpy(m.from, "a");
  assert_int_equal(vv_set(&m.clock, "b", 300), 0);
  assert_int_equal(vv_set(&m.clock, "a", 1), 0);
  m.replicate_ack.status = CHORUS_ECORRUPT;
  encode_msg(&m, &b);
  assert_int_equal(b.len, sizeof(layout_ack));
  assert_memory_equal(b.data, layout_ack, sizeof(layout_ack));
  buf_free(&b);

  peer_msg_free(&m);
  m.type = PEER_PING;
  strcpy(m.from, "n");
  encode_msg(&m, &b);
  assert_int_equal(b.len, sizeof(layout_ping));
  assert_memory_equal(b.data, layout_ping, sizeof(layout_ping));
  buf_free(&b);
  peer_msg_free(&m);
}

static void test_round_trips_every_type_and_variant(void **state) {
  peer_msg_t m;
  peer_msg_init(&m);
  for (int type = PEER_REPLICATE; type <= PEER_TYPE_LAST; type++)
    for (int v = 0; v < VARIANTS; v++) {
      sample_msg(&m, (peer_type_t)type, (variant_t)v);
      round_trip(&m);
    }
  peer_msg_free(&m);
}

static void test_round_trips_integer_boundaries(void **state) {
  static const uint64_t u64s[] = {
      0, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX};
  static const int32_t statuses[] = {0, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN};
  peer_msg_t m;
  peer_msg_init(&m);
  for (size_t i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++) {
    sample_msg(&m, PEER_EVENTS, SHORT);
    m.req_id = m.events.since = u64s[i];
    m.events.limit = (uint32_t)(u64s[i] > UINT32_MAX ? UINT32_MAX : u64s[i]);
    round_trip(&m);
    sample_msg(&m, PEER_FORWARD, SHORT);
    m.forward.r = m.forward.w = (uint8_t)(u64s[i] > UINT8_MAX ? UINT8_MAX : u64s[i]);
    round_trip(&m);
  }
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
    sample_msg(&m, PEER_REPLICATE_ACK, SHORT);
    m.replicate_ack.status = statuses[i];
    round_trip(&m);
  }
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
    sample_msg(&m, PEER_FORWARD_REPLY, SHORT);
    m.forward_reply.status = statuses[i];
    round_trip(&m);
  }
  peer_msg_free(&m);
}

static void expect_not_encoded(const peer_msg_t *m, int rc) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, "x", 1);
  assert_int_equal(peer_msg_encode(m, &b), rc);
  assert_int_equal(b.len, 1);
  buf_free(&b);
}

/* A REPLICATE with every field at its limit, the record included, fits a
 * frame, sealed, and comes out whole; one byte more record is refused by
 * the encoder. */
static void test_largest_replicate_fits_a_sealed_frame(void **state) {
  static const uint8_t key[SEAL_KEY_BYTES] = {1};
  peer_msg_t m, back;
  buf_t plain, frame, opened;
  uint8_t *record = malloc(PEER_RECORD_MAX + 1);
  assert_non_null(record);
  memset(record, 0x5a, PEER_RECORD_MAX + 1);
  peer_msg_init(&m);
  peer_msg_init(&back);
  sample_msg(&m, PEER_REPLICATE, LONGEST);
  m.replicate.record.p = record;
  m.replicate.record.len = PEER_RECORD_MAX;
  encode_msg(&m, &plain);
  buf_init(&frame);
  size_t start = peer_frame_begin(&frame);
  assert_int_equal(seal_box(key, plain.data, plain.len, &frame), 0);
  assert_int_equal(peer_frame_finish(&frame, start, PEER_FRAME_MAX), 0);
  buf_free(&plain);
  const uint8_t *payload;
  size_t len, consumed;
  assert_int_equal(peer_frame_split(frame.data, frame.len, PEER_FRAME_MAX, &payload, &len, &consumed), 0);
  buf_init(&opened);
  assert_int_equal(seal_open(key, payload, len, &opened), 0);
  buf_free(&frame);
  assert_int_equal(peer_msg_decode(opened.data, opened.len, &back), 0);
  assert_same_msg(&m, &back);
  buf_free(&opened);
  m.replicate.record.len = PEER_RECORD_MAX + 1;
  expect_not_encoded(&m, CHORUS_ETOOBIG);
  peer_msg_free(&m);
  peer_msg_free(&back);
  free(record);
}

/* One way to make a message unencodable per k, with the code the encoder
 * must give; false past the last. */
static bool break_msg(peer_msg_t *m, int k, int *rc) {
  static const uint8_t with_nul[] = {'a', 0, 'b'};
  static const peer_bytes_t nul_str = {with_nul, sizeof(with_nul)};
  *rc = CHORUS_EINVAL;
  switch (k) {
  case 0: m->type = (peer_type_t)0; break;
  case 1: m->type = (peer_type_t)(PEER_TYPE_LAST + 1); break;
  case 2: m->from[0] = '\0'; break;
  case 3: strcpy(m->from, "bad id"); break;
  case 4: memset(m->from, 'a', sizeof(m->from)); break;
  case 5: m->replicate.op = (peer_op_t)0; break;
  case 6: m->replicate.op = (peer_op_t)(PEER_OP_REAP + 1); break;
  case 7: m->replicate.key = some(0); break;
  case 8: m->replicate.key = nil; break;
  case 9: m->replicate.key = some(PEER_KEY_MAX + 1), *rc = CHORUS_ETOOBIG; break;
  case 10: m->replicate.record = nil; break;
  case 11: strcpy(m->replicate.hint_for, "x/y"); break;
  case 12: m->replicate.request_id = some(PEER_REQUEST_ID_MAX + 1), *rc = CHORUS_ETOOBIG; break;
  case 13: m->replicate.request_id = nul_str; break;
  default: return false;
  }
  return true;
}

/* The same for READ and the replies: the body union is cleared (all zero is
 * nil views and status 0) and one field is broken. */
static bool break_other(peer_msg_t *m, int k, int *rc) {
  static const peer_type_t types[] = {PEER_REPLICATE_ACK, PEER_READ_REPLY,    PEER_EVENTS_REPLY,
                                      PEER_FORWARD_REPLY, PEER_FORWARD_REPLY, PEER_FORWARD_REPLY,
                                      PEER_READ,          PEER_FORWARD_REPLY, PEER_FORWARD_REPLY,
                                      PEER_KEYRING,       PEER_KEYRING,       PEER_KEYRING_REPLY,
                                      PEER_KEYRING_REPLY};
  if (k >= (int)(sizeof(types) / sizeof(types[0]))) return false;
  *rc = CHORUS_EINVAL;
  m->type = types[k];
  memset((char *)m + offsetof(peer_msg_t, replicate), 0, sizeof(*m) - offsetof(peer_msg_t, replicate));
  switch (m->type) {
  case PEER_REPLICATE_ACK: m->replicate_ack.status = 1; break;
  case PEER_READ_REPLY: m->read_reply.status = 1; break;
  case PEER_FORWARD_REPLY: /* a positive status, an unknown flag, a bad node id in a list,
                              replaced dots without a dot of its own, or a dot of counter 0 */
    m->forward_reply.status = k == 3 ? 1 : 0;
    m->forward_reply.flags = k == 4 ? PEER_FWD_FLAGS + 1 : 0;
    if (k == 5) {
      static peer_nodes_t bad[PEER_FWD_LISTS];
      bad[PEER_FWD_OK].n = 1;
      strcpy(bad[PEER_FWD_OK].id[0], "x/y");
      m->forward_reply.lists = bad;
    }
    if (k >= 7) {
      static dvv_dot_t one[1] = {{"node-2", 0}};
      m->forward_reply.dot = (dvv_dot_t){"node-1", k == 7 ? 0 : 3};
      m->forward_reply.replaced = (dvv_dots_t){one, 1};
    }
    break;
  case PEER_KEYRING: /* an id where a key belongs; a list carrying an entry */
    m->keyring.op = k == 9 ? PEER_KEYS_INSTALL : PEER_KEYS_LIST;
    m->keyring.entry = (peer_bytes_t){(const uint8_t *)"12345678", KEYRING_ID_BYTES};
    break;
  case PEER_KEYRING_REPLY: /* a success without ids; ids that are not whole */
    m->keyring_reply.ids = (peer_bytes_t){(const uint8_t *)"123456789abc", k == 11 ? 0 : 12};
    break;
  default: break; /* PEER_EVENTS_REPLY: nil events; PEER_READ: nil key */
  }
  return true;
}

static void test_invalid_messages_are_not_encoded(void **state) {
  static const uint8_t with_nul[] = {'a', 0};
  peer_msg_t m;
  int rc;
  peer_msg_init(&m);
  for (int k = 0;; k++) {
    sample_msg(&m, PEER_REPLICATE, SHORT);
    if (!break_msg(&m, k, &rc)) break;
    expect_not_encoded(&m, rc);
  }
  for (int k = 0;; k++) {
    sample_msg(&m, PEER_REPLICATE, SHORT);
    if (!break_other(&m, k, &rc)) break;
    expect_not_encoded(&m, rc);
  }
  sample_msg(&m, PEER_FORWARD, SHORT);
  m.forward.op = PEER_OP_READ_REPAIR;
  expect_not_encoded(&m, CHORUS_EINVAL);
  sample_msg(&m, PEER_FORWARD, SHORT);
  m.forward.context.p = with_nul;
  m.forward.context.len = sizeof(with_nul);
  expect_not_encoded(&m, CHORUS_EINVAL);
  sample_msg(&m, PEER_FORWARD, SHORT);
  m.forward.context = some(PEER_CONTEXT_MAX + 1);
  expect_not_encoded(&m, CHORUS_ETOOBIG);
  sample_msg(&m, PEER_PING, LONGEST);
  assert_int_equal(vv_set(&m.clock, "zzz", 1), 0); /* PEER_CLOCK_MAX + 1 entries */
  expect_not_encoded(&m, CHORUS_ETOOBIG);
  /* Tree messages: a level past the deepest tree, packed fields that are
   * not whole items or hold too many, a nil, a positive status. */
  sample_msg(&m, PEER_TREE, SHORT);
  m.tree.level = PEER_TREE_LEVEL_MAX + 1;
  expect_not_encoded(&m, CHORUS_EINVAL);
  sample_msg(&m, PEER_TREE, SHORT);
  m.tree.nodes = some(12);
  expect_not_encoded(&m, CHORUS_EINVAL);
  sample_msg(&m, PEER_TREE, SHORT);
  m.tree.nodes = some(8 * (PEER_TREE_NODES_MAX + 1));
  expect_not_encoded(&m, CHORUS_ETOOBIG);
  sample_msg(&m, PEER_TREE_REPLY, SHORT);
  m.tree_reply.status = 1;
  expect_not_encoded(&m, CHORUS_EINVAL);
  sample_msg(&m, PEER_TREE_KEYS, SHORT);
  m.tree_keys.segments = some(6);
  expect_not_encoded(&m, CHORUS_EINVAL);
  sample_msg(&m, PEER_TREE_KEYS, SHORT);
  m.tree_keys.segments = nil;
  expect_not_encoded(&m, CHORUS_EINVAL);
  sample_msg(&m, PEER_TREE_KEYS_REPLY, SHORT);
  m.tree_keys_reply.keys = some(PEER_RECORD_MAX + 1);
  expect_not_encoded(&m, CHORUS_ETOOBIG);
  peer_msg_free(&m);
}

static void test_every_truncation_is_rejected(void **state) {
  peer_msg_t m;
  peer_msg_init(&m);
  expect_truncations_corrupt(expect_corrupt, layout_replicate, sizeof(layout_replicate));
  expect_truncations_corrupt(expect_corrupt, layout_ack, sizeof(layout_ack));
  for (int type = PEER_REPLICATE; type <= PEER_TYPE_LAST; type++)
    for (int v = SHORT; v <= NILS; v++) {
      buf_t b;
      sample_msg(&m, (peer_type_t)type, (variant_t)v);
      encode_msg(&m, &b);
      expect_truncations_corrupt(expect_corrupt, b.data, b.len);
      buf_free(&b);
    }
  peer_msg_free(&m);
}

static void test_trailing_bytes_are_rejected(void **state) {
  peer_msg_t m;
  peer_msg_init(&m);
  for (int type = PEER_REPLICATE; type <= PEER_TYPE_LAST; type++) {
    buf_t b;
    sample_msg(&m, (peer_type_t)type, SHORT);
    encode_msg(&m, &b);
    expect_spliced(expect_corrupt, b.data, b.len, b.len, 0, REP(0x00));
    expect_spliced(expect_corrupt, b.data, b.len, b.len, 0, REP(0xc0));
    buf_free(&b);
  }
  peer_msg_free(&m);
}

static void test_unknown_version_is_rejected(void **state) {
  const uint8_t *p = layout_ping;
  size_t n = sizeof(layout_ping);
  expect_spliced(expect_corrupt, p, n, 0, 1, REP(0x00));
  expect_spliced(expect_corrupt, p, n, 0, 1, REP(0x01)); /* before PEER_FORWARD_REPLY's outcome as data */
  expect_spliced(expect_corrupt, p, n, 0, 1, REP(0x03));
  expect_spliced(expect_corrupt, p, n, 0, 1, REP(0x95)); /* no version byte at all */
  expect_spliced(expect_corrupt, p, n, 0, 1, REP(0xff));
}

/* A covered read reply says the record need not travel: one with a record is refused both ways. */
static void test_a_covered_read_reply_carries_no_record(void **state) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_READ_REPLY;
  strcpy(m.from, "n");
  m.read_reply.covered = true;
  m.read_reply.record = (peer_bytes_t){(const uint8_t *)"CR", 2};
  buf_t b;
  buf_init(&b);
  assert_int_equal(peer_msg_encode(&m, &b), CHORUS_EINVAL);
  m.read_reply.covered = false;
  buf_reset(&b);
  assert_int_equal(peer_msg_encode(&m, &b), 0);
  assert_int_equal(b.data[b.len - 1], 0xc2); /* covered: false, the body's last field */
  b.data[b.len - 1] = 0xc3;                  /* true, with the record still there */
  expect_corrupt(b.data, b.len);
  buf_free(&b);
  peer_msg_free(&m);
}

static void test_unknown_type_is_rejected(void **state) {
  const uint8_t *p = layout_ping;
  size_t n = sizeof(layout_ping);
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0x00));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0x0d));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0x7f));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xcc, 0x09)); /* not the shortest form */
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xcd, 0x01, 0x09));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xff)); /* -1 */
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xc0));
  expect_spliced(expect_corrupt, p, n, 2, 1, REP(0xa1, 0x09));
}

static void test_unknown_op_is_rejected(void **state) {
  peer_msg_t m;
  buf_t b;
  const uint8_t *p = layout_replicate;
  size_t n = sizeof(layout_replicate);
  expect_spliced(expect_corrupt, p, n, 9, 1, REP(0x00));
  expect_spliced(expect_corrupt, p, n, 9, 1, REP(0x07));
  expect_spliced(expect_corrupt, p, n, 9, 1, REP(0xcc, 0xff));
  expect_spliced(expect_corrupt, p, n, 9, 1, REP(0xcc, 0x04));
  /* A forward carries only puts and deletes; its op is the first body field. */
  peer_msg_init(&m);
  sample_msg(&m, PEER_FORWARD, NILS);
  encode_msg(&m, &b);
  size_t op_at = b.len - 9; /* op, key "a", nil, nil, r, w, nil */
  assert_int_equal(b.data[op_at - 1], 0x97);
  assert_int_equal(b.data[op_at], PEER_OP_PUT);
  expect_spliced(expect_corrupt, b.data, b.len, op_at, 1, REP(PEER_OP_READ_REPAIR));
  expect_spliced(expect_corrupt, b.data, b.len, op_at, 1, REP(PEER_OP_HINT));
  expect_spliced(expect_corrupt, b.data, b.len, op_at, 1, REP(0x00));
  buf_free(&b);
  peer_msg_free(&m);
}

static void test_wrong_arity_is_rejected(void **state) {
  peer_msg_t m;
  peer_msg_init(&m);
  /* the outer array */
  expect_spliced(expect_corrupt, layout_ping, sizeof(layout_ping), 1, 1, REP(0x94));
  expect_spliced(expect_corrupt, layout_ping, sizeof(layout_ping), 1, 1, REP(0x96));
  expect_spliced(expect_corrupt, layout_ping, sizeof(layout_ping), 1, 1, REP(0xdc, 0x00, 0x05));
  expect_spliced(expect_corrupt, layout_ping, sizeof(layout_ping), 1, 1, REP(0x85)); /* a map */
  /* every body, one field short and one too many (a trailing nil) */
  for (int type = PEER_REPLICATE; type <= PEER_TYPE_LAST; type++) {
    buf_t b;
    sample_msg(&m, (peer_type_t)type, NILS);
    encode_msg(&m, &b);
    size_t at =
        1 + 1 + 1 + 1 + 1 + strlen(m.from) + 1; /* version, header, type, req_id 0, from, empty clock */
    uint8_t head = b.data[at];
    assert_int_equal(head & 0xf0, 0x90);
    if (head > 0x90) expect_spliced(expect_corrupt, b.data, b.len, at, 1, REP((uint8_t)(head - 1)));
    buf_t more;
    buf_init(&more);
    buf_put(&more, b.data, b.len);
    buf_put_u8(&more, 0xc0);
    expect_spliced(expect_corrupt, more.data, more.len, at, 1, REP((uint8_t)(head + 1)));
    expect_spliced(expect_corrupt, b.data, b.len, at, 1, REP(0xc0)); /* not an array */
    buf_free(&more);
    buf_free(&b);
  }
  peer_msg_free(&m);
}

static void test_out_of_range_ints_are_rejected(void **state) {
  peer_msg_t m;
  buf_t b;
  const uint8_t *p = layout_ack;
  size_t n = sizeof(layout_ack);
  /* status: positive, below INT32_MIN, not shortest, not an int */
  expect_spliced(expect_corrupt, p, n, 16, 1, REP(0x01));
  expect_spliced(expect_corrupt, p, n, 16, 1, REP(0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff));
  expect_spliced(expect_corrupt, p, n, 16, 1, REP(0xd0, 0xfd));
  expect_spliced(expect_corrupt, p, n, 16, 1, REP(0xd1, 0xff, 0xfd));
  expect_spliced(expect_corrupt, p, n, 16, 1, REP(0xd0, 0x01)); /* +1 in a signed form */
  expect_spliced(expect_corrupt, p, n, 16, 1, REP(0xc2));
  /* event_id, req_id and clock counter: not shortest, float */
  expect_spliced(expect_corrupt, p, n, 17, 1, REP(0xcc, 0x00));
  expect_spliced(expect_corrupt, p, n, 17, 1, REP(0xca, 0x00, 0x00, 0x00, 0x00));
  expect_spliced(expect_corrupt, p, n, 3, 1, REP(0xcf, 0, 0, 0, 0, 0, 0, 0, 0x07));
  expect_spliced(expect_corrupt, p, n, 12, 3, REP(0xce, 0x00, 0x00, 0x01, 0x2c));
  /* forward: r, w over a byte */
  peer_msg_init(&m);
  sample_msg(&m, PEER_FORWARD, NILS);
  encode_msg(&m, &b);
  expect_spliced(expect_corrupt, b.data, b.len, b.len - 3, 1, REP(0xcd, 0x01, 0x00));
  expect_spliced(expect_corrupt, b.data, b.len, b.len - 2, 1, REP(0xcd, 0x01, 0x00));
  buf_free(&b);
  /* forward reply: an unknown flag, required over a byte, a dot of counter
   * 0; its NILS form ends flags, event_id, nil record, required, nil
   * responsible, six empty lists and no dots */
  sample_msg(&m, PEER_FORWARD_REPLY, NILS);
  encode_msg(&m, &b);
  assert_int_equal(b.data[b.len - 1], 0x90);
  assert_int_equal(b.data[b.len - 9], 0);
  expect_spliced(expect_corrupt, b.data, b.len, b.len - 12, 1, REP(PEER_FWD_FLAGS + 1));
  expect_spliced(expect_corrupt, b.data, b.len, b.len - 9, 1, REP(0xcd, 0x01, 0x00));
  expect_spliced(expect_corrupt, b.data, b.len, b.len - 1, 1, REP(0x91, 0x92, 0xa1, 'a', 0x00));
  expect_spliced(expect_dot_a5, b.data, b.len, b.len - 1, 1, REP(0x91, 0x92, 0xa1, 'a', 0x05));
  buf_free(&b);
  /* events: limit over 32 bits */
  sample_msg(&m, PEER_EVENTS, NILS);
  encode_msg(&m, &b);
  expect_spliced(expect_corrupt, b.data, b.len, b.len - 1, 1, REP(0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0));
  buf_free(&b);
  peer_msg_free(&m);
}

/* A forward reply of twelve fields, as a node of an earlier version sends
 * it (no dots), still decodes; eleven do not. */
static void test_a_forward_reply_without_dots_decodes(void **state) {
  peer_msg_t m;
  buf_t b;
  peer_msg_init(&m);
  buf_init(&b);
  sample_msg(&m, PEER_FORWARD_REPLY, SHORT);
  m.forward_reply.dot.counter = 0;
  m.forward_reply.replaced.n = 0;
  encode_msg(&m, &b);
  assert_int_equal(b.data[b.len - 1], 0x90); /* the empty dots */
  /* the body's array header: the first 0x9d after the from and the clock */
  size_t at = 0;
  while (at < b.len && b.data[at] != 0x9d)
    at++;
  assert_true(at < b.len);
  b.data[at] = 0x9c;
  peer_msg_t back;
  peer_msg_init(&back);
  assert_int_equal(peer_msg_decode(b.data, b.len - 1, &back), 0);
  assert_int_equal(back.type, PEER_FORWARD_REPLY);
  assert_true(back.forward_reply.event_id == 42);
  assert_true(back.forward_reply.dot.counter == 0);
  assert_int_equal(back.forward_reply.lists[PEER_FWD_PENDING].n, 2);
  b.data[at] = 0x9b;
  expect_corrupt(b.data, b.len - 1);
  peer_msg_free(&back);
  peer_msg_free(&m);
  buf_free(&b);
}

/* Keys: 0 bytes and PEER_KEY_MAX + 1 are refused, PEER_KEY_MAX decodes; a
 * key must be bin, not str or nil. */
static void test_key_length_limits(void **state) {
  const uint8_t *p = layout_replicate;
  size_t n = sizeof(layout_replicate);
  uint8_t rep[3 + PEER_KEY_MAX + 1];
  rep[0] = 0xc5;
  memset(rep + 3, 'k', PEER_KEY_MAX + 1);
  for (size_t len = PEER_KEY_MAX - 1; len <= PEER_KEY_MAX + 1; len++) {
    rep[1] = (uint8_t)(len >> 8);
    rep[2] = (uint8_t)len;
    buf_t b;
    buf_init(&b);
    buf_put(&b, p, 10);
    buf_put(&b, rep, 3 + len);
    buf_put(&b, p + 13, n - 13);
    peer_msg_t m;
    peer_msg_init(&m);
    if (len <= PEER_KEY_MAX) {
      assert_int_equal(peer_msg_decode(b.data, b.len, &m), 0);
      assert_int_equal(m.replicate.key.len, len);
    } else {
      expect_corrupt(b.data, b.len);
    }
    peer_msg_free(&m);
    buf_free(&b);
  }
  expect_spliced(expect_corrupt, p, n, 10, 3, REP(0xc4, 0x00));
  expect_spliced(expect_corrupt, p, n, 10, 3, REP(0xa1, 'k'));
  expect_spliced(expect_corrupt, p, n, 10, 3, REP(0xc0));
  expect_spliced(expect_corrupt, p, n, 10, 3, REP(0xc5, 0x00, 0x01, 'k')); /* not shortest */
}

/* Which fields may be nil, and what str fields may hold. */
static void test_nil_and_str_rules(void **state) {
  const uint8_t *p = layout_replicate;
  size_t n = sizeof(layout_replicate);
  expect_spliced(expect_corrupt, p, n, 13, 4, REP(0xc0));            /* record */
  expect_spliced(expect_corrupt, p, n, 17, 2, REP(0xa0));            /* hint_for: empty */
  expect_spliced(expect_corrupt, p, n, 17, 2, REP(0xa1, '/'));       /* hint_for: not an id */
  expect_spliced(expect_corrupt, p, n, 17, 2, REP(0xc4, 0x01, 'o')); /* hint_for: bin */
  expect_spliced(expect_corrupt, p, n, 19, 1, REP(0xa2, 'r', 0x00)); /* request_id: NUL */
  expect_spliced(expect_corrupt, p, n, 19, 1, REP(0xc4, 0x01, 'r')); /* request_id: bin */
  expect_spliced(expect_corrupt, p, n, 19, 1, REP(0xd9, 0x01, 'r')); /* request_id: not shortest */
  expect_spliced(expect_corrupt, p, n, 5, 2, REP(0xc0));             /* from: nil */
  expect_spliced(expect_corrupt, p, n, 5, 2, REP(0xa0));             /* from: empty */
  expect_spliced(expect_corrupt, p, n, 5, 2, REP(0xa2, 'n', 0x00));  /* from: NUL */
  expect_spliced(expect_corrupt, p, n, 7, 1, REP(0xc0));             /* clock: nil */
  uint8_t rep[1 + 2 + PEER_REQUEST_ID_MAX + 1] = {0xd9, PEER_REQUEST_ID_MAX + 1};
  memset(rep + 2, 'r', sizeof(rep) - 2);
  expect_spliced(expect_corrupt, p, n, 19, 1, rep, 2 + PEER_REQUEST_ID_MAX + 1);
  rep[1] = PEER_REQUEST_ID_MAX;
  peer_msg_t m;
  buf_t b;
  buf_init(&b);
  buf_put(&b, p, 19);
  buf_put(&b, rep, 2 + PEER_REQUEST_ID_MAX);
  peer_msg_init(&m);
  assert_int_equal(peer_msg_decode(b.data, b.len, &m), 0);
  assert_int_equal(m.replicate.request_id.len, PEER_REQUEST_ID_MAX);
  assert_string_equal(m.replicate.hint_for, "o");
  buf_free(&b);
  peer_msg_free(&m);
}

/* layout_ping with its clock replaced by clock[0..len). */
static int decode_ping_with_clock(const uint8_t *clock, size_t len, peer_msg_t *m) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, layout_ping, PING_CLOCK_AT);
  buf_put(&b, clock, len);
  buf_put(&b, layout_ping + PING_CLOCK_AT + 1, sizeof(layout_ping) - PING_CLOCK_AT - 1);
  assert_int_equal(b.err, 0);
  int rc = peer_msg_decode(b.data, b.len, m);
  buf_free(&b);
  return rc;
}

/* A clock of n entries "0000".."nnnn", counter 1 each, as map16. */
static void clock_of(size_t n, buf_t *b) {
  buf_init(b);
  buf_put_u8(b, 0xde);
  buf_put_u16be(b, (uint16_t)n);
  for (size_t i = 0; i < n; i++) {
    char id[4];
    four_digits(id, i);
    buf_put_u8(b, 0xa4);
    buf_put(b, id, 4);
    buf_put_u8(b, 0x01);
  }
}

static void test_clock_rules(void **state) {
  const uint8_t *p = layout_ping;
  size_t n = sizeof(layout_ping);
  size_t at = PING_CLOCK_AT;
  peer_msg_t m;
  peer_msg_init(&m);
  assert_int_equal(decode_ping_with_clock(REP(0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x02), &m), 0);
  assert_int_equal(m.clock.n, 2);
  assert_true(vv_get(&m.clock, "b") == 2);
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x81, 0xa1, ' ', 0x01));       /* invalid id */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x81, 0xa1, 0x00, 0x01));      /* NUL id */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x81, 0xa0, 0x01));            /* empty id */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x81, 0xc4, 0x01, 'a', 0x01)); /* bin id */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x81, 0x01, 0x01));            /* int id */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x81, 0xa1, 'a', 0x00));       /* zero counter */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x81, 0xa1, 'a', 0xff));       /* negative counter */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x81, 0xa1, 'a', 0xc0));       /* nil counter */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x82, 0xa1, 'b', 0x01, 0xa1, 'a', 0x01)); /* unsorted */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02)); /* duplicate */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0xde, 0x00, 0x01, 0xa1, 'a', 0x01));      /* not shortest */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0x91, 0xa1, 'a'));                        /* an array */
  expect_spliced(expect_corrupt, p, n, at, 1, REP(0xdf, 0xff, 0xff, 0xff, 0xff));           /* huge count */
  /* An id of NODE_ID_MAX + 1 characters. */
  uint8_t rep[3 + NODE_ID_MAX + 2] = {0x81, 0xd9, NODE_ID_MAX + 1};
  memset(rep + 3, 'i', NODE_ID_MAX + 1);
  rep[3 + NODE_ID_MAX + 1] = 0x01;
  expect_spliced(expect_corrupt, p, n, at, 1, rep, sizeof(rep));
  /* PEER_CLOCK_MAX entries decode, one more does not. */
  buf_t clock;
  clock_of(PEER_CLOCK_MAX, &clock);
  assert_int_equal(decode_ping_with_clock(clock.data, clock.len, &m), 0);
  assert_int_equal(m.clock.n, PEER_CLOCK_MAX);
  buf_free(&clock);
  clock_of(PEER_CLOCK_MAX + 1, &clock);
  expect_spliced(expect_corrupt, p, n, at, 1, clock.data, clock.len);
  buf_free(&clock);
  peer_msg_free(&m);
}

/* Random bytes and random bit flips of valid encodings never crash, and
 * whatever decodes re-encodes to exactly the input. */
static void test_garbage_never_decodes_to_another_encoding(void **state) {
  static uint8_t junk[512];
  uint64_t x = 0x9e3779b97f4a7c15ull;
  peer_msg_t m;
  buf_t valid[PEER_TYPE_LAST + 1];
  peer_msg_init(&m);
  for (int type = PEER_REPLICATE; type <= PEER_TYPE_LAST; type++) {
    sample_msg(&m, (peer_type_t)type, (variant_t)(type % 2 ? SHORT : NILS));
    encode_msg(&m, &valid[type]);
    assert_true(valid[type].len <= sizeof(junk));
  }
  static const uint8_t head[] = {PEER_WIRE_VERSION, 0x95};
  for (int iter = 0; iter < 200000; iter++) {
    const buf_t *sample = &valid[PEER_REPLICATE + next_random(&x) % PEER_TYPE_LAST];
    size_t len = garbage_input(&x, iter, junk, sizeof(junk), head, sizeof(head), sample);
    if (peer_msg_decode(junk, len, &m) != 0) continue;
    buf_t again;
    encode_msg(&m, &again);
    assert_int_equal(again.len, len);
    assert_memory_equal(again.data, junk, len);
    buf_free(&again);
  }
  for (int type = PEER_REPLICATE; type <= PEER_TYPE_LAST; type++)
    buf_free(&valid[type]);
  peer_msg_free(&m);
}

/* ---- frames ---- */

static void expect_split(const uint8_t *p, size_t len, size_t max, int rc, size_t payload_len) {
  const uint8_t *payload = (const uint8_t *)"x";
  size_t got_len = 99, consumed = 99;
  assert_int_equal(peer_frame_split(p, len, max, &payload, &got_len, &consumed), rc);
  if (rc) {
    assert_null(payload);
    assert_int_equal(got_len, 0);
    assert_int_equal(consumed, 0);
    return;
  }
  assert_ptr_equal(payload, p + PEER_FRAME_PREFIX);
  assert_int_equal(got_len, payload_len);
  assert_int_equal(consumed, PEER_FRAME_PREFIX + payload_len);
}

static void test_frame_split_waits_for_a_whole_prefix(void **state) {
  static const uint8_t frame[] = {0, 0, 0, 2, 'h', 'i'};
  for (size_t n = 0; n < PEER_FRAME_PREFIX; n++)
    expect_split(frame, n, 16, CHORUS_EAGAIN, 0);
  expect_split(NULL, 0, 16, CHORUS_EAGAIN, 0);
}

static void test_frame_split_waits_for_a_whole_payload(void **state) {
  static const uint8_t frame[] = {0, 0, 0, 2, 'h', 'i'};
  expect_split(frame, 4, 16, CHORUS_EAGAIN, 0);
  expect_split(frame, 5, 16, CHORUS_EAGAIN, 0);
  expect_split(frame, 6, 16, 0, 2);
  static const uint8_t empty[] = {0, 0, 0, 0};
  expect_split(empty, sizeof(empty), 16, 0, 0);
}

static void test_frame_split_returns_back_to_back_frames(void **state) {
  static const uint8_t two[] = {0, 0, 0, 2, 'h', 'i', 0, 0, 0, 3, 'y', 'o', 'u', 0, 0};
  const uint8_t *payload;
  size_t len, consumed, off = 0;
  assert_int_equal(peer_frame_split(two, sizeof(two), 16, &payload, &len, &consumed), 0);
  assert_memory_equal(payload, "hi", 2);
  off += consumed;
  assert_int_equal(peer_frame_split(two + off, sizeof(two) - off, 16, &payload, &len, &consumed), 0);
  assert_int_equal(len, 3);
  assert_memory_equal(payload, "you", 3);
  off += consumed;
  assert_int_equal(off, sizeof(two) - 2);
  expect_split(two + off, sizeof(two) - off, 16, CHORUS_EAGAIN, 0);
}

/* An announced length over the limit is refused at once, before its bytes
 * arrive, whatever follows. */
static void test_frame_split_refuses_an_oversized_length(void **state) {
  static const uint8_t big[] = {0, 0, 0, 17};
  static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'x'};
  static const uint8_t at_limit[] = {0, 0, 0, 16};
  expect_split(big, sizeof(big), 16, CHORUS_ETOOBIG, 0);
  expect_split(huge, sizeof(huge), PEER_FRAME_MAX, CHORUS_ETOOBIG, 0);
  expect_split(at_limit, sizeof(at_limit), 16, CHORUS_EAGAIN, 0);
}

static void test_frame_begin_finish_writes_the_prefix_in_place(void **state) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, "ab", 2);
  size_t start = peer_frame_begin(&b);
  assert_int_equal(start, 2);
  buf_put(&b, "hello", 5);
  assert_int_equal(peer_frame_finish(&b, start, 16), 0);
  assert_int_equal(b.len, 2 + 4 + 5);
  assert_memory_equal(b.data, "ab\0\0\0\5hello", b.len);
  /* Over the limit: the frame is cut off, what came before stays. */
  start = peer_frame_begin(&b);
  buf_put(&b, "0123456789abcdefg", 17);
  assert_int_equal(peer_frame_finish(&b, start, 16), CHORUS_ETOOBIG);
  assert_int_equal(b.len, 11);
  /* Misuse: start past the end, or no prefix. */
  assert_int_equal(peer_frame_finish(&b, 12, 16), CHORUS_EINVAL);
  assert_int_equal(peer_frame_finish(&b, 10, 16), CHORUS_EINVAL);
  buf_free(&b);
}

/* Frames of every type: encode into a frame, split, decode. */
static void frame_msg(const peer_msg_t *m, buf_t *out) {
  size_t start = peer_frame_begin(out);
  assert_int_equal(peer_msg_encode(m, out), 0);
  assert_int_equal(peer_frame_finish(out, start, PEER_FRAME_MAX), 0);
}

static void write_seed(const char *dir, const char *name, const buf_t *b) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
  assert_int_equal(fclose(f), 0);
}

static void test_seed_frames_split_and_decode(void **state) {
  static const char *const names[] = {
      [PEER_REPLICATE] = "replicate", [PEER_REPLICATE_ACK] = "replicate-ack",
      [PEER_READ] = "read",           [PEER_READ_REPLY] = "read-reply",
      [PEER_FORWARD] = "forward",     [PEER_FORWARD_REPLY] = "forward-reply",
      [PEER_EVENTS] = "events",       [PEER_EVENTS_REPLY] = "events-reply",
      [PEER_PING] = "ping",           [PEER_PONG] = "pong",
      [PEER_PUSH_PULL] = "push-pull", [PEER_PUSH_PULL_REPLY] = "push-pull-reply",
      [PEER_TREE] = "tree",           [PEER_TREE_REPLY] = "tree-reply",
      [PEER_TREE_KEYS] = "tree-keys", [PEER_TREE_KEYS_REPLY] = "tree-keys-reply",
      [PEER_RANGE] = "range",         [PEER_RANGE_REPLY] = "range-reply",
      [PEER_HANDOFF] = "handoff",     [PEER_HANDOFF_REPLY] = "handoff-reply",
      [PEER_KEYRING] = "keyring",     [PEER_KEYRING_REPLY] = "keyring-reply"};
  _Static_assert(sizeof names / sizeof *names == PEER_TYPE_LAST + 1, "a seed name per type");
  const char *dir = getenv("CHORUS_PEER_CORPUS_DIR");
  peer_msg_t m, back;
  buf_t all;
  buf_init(&all);
  peer_msg_init(&m);
  peer_msg_init(&back);
  for (int type = PEER_REPLICATE; type <= PEER_TYPE_LAST; type++) {
    buf_t one;
    buf_init(&one);
    sample_msg(&m, (peer_type_t)type, type % 3 == 0 ? NILS : SHORT);
    frame_msg(&m, &one);
    frame_msg(&m, &all);
    if (dir) write_seed(dir, names[type], &one);
    const uint8_t *payload;
    size_t len, consumed;
    assert_int_equal(peer_frame_split(one.data, one.len, PEER_FRAME_MAX, &payload, &len, &consumed), 0);
    assert_int_equal(consumed, one.len);
    assert_int_equal(peer_msg_decode(payload, len, &back), 0);
    assert_same_msg(&m, &back);
    buf_free(&one);
  }
  if (dir) write_seed(dir, "all-types-back-to-back", &all);
  size_t off = 0, frames = 0;
  const uint8_t *payload;
  size_t len, consumed;
  while (peer_frame_split(all.data + off, all.len - off, PEER_FRAME_MAX, &payload, &len, &consumed) == 0) {
    assert_int_equal(peer_msg_decode(payload, len, &back), 0);
    assert_int_equal(back.type, PEER_REPLICATE + frames);
    off += consumed;
    frames++;
  }
  assert_int_equal(off, all.len);
  assert_int_equal(frames, PEER_TYPE_LAST);
  buf_free(&all);
  peer_msg_free(&m);
  peer_msg_free(&back);
}

/* With --cluster-key the frame payload is seal_box(plaintext): opened and
 * decoded on the other side it is the same message; a changed byte or
 * another key does not open. */
static void test_sealed_frames_round_trip(void **state) {
  static const uint8_t key[SEAL_KEY_BYTES] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                              16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  static const uint8_t other[SEAL_KEY_BYTES] = {31};
  peer_msg_t m, back;
  peer_msg_init(&m);
  peer_msg_init(&back);
  for (int type = PEER_REPLICATE; type <= PEER_TYPE_LAST; type++) {
    buf_t plain, frame, opened;
    buf_init(&frame);
    buf_init(&opened);
    sample_msg(&m, (peer_type_t)type, LONGEST);
    encode_msg(&m, &plain);
    size_t start = peer_frame_begin(&frame);
    assert_int_equal(seal_box(key, plain.data, plain.len, &frame), 0);
    assert_int_equal(peer_frame_finish(&frame, start, PEER_FRAME_MAX), 0);
    const uint8_t *payload;
    size_t len, consumed;
    assert_int_equal(peer_frame_split(frame.data, frame.len, PEER_FRAME_MAX, &payload, &len, &consumed), 0);
    assert_int_equal(len, plain.len + SEAL_OVERHEAD);
    assert_int_equal(seal_open(other, payload, len, &opened), CHORUS_ECORRUPT);
    frame.data[frame.len - 1] ^= 1;
    assert_int_equal(seal_open(key, payload, len, &opened), CHORUS_ECORRUPT);
    frame.data[frame.len - 1] ^= 1;
    assert_int_equal(seal_open(key, payload, len, &opened), 0);
    assert_int_equal(peer_msg_decode(opened.data, opened.len, &back), 0);
    assert_same_msg(&m, &back);
    buf_free(&plain);
    buf_free(&frame);
    buf_free(&opened);
  }
  peer_msg_free(&m);
  peer_msg_free(&back);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encoding_follows_the_documented_layout),
      cmocka_unit_test(test_round_trips_every_type_and_variant),
      cmocka_unit_test(test_round_trips_integer_boundaries),
      cmocka_unit_test(test_largest_replicate_fits_a_sealed_frame),
      cmocka_unit_test(test_invalid_messages_are_not_encoded),
      cmocka_unit_test(test_every_truncation_is_rejected),
      cmocka_unit_test(test_trailing_bytes_are_rejected),
      cmocka_unit_test(test_unknown_version_is_rejected),
      cmocka_unit_test(test_a_covered_read_reply_carries_no_record),
      cmocka_unit_test(test_unknown_type_is_rejected),
      cmocka_unit_test(test_unknown_op_is_rejected),
      cmocka_unit_test(test_wrong_arity_is_rejected),
      cmocka_unit_test(test_out_of_range_ints_are_rejected),
      cmocka_unit_test(test_key_length_limits),
      cmocka_unit_test(test_a_forward_reply_without_dots_decodes),
      cmocka_unit_test(test_nil_and_str_rules),
      cmocka_unit_test(test_clock_rules),
      cmocka_unit_test(test_garbage_never_decodes_to_another_encoding),
      cmocka_unit_test(test_frame_split_waits_for_a_whole_prefix),
      cmocka_unit_test(test_frame_split_waits_for_a_whole_payload),
      cmocka_unit_test(test_frame_split_returns_back_to_back_frames),
      cmocka_unit_test(test_frame_split_refuses_an_oversized_length),
      cmocka_unit_test(test_frame_begin_finish_writes_the_prefix_in_place),
      cmocka_unit_test(test_seed_frames_split_and_decode),
      cmocka_unit_test(test_sealed_frames_round_trip),
  };
  return cmocka_run_group_tests(tests, setup_filler, NULL);
}
