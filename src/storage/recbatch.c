/*
 * recbatch.c - batches of (key, record) pairs (recbatch.h). Pure: no I/O;
 * the decoder bounds every read by the input's length and allocates at
 * most one entry per entry actually present.
 */
#include "recbatch.h"

#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"

static const uint8_t MAGIC[3] = {'R', 'B', 1};
#define HEADER (sizeof MAGIC + 4)
#define ENTRY_MIN 4 /* two one-byte lengths, a key byte, a record byte */

size_t recbatch_begin(buf_t *out) {
  size_t start = out->len;
  buf_put(out, MAGIC, sizeof MAGIC);
  buf_put_u32be(out, 0);
  return start;
}

void recbatch_add(buf_t *out, const char *key, size_t key_len, const void *rec, size_t rec_len) {
  buf_put_varint(out, key_len);
  buf_put(out, key, key_len);
  buf_put_varint(out, rec_len);
  buf_put(out, rec, rec_len);
}

void recbatch_finish(buf_t *out, size_t start, uint32_t n) {
  if (out->err || out->len < start + HEADER) return;
  be_put_u32(out->data + start + sizeof MAGIC, n);
}

int recbatch_decode(const void *p, size_t len, recbatch_entry_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  buf_reader_t r;
  buf_reader_init(&r, p, len);
  const uint8_t *m = buf_read_raw(&r, sizeof MAGIC);
  uint32_t count = buf_read_u32be(&r);
  if (r.err || !m || memcmp(m, MAGIC, sizeof MAGIC) != 0 || count > RECBATCH_MAX) return CHORUS_ECORRUPT;
  if (count > r.left / ENTRY_MIN) return CHORUS_ECORRUPT;
  recbatch_entry_t *e = count ? calloc(count, sizeof *e) : NULL;
  if (count && !e) return CHORUS_ENOMEM;
  for (uint32_t i = 0; i < count; i++) {
    uint64_t klen = buf_read_varint(&r);
    if (r.err || klen == 0 || klen > RECBATCH_KEY_MAX) break;
    const uint8_t *k = buf_read_raw(&r, (size_t)klen);
    uint64_t rlen = buf_read_varint(&r);
    if (r.err || rlen == 0 || rlen > RECBATCH_RECORD_MAX) break;
    const uint8_t *rec = buf_read_raw(&r, (size_t)rlen);
    if (r.err) break;
    e[i] = (recbatch_entry_t){(const char *)k, (size_t)klen, rec, (size_t)rlen};
    *n = i + 1;
  }
  if (r.err || *n != count || r.left) {
    free(e);
    *n = 0;
    return CHORUS_ECORRUPT;
  }
  *out = e;
  return 0;
}
