/* test_common_siphash.c - SipHash-2-4 against the reference test vectors
 * (key 00..0f, message 00..len-1), and its dependence on the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/siphash.h"

static void reference_key_and_message(uint8_t key[16], uint8_t msg[64]) {
  for (int i = 0; i < 16; i++)
    key[i] = (uint8_t)i;
  for (int i = 0; i < 64; i++)
    msg[i] = (uint8_t)i;
}

static void test_matches_the_reference_vectors(void **state) {
  static const struct {
    size_t len;
    uint64_t hash;
  } vectors[] = {{0, 0x726fdb47dd0e0e31ULL},  {1, 0x74f839c593dc67fdULL},  {2, 0x0d6c8009d9a94f5aULL},
                 {7, 0xab0200f58b01d137ULL},  {8, 0x93f5f5799a932462ULL},  {15, 0xa129ca6149be45e5ULL},
                 {16, 0x3f2acc7f57c29bdbULL}, {63, 0x958a324ceb064572ULL}};
  uint8_t key[16], msg[64];
  reference_key_and_message(key, msg);
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    uint64_t got = siphash24(key, msg, vectors[i].len);
    if (got != vectors[i].hash)
      fail_msg("len %zu: %016llx, want %016llx", vectors[i].len, (unsigned long long)got,
               (unsigned long long)vectors[i].hash);
  }
}

static void test_another_key_gives_another_hash(void **state) {
  uint8_t key[16], msg[64];
  reference_key_and_message(key, msg);
  uint64_t a = siphash24(key, msg, 10);
  key[15] ^= 1;
  assert_true(siphash24(key, msg, 10) != a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_the_reference_vectors),
      cmocka_unit_test(test_another_key_gives_another_hash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
