/* reqlog.c - request-log entry codec (see reqlog.h); same framing as records and events. */
#include "reqlog.h"

#include <stdbool.h>
#include <string.h>

#include "../common/err.h"

#define REQLOG_VERSION 1
static const uint8_t reqlog_magic[3] = {'C', 'Q', REQLOG_VERSION};

static int valid(const reqlog_entry_t *e) {
  bool replicated = e->status == REQLOG_REPLICATED;
  bool reply = e->status >= 100 && e->status <= 599;
  return (reply || (replicated && !e->body_len)) && (e->op >= 1 || replicated) && e->op <= 3 &&
         e->key_len >= 1 && e->key_len <= REQLOG_KEY_MAX && e->body_len <= REQLOG_BODY_MAX;
}

int reqlog_encode(const reqlog_entry_t *e, buf_t *out) {
  if (!valid(e)) return CHORUS_EINVAL;
  size_t start = out->len;
  buf_put(out, reqlog_magic, sizeof reqlog_magic);
  buf_put_u16be(out, (uint16_t)e->status);
  buf_put_u8(out, e->op);
  buf_put_lbytes(out, e->key, e->key_len);
  buf_put_lbytes(out, e->body, e->body_len);
  buf_put_crc32c(out, start);
  return out->err;
}

int reqlog_decode(const void *p, size_t len, reqlog_entry_t *e) {
  memset(e, 0, sizeof *e);
  size_t body_len;
  if (buf_check_crc32c(p, len, &body_len)) return CHORUS_ECORRUPT;
  buf_reader_t r;
  buf_reader_init(&r, p, body_len);
  const uint8_t *magic = buf_read_raw(&r, sizeof reqlog_magic);
  e->status = buf_read_u16be(&r);
  e->op = buf_read_u8(&r);
  e->key = (const char *)buf_read_lbytes(&r, REQLOG_KEY_MAX, &e->key_len);
  e->body = buf_read_lbytes(&r, REQLOG_BODY_MAX, &e->body_len);
  if (r.err || r.left || memcmp(magic, reqlog_magic, sizeof reqlog_magic) != 0 || !valid(e)) {
    memset(e, 0, sizeof *e);
    return CHORUS_ECORRUPT;
  }
  return 0;
}
