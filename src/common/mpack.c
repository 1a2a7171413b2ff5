/*
 * mpack.c - the bounded msgpack reader and the packer's buf_t sink (see
 * mpack.h).
 *
 * Shortest form is what msgpack-c's packer writes: a value goes in the
 * smallest form that can carry it, so a wider form is accepted only for a
 * value the next narrower form cannot hold. Lengths and counts share one
 * routine: a "fix" range of tags carrying the value itself, then up to three
 * consecutive extension tags whose big-endian payload doubles in width.
 * Invariant: every read goes through buf_read_raw, so none can pass the end
 * of the input, and every failure leaves the reader failed.
 */
#include "mpack.h"

#include <string.h>

#include "err.h"

#define MP_FIXINT_MAX 0x7f
#define MP_FIXMAP 0x80
#define MP_FIXARRAY 0x90
#define MP_FIXSTR 0xa0
#define MP_NIL 0xc0
#define MP_FALSE 0xc2
#define MP_TRUE 0xc3
#define MP_BIN8 0xc4
#define MP_UINT8 0xcc
#define MP_UINT64 0xcf
#define MP_INT8 0xd0
#define MP_INT64 0xd3
#define MP_STR8 0xd9
#define MP_ARRAY16 0xdc
#define MP_MAP16 0xde
#define MP_NEGFIXINT 0xe0
#define MP_NEGFIXINT_MIN (-32)

/* How one kind of header encodes a length or count. */
typedef struct {
  uint8_t fix;       /* first tag carrying the value in its low bits */
  uint8_t fix_count; /* tags fix .. fix + fix_count - 1; 0: no fix form */
  uint8_t ext;       /* first extension tag */
  uint8_t ext_count; /* extension tags ext .. ext + ext_count - 1 */
  uint8_t width;     /* payload bytes after ext; doubles with each next tag */
} mp_len_form_t;

static const mp_len_form_t form_str = {MP_FIXSTR, 32, MP_STR8, 3, 1};        /* str8/16/32 */
static const mp_len_form_t form_bin = {0, 0, MP_BIN8, 3, 1};                 /* bin8/16/32 */
static const mp_len_form_t form_array = {MP_FIXARRAY, 16, MP_ARRAY16, 2, 2}; /* array16/32 */
static const mp_len_form_t form_map = {MP_FIXMAP, 16, MP_MAP16, 2, 2};       /* map16/32 */

void mpack_fail(buf_reader_t *r) {
  r->err = CHORUS_ECORRUPT;
  r->left = 0;
}

static uint64_t read_be(buf_reader_t *r, size_t width) {
  const uint8_t *p = buf_read_raw(r, width);
  uint64_t v = 0;
  for (size_t i = 0; p && i < width; i++)
    v = v << 8 | p[i];
  return v;
}

/* The smallest value a width-byte payload may carry when the next narrower
 * payload is half as wide: anything below fits there. */
static uint64_t wide_min(size_t width) {
  return (uint64_t)1 << (4 * width);
}

/* The tag's byte is already consumed. */
static uint64_t read_uint_after(buf_reader_t *r, uint8_t tag, uint64_t max) {
  uint64_t v = tag, min = 0;
  if (tag > MP_FIXINT_MAX) {
    if (tag < MP_UINT8 || tag > MP_UINT64) {
      mpack_fail(r);
      return 0;
    }
    size_t width = (size_t)1 << (tag - MP_UINT8); /* 1, 2, 4, 8 */
    min = width == 1 ? MP_FIXINT_MAX + 1 : wide_min(width);
    v = read_be(r, width);
  }
  if (r->err || v < min || v > max) {
    mpack_fail(r);
    return 0;
  }
  return v;
}

uint64_t mpack_uint(buf_reader_t *r, uint64_t max) {
  return read_uint_after(r, buf_read_u8(r), max);
}

/* A negative value in negative fixint or int8..int64, shortest form. */
static int64_t read_negative_after(buf_reader_t *r, uint8_t tag, int64_t min) {
  int64_t v, above;
  if (tag >= MP_NEGFIXINT) {
    v = (int64_t)tag - 0x100;
    above = -1;
  } else if (tag >= MP_INT8 && tag <= MP_INT64) {
    size_t width = (size_t)1 << (tag - MP_INT8);
    uint64_t u = read_be(r, width), sign = (uint64_t)1 << (8 * width - 1);
    uint64_t mask = sign | (sign - 1);
    /* Two's complement of width bytes, without implementation-defined casts. */
    v = u & sign ? -(int64_t)(~u & mask) - 1 : (int64_t)u;
    above = width == 1 ? MP_NEGFIXINT_MIN - 1 : -(int64_t)((uint64_t)1 << (8 * width / 2 - 1)) - 1;
  } else {
    v = 0;
    above = -1;
    mpack_fail(r);
  }
  if (r->err || v > above || v < min) {
    mpack_fail(r);
    return 0;
  }
  return v;
}

int64_t mpack_int(buf_reader_t *r, int64_t min, int64_t max) {
  uint8_t tag = buf_read_u8(r);
  if (r->err) return 0;
  if (tag <= MP_FIXINT_MAX || (tag >= MP_UINT8 && tag <= MP_UINT64)) {
    if (max < 0) {
      mpack_fail(r);
      return 0;
    }
    uint64_t v = read_uint_after(r, tag, (uint64_t)max);
    if (!r->err && min > 0 && v < (uint64_t)min) mpack_fail(r);
    return r->err ? 0 : (int64_t)v;
  }
  return read_negative_after(r, tag, min);
}

bool mpack_bool(buf_reader_t *r) {
  uint8_t tag = buf_read_u8(r);
  if (tag != MP_FALSE && tag != MP_TRUE) mpack_fail(r);
  return tag == MP_TRUE;
}

static size_t read_len(buf_reader_t *r, const mp_len_form_t *f, size_t max) {
  uint8_t tag = buf_read_u8(r);
  uint64_t n = 0, min = 0;
  if (r->err) return 0;
  if (tag >= f->fix && tag - f->fix < f->fix_count) {
    n = (uint64_t)(tag - f->fix);
  } else if (tag >= f->ext && tag - f->ext < f->ext_count) {
    size_t i = (size_t)(tag - f->ext), width = (size_t)f->width << i;
    min = i == 0 ? f->fix_count : wide_min(width);
    n = read_be(r, width);
  } else {
    mpack_fail(r);
  }
  if (r->err || n < min || n > max) {
    mpack_fail(r);
    return 0;
  }
  return (size_t)n;
}

size_t mpack_array(buf_reader_t *r, size_t max) {
  return read_len(r, &form_array, max);
}

size_t mpack_map(buf_reader_t *r, size_t max) {
  return read_len(r, &form_map, max);
}

void mpack_array_of(buf_reader_t *r, size_t n) {
  if (mpack_array(r, n) != n) mpack_fail(r);
}

static const uint8_t *read_body(buf_reader_t *r, const mp_len_form_t *f, size_t max, size_t *len) {
  size_t n = read_len(r, f, max);
  const uint8_t *p = r->err ? NULL : buf_read_raw(r, n);
  *len = p ? n : 0;
  return p;
}

const uint8_t *mpack_str(buf_reader_t *r, size_t max, size_t *len) {
  return read_body(r, &form_str, max, len);
}

const uint8_t *mpack_bin(buf_reader_t *r, size_t max, size_t *len) {
  return read_body(r, &form_bin, max, len);
}

bool mpack_is_nil(const buf_reader_t *r) {
  return !r->err && r->left && r->p[0] == MP_NIL;
}

void mpack_nil(buf_reader_t *r) {
  if (buf_read_u8(r) != MP_NIL) mpack_fail(r);
}

void mpack_node_id(buf_reader_t *r, char out[NODE_ID_MAX + 1], bool may_be_empty) {
  size_t n;
  const uint8_t *p = mpack_str(r, NODE_ID_MAX, &n);
  if (!p) return;
  if (n == 0 ? !may_be_empty : !node_id_valid((const char *)p, n)) {
    mpack_fail(r);
    return;
  }
  memcpy(out, p, n);
  out[n] = '\0';
}

int mpack_buf_write(void *data, const char *p, size_t n) {
  buf_t *b = data;
  buf_put(b, p, n);
  return b->err;
}

int mpack_buf_end(buf_t *out, size_t start) {
  if (!out->err) return 0;
  int err = out->err;
  out->len = start;
  return err;
}
