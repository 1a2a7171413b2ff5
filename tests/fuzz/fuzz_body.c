/*
 * fuzz_body.c - the request-body parser (api_body_parse) on arbitrary bytes.
 *
 * Whatever the input, the parser must either fail with a 4xx/5xx error that
 * names a code, or yield a value no longer than the limit; it never crashes
 * or leaks. The first byte picks the value limit so small limits are
 * exercised too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api/body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t limit = (size_t)data[0] * 16;
  api_body_t b;
  api_body_init(&b);
  api_error_t err = {0};
  int rc = api_body_parse((const char *)data + 1, size - 1, limit, &b, &err);
  if (rc == 0) {
    if (!b.value || b.value_len > limit) abort();
  } else if (err.status < 400 || !err.code || !err.message) {
    abort();
  }
  api_body_free(&b);
  return 0;
}
