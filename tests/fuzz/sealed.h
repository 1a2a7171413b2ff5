/*
 * sealed.h - runs a fuzz check on the input as given and once more with a
 * valid CRC-32C trailer in place of its last four bytes. Random mutations
 * almost never carry a right checksum, so without the second pass the
 * decoders' field parsing would hardly be reached.
 */
#ifndef CHORUS_FUZZ_SEALED_H
#define CHORUS_FUZZ_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

static inline void fuzz_plain_and_sealed(const uint8_t *data, size_t size,
                                         void (*check)(const uint8_t *, size_t)) {
  check(data, size);
  if (size < 4) return;
  buf_t sealed;
  buf_init(&sealed);
  buf_put(&sealed, data, size - 4);
  buf_put_crc32c(&sealed, 0);
  if (!sealed.err) check(sealed.data, sealed.len);
  buf_free(&sealed);
}

#endif
