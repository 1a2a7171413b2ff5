/* test_gossip_seal.c - cluster key parsing and AES-256-GCM sealing of packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "common/err.h"
#include "common/seal.h"

static void make_key(uint8_t key[SEAL_KEY_BYTES], uint8_t first) {
  for (size_t i = 0; i < SEAL_KEY_BYTES; i++)
    key[i] = (uint8_t)(first + i * 7);
}

static void make_plain(uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)(i * 31 + 5);
}

static void seal(const uint8_t *key, const uint8_t *plain, size_t len, buf_t *out) {
  buf_init(out);
  assert_int_equal(seal_box(key, plain, len, out), 0);
  assert_int_equal(out->len, len + SEAL_OVERHEAD);
}

/* Opening fails, out keeps its length and holds no trace of the plaintext. */
static void expect_open_fails(const uint8_t *key, const void *sealed, size_t len, const uint8_t *plain,
                              size_t plain_len) {
  buf_t out;
  buf_init(&out);
  buf_put(&out, "pre", 3);
  assert_int_equal(seal_open(key, sealed, len, &out), CHORUS_ECORRUPT);
  assert_int_equal(out.len, 3);
  assert_memory_equal(out.data, "pre", 3);
  if (plain_len >= 8) assert_null(memmem(out.data, out.cap, plain, plain_len));
  buf_free(&out);
}

static void test_overhead_is_version_nonce_and_tag(void **state) {
  assert_int_equal(SEAL_OVERHEAD, 29);
}

static void test_key_parsing(void **state) {
  uint8_t key[SEAL_KEY_BYTES], want[SEAL_KEY_BYTES], before[SEAL_KEY_BYTES];
  char text[64];
  make_key(want, 200);
  assert_int_equal(base64_encode(want, sizeof(want), text, sizeof(text)), 0);
  assert_int_equal(strlen(text), 44);
  assert_int_equal(seal_key_parse(text, key), 0);
  assert_memory_equal(key, want, sizeof(key));
  text[43] = '\0'; /* without padding */
  memset(key, 0, sizeof(key));
  assert_int_equal(seal_key_parse(text, key), 0);
  assert_memory_equal(key, want, sizeof(key));

  uint8_t other[SEAL_KEY_BYTES + 1];
  make_key(other, 1);
  memcpy(before, key, sizeof(key));
  for (size_t len = 0; len <= sizeof(other); len++) {
    if (len == SEAL_KEY_BYTES) continue;
    assert_int_equal(base64_encode(other, len, text, sizeof(text)), 0);
    assert_int_equal(seal_key_parse(text, key), CHORUS_EINVAL);
  }
  assert_int_equal(seal_key_parse("not base64 at all!", key), CHORUS_EINVAL);
  assert_int_equal(seal_key_parse(" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", key), CHORUS_EINVAL);
  assert_int_equal(seal_key_parse(NULL, key), CHORUS_EINVAL);
  assert_memory_equal(key, before, sizeof(key));
}

static void test_round_trips_and_appends(void **state) {
  static const size_t lens[] = {0, 1, 15, 16, 17, 1371, 65536};
  uint8_t key[SEAL_KEY_BYTES];
  uint8_t *plain = malloc(65536);
  assert_non_null(plain);
  make_key(key, 3);
  make_plain(plain, 65536);
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
    buf_t sealed, out;
    seal(key, plain, lens[i], &sealed);
    assert_int_equal(sealed.data[0], SEAL_VERSION);
    buf_init(&out);
    buf_put(&out, "pre", 3);
    assert_int_equal(seal_open(key, sealed.data, sealed.len, &out), 0);
    assert_int_equal(out.len, 3 + lens[i]);
    assert_memory_equal(out.data, "pre", 3);
    if (lens[i]) assert_memory_equal(out.data + 3, plain, lens[i]);
    buf_free(&sealed);
    buf_free(&out);
  }
  buf_t empty;
  buf_init(&empty);
  assert_int_equal(seal_box(key, NULL, 0, &empty), 0);
  assert_int_equal(empty.len, SEAL_OVERHEAD);
  assert_int_equal(seal_box(key, NULL, 1, &empty), CHORUS_EINVAL);
  assert_int_equal(empty.len, SEAL_OVERHEAD);
  buf_free(&empty);
  free(plain);
}

static void test_nonces_are_fresh(void **state) {
  uint8_t key[SEAL_KEY_BYTES], plain[40];
  buf_t a, b;
  make_key(key, 9);
  make_plain(plain, sizeof(plain));
  seal(key, plain, sizeof(plain), &a);
  seal(key, plain, sizeof(plain), &b);
  assert_memory_not_equal(a.data + 1, b.data + 1, SEAL_NONCE_BYTES);
  assert_memory_not_equal(a.data, b.data, a.len);
  buf_free(&a);
  buf_free(&b);
}

static void test_any_changed_bit_is_rejected(void **state) {
  uint8_t key[SEAL_KEY_BYTES], plain[64];
  buf_t sealed;
  make_key(key, 11);
  make_plain(plain, sizeof(plain));
  seal(key, plain, sizeof(plain), &sealed);
  for (size_t i = 0; i < sealed.len; i++)
    for (int bit = 0; bit < 8; bit++) {
      sealed.data[i] ^= (uint8_t)(1u << bit);
      expect_open_fails(key, sealed.data, sealed.len, plain, sizeof(plain));
      sealed.data[i] ^= (uint8_t)(1u << bit);
    }
  buf_free(&sealed);
}

static void test_wrong_key_is_rejected(void **state) {
  uint8_t key[SEAL_KEY_BYTES], other[SEAL_KEY_BYTES], plain[100];
  buf_t sealed;
  make_key(key, 13);
  make_plain(plain, sizeof(plain));
  seal(key, plain, sizeof(plain), &sealed);
  for (size_t i = 0; i < SEAL_KEY_BYTES; i++) {
    memcpy(other, key, sizeof(key));
    other[i] ^= 0x01;
    expect_open_fails(other, sealed.data, sealed.len, plain, sizeof(plain));
  }
  buf_free(&sealed);
}

static void test_wrong_length_or_version_is_rejected(void **state) {
  uint8_t key[SEAL_KEY_BYTES], plain[48];
  buf_t sealed, longer;
  make_key(key, 17);
  make_plain(plain, sizeof(plain));
  seal(key, plain, sizeof(plain), &sealed);
  for (size_t len = 0; len < sealed.len; len++) {
    uint8_t *copy = malloc(len ? len : 1); /* exact size, so ASan sees any read past the end */
    assert_non_null(copy);
    memcpy(copy, sealed.data, len);
    expect_open_fails(key, copy, len, plain, sizeof(plain));
    free(copy);
  }
  expect_open_fails(key, NULL, 0, plain, sizeof(plain));
  buf_init(&longer);
  buf_put(&longer, sealed.data, sealed.len);
  buf_put_u8(&longer, 0);
  expect_open_fails(key, longer.data, longer.len, plain, sizeof(plain));
  for (int v = 0; v < 256; v++) {
    if (v == SEAL_VERSION) continue;
    sealed.data[0] = (uint8_t)v;
    expect_open_fails(key, sealed.data, sealed.len, plain, sizeof(plain));
  }
  buf_free(&longer);
  buf_free(&sealed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_overhead_is_version_nonce_and_tag),
      cmocka_unit_test(test_key_parsing),
      cmocka_unit_test(test_round_trips_and_appends),
      cmocka_unit_test(test_nonces_are_fresh),
      cmocka_unit_test(test_any_changed_bit_is_rejected),
      cmocka_unit_test(test_wrong_key_is_rejected),
      cmocka_unit_test(test_wrong_length_or_version_is_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
