/*
 * buf.c - byte writer and bounded reader (see buf.h).
 *
 * The writer grows geometrically and records the first allocation failure in
 * err; every later put is then a no-op. The reader only ever advances through
 * buf_read_raw, which checks the bytes remaining, so no other function can
 * read past the input. Varints are accepted only in their shortest form so
 * that decode-then-encode reproduces the input byte for byte.
 */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "err.h"

#define BUF_MIN_CAP 64
#define VARINT_MAX_BYTES 10

void buf_init(buf_t *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->err = 0;
}

void buf_free(buf_t *b) {
  free(b->data);
  buf_init(b);
}

void buf_reset(buf_t *b) {
  b->len = 0;
  b->err = 0;
}

int buf_reserve(buf_t *b, size_t extra) {
  if (b->err) return b->err;
  if (extra <= b->cap - b->len) return 0;
  if (extra > SIZE_MAX - b->len) return b->err = CHORUS_ENOMEM;
  size_t need = b->len + extra;
  size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *data = realloc(b->data, cap);
  if (!data) return b->err = CHORUS_ENOMEM;
  b->data = data;
  b->cap = cap;
  return 0;
}

void buf_put(buf_t *b, const void *p, size_t n) {
  if (n == 0 || buf_reserve(b, n)) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

void buf_put_u8(buf_t *b, uint8_t v) {
  buf_put(b, &v, 1);
}

/* Big-endian store of the low `width` bytes of v. */
static void put_be(buf_t *b, uint64_t v, size_t width) {
  uint8_t tmp[8];
  for (size_t i = 0; i < width; i++)
    tmp[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
  buf_put(b, tmp, width);
}

void buf_put_u16be(buf_t *b, uint16_t v) {
  put_be(b, v, 2);
}

void buf_put_u32be(buf_t *b, uint32_t v) {
  put_be(b, v, 4);
}

void buf_put_u64be(buf_t *b, uint64_t v) {
  put_be(b, v, 8);
}

void buf_put_varint(buf_t *b, uint64_t v) {
  uint8_t tmp[VARINT_MAX_BYTES];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  buf_put(b, tmp, n);
}

void buf_put_lbytes(buf_t *b, const void *p, size_t n) {
  buf_put_varint(b, n);
  buf_put(b, p, n);
}

uint8_t *buf_detach(buf_t *b, size_t *len) {
  uint8_t *data = b->err ? NULL : b->data;
  if (len) *len = data ? b->len : 0;
  if (!data) free(b->data);
  buf_init(b);
  return data;
}

void buf_put_crc32c(buf_t *b, size_t start) {
  if (b->err || start > b->len) return;
  buf_put_u32be(b, crc32c(0, b->data ? b->data + start : NULL, b->len - start));
}

void buf_reader_init(buf_reader_t *r, const void *p, size_t len) {
  r->p = p;
  r->left = p ? len : 0;
  r->err = 0;
}

static void reader_fail(buf_reader_t *r) {
  r->err = CHORUS_ECORRUPT;
  r->left = 0;
}

const uint8_t *buf_read_raw(buf_reader_t *r, size_t n) {
  /* Zero-length reads must still yield a usable pointer, even over NULL input. */
  static const uint8_t empty[1];
  if (r->err) return NULL;
  if (n > r->left) {
    reader_fail(r);
    return NULL;
  }
  const uint8_t *p = r->p ? r->p : empty;
  if (n) {
    r->p += n;
    r->left -= n;
  }
  return p;
}

/* Big-endian load of `width` bytes; 0 after an error. */
static uint64_t read_be(buf_reader_t *r, size_t width) {
  const uint8_t *p = buf_read_raw(r, width);
  uint64_t v = 0;
  if (!p) return 0;
  for (size_t i = 0; i < width; i++)
    v = (v << 8) | p[i];
  return v;
}

uint8_t buf_read_u8(buf_reader_t *r) {
  return (uint8_t)read_be(r, 1);
}

uint16_t buf_read_u16be(buf_reader_t *r) {
  return (uint16_t)read_be(r, 2);
}

uint32_t buf_read_u32be(buf_reader_t *r) {
  return (uint32_t)read_be(r, 4);
}

uint64_t buf_read_u64be(buf_reader_t *r) {
  return read_be(r, 8);
}

uint64_t buf_read_varint(buf_reader_t *r) {
  uint64_t v = 0;
  for (unsigned i = 0; i < VARINT_MAX_BYTES; i++) {
    const uint8_t *p = buf_read_raw(r, 1);
    if (!p) return 0;
    /* The tenth byte holds only bit 63; anything more would overflow. */
    if (i == VARINT_MAX_BYTES - 1 && *p > 1) break;
    v |= (uint64_t)(*p & 0x7f) << (7 * i);
    if (!(*p & 0x80)) {
      /* A final zero group after the first byte is an overlong encoding. */
      if (i > 0 && *p == 0) break;
      return v;
    }
  }
  reader_fail(r);
  return 0;
}

const uint8_t *buf_read_lbytes(buf_reader_t *r, size_t max, size_t *len) {
  uint64_t n = buf_read_varint(r);
  *len = 0;
  if (r->err) return NULL;
  if (n > max || n > r->left) {
    reader_fail(r);
    return NULL;
  }
  const uint8_t *p = buf_read_raw(r, (size_t)n);
  if (p) *len = (size_t)n;
  return p;
}

int buf_check_crc32c(const void *p, size_t len, size_t *body_len) {
  *body_len = 0;
  if (!p || len < 4) return CHORUS_ECORRUPT;
  const uint8_t *b = p;
  size_t n = len - 4;
  uint32_t want = (uint32_t)b[n] << 24 | (uint32_t)b[n + 1] << 16 | (uint32_t)b[n + 2] << 8 | b[n + 3];
  if (crc32c(0, b, n) != want) return CHORUS_ECORRUPT;
  *body_len = n;
  return 0;
}
