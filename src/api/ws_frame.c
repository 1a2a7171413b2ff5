/*
 * ws_frame.c - the RFC 6455 codec (see ws_frame.h).
 *
 * The decoder is a two-state machine: WS_HDR collects the 2..14 header
 * bytes (each check runs as soon as the byte it needs has arrived, so a
 * violation is reported without waiting for the rest), WS_PAYLOAD unmasks
 * payload bytes into the message buffer (data frames) or the control array.
 * A frame completes when its last payload byte is in; a data frame whose
 * FIN is set completes a message. Every length from the wire is checked
 * against the limit before it is used to read or allocate.
 */
#include "ws_frame.h"

#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "../common/base64.h"
#include "../common/err.h"
#include "../common/utf8.h"

void ws_decoder_init(ws_decoder_t *d, size_t max_message) {
  memset(d, 0, sizeof *d);
  d->max_message = max_message;
  d->state = WS_HDR;
  buf_init(&d->msg);
}

void ws_decoder_free(ws_decoder_t *d) {
  buf_free(&d->msg);
}

static int fail(ws_decoder_t *d, int err, uint16_t code, const char *reason) {
  d->state = WS_FAILED;
  d->err = err;
  d->err_code = code;
  d->err_reason = reason;
  return err;
}

static bool is_control(uint8_t op) {
  return op & 0x8;
}

/* Bytes of header this frame needs in total, from what hdr holds so far. */
static size_t header_need(const ws_decoder_t *d) {
  if (d->hdr_len < 2) return 2;
  uint8_t len7 = d->hdr[1] & 0x7f;
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

/* Checks of the first two bytes: flags, opcode, mask, control-frame rules. */
static int check_start(ws_decoder_t *d) {
  uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
  uint8_t op = b0 & 0x0f, len7 = b1 & 0x7f;
  if (b0 & 0x70) return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "reserved bits set");
  if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CLOSE && op != WS_OP_PING &&
      op != WS_OP_PONG)
    return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "unknown opcode");
  if (!(b1 & 0x80)) return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "client frames must be masked");
  if (is_control(op)) {
    if (!(b0 & 0x80)) return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "fragmented control frame");
    if (len7 > WS_CONTROL_MAX) return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "control frame too long");
  } else if (op == WS_OP_CONT && !d->in_message) {
    return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "continuation without a message");
  } else if (op != WS_OP_CONT && d->in_message) {
    return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
  }
  return 0;
}

/* The extended length, once its bytes are in: minimal encoding, top bit
 * clear, and the message limit (1009 before a payload byte is read). */
static int check_length(ws_decoder_t *d) {
  uint8_t len7 = d->hdr[1] & 0x7f;
  uint64_t n = len7;
  if (len7 == 126) {
    n = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
    if (n < 126) return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "length not minimally encoded");
  } else if (len7 == 127) {
    if (d->hdr[2] & 0x80)
      return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set");
    n = 0;
    for (int i = 0; i < 8; i++)
      n = n << 8 | d->hdr[2 + i];
    if (n <= 0xffff) return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "length not minimally encoded");
  }
  if (!is_control(d->hdr[0] & 0x0f) && (n > d->max_message || d->msg.len > d->max_message - n))
    return fail(d, CHORUS_ETOOBIG, WS_CLOSE_TOO_BIG, "message too big");
  d->left = n;
  return 0;
}

/* The header is complete: set up the payload read. */
static int begin_payload(ws_decoder_t *d) {
  int rc = check_length(d);
  if (rc) return rc;
  size_t hl = d->hdr_len;
  memcpy(d->mask, d->hdr + hl - 4, 4);
  d->mask_pos = 0;
  d->fin = d->hdr[0] & 0x80;
  d->opcode = d->hdr[0] & 0x0f;
  d->ctl_len = 0;
  if (!is_control(d->opcode)) {
    if (d->opcode != WS_OP_CONT) {
      d->in_message = true;
      d->msg_opcode = d->opcode;
    }
    if (buf_reserve(&d->msg, (size_t)d->left) != 0)
      return fail(d, CHORUS_ENOMEM, WS_CLOSE_INTERNAL, "out of memory");
  }
  d->state = WS_PAYLOAD;
  return 0;
}

/* A close frame's payload: nothing, or a valid code and a UTF-8 reason. */
static int close_event(ws_decoder_t *d, ws_event_t *ev) {
  ev->kind = WS_EV_CLOSE;
  ev->code = WS_CLOSE_NO_STATUS;
  ev->data = d->ctl;
  ev->len = 0;
  if (d->ctl_len == 0) return 0;
  if (d->ctl_len == 1)
    return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
  uint16_t code = (uint16_t)(d->ctl[0] << 8 | d->ctl[1]);
  bool defined = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
  if (!defined && !(code >= 3000 && code <= 4999))
    return fail(d, CHORUS_ECORRUPT, WS_CLOSE_PROTOCOL, "invalid close code");
  if (!utf8_valid(d->ctl + 2, d->ctl_len - 2))
    return fail(d, CHORUS_ECORRUPT, WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
  ev->code = code;
  ev->data = d->ctl + 2;
  ev->len = d->ctl_len - 2;
  return 0;
}

/* The frame's last payload byte is in: its event, if it completes one. */
static int end_frame(ws_decoder_t *d, ws_event_t *ev) {
  d->state = WS_HDR;
  d->hdr_len = 0;
  switch (d->opcode) {
  case WS_OP_PING:
  case WS_OP_PONG:
    ev->kind = d->opcode == WS_OP_PING ? WS_EV_PING : WS_EV_PONG;
    ev->data = d->ctl;
    ev->len = d->ctl_len;
    return 0;
  case WS_OP_CLOSE: return close_event(d, ev);
  default: break;
  }
  if (!d->fin) return 0;
  if (d->msg_opcode == WS_OP_TEXT && !utf8_valid(d->msg.data, d->msg.len))
    return fail(d, CHORUS_ECORRUPT, WS_CLOSE_BAD_DATA, "text message is not UTF-8");
  d->in_message = false;
  d->msg_ready = true;
  ev->kind = WS_EV_MESSAGE;
  ev->opcode = (ws_opcode_t)d->msg_opcode;
  ev->data = d->msg.data ? d->msg.data : d->ctl; /* never NULL, even when empty */
  ev->len = d->msg.len;
  return 0;
}

/* Unmasks up to d->left bytes of p into the frame's destination. */
static size_t read_payload(ws_decoder_t *d, const uint8_t *p, size_t len) {
  size_t n = d->left < len ? (size_t)d->left : len;
  uint8_t *dst;
  if (is_control(d->opcode)) {
    dst = d->ctl + d->ctl_len;
    d->ctl_len += n;
  } else {
    dst = d->msg.data + d->msg.len; /* reserved in begin_payload */
    d->msg.len += n;
  }
  for (size_t i = 0; i < n; i++)
    dst[i] = p[i] ^ d->mask[d->mask_pos++ & 3];
  d->left -= n;
  return n;
}

int ws_decode(ws_decoder_t *d, const uint8_t *p, size_t len, size_t *used, ws_event_t *ev,
              uint16_t *close_code, const char **reason) {
  memset(ev, 0, sizeof *ev);
  *used = 0;
  if (d->msg_ready) {
    buf_reset(&d->msg);
    d->msg_ready = false;
  }
  size_t i = 0;
  int rc = d->state == WS_FAILED ? d->err : 0;
  while (!rc && ev->kind == WS_EV_NONE) {
    if (d->state == WS_HDR) {
      size_t need = header_need(d);
      while (d->hdr_len < need && i < len) {
        d->hdr[d->hdr_len++] = p[i++];
        if (d->hdr_len == 2 && (rc = check_start(d)) != 0) break;
        need = header_need(d);
      }
      if (rc || d->hdr_len < need) break;
      if ((rc = begin_payload(d)) != 0) break;
    }
    if (d->left && i < len) i += read_payload(d, p + i, len - i);
    if (d->left) break;
    rc = end_frame(d, ev);
  }
  *used = i;
  if (rc) {
    memset(ev, 0, sizeof *ev);
    *close_code = d->err_code;
    *reason = d->err_reason;
  }
  return rc;
}

static void put_header(buf_t *out, ws_opcode_t op, size_t len) {
  buf_put_u8(out, (uint8_t)(0x80 | op));
  if (len < 126) {
    buf_put_u8(out, (uint8_t)len);
  } else if (len <= 0xffff) {
    buf_put_u8(out, 126);
    buf_put_u16be(out, (uint16_t)len);
  } else {
    buf_put_u8(out, 127);
    buf_put_u64be(out, (uint64_t)len);
  }
}

int ws_encode(buf_t *out, ws_opcode_t op, const void *p, size_t len) {
  if (is_control((uint8_t)op) && len > WS_CONTROL_MAX) return CHORUS_EINVAL;
  put_header(out, op, len);
  buf_put(out, p, len);
  return out->err;
}

int ws_encode_close(buf_t *out, uint16_t code, const char *reason) {
  uint8_t payload[WS_CONTROL_MAX];
  size_t rl = reason ? strlen(reason) : 0;
  rl = utf8_prefix(reason, rl, WS_CONTROL_MAX - 2);
  payload[0] = (uint8_t)(code >> 8);
  payload[1] = (uint8_t)code;
  if (rl) memcpy(payload + 2, reason, rl);
  return ws_encode(out, WS_OP_CLOSE, payload, rl + 2);
}

int ws_frame_size(const uint8_t *p, size_t avail, size_t *size) {
  if (avail < 2) return CHORUS_EAGAIN;
  uint8_t len7 = p[1] & 0x7f;
  size_t hl = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((p[1] & 0x80) ? 4 : 0);
  if (avail < hl) return CHORUS_EAGAIN;
  uint64_t n = len7;
  if (len7 == 126) n = (uint64_t)p[2] << 8 | p[3];
  if (len7 == 127) {
    n = 0;
    for (int i = 0; i < 8; i++)
      n = n << 8 | p[2 + i];
  }
  if (n > SIZE_MAX - hl) return CHORUS_ETOOBIG;
  *size = hl + (size_t)n;
  return 0;
}

int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]) {
  char text[64 + sizeof WS_GUID];
  if (key_len > 64) return CHORUS_EINVAL;
  memcpy(text, key, key_len);
  memcpy(text + key_len, WS_GUID, sizeof WS_GUID - 1);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)text, key_len + sizeof WS_GUID - 1, digest);
  return base64_encode(digest, sizeof digest, out, WS_ACCEPT_LEN + 1);
}

/* Whether the comma-separated header value holds token (any case). */
static bool has_token(const char *value, const char *token) {
  size_t tl = strlen(token);
  for (const char *p = value; p && *p;) {
    p += strspn(p, " \t,");
    size_t n = strcspn(p, ",");
    size_t end = n;
    while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
      end--;
    if (end == tl && strncasecmp(p, token, tl) == 0) return true;
    p += n;
  }
  return false;
}

/* A Sec-WebSocket-Key: base64 of exactly 16 bytes (24 characters, padded). */
static bool key_valid(const char *key) {
  uint8_t raw[18];
  size_t n = 0;
  return key && strlen(key) == 24 && key[22] == '=' && key[23] == '=' && !strpbrk(key, "-_") &&
         base64_decode(key, 24, raw, sizeof raw, &n) == 0 && n == 16;
}

int ws_handshake_check(const ws_handshake_t *h, int *status, const char **code, const char **message) {
  *status = 400;
  *code = "bad_handshake";
  if (!h->upgrade || !has_token(h->upgrade, "websocket")) {
    *status = 426;
    *code = "upgrade_required";
    *message = "this route speaks WebSocket: send 'Upgrade: websocket'";
  } else if (!h->connection || !has_token(h->connection, "upgrade")) {
    *message = "the Connection header must contain 'Upgrade'";
  } else if (!h->version) {
    *message = "Sec-WebSocket-Version is missing";
  } else if (strcmp(h->version, "13") != 0) {
    *status = 426;
    *code = "unsupported_version";
    *message = "only WebSocket version 13 is supported";
  } else if (!key_valid(h->key)) {
    *message = "Sec-WebSocket-Key must be the base64 of 16 bytes";
  } else {
    return 0;
  }
  return CHORUS_EINVAL;
}
