/*
 * fuzz_record.c - record_decode on arbitrary bytes.
 *
 * Whatever decodes must re-encode to exactly the input (the format has one
 * encoding per state) and decode again to an equal state. The input is tried
 * as given, and again with its last four bytes replaced by the correct
 * checksum so that mutations reach the parser behind the CRC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "storage/record.h"

#include "sealed.h"

static void check(const uint8_t *data, size_t size) {
  dvv_t d, again;
  buf_t out;
  dvv_init(&d);
  dvv_init(&again);
  buf_init(&out);
  if (record_decode(data, size, &d) == 0) {
    if (record_encode(&d, &out) != 0) abort();
    if (out.len != size || memcmp(out.data, data, size) != 0) abort();
    if (record_decode(out.data, out.len, &again) != 0 || !dvv_equal(&d, &again)) abort();
  }
  dvv_free(&d);
  dvv_free(&again);
  buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_plain_and_sealed(data, size, check);
  return 0;
}
