/* test_common_sha256.c - sha256_digest against FIPS 180-2 vectors, the
 * empty input with and without a pointer, and from several threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/sha256.h"

static void hex(const uint8_t md[SHA256_BYTES], char out[2 * SHA256_BYTES + 1]) {
  for (int i = 0; i < SHA256_BYTES; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void expect_digest(const char *in, size_t n, const char *want) {
  uint8_t md[SHA256_BYTES];
  char got[2 * SHA256_BYTES + 1];
  sha256_digest(in, n, md);
  hex(md, got);
  assert_string_equal(got, want);
}

static void test_matches_the_standard_vectors(void **state) {
  expect_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  expect_digest(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_the_empty_input_needs_no_pointer(void **state) {
  const char *empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  expect_digest(NULL, 0, empty);
  expect_digest("x", 0, empty);
}

static void *hash_many(void *arg) {
  (void)arg;
  for (int i = 0; i < 2000; i++)
    expect_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  return NULL;
}

static void test_threads_share_the_fetched_algorithm(void **state) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, hash_many, NULL), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_join(t[i], NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_the_standard_vectors),
      cmocka_unit_test(test_the_empty_input_needs_no_pointer),
      cmocka_unit_test(test_threads_share_the_fetched_algorithm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
