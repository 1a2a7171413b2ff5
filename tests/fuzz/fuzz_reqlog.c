/*
 * fuzz_reqlog.c - the request-log entry decoder on arbitrary bytes: it
 * accepts or rejects without crashing, and what it accepts re-encodes to
 * the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/reqlog.h"

#include "sealed.h"

static void check(const uint8_t *data, size_t size) {
  reqlog_entry_t e;
  if (reqlog_decode(data, size, &e) != 0) return;
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
