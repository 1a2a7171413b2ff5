/*
 * codec_check.h - helpers the codec tests share for feeding decoders broken
 * input: splices, every truncation, every bit flip, inline replacement
 * bytes and a deterministic random source; and a check of encodings
 * against msgpack-c's own reader. Include after <cmocka.h>.
 */
#ifndef CHORUS_TEST_CODEC_CHECK_H
#define CHORUS_TEST_CODEC_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/buf.h"

/* After its version byte, p[0..len) is one msgpack array, as msgpack-c reads it. */
static inline void assert_one_msgpack_object(const uint8_t *p, size_t len) {
  msgpack_unpacked obj;
  size_t off = 0;
  msgpack_unpacked_init(&obj);
  assert_int_equal(msgpack_unpack_next(&obj, (const char *)p + 1, len - 1, &off), MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, len - 1);
  assert_int_equal(obj.data.type, MSGPACK_OBJECT_ARRAY);
  msgpack_unpacked_destroy(&obj);
}

/* Checks that one input is refused (and whatever the test needs besides). */
typedef void (*expect_fn)(const void *p, size_t len);

/* Checks in[0..in_len) with in[at..at + old_len) replaced by rep[0..rep_len). */
static inline void expect_spliced(expect_fn expect, const uint8_t *in, size_t in_len, size_t at,
                                  size_t old_len, const void *rep, size_t rep_len) {
  buf_t b;
  buf_init(&b);
  buf_put(&b, in, at);
  buf_put(&b, rep, rep_len);
  buf_put(&b, in + at + old_len, in_len - at - old_len);
  assert_int_equal(b.err, 0);
  expect(b.data, b.len);
  buf_free(&b);
}

/* Every proper prefix of p[0..len) is refused. */
static inline void expect_truncations_corrupt(expect_fn expect, const uint8_t *p, size_t len) {
  for (size_t n = 0; n < len; n++) {
    uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan sees any read past the end */
    assert_non_null(copy);
    memcpy(copy, p, n);
    expect(copy, n);
    free(copy);
  }
}

/* p[0..len) with any single bit flipped is refused (p is restored). */
static inline void expect_bit_flips_corrupt(expect_fn expect, uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit++) {
      p[i] ^= (uint8_t)(1u << bit);
      expect(p, len);
      p[i] ^= (uint8_t)(1u << bit);
    }
}

/* Replacement bytes given inline: REP(0xcd, 0x00, 0x07). */
#define REP(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* Deterministic pseudo-random bytes (xorshift64). */
static inline uint64_t next_random(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* One input for a decoder under random damage: on odd iter, random bytes
 * (fewer than cap) opening with prefix[0..prefix_len) so they get past the
 * version check; on even iter, sample with one to three bits flipped (its
 * length must be <= cap). Returns the length written to junk. */
static inline size_t garbage_input(uint64_t *x, int iter, uint8_t *junk, size_t cap, const uint8_t *prefix,
                                   size_t prefix_len, const buf_t *sample) {
  size_t len;
  if (iter % 2) {
    len = next_random(x) % cap;
    for (size_t i = 0; i < len; i++)
      junk[i] = (uint8_t)next_random(x);
    if (len >= prefix_len) memcpy(junk, prefix, prefix_len);
    return len;
  }
  len = sample->len;
  memcpy(junk, sample->data, len);
  for (int flips = 1 + (int)(next_random(x) % 3); flips > 0; flips--)
    junk[next_random(x) % len] ^= (uint8_t)(1u << (next_random(x) % 8));
  return len;
}

#endif
