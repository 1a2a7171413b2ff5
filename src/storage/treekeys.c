/*
 * treekeys.c - the key list of some tree segments (treekeys.h). Pure: no
 * I/O; the decoder bounds every read by the input's length and allocates
 * at most one entry per entry actually present.
 */
#include "treekeys.h"

#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"

static const uint8_t MAGIC[3] = {'C', 'K', 1};

size_t treekeys_begin(buf_t *out) {
  size_t start = out->len;
  buf_put(out, MAGIC, sizeof MAGIC);
  buf_put_u32be(out, 0);
  return start;
}

void treekeys_add(buf_t *out, const char *key, size_t key_len, uint64_t hash) {
  buf_put_varint(out, key_len);
  buf_put(out, key, key_len);
  buf_put_u64be(out, hash);
}

void treekeys_finish(buf_t *out, size_t start, uint32_t n) {
  if (out->err || out->len < start + 7) return;
  be_put_u32(out->data + start + 3, n);
}

int treekeys_decode(const void *p, size_t len, treekeys_entry_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  buf_reader_t r;
  buf_reader_init(&r, p, len);
  const uint8_t *m = buf_read_raw(&r, sizeof MAGIC);
  uint32_t count = buf_read_u32be(&r);
  if (r.err || !m || memcmp(m, MAGIC, sizeof MAGIC) != 0 || count > TREEKEYS_MAX) return CHORUS_ECORRUPT;
  /* every entry takes at least 10 bytes: the count cannot claim more than the bytes hold */
  if (count > r.left / 10) return CHORUS_ECORRUPT;
  treekeys_entry_t *e = count ? calloc(count, sizeof *e) : NULL;
  if (count && !e) return CHORUS_ENOMEM;
  for (uint32_t i = 0; i < count; i++) {
    uint64_t klen = buf_read_varint(&r);
    if (r.err || klen == 0 || klen > TREEKEYS_KEY_MAX) break;
    const uint8_t *k = buf_read_raw(&r, (size_t)klen);
    uint64_t h = buf_read_u64be(&r);
    if (r.err || h == 0) {
      r.err = CHORUS_ECORRUPT;
      break;
    }
    e[i] = (treekeys_entry_t){(const char *)k, (size_t)klen, h};
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
