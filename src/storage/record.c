/*
 * record.c - the on-disk codec of a dvv_t (layout in record.h).
 *
 * The checksum is verified before any field is parsed, so a damaged record
 * fails fast and cleanly; the parser then still bounds every count and length
 * by the bytes remaining and by the limits of record.h before allocating, and
 * finally requires the state to satisfy the dvv_t invariants (dvv_valid), so
 * whatever record_decode accepts is a state dvv.c could have produced and
 * re-encodes to the same bytes.
 */
#include "record.h"

_Static_assert(DVV_DOTS_MAX >= RECORD_MAX_SIBLINGS, "a write can name every sibling it replaced");

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

#define RECORD_FLAG_TOMBSTONE 0x01
/* Smallest encoded sibling: flags, 2-byte node, counter, ts, empty ctx, empty value. */
#define RECORD_MIN_SIBLING_BYTES 14

static const uint8_t record_magic[3] = {'C', 'R', RECORD_VERSION};

int record_encode(const dvv_t *d, buf_t *out) {
  if (d->n == 0 || !dvv_valid(d)) return CHORUS_EINVAL;
  if (d->n > RECORD_MAX_SIBLINGS) return CHORUS_ETOOBIG;
  for (size_t i = 0; i < d->n; i++)
    if (d->s[i].value_len > RECORD_MAX_VALUE || d->s[i].ctx.n > VV_MAX_ENTRIES) return CHORUS_ETOOBIG;
  size_t start = out->len;
  buf_put(out, record_magic, sizeof(record_magic));
  buf_put_varint(out, d->n);
  for (size_t i = 0; i < d->n; i++) {
    const dvv_sibling_t *s = &d->s[i];
    buf_put_u8(out, s->tombstone ? RECORD_FLAG_TOMBSTONE : 0);
    vv_encode_node(s->node, out);
    buf_put_varint(out, s->counter);
    buf_put_u64be(out, s->ts_ms);
    vv_encode(&s->ctx, out);
    buf_put_lbytes(out, s->value, s->value_len);
  }
  buf_put_crc32c(out, start);
  if (out->err) out->len = start;
  return out->err;
}

/* Reads one sibling into s (zeroed, owned by the caller even on error). */
/* Reads one sibling into s (zeroed, owned by the caller even on error). */
static int decode_sibling(buf_reader_t *r, dvv_sibling_t *s) {
  size_t value_len;
  uint8_t flags = buf_read_u8(r);
  if (r->err || (flags & ~RECORD_FLAG_TOMBSTONE) || vv_decode_node(r, s->node)) return CHORUS_ECORRUPT;
  s->tombstone = flags & RECORD_FLAG_TOMBSTONE;
  s->counter = buf_read_varint(r);
  s->ts_ms = buf_read_u64be(r);
  int rc = r->err ? CHORUS_ECORRUPT : vv_decode(r, &s->ctx);
  if (rc) return rc;
  const uint8_t *value = buf_read_lbytes(r, RECORD_MAX_VALUE, &value_len);
  if (!value) return CHORUS_ECORRUPT;
  if (value_len) {
    s->value = malloc(value_len);
    if (!s->value) return CHORUS_ENOMEM;
    memcpy(s->value, value, value_len);
    s->value_len = value_len;
  }
  return 0;
}

static int decode_body(buf_reader_t *r, dvv_t *d) {
  const uint8_t *magic = buf_read_raw(r, sizeof(record_magic));
  uint64_t n = buf_read_varint(r);
  if (r->err || memcmp(magic, record_magic, sizeof(record_magic)) != 0) return CHORUS_ECORRUPT;
  if (n == 0 || n > RECORD_MAX_SIBLINGS || n > r->left / RECORD_MIN_SIBLING_BYTES) return CHORUS_ECORRUPT;
  d->s = calloc((size_t)n, sizeof(*d->s));
  if (!d->s) return CHORUS_ENOMEM;
  d->cap = (size_t)n;
  for (size_t i = 0; i < n; i++) {
    vv_init(&d->s[i].ctx);
    d->n++;
    int rc = decode_sibling(r, &d->s[i]);
    if (rc) return rc;
  }
  if (r->left != 0 || !dvv_valid(d)) return CHORUS_ECORRUPT;
  return 0;
}

int record_decode(const void *p, size_t len, dvv_t *d) {
  size_t body_len;
  buf_reader_t r;
  dvv_free(d);
  int rc = buf_check_crc32c(p, len, &body_len);
  if (rc) return rc;
  buf_reader_init(&r, p, body_len);
  rc = decode_body(&r, d);
  if (rc) dvv_free(d);
  return rc;
}

int record_encode_bare(const dvv_t *d, buf_t *out) {
  dvv_t bare;
  dvv_init(&bare);
  int rc = dvv_copy(&bare, d);
  for (size_t i = 0; !rc && i < bare.n; i++) {
    free(bare.s[i].value);
    bare.s[i].value = NULL;
    bare.s[i].value_len = 0;
  }
  if (!rc) rc = record_encode(&bare, out);
  dvv_free(&bare);
  return rc;
}
