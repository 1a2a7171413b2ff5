/*
 * test_api_ws_frame.c - the RFC 6455 codec: the RFC's own examples, any
 * split of the input, reassembly, every protocol error with its close
 * code, the server-side encoder and the opening handshake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ws_frame.h"
#include "common/err.h"

#define LIMIT 65536
#define RFC_KEY                                                                                              \
  "dGhlIHNhbXBsZSBub25jZQ==" /* One call of the decoder; the close code and reason are not looked at. */
static int decode_step(ws_decoder_t *d, const uint8_t *p, size_t len, size_t *used, ws_event_t *ev) {
  uint16_t code;
  const char *reason;
  return ws_decode(d, p, len, used, ev, &code, &reason);
}

/* RFC 6455 section 1.3 */

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A client frame: fin/opcode byte, masked payload; returns its length. */
static size_t client_frame(uint8_t *out, uint8_t b0, const void *payload, size_t len) {
  const uint8_t *p = payload;
  size_t o = 0;
  out[o++] = b0;
  if (len < 126) {
    out[o++] = (uint8_t)(0x80 | len);
  } else if (len <= 0xffff) {
    out[o++] = 0x80 | 126;
    out[o++] = (uint8_t)(len >> 8);
    out[o++] = (uint8_t)len;
  } else {
    out[o++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--)
      out[o++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  memcpy(out + o, KEY, 4);
  o += 4;
  for (size_t i = 0; i < len; i++)
    out[o + i] = p[i] ^ KEY[i & 3];
  return o + len;
}

typedef struct {
  ws_decoder_t d;
  ws_event_t ev[8];
  char data[8][256];
  size_t n;
  int rc;
  uint16_t code;
  const char *reason;
} run_t;

/* Feeds p[0..len) in chunks of step bytes, collecting events (payloads copied). */
static void feed(run_t *r, const uint8_t *p, size_t len, size_t step) {
  for (size_t off = 0; off < len && !r->rc;) {
    size_t chunk = len - off < step ? len - off : step, used = 0;
    const uint8_t *q = p + off;
    while (!r->rc) {
      ws_event_t ev;
      r->rc = ws_decode(&r->d, q, chunk, &used, &ev, &r->code, &r->reason);
      q += used;
      chunk -= used;
      if (r->rc || ev.kind == WS_EV_NONE) break;
      assert_true(r->n < 8);
      r->ev[r->n] = ev;
      size_t keep = ev.len < 255 ? ev.len : 255;
      memcpy(r->data[r->n], ev.data, keep);
      r->data[r->n][keep] = '\0';
      r->n++;
    }
    off += step;
  }
}

static void run_init(run_t *r) {
  memset(r, 0, sizeof *r);
  ws_decoder_init(&r->d, LIMIT);
}

/* A fresh decoder fed p[0..len) in chunks of step bytes. */
static void decode(run_t *r, const uint8_t *p, size_t len, size_t step) {
  run_init(r);
  feed(r, p, len, step);
}

/* p[0..len), fed in chunks of every size, is exactly one event of kind
 * whose payload is want. */
static void expect_one(const uint8_t *p, size_t len, ws_event_kind_t kind, const char *want) {
  for (size_t step = 1; step <= len; step++) {
    run_t r;
    decode(&r, p, len, step);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].kind, kind);
    assert_int_equal(r.ev[0].len, strlen(want));
    assert_string_equal(r.data[0], want);
    ws_decoder_free(&r.d);
  }
}

/* The error a whole input ends in, fed at once and byte by byte. */
static void expect_error(const uint8_t *p, size_t len, int rc, uint16_t code) {
  for (size_t step = 1; step <= len; step = step == 1 ? len : len + 1) {
    run_t r;
    decode(&r, p, len, step);
    assert_int_equal(r.rc, rc);
    assert_int_equal(r.code, code);
    assert_non_null(r.reason);
    /* sticky: nothing more is read */
    size_t used = 99;
    ws_event_t ev;
    assert_int_equal(ws_decode(&r.d, p, len, &used, &ev, &r.code, &r.reason), rc);
    assert_int_equal(used, 0);
    ws_decoder_free(&r.d);
  }
}

/* RFC 6455 section 1.3 (the value is checked against Python's hashlib too). */
static void test_accept_key_of_the_rfc_example(void **state) {
  char out[WS_ACCEPT_LEN + 1];
  assert_int_equal(ws_accept_key(RFC_KEY, strlen(RFC_KEY), out), 0);
  assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_masked_hello_of_the_rfc_decodes_in_any_split(void **state) {
  static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  expect_one(hello, sizeof hello, WS_EV_MESSAGE, "Hello");
  run_t r;
  decode(&r, hello, sizeof hello, 1);
  assert_int_equal(r.ev[0].opcode, WS_OP_TEXT);
  ws_decoder_free(&r.d);
}

static void test_fragmented_hel_lo_is_reassembled(void **state) {
  uint8_t buf[64];
  size_t n = client_frame(buf, WS_OP_TEXT, "Hel", 3);
  n += client_frame(buf + n, 0x80 | WS_OP_CONT, "lo", 2);
  expect_one(buf, n, WS_EV_MESSAGE, "Hello");
}

static void test_control_frames_between_fragments_come_out_first(void **state) {
  uint8_t buf[128];
  size_t n = client_frame(buf, WS_OP_TEXT, "Hel", 3);
  n += client_frame(buf + n, 0x80 | WS_OP_PING, "p1", 2);
  n += client_frame(buf + n, 0x80 | WS_OP_PONG, "", 0);
  n += client_frame(buf + n, 0x80 | WS_OP_CONT, "lo", 2);
  run_t r;
  decode(&r, buf, n, n);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.n, 3);
  assert_int_equal(r.ev[0].kind, WS_EV_PING);
  assert_string_equal(r.data[0], "p1");
  assert_int_equal(r.ev[1].kind, WS_EV_PONG);
  assert_int_equal(r.ev[1].len, 0);
  assert_int_equal(r.ev[2].kind, WS_EV_MESSAGE);
  assert_string_equal(r.data[2], "Hello");
  ws_decoder_free(&r.d);
}

static void test_ping_with_the_rfc_hello_payload(void **state) {
  /* RFC 6455 5.7: an unmasked ping "Hello" is 0x89 0x05 ...; a client's is masked */
  uint8_t buf[32];
  size_t n = client_frame(buf, 0x80 | WS_OP_PING, "Hello", 5);
  expect_one(buf, n, WS_EV_PING, "Hello");
}

static void test_back_to_back_messages_come_out_one_per_call(void **state) {
  uint8_t buf[64];
  size_t n = client_frame(buf, 0x80 | WS_OP_TEXT, "one", 3);
  n += client_frame(buf + n, 0x80 | WS_OP_BINARY, "\x00\x01", 2);
  n += client_frame(buf + n, 0x80 | WS_OP_TEXT, "", 0);
  ws_decoder_t d;
  ws_decoder_init(&d, LIMIT);
  ws_event_t ev;
  size_t used;
  assert_int_equal(decode_step(&d, buf, n, &used, &ev), 0);
  assert_int_equal(ev.kind, WS_EV_MESSAGE);
  assert_int_equal(ev.len, 3);
  assert_true(used < n);
  size_t off = used;
  assert_int_equal(decode_step(&d, buf + off, n - off, &used, &ev), 0);
  assert_int_equal(ev.opcode, WS_OP_BINARY);
  assert_int_equal(ev.len, 2);
  off += used;
  assert_int_equal(decode_step(&d, buf + off, n - off, &used, &ev), 0);
  assert_int_equal(ev.kind, WS_EV_MESSAGE);
  assert_int_equal(ev.len, 0);
  assert_non_null(ev.data);
  assert_int_equal(off + used, n);
  assert_int_equal(decode_step(&d, buf + n, 0, &used, &ev), 0);
  assert_int_equal(ev.kind, WS_EV_NONE);
  ws_decoder_free(&d);
}

static void test_16_and_64_bit_lengths(void **state) {
  size_t sizes[] = {125, 126, 65535, 65536};
  uint8_t *payload = malloc(65536), *buf = malloc(65536 + 14);
  assert_non_null(payload);
  assert_non_null(buf);
  for (size_t i = 0; i < 65536; i++)
    payload[i] = (uint8_t)('a' + i % 26);
  for (size_t k = 0; k < 4; k++) {
    size_t n = client_frame(buf, 0x80 | WS_OP_TEXT, payload, sizes[k]);
    ws_decoder_t d;
    ws_decoder_init(&d, LIMIT);
    ws_event_t ev;
    size_t used;
    assert_int_equal(decode_step(&d, buf, n, &used, &ev), 0);
    assert_int_equal(used, n);
    assert_int_equal(ev.len, sizes[k]);
    assert_memory_equal(ev.data, payload, sizes[k]);
    ws_decoder_free(&d);
  }
  free(payload);
  free(buf);
}

static void test_close_with_code_and_reason(void **state) {
  uint8_t buf[32];
  size_t n = client_frame(buf, 0x80 | WS_OP_CLOSE,
                          "\x03\xe8"
                          "bye",
                          5);
  expect_one(buf, n, WS_EV_CLOSE, "bye");
  run_t r;
  decode(&r, buf, n, n);
  assert_int_equal(r.ev[0].code, 1000);
  ws_decoder_free(&r.d);
}

static void test_empty_close_reports_no_status(void **state) {
  uint8_t buf[16];
  size_t n = client_frame(buf, 0x80 | WS_OP_CLOSE, "", 0);
  expect_one(buf, n, WS_EV_CLOSE, "");
  ws_decoder_t d;
  ws_decoder_init(&d, LIMIT);
  ws_event_t ev;
  size_t used;
  assert_int_equal(decode_step(&d, buf, n, &used, &ev), 0);
  assert_int_equal(ev.code, WS_CLOSE_NO_STATUS);
  ws_decoder_free(&d);
}

static void test_unmasked_frame_is_1002(void **state) {
  static const uint8_t unmasked[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
  expect_error(unmasked, sizeof unmasked, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
}

static void test_reserved_bits_are_1002(void **state) {
  for (uint8_t rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
    uint8_t buf[16];
    size_t n = client_frame(buf, (uint8_t)(0x80 | rsv | WS_OP_TEXT), "x", 1);
    expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
  }
}

static void test_unknown_opcodes_are_1002(void **state) {
  static const uint8_t ops[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
  for (size_t i = 0; i < sizeof ops; i++) {
    uint8_t buf[16];
    size_t n = client_frame(buf, (uint8_t)(0x80 | ops[i]), "x", 1);
    expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
  }
}

static void test_control_frame_rules_are_1002(void **state) {
  uint8_t buf[256], payload[126] = {0};
  size_t n = client_frame(buf, 0x80 | WS_OP_PING, payload, 126); /* too long */
  expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
  n = client_frame(buf, WS_OP_PING, "x", 1); /* fragmented */
  expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
  n = client_frame(buf, 0x80 | WS_OP_CLOSE, "\x03", 1); /* a 1-byte close payload */
  expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
  static const uint16_t bad_codes[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000};
  for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
    uint8_t code[2] = {(uint8_t)(bad_codes[i] >> 8), (uint8_t)bad_codes[i]};
    n = client_frame(buf, 0x80 | WS_OP_CLOSE, code, 2);
    expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
  }
  n = client_frame(buf, 0x80 | WS_OP_CLOSE, "\x03\xe8\xff", 3); /* reason not UTF-8 */
  expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_BAD_DATA);
}

static void test_fragmentation_errors_are_1002(void **state) {
  uint8_t buf[64];
  size_t n = client_frame(buf, 0x80 | WS_OP_CONT, "x", 1); /* nothing to continue */
  expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
  n = client_frame(buf, WS_OP_TEXT, "a", 1);
  n += client_frame(buf + n, 0x80 | WS_OP_TEXT, "b", 1); /* a new message inside one */
  expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
}

static void test_invalid_utf8_text_is_1007(void **state) {
  uint8_t buf[64];
  size_t n = client_frame(buf, 0x80 | WS_OP_TEXT, "\xc3\x28", 2);
  expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_BAD_DATA);
  n = client_frame(buf, WS_OP_TEXT, "\xed", 1); /* a surrogate split over fragments */
  n += client_frame(buf + n, 0x80 | WS_OP_CONT, "\xa0\x80", 2);
  expect_error(buf, n, CHORUS_ECORRUPT, WS_CLOSE_BAD_DATA);
  n = client_frame(buf, WS_OP_TEXT, "\xc3", 1); /* a character split over fragments is fine */
  n += client_frame(buf + n, 0x80 | WS_OP_CONT, "\xa9", 1);
  expect_one(buf, n, WS_EV_MESSAGE, "\xc3\xa9");
}

static void test_binary_messages_need_not_be_utf8(void **state) {
  uint8_t buf[16];
  size_t n = client_frame(buf, 0x80 | WS_OP_BINARY, "\xff\xfe", 2);
  expect_one(buf, n, WS_EV_MESSAGE, "\xff\xfe");
}

static void test_oversize_header_is_1009_before_any_payload(void **state) {
  /* 16-bit and 64-bit lengths over the limit, with no payload byte sent */
  uint8_t h16[] = {0x81, 0x80 | 126, 0xff, 0xff, 1, 2, 3, 4};
  ws_decoder_t d;
  ws_decoder_init(&d, 1000);
  ws_event_t ev;
  size_t used;
  uint16_t code;
  const char *reason;
  assert_int_equal(ws_decode(&d, h16, sizeof h16, &used, &ev, &code, &reason), CHORUS_ETOOBIG);
  assert_int_equal(code, WS_CLOSE_TOO_BIG);
  assert_null(d.msg.data); /* nothing was allocated for it */
  ws_decoder_free(&d);
  uint8_t h64[] = {0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
  expect_error(h64, sizeof h64, CHORUS_ETOOBIG, WS_CLOSE_TOO_BIG);
}

static void test_fragments_adding_up_past_the_limit_are_1009(void **state) {
  uint8_t *buf = malloc(2 * 40000);
  uint8_t *payload = calloc(1, 40000);
  assert_non_null(buf);
  assert_non_null(payload);
  size_t n = client_frame(buf, WS_OP_BINARY, payload, 40000);
  n += client_frame(buf + n, 0x80 | WS_OP_CONT, payload, 30000);
  run_t r;
  decode(&r, buf, n, n);
  assert_int_equal(r.rc, CHORUS_ETOOBIG);
  assert_int_equal(r.code, WS_CLOSE_TOO_BIG);
  ws_decoder_free(&r.d);
  free(buf);
  free(payload);
}

static void test_64_bit_length_with_the_top_bit_is_1002(void **state) {
  uint8_t h[] = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  expect_error(h, sizeof h, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
}

static void test_lengths_not_minimally_encoded_are_1002(void **state) {
  uint8_t h16[] = {0x81, 0x80 | 126, 0, 5, 1, 2, 3, 4};
  expect_error(h16, sizeof h16, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
  uint8_t h64[] = {0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 2, 3, 4};
  expect_error(h64, sizeof h64, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL);
}

static void test_encoder_writes_unmasked_final_frames(void **state) {
  buf_t b;
  buf_init(&b);
  assert_int_equal(ws_encode(&b, WS_OP_TEXT, "Hello", 5), 0);
  static const uint8_t want[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}; /* RFC 6455 5.7 */
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  size_t size;
  assert_int_equal(ws_frame_size(b.data, 1, &size), CHORUS_EAGAIN);
  assert_int_equal(ws_frame_size(b.data, b.len, &size), 0);
  assert_int_equal(size, 7);
  buf_reset(&b);
  static uint8_t big[70000];
  assert_int_equal(ws_encode(&b, WS_OP_BINARY, big, 256), 0);
  assert_int_equal(b.data[1], 126);
  assert_int_equal(b.data[2] << 8 | b.data[3], 256);
  assert_int_equal(ws_frame_size(b.data, 3, &size), CHORUS_EAGAIN);
  assert_int_equal(ws_frame_size(b.data, b.len, &size), 0);
  assert_int_equal(size, 4 + 256);
  buf_reset(&b);
  assert_int_equal(ws_encode(&b, WS_OP_BINARY, big, sizeof big), 0);
  assert_int_equal(b.data[1], 127);
  assert_int_equal(ws_frame_size(b.data, b.len, &size), 0);
  assert_int_equal(size, 10 + sizeof big);
  buf_reset(&b);
  assert_int_equal(ws_encode(&b, WS_OP_PING, big, 126), CHORUS_EINVAL);
  buf_free(&b);
}

static void test_encoded_frames_decode_once_masked(void **state) {
  /* the pong echo: what the server sends back is the ping's payload */
  uint8_t in[32];
  size_t n = client_frame(in, 0x80 | WS_OP_PING, "abc", 3);
  run_t r;
  decode(&r, in, n, n);
  buf_t b;
  buf_init(&b);
  assert_int_equal(ws_encode(&b, WS_OP_PONG, r.ev[0].data, r.ev[0].len), 0);
  static const uint8_t want[] = {0x8a, 0x03, 'a', 'b', 'c'};
  assert_memory_equal(b.data, want, sizeof want);
  buf_free(&b);
  ws_decoder_free(&r.d);
}

static void test_close_frame_carries_code_and_reason_cut_on_a_character(void **state) {
  buf_t b;
  buf_init(&b);
  assert_int_equal(ws_encode_close(&b, 1001, "going away"), 0);
  assert_int_equal(b.data[0], 0x88);
  assert_int_equal(b.data[1], 12);
  assert_int_equal(b.data[2] << 8 | b.data[3], 1001);
  assert_memory_equal(b.data + 4, "going away", 10);
  buf_reset(&b);
  char reason[200];
  memset(reason, 'a', 122);
  memcpy(reason + 122, "\xc3\xa9\xc3\xa9", 4); /* é straddles the 123-byte limit */
  reason[126] = '\0';
  assert_int_equal(ws_encode_close(&b, 1008, reason), 0);
  assert_int_equal(b.data[1], 2 + 122);
  buf_free(&b);
}

static void test_handshake_checks(void **state) {
  static const struct {
    ws_handshake_t h;
    int status; /* 0: accepted */
    const char *code;
  } cases[] = {
      {{"websocket", "keep-alive, Upgrade", "13", RFC_KEY}, 0, NULL},
      {{"WebSocket", "upgrade", "13", RFC_KEY}, 0, NULL},
      {{NULL, "Upgrade", "13", RFC_KEY}, 426, "upgrade_required"},
      {{"h2c", "Upgrade", "13", RFC_KEY}, 426, "upgrade_required"},
      {{"websocket", NULL, "13", RFC_KEY}, 400, "bad_handshake"},
      {{"websocket", "keep-alive", "13", RFC_KEY}, 400, "bad_handshake"},
      {{"websocket", "upgraded", "13", RFC_KEY}, 400, "bad_handshake"},
      {{"websocket", "Upgrade", "12", RFC_KEY}, 426, "unsupported_version"},
      {{"websocket", "Upgrade", NULL, RFC_KEY}, 400, "bad_handshake"},
      {{"websocket", "Upgrade", "13", NULL}, 400, "bad_handshake"},
      {{"websocket", "Upgrade", "13", ""}, 400, "bad_handshake"},
      {{"websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ"}, 400, "bad_handshake"},
      {{"websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ="}, 400, "bad_handshake"},
      {{"websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZSE="}, 400, "bad_handshake"}, /* 17 bytes */
      {{"websocket", "Upgrade", "13", "dGhl-HNhbXBsZSBub25jZQ=="}, 400, "bad_handshake"}, /* URL-safe */
      {{"websocket", "Upgrade", "13", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 400, "bad_handshake"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int status = 0;
    const char *code = NULL, *msg = NULL;
    int rc = ws_handshake_check(&cases[i].h, &status, &code, &msg);
    if (!cases[i].status) {
      if (rc) fail_msg("case %zu refused: %s", i, msg);
      continue;
    }
    assert_int_equal(rc, CHORUS_EINVAL);
    assert_int_equal(status, cases[i].status);
    assert_string_equal(code, cases[i].code);
    assert_non_null(msg);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accept_key_of_the_rfc_example),
      cmocka_unit_test(test_masked_hello_of_the_rfc_decodes_in_any_split),
      cmocka_unit_test(test_fragmented_hel_lo_is_reassembled),
      cmocka_unit_test(test_control_frames_between_fragments_come_out_first),
      cmocka_unit_test(test_ping_with_the_rfc_hello_payload),
      cmocka_unit_test(test_back_to_back_messages_come_out_one_per_call),
      cmocka_unit_test(test_16_and_64_bit_lengths),
      cmocka_unit_test(test_close_with_code_and_reason),
      cmocka_unit_test(test_empty_close_reports_no_status),
      cmocka_unit_test(test_unmasked_frame_is_1002),
      cmocka_unit_test(test_reserved_bits_are_1002),
      cmocka_unit_test(test_unknown_opcodes_are_1002),
      cmocka_unit_test(test_control_frame_rules_are_1002),
      cmocka_unit_test(test_fragmentation_errors_are_1002),
      cmocka_unit_test(test_invalid_utf8_text_is_1007),
      cmocka_unit_test(test_binary_messages_need_not_be_utf8),
      cmocka_unit_test(test_oversize_header_is_1009_before_any_payload),
      cmocka_unit_test(test_fragments_adding_up_past_the_limit_are_1009),
      cmocka_unit_test(test_64_bit_length_with_the_top_bit_is_1002),
      cmocka_unit_test(test_lengths_not_minimally_encoded_are_1002),
      cmocka_unit_test(test_encoder_writes_unmasked_final_frames),
      cmocka_unit_test(test_encoded_frames_decode_once_masked),
      cmocka_unit_test(test_close_frame_carries_code_and_reason_cut_on_a_character),
      cmocka_unit_test(test_handshake_checks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
