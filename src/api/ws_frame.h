/*
 * ws_frame.h - the WebSocket protocol (RFC 6455) as a pure codec: no I/O,
 * no clock. It owns the framing of the node's /ws endpoint:
 *
 *  - an incremental decoder of client->server frames, fed arbitrary byte
 *    chunks (one byte at a time works as well as a whole buffer), that
 *    reassembles fragmented messages, allows control frames between
 *    fragments, and reports the first protocol violation with the close
 *    code to answer it with;
 *  - an encoder of server->client frames (unmasked, never fragmented);
 *  - the opening handshake: header checks and the Sec-WebSocket-Accept value.
 *
 * Invariants: the decoder never buffers more than max_message bytes of
 * payload (a frame header announcing more is refused before any payload is
 * read), control payloads live in a fixed 125-byte array, and after the
 * first error every later call reports the same error without reading.
 */
#ifndef CHORUS_WS_FRAME_H
#define CHORUS_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define WS_CONTROL_MAX 125 /* payload bytes of a control frame */
#define WS_ACCEPT_LEN 28   /* base64 of a SHA-1 */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef enum {
  WS_OP_CONT = 0x0,
  WS_OP_TEXT = 0x1,
  WS_OP_BINARY = 0x2,
  WS_OP_CLOSE = 0x8,
  WS_OP_PING = 0x9,
  WS_OP_PONG = 0xA,
} ws_opcode_t;

/* Close status codes (RFC 6455 §7.4.1) the node sends or checks. */
enum {
  WS_CLOSE_NORMAL = 1000,
  WS_CLOSE_GOING_AWAY = 1001,
  WS_CLOSE_PROTOCOL = 1002,
  WS_CLOSE_UNSUPPORTED = 1003,
  WS_CLOSE_NO_STATUS = 1005, /* never on the wire: a close frame without a code */
  WS_CLOSE_BAD_DATA = 1007,
  WS_CLOSE_POLICY = 1008,
  WS_CLOSE_TOO_BIG = 1009,
  WS_CLOSE_INTERNAL = 1011,
};

typedef enum {
  WS_EV_NONE = 0, /* all input consumed, no event completed */
  WS_EV_MESSAGE,  /* a whole text or binary message */
  WS_EV_PING,
  WS_EV_PONG,
  WS_EV_CLOSE, /* the peer's close frame */
} ws_event_kind_t;

typedef struct {
  ws_event_kind_t kind;
  ws_opcode_t opcode; /* MESSAGE: WS_OP_TEXT or WS_OP_BINARY */
  /* The payload (message, ping/pong data, close reason), unmasked; owned by
   * the decoder and valid until its next call. */
  const uint8_t *data;
  size_t len;
  uint16_t code; /* CLOSE: the peer's status, WS_CLOSE_NO_STATUS when it gave none */
} ws_event_t;

typedef enum { WS_HDR, WS_PAYLOAD, WS_FAILED } ws_dec_state_t;

typedef struct {
  size_t max_message; /* payload bytes of one (reassembled) data message */
  ws_dec_state_t state;
  uint8_t hdr[14]; /* the frame header read so far */
  size_t hdr_len;
  /* the frame being read */
  bool fin;
  uint8_t opcode;
  uint64_t left; /* payload bytes still to read */
  uint8_t mask[4];
  size_t mask_pos;
  /* a data message being reassembled */
  bool in_message;
  uint8_t msg_opcode;
  buf_t msg;
  bool msg_ready; /* msg was handed out: reset on the next call */
  /* the control frame being read */
  uint8_t ctl[WS_CONTROL_MAX];
  size_t ctl_len;
  /* after an error */
  int err;
  uint16_t err_code;
  const char *err_reason;
} ws_decoder_t;

void ws_decoder_init(ws_decoder_t *d, size_t max_message);
void ws_decoder_free(ws_decoder_t *d);

/* Reads p[0..len) until one event completes or the input is used up;
 * *used gets the bytes consumed (call again with the rest: p + *used).
 * Returns 0 (ev->kind may be WS_EV_NONE: more input is needed), or on a
 * protocol violation CHORUS_ECORRUPT (or CHORUS_ETOOBIG, CHORUS_ENOMEM)
 * with *close_code the status to close with (1002, 1007, 1009, 1011) and
 * *reason a static text for the close frame. */
int ws_decode(ws_decoder_t *d, const uint8_t *p, size_t len, size_t *used, ws_event_t *ev,
              uint16_t *close_code, const char **reason);

/* Appends one unmasked, final frame with payload p[0..len) to out.
 * CHORUS_EINVAL for a control frame over 125 bytes; CHORUS_ENOMEM. */
int ws_encode(buf_t *out, ws_opcode_t op, const void *p, size_t len);
/* Appends a close frame with code and reason (cut to fit 125 bytes on a
 * UTF-8 character boundary). */
int ws_encode_close(buf_t *out, uint16_t code, const char *reason);
/* Size of the server frame starting at p (header + payload), once its
 * header is complete in p[0..avail); CHORUS_EAGAIN before. */
int ws_frame_size(const uint8_t *p, size_t avail, size_t *size);

/* Sec-WebSocket-Accept of a Sec-WebSocket-Key: base64(SHA-1(key + GUID)),
 * NUL-terminated. CHORUS_EINVAL for a key over 64 bytes. */
int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]);

/* The opening handshake's headers (NULL when absent). */
typedef struct {
  const char *upgrade, *connection, *version, *key;
} ws_handshake_t;

/* 0 when the request may be upgraded; otherwise CHORUS_EINVAL with the
 * HTTP status to answer (400, or 426 for a version other than 13, which
 * must carry "Sec-WebSocket-Version: 13"), an error code and a message. */
int ws_handshake_check(const ws_handshake_t *h, int *status, const char **code, const char **message);

#endif
