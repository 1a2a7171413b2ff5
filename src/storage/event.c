/*
 * event.c - event log entries and their codec (layout in event.h).
 *
 * Same framing as records: magic and version, fields, crc32c trailer checked
 * before parsing. The encoder refuses what the decoder would refuse, so every
 * event written can be read back; the decoder always gives a NUL-terminated
 * key (possibly empty) and a NULL preview when it is empty, so decoding is a
 * function of the bytes alone.
 */
#include "event.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/sha256.h"
#include "../common/utf8.h"

#define EVENT_VERSION_NO_PEER 1
#define EVENT_HASH_BYTES 8

static const uint8_t event_magic[3] = {'C', 'E', EVENT_VERSION};

void event_init(event_t *ev) {
  memset(ev, 0, sizeof(*ev));
  vv_init(&ev->clock);
}

void event_free(event_t *ev) {
  free(ev->key);
  free(ev->preview);
  vv_free(&ev->clock);
  event_init(ev);
}

static bool type_valid(uint64_t t) {
  return t >= EVENT_PUT && t <= EVENT_REAP;
}

const char *event_type_name(event_type_t t) {
  switch (t) {
  case EVENT_PUT: return "put";
  case EVENT_GET: return "get";
  case EVENT_DELETE: return "delete";
  case EVENT_REPLICATE: return "replicate";
  case EVENT_READ_REPAIR: return "read_repair";
  case EVENT_HINT_STORED: return "hint_stored";
  case EVENT_HINT_DELIVERED: return "hint_delivered";
  case EVENT_ACK: return "ack";
  case EVENT_READ_REPLY: return "read_reply";
  case EVENT_REPAIR: return "repair";
  case EVENT_REAP: return "reap";
  default: return "unknown";
  }
}

/* A malloc'd NUL-terminated copy of p[0..len). */
static char *dup_bytes(const void *p, size_t len) {
  char *s = malloc(len + 1);
  if (!s) return NULL;
  if (len) memcpy(s, p, len);
  s[len] = '\0';
  return s;
}

int event_set_preview(event_t *ev, const void *value, size_t len) {
  const uint8_t *v = value;
  if (len && !v) return CHORUS_EINVAL;
  size_t n = utf8_prefix(v, len, EVENT_PREVIEW_MAX);
  char *p = n ? dup_bytes(v, n) : NULL;
  if (n && !p) return CHORUS_ENOMEM;
  free(ev->preview);
  ev->preview = p;
  ev->preview_len = n;
  return 0;
}

static bool peer_valid(const char peer[VV_NODE_MAX + 1]) {
  size_t len = strnlen(peer, VV_NODE_MAX + 1);
  return len == 0 || vv_node_valid(peer, len);
}

static bool event_valid(const event_t *ev) {
  return ev->id > 0 && type_valid(ev->type) && vv_node_valid(ev->node, strnlen(ev->node, sizeof(ev->node))) &&
         peer_valid(ev->peer) && ev->key_len <= EVENT_KEY_MAX && (ev->key || !ev->key_len) &&
         ev->preview_len <= EVENT_PREVIEW_MAX && (ev->preview || !ev->preview_len) &&
         ev->clock.n <= VV_MAX_ENTRIES;
}

int event_encode(const event_t *ev, buf_t *out) {
  if (!event_valid(ev)) return CHORUS_EINVAL;
  size_t start = out->len;
  buf_put(out, event_magic, sizeof(event_magic));
  buf_put_varint(out, ev->id);
  buf_put_u8(out, (uint8_t)ev->type);
  buf_put_u64be(out, ev->ts_ms);
  vv_encode_node(ev->node, out);
  buf_put_lbytes(out, ev->peer, strlen(ev->peer));
  buf_put_lbytes(out, ev->key, ev->key_len);
  buf_put_lbytes(out, ev->preview, ev->preview_len);
  vv_encode(&ev->clock, out);
  buf_put_crc32c(out, start);
  if (out->err) out->len = start;
  return out->err;
}

/* Copies the next length-prefixed field into *dst (NUL-terminated); an empty
 * field gives NULL unless keep_empty. */
static int read_string(buf_reader_t *r, size_t max, bool keep_empty, char **dst, size_t *len) {
  const uint8_t *p = buf_read_lbytes(r, max, len);
  if (!p) return CHORUS_ECORRUPT;
  if (!*len && !keep_empty) return 0;
  *dst = dup_bytes(p, *len);
  return *dst ? 0 : CHORUS_ENOMEM;
}

/* The peer field: empty, or a valid node id copied NUL-terminated. */
static int read_peer(buf_reader_t *r, char out[VV_NODE_MAX + 1]) {
  size_t len = 0;
  const uint8_t *p = buf_read_lbytes(r, VV_NODE_MAX, &len);
  if (!p || (len && !vv_node_valid((const char *)p, len))) return CHORUS_ECORRUPT;
  memcpy(out, p, len);
  out[len] = '\0';
  return 0;
}

static int decode_body(buf_reader_t *r, event_t *ev) {
  const uint8_t *magic = buf_read_raw(r, sizeof(event_magic));
  ev->id = buf_read_varint(r);
  uint8_t type = buf_read_u8(r);
  ev->ts_ms = buf_read_u64be(r);
  if (r->err || memcmp(magic, event_magic, 2) != 0) return CHORUS_ECORRUPT;
  if (magic[2] != EVENT_VERSION && magic[2] != EVENT_VERSION_NO_PEER) return CHORUS_ECORRUPT;
  if (ev->id == 0 || !type_valid(type) || vv_decode_node(r, ev->node)) return CHORUS_ECORRUPT;
  if (magic[2] == EVENT_VERSION && read_peer(r, ev->peer)) return CHORUS_ECORRUPT;
  ev->type = (event_type_t)type;
  int rc = read_string(r, EVENT_KEY_MAX, true, &ev->key, &ev->key_len);
  if (!rc) rc = read_string(r, EVENT_PREVIEW_MAX, false, &ev->preview, &ev->preview_len);
  if (!rc) rc = vv_decode(r, &ev->clock);
  if (!rc && r->left != 0) rc = CHORUS_ECORRUPT;
  return rc;
}

int event_decode(const void *p, size_t len, event_t *ev) {
  size_t body_len;
  buf_reader_t r;
  event_free(ev);
  int rc = buf_check_crc32c(p, len, &body_len);
  if (rc) return rc;
  buf_reader_init(&r, p, body_len);
  rc = decode_body(&r, ev);
  if (rc) event_free(ev);
  return rc;
}

void event_causal_hash(const event_t *ev, char out[17]) {
  static const char hex[] = "0123456789abcdef";
  uint8_t md[SHA256_BYTES];
  buf_t b;
  buf_init(&b);
  out[0] = '\0';
  if (event_encode(ev, &b) == 0) {
    sha256_digest(b.data, b.len, md);
    for (size_t i = 0; i < EVENT_HASH_BYTES; i++) {
      out[2 * i] = hex[md[i] >> 4];
      out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[2 * EVENT_HASH_BYTES] = '\0';
  }
  buf_free(&b);
}
