/*
 * fuzz_ws_frame.c - the WebSocket decoder on arbitrary client bytes.
 *
 * 1. It never crashes, leaks or reads past its input; a message is never
 *    larger than the limit, a control payload never over 125 bytes, a text
 *    message is valid UTF-8, and an error carries a close code.
 * 2. Splitting is invisible: the input fed at once and fed in chunks (the
 *    first byte picks their size) yields the same events, byte for byte,
 *    and ends in the same error.
 * 3. Every payload re-encoded by the server-side encoder is measured back
 *    to its length by ws_frame_size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/ws_frame.h"
#include "common/buf.h"
#include "common/utf8.h"

#define LIMIT 4096

typedef struct {
  buf_t log; /* kind, opcode, code, length, payload of each event; then the error */
} trace_t;

static void check_event(const ws_event_t *ev) {
  if (ev->kind == WS_EV_MESSAGE) {
    if (ev->len > LIMIT) abort();
    if (ev->opcode == WS_OP_TEXT && !utf8_valid(ev->data, ev->len)) abort();
  } else if (ev->len > WS_CONTROL_MAX) {
    abort();
  }
  buf_t out;
  buf_init(&out);
  ws_opcode_t op = ev->kind == WS_EV_MESSAGE ? ev->opcode : WS_OP_PONG;
  if (ws_encode(&out, op, ev->data, ev->len) == 0) {
    size_t size;
    if (ws_frame_size(out.data, out.len, &size) != 0 || size != out.len) abort();
  }
  buf_free(&out);
}

static void run(const uint8_t *data, size_t size, size_t step, trace_t *t) {
  ws_decoder_t d;
  ws_decoder_init(&d, LIMIT);
  buf_init(&t->log);
  int rc = 0;
  uint16_t code = 0;
  for (size_t off = 0; off < size && !rc; off += step) {
    size_t chunk = size - off < step ? size - off : step;
    const uint8_t *p = data + off;
    while (!rc) {
      size_t used = 0;
      ws_event_t ev;
      const char *reason = NULL;
      rc = ws_decode(&d, p, chunk, &used, &ev, &code, &reason);
      if (used > chunk) abort();
      p += used;
      chunk -= used;
      if (rc) {
        if (code < 1000 || !reason) abort();
        break;
      }
      if (ev.kind == WS_EV_NONE) {
        if (chunk) abort(); /* NONE means the input is used up */
        break;
      }
      check_event(&ev);
      buf_put_u8(&t->log, (uint8_t)ev.kind);
      buf_put_u8(&t->log, (uint8_t)ev.opcode);
      buf_put_u16be(&t->log, ev.code);
      buf_put_lbytes(&t->log, ev.data, ev.len);
    }
  }
  buf_put_u32be(&t->log, (uint32_t)-rc);
  buf_put_u16be(&t->log, rc ? code : 0);
  ws_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t step = (size_t)data[0] % 17 + 1;
  data++;
  size--;
  trace_t whole, split;
  run(data, size, size ? size : 1, &whole);
  run(data, size, step, &split);
  if (whole.log.err || split.log.err) abort();
  if (whole.log.len != split.log.len ||
      (whole.log.len && memcmp(whole.log.data, split.log.data, whole.log.len)))
    abort();
  buf_free(&whole.log);
  buf_free(&split.log);
  return 0;
}
