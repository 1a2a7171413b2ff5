/*
 * fuzz_treekeys.c - treekeys_decode (the key lists of an anti-entropy
 * exchange, treekeys.h) on arbitrary bytes.
 *
 * Whatever decodes must re-encode to a list that decodes to the same
 * entries, every key within the bounds and every hash non-zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "storage/treekeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  treekeys_entry_t *e = NULL, *again = NULL;
  size_t n = 0, m = 0;
  if (treekeys_decode(data, size, &e, &n) != 0) {
    if (e || n) abort(); /* a refusal leaves nothing behind */
    return 0;
  }
  buf_t out;
  buf_init(&out);
  size_t start = treekeys_begin(&out);
  for (size_t i = 0; i < n; i++) {
    if (e[i].key_len == 0 || e[i].key_len > TREEKEYS_KEY_MAX || e[i].hash == 0) abort();
    if (e[i].key < (const char *)data || e[i].key + e[i].key_len > (const char *)data + size) abort();
    treekeys_add(&out, e[i].key, e[i].key_len, e[i].hash);
  }
  treekeys_finish(&out, start, (uint32_t)n);
  if (out.err || treekeys_decode(out.data, out.len, &again, &m) != 0 || m != n) abort();
  for (size_t i = 0; i < n; i++)
    if (again[i].key_len != e[i].key_len || again[i].hash != e[i].hash ||
        memcmp(again[i].key, e[i].key, e[i].key_len) != 0)
      abort();
  free(e);
  free(again);
  buf_free(&out);
  return 0;
}
