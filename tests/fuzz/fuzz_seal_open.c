/*
 * fuzz_seal_open.c - seal_open with a fixed key on arbitrary bytes, and
 * seal_box of the same bytes.
 *
 * Forged input must be refused without a crash and without growing the
 * output; sealing the input and opening the result must give it back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/seal.h"

/* The key the seed corpus was sealed with: bytes 0, 1, ..., 31. */
static const uint8_t fuzz_key[SEAL_KEY_BYTES] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static void check_open(const uint8_t *data, size_t size) {
  buf_t out;
  buf_init(&out);
  int rc = seal_open(fuzz_key, data, size, &out);
  if (rc == 0 ? out.len != size - SEAL_OVERHEAD : rc != CHORUS_ECORRUPT || out.len != 0) abort();
  buf_free(&out);
}

static void check_seal_open(const uint8_t *data, size_t size) {
  buf_t sealed, plain;
  buf_init(&sealed);
  buf_init(&plain);
  if (seal_box(fuzz_key, data, size, &sealed) != 0 || sealed.len != size + SEAL_OVERHEAD) abort();
  if (seal_open(fuzz_key, sealed.data, sealed.len, &plain) != 0 || plain.len != size) abort();
  if (size && memcmp(plain.data, data, size) != 0) abort();
  buf_free(&sealed);
  buf_free(&plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_open(data, size);
  check_seal_open(data, size);
  return 0;
}
