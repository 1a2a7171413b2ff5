/* reqlog.c - request-log entry codec (see reqlog.h); same framing as records and events. */
#include "reqlog.h"

#include <string.h>

#include "../common/err.h"

#define REQLOG_VERSION 3
static const uint8_t reqlog_magic[3] = {'C', 'Q', REQLOG_VERSION};
#define REQLOG_VERSION_NO_DOTS 2

static bool valid(const reqlog_entry_t *e) {
  bool outcome = e->kind == REQLOG_OUTCOME;
  if (e->kind > REQLOG_OUTCOME || e->op > 3 || (outcome && e->op < 1)) return false;
  if (e->key_len < 1 || e->key_len > REQLOG_KEY_MAX) return false;
  if (!outcome) return !e->not_found && !e->event_id && !e->record_len && !e->value_len && !e->dots_len;
  return e->record_len <= REQLOG_RECORD_MAX && e->value_len <= REQLOG_VALUE_MAX;
}

int reqlog_encode(const reqlog_entry_t *e, buf_t *out) {
  if (!valid(e)) return CHORUS_EINVAL;
  size_t start = out->len;
  buf_put(out, reqlog_magic, sizeof reqlog_magic);
  buf_put_u8(out, e->kind);
  buf_put_u8(out, e->op);
  buf_put_lbytes(out, e->key, e->key_len);
  if (e->kind == REQLOG_OUTCOME) {
    buf_put_u8(out, e->not_found ? 1 : 0);
    buf_put_u64be(out, e->event_id);
    buf_put_lbytes(out, e->record, e->record_len);
    buf_put_lbytes(out, e->value, e->value_len);
    buf_put(out, e->dots, e->dots_len);
    if (!e->dots_len) buf_put_varint(out, 0);
  }
  buf_put_crc32c(out, start);
  return out->err;
}

/* The dots: checked by decoding them once, kept as bytes. */
static void dots_read(buf_reader_t *r, reqlog_entry_t *e) {
  dvv_dot_t dot;
  dvv_dots_t replaced = {0};
  const uint8_t *start = r->p;
  size_t left = r->left;
  int rc = dvv_dots_decode(r, &dot, &replaced);
  dvv_dots_free(&replaced);
  if (rc) {
    r->err = CHORUS_ECORRUPT; /* out of memory too: the entry cannot be used */
    r->left = 0;
    return;
  }
  e->dots = start;
  e->dots_len = left - r->left;
}

int reqlog_dots(const reqlog_entry_t *e, dvv_dot_t *dot, dvv_dots_t *replaced) {
  memset(dot, 0, sizeof *dot);
  dvv_dots_free(replaced);
  if (!e->dots_len) return 0;
  buf_reader_t r;
  buf_reader_init(&r, e->dots, e->dots_len);
  return dvv_dots_decode(&r, dot, replaced);
}

int reqlog_decode(const void *p, size_t len, reqlog_entry_t *e) {
  memset(e, 0, sizeof *e);
  size_t body_len;
  if (buf_check_crc32c(p, len, &body_len)) return CHORUS_ECORRUPT;
  buf_reader_t r;
  buf_reader_init(&r, p, body_len);
  const uint8_t *magic = buf_read_raw(&r, sizeof reqlog_magic);
  bool no_dots = magic && magic[2] == REQLOG_VERSION_NO_DOTS;
  e->kind = buf_read_u8(&r);
  e->op = buf_read_u8(&r);
  e->key = (const char *)buf_read_lbytes(&r, REQLOG_KEY_MAX, &e->key_len);
  uint8_t not_found = 0;
  if (!r.err && e->kind == REQLOG_OUTCOME) {
    not_found = buf_read_u8(&r);
    e->not_found = not_found == 1;
    e->event_id = buf_read_u64be(&r);
    e->record = buf_read_lbytes(&r, REQLOG_RECORD_MAX, &e->record_len);
    e->value = buf_read_lbytes(&r, REQLOG_VALUE_MAX, &e->value_len);
    if (!no_dots) dots_read(&r, e);
  }
  bool magic_ok = magic && memcmp(magic, reqlog_magic, 2) == 0 && (magic[2] == REQLOG_VERSION || no_dots);
  if (r.err || r.left || !magic_ok || not_found > 1 || !valid(e)) {
    memset(e, 0, sizeof *e);
    return CHORUS_ECORRUPT;
  }
  return 0;
}

int reqlog_decode_v1(const void *p, size_t len, uint8_t *op, const char **key, size_t *key_len) {
  static const uint8_t magic_v1[3] = {'C', 'Q', 1};
  size_t body_len, reply_len;
  if (buf_check_crc32c(p, len, &body_len)) return CHORUS_ECORRUPT;
  buf_reader_t r;
  buf_reader_init(&r, p, body_len);
  const uint8_t *magic = buf_read_raw(&r, sizeof magic_v1);
  uint16_t status = buf_read_u16be(&r);
  *op = buf_read_u8(&r);
  *key = (const char *)buf_read_lbytes(&r, REQLOG_KEY_MAX, key_len);
  (void)buf_read_lbytes(&r, REQLOG_VALUE_MAX, &reply_len);
  bool ok = !r.err && !r.left && memcmp(magic, magic_v1, sizeof magic_v1) == 0 && *op <= 3 && *key_len >= 1 &&
            (status == 0 || (status >= 100 && status <= 599));
  return ok ? 0 : CHORUS_ECORRUPT;
}
