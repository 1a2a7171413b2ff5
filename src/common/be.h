/*
 * be.h - fixed-width big-endian integers in byte arrays: the one place
 * every key builder and codec packs or reads a u32 or u64 at a known
 * offset (buf.h does the same for growing buffers and bounded readers).
 *
 * Big-endian so that byte order equals numeric order: LevelDB keys built
 * with these sort by the number they carry.
 */
#ifndef CHORUS_BE_H
#define CHORUS_BE_H

#include <stdint.h>

static inline void be_put_u32(void *dst, uint32_t v) {
  uint8_t *p = dst;
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void be_put_u64(void *dst, uint64_t v) {
  uint8_t *p = dst;
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint32_t be_get_u32(const void *src) {
  const uint8_t *p = src;
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t be_get_u64(const void *src) {
  const uint8_t *p = src;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

#endif
