/*
 * fuzz_recbatch.c - recbatch_decode (the record batches of an ownership
 * transfer, recbatch.h) on arbitrary bytes.
 *
 * Whatever decodes must re-encode to the same bytes, every key and record
 * within the bounds and inside the input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "storage/recbatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const void *p, size_t n, const uint8_t *data, size_t size) {
  const uint8_t *b = p;
  return b >= data && b + n <= data + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  recbatch_entry_t *e = NULL;
  size_t n = 0;
  if (recbatch_decode(data, size, &e, &n) != 0) {
    if (e || n) abort(); /* a refusal leaves nothing behind */
    return 0;
  }
  buf_t out;
  buf_init(&out);
  size_t start = recbatch_begin(&out);
  for (size_t i = 0; i < n; i++) {
    if (e[i].key_len == 0 || e[i].key_len > RECBATCH_KEY_MAX || e[i].rec_len == 0 ||
        e[i].rec_len > RECBATCH_RECORD_MAX)
      abort();
    if (!inside(e[i].key, e[i].key_len, data, size) || !inside(e[i].rec, e[i].rec_len, data, size)) abort();
    recbatch_add(&out, e[i].key, e[i].key_len, e[i].rec, e[i].rec_len);
  }
  recbatch_finish(&out, start, (uint32_t)n);
  /* varints are written shortest; the decoder accepts longer ones, so only a
   * shortest input is expected back byte for byte */
  recbatch_entry_t *again = NULL;
  size_t m = 0;
  if (out.err || recbatch_decode(out.data, out.len, &again, &m) != 0 || m != n) abort();
  for (size_t i = 0; i < n; i++)
    if (again[i].key_len != e[i].key_len || again[i].rec_len != e[i].rec_len ||
        memcmp(again[i].key, e[i].key, e[i].key_len) != 0 ||
        memcmp(again[i].rec, e[i].rec, e[i].rec_len) != 0)
      abort();
  free(e);
  free(again);
  buf_free(&out);
  return 0;
}
