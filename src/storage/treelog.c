/*
 * treelog.c - the stored forms of the tree's leaves (treelog.h). Pure: the
 * decoders bound every read by the input's length and check the checksum
 * before they trust a count.
 */
#include "treelog.h"

#include <string.h>

#include "../common/be.h"
#include "../common/err.h"

static const uint8_t CHUNK_MAGIC[3] = {'T', 'C', 1};
static const uint8_t ENTRY_MAGIC[3] = {'T', 'J', 1};

#define PAIR_BYTES 12

void treelog_chunk_encode(buf_t *out, const uint64_t *leaves, size_t n) {
  size_t start = out->len;
  buf_put(out, CHUNK_MAGIC, sizeof CHUNK_MAGIC);
  buf_put_u32be(out, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    buf_put_u64be(out, leaves[i]);
  buf_put_crc32c(out, start);
}

/* The body of a checksummed encoding with this magic, past the magic. */
static int open_body(const void *p, size_t len, const uint8_t magic[3], buf_reader_t *r) {
  size_t body = 0;
  if (buf_check_crc32c(p, len, &body) != 0 || body < 3 || memcmp(p, magic, 3) != 0) return CHORUS_ECORRUPT;
  buf_reader_init(r, (const uint8_t *)p + 3, body - 3);
  return 0;
}

int treelog_chunk_decode(const void *p, size_t len, uint64_t *leaves, size_t n) {
  buf_reader_t r;
  if (open_body(p, len, CHUNK_MAGIC, &r) != 0) return CHORUS_ECORRUPT;
  uint32_t count = buf_read_u32be(&r);
  if (r.err || count != n || r.left != n * 8) return CHORUS_ECORRUPT;
  for (size_t i = 0; i < n; i++)
    leaves[i] = buf_read_u64be(&r);
  return r.err ? CHORUS_ECORRUPT : 0;
}

size_t treelog_entry_begin(buf_t *out, uint64_t keys) {
  size_t start = out->len;
  buf_put(out, ENTRY_MAGIC, sizeof ENTRY_MAGIC);
  buf_put_u64be(out, keys);
  buf_put_u32be(out, 0);
  return start;
}

void treelog_entry_add(buf_t *out, uint32_t segment, uint64_t leaf) {
  buf_put_u32be(out, segment);
  buf_put_u64be(out, leaf);
}

void treelog_entry_finish(buf_t *out, size_t start, uint32_t n) {
  if (out->err || out->len < start + 15) return;
  be_put_u32(out->data + start + 11, n);
  buf_put_crc32c(out, start);
}

int treelog_entry_decode(const void *p, size_t len, uint32_t segments, treelog_entry_t *out) {
  buf_reader_t r;
  if (open_body(p, len, ENTRY_MAGIC, &r) != 0) return CHORUS_ECORRUPT;
  uint64_t keys = buf_read_u64be(&r);
  uint32_t n = buf_read_u32be(&r);
  if (r.err || n == 0 || n > TREELOG_PAIRS_MAX || r.left != (size_t)n * PAIR_BYTES) return CHORUS_ECORRUPT;
  const uint8_t *pairs = r.p;
  for (uint32_t i = 0; i < n; i++)
    if (be_get_u32(pairs + (size_t)i * PAIR_BYTES) >= segments) return CHORUS_ECORRUPT;
  *out = (treelog_entry_t){keys, n, pairs};
  return 0;
}

void treelog_entry_pair(const treelog_entry_t *e, size_t i, uint32_t *segment, uint64_t *leaf) {
  const uint8_t *p = e->pairs + i * PAIR_BYTES;
  *segment = be_get_u32(p);
  *leaf = be_get_u64(p + 4);
}
