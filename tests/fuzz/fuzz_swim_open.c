/*
 * fuzz_swim_open.c - swim_open with a fixed key on arbitrary bytes, and
 * swim_seal of the same bytes.
 *
 * Forged input must be refused without a crash and without growing the
 * output; sealing the input and opening the result must give it back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "gossip/swim_seal.h"

/* The key the seed corpus was sealed with: bytes 0, 1, ..., 31. */
static const uint8_t fuzz_key[SWIM_KEY_BYTES] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static void check_open(const uint8_t *data, size_t size) {
  buf_t out;
  buf_init(&out);
  int rc = swim_open(fuzz_key, data, size, &out);
  if (rc == 0 ? out.len != size - SWIM_SEAL_OVERHEAD : rc != CHORUS_ECORRUPT || out.len != 0) abort();
  buf_free(&out);
}

static void check_seal_open(const uint8_t *data, size_t size) {
  buf_t sealed, plain;
  buf_init(&sealed);
  buf_init(&plain);
  if (swim_seal(fuzz_key, data, size, &sealed) != 0 || sealed.len != size + SWIM_SEAL_OVERHEAD) abort();
  if (swim_open(fuzz_key, sealed.data, sealed.len, &plain) != 0 || plain.len != size) abort();
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
