/* test_common_keyring.c - the keyring: install, use, remove, sealing with the
 * primary and opening with any entry, "none" as plaintext, and the file form. */
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
#include "common/keyring.h"

static keyring_entry_t key_entry(uint8_t first) {
  keyring_entry_t e = {.none = false};
  for (size_t i = 0; i < SEAL_KEY_BYTES; i++)
    e.key[i] = (uint8_t)(first + i * 7);
  return e;
}

static const keyring_entry_t NONE = {.none = true};

static void id_of(const keyring_entry_t *e, uint8_t id[KEYRING_ID_BYTES]) {
  keyring_entry_id(e, id);
}

/* Seals msg with `from`'s primary, opens with `to`: whether it opened, and then the text matches. */
static bool passes(const keyring_t *from, const keyring_t *to) {
  static const char msg[] = "a gossip packet";
  buf_t sealed, scratch;
  buf_init(&sealed);
  buf_init(&scratch);
  assert_int_equal(keyring_seal(from, msg, sizeof msg, &sealed), 0);
  assert_int_equal(sealed.len, sizeof msg + (keyring_sealed(from) ? SEAL_OVERHEAD : 0));
  const uint8_t *plain = NULL;
  size_t plain_len = 0;
  /* taken as plaintext when `to` holds "none": then it is not the message */
  bool ok = keyring_open(to, sealed.data, sealed.len, &scratch, &plain, &plain_len) == 0 &&
            plain_len == sizeof msg && memcmp(plain, msg, sizeof msg) == 0;
  buf_free(&sealed);
  buf_free(&scratch);
  return ok;
}

static void test_a_rotation_never_leaves_two_members_unable_to_talk(void **state) {
  keyring_entry_t k1 = key_entry(1), k2 = key_entry(2);
  uint8_t id1[KEYRING_ID_BYTES], id2[KEYRING_ID_BYTES];
  id_of(&k1, id1);
  id_of(&k2, id2);
  keyring_t a, b;
  keyring_init(&a, k1.key);
  keyring_init(&b, k1.key);
  assert_true(passes(&a, &b));
  /* install on a only: b does not know k2 yet, but nobody sends with it */
  assert_int_equal(keyring_install(&a, &k2), 0);
  assert_true(passes(&a, &b) && passes(&b, &a));
  assert_int_equal(keyring_install(&b, &k2), 0);
  /* use on a first: a sends with k2, b opens it; b still sends k1, a opens it */
  assert_int_equal(keyring_use(&a, id2), 0);
  assert_true(passes(&a, &b) && passes(&b, &a));
  assert_int_equal(keyring_use(&b, id2), 0);
  /* remove k1: what is sealed with it is refused from then on */
  keyring_t old;
  keyring_init(&old, k1.key);
  assert_int_equal(keyring_remove(&a, id1), 0);
  assert_int_equal(keyring_remove(&b, id1), 0);
  assert_true(passes(&a, &b) && passes(&b, &a));
  assert_false(passes(&old, &a));
  assert_false(passes(&a, &old));
  assert_int_equal(a.n, 1);
}

static void test_a_plaintext_cluster_gets_a_key_without_a_restart(void **state) {
  keyring_entry_t k = key_entry(9);
  uint8_t idk[KEYRING_ID_BYTES], idnone[KEYRING_ID_BYTES];
  id_of(&k, idk);
  id_of(&NONE, idnone);
  keyring_t a, b, stranger;
  keyring_init(&a, NULL);
  keyring_init(&b, NULL);
  keyring_init(&stranger, NULL);
  assert_false(keyring_sealed(&a));
  assert_true(passes(&a, &b));
  assert_int_equal(keyring_install(&a, &k), 0);
  assert_int_equal(keyring_install(&b, &k), 0);
  assert_int_equal(keyring_use(&a, idk), 0); /* a seals, b still sends plaintext: both pass */
  assert_true(keyring_sealed(&a));
  assert_true(passes(&a, &b) && passes(&b, &a));
  assert_int_equal(keyring_use(&b, idk), 0);
  assert_int_equal(keyring_remove(&a, idnone), 0);
  assert_int_equal(keyring_remove(&b, idnone), 0);
  assert_true(passes(&a, &b));
  assert_false(passes(&stranger, &a)); /* plaintext is refused now */
  assert_false(passes(&a, &stranger));
}

static void test_the_primary_cannot_be_removed_and_use_needs_an_installed_key(void **state) {
  keyring_entry_t k1 = key_entry(1), k2 = key_entry(2);
  uint8_t id1[KEYRING_ID_BYTES], id2[KEYRING_ID_BYTES];
  id_of(&k1, id1);
  id_of(&k2, id2);
  keyring_t kr;
  keyring_init(&kr, k1.key);
  assert_int_equal(keyring_remove(&kr, id1), CHORUS_EBUSY);
  assert_int_equal(keyring_use(&kr, id2), CHORUS_ENOTFOUND);
  assert_int_equal(keyring_remove(&kr, id2), 0); /* absent: nothing to do */
  assert_int_equal(keyring_install(&kr, &k2), 0);
  assert_int_equal(keyring_install(&kr, &k2), 0); /* twice: once */
  assert_int_equal(kr.n, 2);
  assert_int_equal(keyring_use(&kr, id2), 0);
  assert_int_equal(keyring_remove(&kr, id1), 0);
  assert_int_equal(kr.n, 1);
  assert_int_equal(kr.primary, 0);
  assert_int_equal(keyring_find(&kr, id2), 0);
}

static void test_the_keyring_holds_at_most_keyring_max_entries(void **state) {
  keyring_t kr;
  keyring_init(&kr, NULL);
  for (uint8_t i = 1; i < KEYRING_MAX; i++) {
    keyring_entry_t e = key_entry(i);
    assert_int_equal(keyring_install(&kr, &e), 0);
  }
  keyring_entry_t extra = key_entry(200);
  assert_int_equal(keyring_install(&kr, &extra), CHORUS_ETOOBIG);
  assert_int_equal(kr.n, KEYRING_MAX);
}

static void test_removing_below_the_primary_keeps_the_primary(void **state) {
  keyring_entry_t k1 = key_entry(1), k2 = key_entry(2), k3 = key_entry(3);
  uint8_t id1[KEYRING_ID_BYTES], id3[KEYRING_ID_BYTES];
  id_of(&k1, id1);
  id_of(&k3, id3);
  keyring_t kr;
  keyring_init(&kr, k1.key);
  keyring_install(&kr, &k2);
  keyring_install(&kr, &k3);
  assert_int_equal(keyring_use(&kr, id3), 0);
  assert_int_equal(keyring_remove(&kr, id1), 0);
  assert_int_equal(keyring_find(&kr, id3), (int)kr.primary);
  keyring_t other;
  keyring_init(&other, k3.key);
  assert_true(passes(&kr, &other));
}

static void test_entries_parse_from_base64_or_none_and_have_ids(void **state) {
  keyring_entry_t k = key_entry(4), e;
  char b64[64];
  base64_encode(k.key, SEAL_KEY_BYTES, b64, sizeof b64);
  assert_int_equal(keyring_entry_parse(b64, strlen(b64), &e), 0);
  assert_false(e.none);
  assert_memory_equal(e.key, k.key, SEAL_KEY_BYTES);
  assert_int_equal(keyring_entry_parse("none", 4, &e), 0);
  assert_true(e.none);
  assert_int_equal(keyring_entry_parse("", 0, &e), CHORUS_EINVAL);
  assert_int_equal(keyring_entry_parse("c2hvcnQ=", 8, &e), CHORUS_EINVAL); /* 5 bytes */
  assert_int_equal(keyring_entry_parse("nonE", 4, &e), CHORUS_EINVAL);
  char id[KEYRING_ID_TEXT];
  keyring_entry_id_text(&NONE, id);
  assert_string_equal(id, "none");
  keyring_entry_id_text(&k, id);
  assert_int_equal(strlen(id), 16);
  assert_int_equal(strspn(id, "0123456789abcdef"), 16);
}

static void test_the_file_form_round_trips_and_refuses_anything_else(void **state) {
  keyring_entry_t k1 = key_entry(1), k2 = key_entry(2);
  uint8_t id2[KEYRING_ID_BYTES];
  id_of(&k2, id2);
  keyring_t kr, back;
  keyring_init(&kr, k1.key);
  keyring_install(&kr, &NONE);
  keyring_install(&kr, &k2);
  keyring_use(&kr, id2);
  buf_t f;
  buf_init(&f);
  assert_int_equal(keyring_encode(&kr, &f), 0);
  assert_true(f.len < KEYRING_FILE_MAX);
  assert_int_equal(keyring_decode(f.data, f.len, &back), 0);
  assert_int_equal(back.n, 3);
  assert_true(passes(&kr, &back) && passes(&back, &kr));
  uint8_t pid[KEYRING_ID_BYTES];
  keyring_entry_id(&back.e[back.primary], pid);
  assert_memory_equal(pid, id2, KEYRING_ID_BYTES);
  /* every truncation, and a few edits, are refused */
  for (size_t cut = 0; cut < f.len; cut++)
    assert_int_equal(keyring_decode(f.data, cut, &back), CHORUS_ECORRUPT);
  static const char *const bad[] = {
      "chorus-keyring 2\nuse none\nend\n",
      "chorus-keyring 1\nend\n",
      "chorus-keyring 1\nuse none\n",
      "chorus-keyring 1\nkey none\nend\n",
      "chorus-keyring 1\nuse none\nuse none\nend\n",
      "chorus-keyring 1\nuse none\nkey none\nend\n",
      "chorus-keyring 1\nuse nonesuch\nend\n",
      "chorus-keyring 1\nuse none\n\nend\n",
      "chorus-keyring 1\nuse  none\nend\n",
      "chorus-keyring 1\nuse none\nend\nend\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(keyring_decode(bad[i], strlen(bad[i]), &back), CHORUS_ECORRUPT);
  const char *good = "chorus-keyring 1\nuse none\nend\n";
  assert_int_equal(keyring_decode(good, strlen(good), &back), 0);
  assert_false(keyring_sealed(&back));
  buf_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_rotation_never_leaves_two_members_unable_to_talk),
      cmocka_unit_test(test_a_plaintext_cluster_gets_a_key_without_a_restart),
      cmocka_unit_test(test_the_primary_cannot_be_removed_and_use_needs_an_installed_key),
      cmocka_unit_test(test_the_keyring_holds_at_most_keyring_max_entries),
      cmocka_unit_test(test_removing_below_the_primary_keeps_the_primary),
      cmocka_unit_test(test_entries_parse_from_base64_or_none_and_have_ids),
      cmocka_unit_test(test_the_file_form_round_trips_and_refuses_anything_else),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
