/* test_common_base64.c - RFC 4648 base64, strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "common/err.h"

static const struct {
  const char *plain;
  const char *encoded;
} rfc_vectors[] = {{"", ""},
                   {"f", "Zg=="},
                   {"fo", "Zm8="},
                   {"foo", "Zm9v"},
                   {"foob", "Zm9vYg=="},
                   {"fooba", "Zm9vYmE="},
                   {"foobar", "Zm9vYmFy"}};

static int decode_str(const char *s, uint8_t *out, size_t cap, size_t *len) {
  return base64_decode(s, strlen(s), out, cap, len);
}

static void test_encodes_the_rfc_4648_vectors(void **state) {
  for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
    char out[16];
    size_t n = strlen(rfc_vectors[i].plain);
    assert_int_equal(base64_encoded_len(n), strlen(rfc_vectors[i].encoded));
    assert_int_equal(base64_encode(rfc_vectors[i].plain, n, out, sizeof(out)), 0);
    assert_string_equal(out, rfc_vectors[i].encoded);
  }
}

static void test_decodes_the_rfc_4648_vectors_with_and_without_padding(void **state) {
  for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
    uint8_t out[16];
    char unpadded[16];
    size_t len;
    assert_int_equal(decode_str(rfc_vectors[i].encoded, out, sizeof(out), &len), 0);
    assert_int_equal(len, strlen(rfc_vectors[i].plain));
    assert_memory_equal(out, rfc_vectors[i].plain, len);
    strcpy(unpadded, rfc_vectors[i].encoded);
    unpadded[strcspn(unpadded, "=")] = '\0';
    assert_int_equal(decode_str(unpadded, out, sizeof(out), &len), 0);
    assert_int_equal(len, strlen(rfc_vectors[i].plain));
  }
}

static void test_accepts_the_url_safe_alphabet(void **state) {
  static const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
  uint8_t out[4];
  size_t len;
  char enc[8];
  assert_int_equal(base64_encode(bytes, 3, enc, sizeof(enc)), 0);
  assert_string_equal(enc, "+/+/");
  assert_int_equal(decode_str("-_-_", out, sizeof(out), &len), 0);
  assert_int_equal(len, 3);
  assert_memory_equal(out, bytes, 3);
}

static void test_rejects_malformed_input(void **state) {
  static const char *bad[] = {
      "Z",        /* a lone character cannot hold a byte */
      "Zg=",      /* padding that does not complete the group */
      "Zg===",    /* too much padding */
      "Z===",     /* padding in place of data */
      "Zm8==",    /* wrong amount of padding */
      "Zg==Zg==", /* padding in the middle */
      "Zh==",     /* non-zero trailing bits */
      "Zm9=",     /* non-zero trailing bits */
      "Zm 9v",    /* whitespace */
      "Zm9v\n",   /* trailing newline */
      "Zm9*",     /* not in either alphabet */
      "====",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint8_t out[16];
    size_t len = 42;
    assert_int_equal(decode_str(bad[i], out, sizeof(out), &len), CHORUS_EINVAL);
    assert_int_equal(len, 0);
  }
  uint8_t out[4];
  size_t len;
  assert_int_equal(base64_decode("Zm\0v", 4, out, sizeof(out), &len), CHORUS_EINVAL);
}

static void test_small_output_buffers_are_refused(void **state) {
  char enc[8];
  uint8_t out[5];
  size_t len;
  assert_int_equal(base64_encode("foobar", 6, enc, 8), CHORUS_ETOOBIG);
  assert_int_equal(decode_str("Zm9vYmFy", out, 5, &len), CHORUS_ETOOBIG);
  assert_int_equal(decode_str("Zm9vYmE", out, 5, &len), 0);
  assert_int_equal(len, 5);
}

static void test_every_length_and_byte_value_round_trips(void **state) {
  uint8_t in[300], out[300];
  char enc[401];
  for (size_t i = 0; i < sizeof(in); i++)
    in[i] = (uint8_t)(i * 7 + 3);
  for (size_t n = 0; n <= sizeof(in); n++) {
    size_t len;
    assert_int_equal(base64_encode(in, n, enc, sizeof(enc)), 0);
    assert_int_equal(strlen(enc), base64_encoded_len(n));
    assert_int_equal(base64_decode(enc, strlen(enc), out, n, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(out, in, n);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encodes_the_rfc_4648_vectors),
      cmocka_unit_test(test_decodes_the_rfc_4648_vectors_with_and_without_padding),
      cmocka_unit_test(test_accepts_the_url_safe_alphabet),
      cmocka_unit_test(test_rejects_malformed_input),
      cmocka_unit_test(test_small_output_buffers_are_refused),
      cmocka_unit_test(test_every_length_and_byte_value_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
