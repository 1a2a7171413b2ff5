/*
 * fuzz_reqlog.c - the request-log entry decoders on arbitrary bytes: they
 * accept or reject without crashing, what the current one accepts
 * re-encodes to the same bytes (a version 2 entry, which it still reads,
 * has no dots and is written back as version 3), and the version 1
 * reader's key lies within its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/reqlog.h"

#include "sealed.h"

static void check(const uint8_t *data, size_t size) {
  uint8_t op;
  const char *key;
  size_t key_len;
  if (reqlog_decode_v1(data, size, &op, &key, &key_len) == 0 &&
      (key < (const char *)data || key + key_len > (const char *)data + size))
    abort(); /* the key must lie within the input */
  reqlog_entry_t e;
  if (reqlog_decode(data, size, &e) != 0) return;
  if (data[2] != 3) { /* version 2 */
    if (e.dots_len) abort();
    return;
  }
  buf_t out;
  buf_init(&out);
  if (reqlog_encode(&e, &out) != 0 || out.len != size || memcmp(out.data, data, size) != 0) abort();
  buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_plain_and_sealed(data, size, check);
  return 0;
}
