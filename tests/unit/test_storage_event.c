/* test_storage_event.c - event log entries: preview, codec (versions 1 and 2), causal hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/sha.h>

#include "common/err.h"
#include "storage/event.h"

static void sample(event_t *ev) {
  static const char key[] = "user:42";
  ev->id = 7;
  ev->type = EVENT_PUT;
  ev->ts_ms = 1700000000123ull;
  strcpy(ev->node, "node-a");
  ev->key = malloc(sizeof(key));
  assert_non_null(ev->key);
  memcpy(ev->key, key, sizeof(key));
  ev->key_len = sizeof(key) - 1;
  assert_int_equal(event_set_preview(ev, "hello", 5), 0);
  assert_int_equal(vv_set(&ev->clock, "node-a", 7), 0);
  assert_int_equal(vv_set(&ev->clock, "node-b", 3), 0);
}

static void assert_same_event(const event_t *a, const event_t *b) {
  assert_true(a->id == b->id);
  assert_int_equal(a->type, b->type);
  assert_true(a->ts_ms == b->ts_ms);
  assert_string_equal(a->node, b->node);
  assert_string_equal(a->peer, b->peer);
  assert_int_equal(a->key_len, b->key_len);
  assert_memory_equal(a->key ? a->key : "", b->key, a->key_len + 1);
  assert_int_equal(a->preview_len, b->preview_len);
  if (a->preview_len) assert_memory_equal(a->preview, b->preview, a->preview_len + 1);
  assert_true(vv_equal(&a->clock, &b->clock));
}

static void round_trip(const event_t *ev) {
  buf_t b;
  event_t back;
  buf_init(&b);
  event_init(&back);
  assert_int_equal(event_encode(ev, &b), 0);
  assert_int_equal(event_decode(b.data, b.len, &back), 0);
  assert_same_event(ev, &back);
  event_free(&back);
  buf_free(&b);
}

/* Writes the layout of event.h by hand, with a correct checksum; peer is
 * written from version 2 on. */
static void raw_event(buf_t *b, uint8_t version, uint64_t id, uint8_t type, const char *node,
                      const char *peer, const char *key, const char *preview) {
  buf_put(b, "CE", 2);
  buf_put_u8(b, version);
  buf_put_varint(b, id);
  buf_put_u8(b, type);
  buf_put_u64be(b, 99);
  buf_put_lbytes(b, node, strlen(node));
  if (version >= 2) buf_put_lbytes(b, peer, strlen(peer));
  buf_put_lbytes(b, key, strlen(key));
  buf_put_lbytes(b, preview, strlen(preview));
  buf_put_varint(b, 1);
  buf_put_lbytes(b, node, strlen(node));
  buf_put_varint(b, id);
  buf_put_crc32c(b, 0);
  assert_int_equal(b->err, 0);
}

static void expect_corrupt(const void *p, size_t len) {
  event_t ev;
  event_init(&ev);
  sample(&ev);
  assert_int_equal(event_decode(p, len, &ev), CHORUS_ECORRUPT);
  assert_null(ev.key);
  assert_null(ev.preview);
  assert_int_equal(ev.clock.n, 0);
  event_free(&ev);
}

static void expect_raw_rejected(uint8_t version, uint64_t id, uint8_t type, const char *node,
                                const char *peer, const char *key, const char *preview) {
  buf_t b;
  buf_init(&b);
  raw_event(&b, version, id, type, node, peer, key, preview);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
}

static void test_type_names(void **state) {
  assert_string_equal(event_type_name(EVENT_PUT), "put");
  assert_string_equal(event_type_name(EVENT_GET), "get");
  assert_string_equal(event_type_name(EVENT_DELETE), "delete");
  assert_string_equal(event_type_name(EVENT_REPLICATE), "replicate");
  assert_string_equal(event_type_name(EVENT_READ_REPAIR), "read_repair");
  assert_string_equal(event_type_name(EVENT_HINT_STORED), "hint_stored");
  assert_string_equal(event_type_name(EVENT_HINT_DELIVERED), "hint_delivered");
  assert_string_equal(event_type_name((event_type_t)99), "unknown");
}

static void test_preview_is_cut_at_a_utf8_character_boundary(void **state) {
  event_t ev;
  event_init(&ev);
  char v[80];
  memset(v, 'x', sizeof(v));
  memcpy(v + 63, "\xc3\xa9", 2); /* 'é' across the 64-byte limit */
  assert_int_equal(event_set_preview(&ev, v, sizeof(v)), 0);
  assert_int_equal(ev.preview_len, 63);
  assert_int_equal(ev.preview[63], '\0');
  memcpy(v + 62, "\xe2\x82\xac", 3); /* '€' ending exactly at the limit */
  assert_int_equal(event_set_preview(&ev, v, sizeof(v)), 0);
  assert_int_equal(ev.preview_len, 62);
  memcpy(v + 62, "abc", 3);
  assert_int_equal(event_set_preview(&ev, v, sizeof(v)), 0);
  assert_int_equal(ev.preview_len, EVENT_PREVIEW_MAX);
  assert_int_equal(event_set_preview(&ev, "short", 5), 0);
  assert_int_equal(ev.preview_len, 5);
  assert_string_equal(ev.preview, "short");
  assert_int_equal(event_set_preview(&ev, "", 0), 0);
  assert_null(ev.preview);
  assert_int_equal(ev.preview_len, 0);
  /* Bytes that are not UTF-8 are cut at the limit. */
  memset(v, 0x80, sizeof(v));
  assert_int_equal(event_set_preview(&ev, v, sizeof(v)), 0);
  assert_int_equal(ev.preview_len, EVENT_PREVIEW_MAX);
  event_free(&ev);
}

static void test_encoding_follows_the_documented_layout(void **state) {
  event_t ev;
  buf_t got, want;
  event_init(&ev);
  buf_init(&got);
  buf_init(&want);
  ev.id = 5;
  ev.type = EVENT_GET;
  ev.ts_ms = 99;
  strcpy(ev.node, "n1");
  ev.key = strdup("k");
  ev.key_len = 1;
  assert_int_equal(event_set_preview(&ev, "pv", 2), 0);
  assert_int_equal(vv_set(&ev.clock, "n1", 5), 0);
  assert_int_equal(event_encode(&ev, &got), 0);
  raw_event(&want, 2, 5, EVENT_GET, "n1", "", "k", "pv");
  assert_int_equal(got.len, want.len);
  assert_memory_equal(got.data, want.data, got.len);
  buf_reset(&got);
  buf_reset(&want);
  strcpy(ev.peer, "n2");
  ev.type = EVENT_REPLICATE;
  assert_int_equal(event_encode(&ev, &got), 0);
  raw_event(&want, 2, 5, EVENT_REPLICATE, "n1", "n2", "k", "pv");
  assert_int_equal(got.len, want.len);
  assert_memory_equal(got.data, want.data, got.len);
  event_free(&ev);
  buf_free(&got);
  buf_free(&want);
}

static void test_round_trips_every_type_and_empty_fields(void **state) {
  event_t ev;
  event_init(&ev);
  sample(&ev);
  for (int t = EVENT_PUT; t <= EVENT_READ_REPLY; t++) {
    ev.type = (event_type_t)t;
    round_trip(&ev);
    strcpy(ev.peer, "node-b");
    round_trip(&ev);
    ev.peer[0] = '\0';
  }
  assert_int_equal(event_set_preview(&ev, NULL, 0), 0);
  free(ev.key);
  ev.key = NULL;
  ev.key_len = 0;
  vv_clear(&ev.clock);
  round_trip(&ev);
  event_free(&ev);
}

static void test_decoded_key_is_always_nul_terminated(void **state) {
  buf_t b;
  event_t ev;
  buf_init(&b);
  event_init(&ev);
  raw_event(&b, 2, 1, EVENT_DELETE, "n", "", "", "");
  assert_int_equal(event_decode(b.data, b.len, &ev), 0);
  assert_non_null(ev.key);
  assert_string_equal(ev.key, "");
  assert_null(ev.preview);
  event_free(&ev);
  buf_free(&b);
}

static void test_invalid_events_are_not_encoded(void **state) {
  event_t ev;
  buf_t b;
  event_init(&ev);
  buf_init(&b);
  sample(&ev);
  ev.id = 0;
  assert_int_equal(event_encode(&ev, &b), CHORUS_EINVAL);
  ev.id = 1;
  ev.type = (event_type_t)(EVENT_REAP + 1);
  assert_int_equal(event_encode(&ev, &b), CHORUS_EINVAL);
  ev.type = EVENT_PUT;
  strcpy(ev.peer, "bad peer");
  assert_int_equal(event_encode(&ev, &b), CHORUS_EINVAL);
  ev.peer[0] = '\0';
  strcpy(ev.node, "bad node");
  assert_int_equal(event_encode(&ev, &b), CHORUS_EINVAL);
  strcpy(ev.node, "n");
  ev.key_len = EVENT_KEY_MAX + 1;
  assert_int_equal(event_encode(&ev, &b), CHORUS_EINVAL);
  ev.key_len = 1;
  ev.preview_len = EVENT_PREVIEW_MAX + 1;
  assert_int_equal(event_encode(&ev, &b), CHORUS_EINVAL);
  ev.preview_len = 5;
  assert_int_equal(b.len, 0);
  event_free(&ev);
  buf_free(&b);
}

static void test_every_truncation_and_bit_flip_is_rejected(void **state) {
  event_t ev;
  buf_t b;
  event_init(&ev);
  buf_init(&b);
  sample(&ev);
  assert_int_equal(event_encode(&ev, &b), 0);
  for (size_t len = 0; len < b.len; len++)
    expect_corrupt(b.data, len);
  for (size_t bit = 0; bit < b.len * 8; bit++) {
    b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    expect_corrupt(b.data, b.len);
    b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  buf_put_u8(&b, 0);
  expect_corrupt(b.data, b.len);
  event_free(&ev);
  buf_free(&b);
}

static void test_invalid_fields_are_rejected_even_with_a_valid_checksum(void **state) {
  char long_key[EVENT_KEY_MAX + 2], long_preview[EVENT_PREVIEW_MAX + 2];
  memset(long_key, 'k', sizeof(long_key) - 1);
  long_key[sizeof(long_key) - 1] = '\0';
  memset(long_preview, 'p', sizeof(long_preview) - 1);
  long_preview[sizeof(long_preview) - 1] = '\0';
  char long_peer[VV_NODE_MAX + 2];
  memset(long_peer, 'p', sizeof(long_peer) - 1);
  long_peer[sizeof(long_peer) - 1] = '\0';
  expect_raw_rejected(3, 1, EVENT_PUT, "n", "", "k", "");
  expect_raw_rejected(0, 1, EVENT_PUT, "n", "", "k", "");
  expect_raw_rejected(2, 0, EVENT_PUT, "n", "", "k", "");
  expect_raw_rejected(2, 1, 0, "n", "", "k", "");
  expect_raw_rejected(2, 1, EVENT_REAP + 1, "n", "", "k", "");
  expect_raw_rejected(1, 1, EVENT_REAP + 1, "n", "", "k", "");
  expect_raw_rejected(2, 1, EVENT_PUT, "n n", "", "k", "");
  expect_raw_rejected(2, 1, EVENT_PUT, "n", "p p", "k", "");
  expect_raw_rejected(2, 1, EVENT_PUT, "n", long_peer, "k", "");
  expect_raw_rejected(2, 1, EVENT_PUT, "n", "", long_key, "");
  expect_raw_rejected(2, 1, EVENT_PUT, "n", "", "k", long_preview);
  expect_raw_rejected(1, 1, EVENT_PUT, "n", "", long_key, "");
  /* Trailing bytes covered by the checksum. */
  buf_t b;
  buf_init(&b);
  raw_event(&b, 2, 1, EVENT_PUT, "n", "", "k", "");
  b.len -= 4;
  buf_put_u8(&b, 0);
  buf_put_crc32c(&b, 0);
  expect_corrupt(b.data, b.len);
  buf_free(&b);
}

/* Events written before the peer field existed still read, with no peer,
 * and are written back in the current version. */
static void test_version_1_events_decode_without_a_peer(void **state) {
  buf_t v1, v2;
  event_t ev, back;
  buf_init(&v1);
  buf_init(&v2);
  event_init(&ev);
  event_init(&back);
  raw_event(&v1, 1, 3, EVENT_PUT, "n1", "", "k", "pv");
  strcpy(ev.peer, "stale");
  assert_int_equal(event_decode(v1.data, v1.len, &ev), 0);
  assert_string_equal(ev.peer, "");
  assert_string_equal(ev.node, "n1");
  assert_string_equal(ev.key, "k");
  assert_string_equal(ev.preview, "pv");
  assert_int_equal(event_encode(&ev, &v2), 0);
  assert_int_equal(v2.data[2], 2);
  assert_int_equal(v2.len, v1.len + 1);
  assert_int_equal(event_decode(v2.data, v2.len, &back), 0);
  assert_same_event(&ev, &back);
  event_free(&ev);
  event_free(&back);
  buf_free(&v1);
  buf_free(&v2);
}

static void test_causal_hash_is_a_prefix_of_sha256_of_the_encoding(void **state) {
  event_t ev;
  buf_t b;
  char hash[17], again[17], want[17];
  event_init(&ev);
  buf_init(&b);
  sample(&ev);
  event_causal_hash(&ev, hash);
  assert_int_equal(strlen(hash), 16);
  assert_int_equal(event_encode(&ev, &b), 0);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(b.data, b.len, md);
  for (int i = 0; i < 8; i++)
    snprintf(want + 2 * i, 3, "%02x", md[i]);
  assert_string_equal(hash, want);
  event_causal_hash(&ev, again);
  assert_string_equal(hash, again);
  assert_int_equal(vv_tick(&ev.clock, "node-a", NULL), 0);
  event_causal_hash(&ev, again);
  assert_string_not_equal(hash, again);
  ev.id = 0;
  event_causal_hash(&ev, again);
  assert_string_equal(again, "");
  event_free(&ev);
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_preview_is_cut_at_a_utf8_character_boundary),
      cmocka_unit_test(test_encoding_follows_the_documented_layout),
      cmocka_unit_test(test_round_trips_every_type_and_empty_fields),
      cmocka_unit_test(test_decoded_key_is_always_nul_terminated),
      cmocka_unit_test(test_invalid_events_are_not_encoded),
      cmocka_unit_test(test_every_truncation_and_bit_flip_is_rejected),
      cmocka_unit_test(test_invalid_fields_are_rejected_even_with_a_valid_checksum),
      cmocka_unit_test(test_version_1_events_decode_without_a_peer),
      cmocka_unit_test(test_causal_hash_is_a_prefix_of_sha256_of_the_encoding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
