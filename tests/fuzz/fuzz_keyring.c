/*
 * fuzz_keyring.c - keyring_decode (the data dir's keyring file, keyring.h)
 * on arbitrary bytes.
 *
 * Whatever decodes is a valid keyring (1..KEYRING_MAX distinct entries, the
 * primary among them); its encoding decodes to the same keyring, and
 * encodes again to the same bytes (the file lists the primary first, so the
 * input's own order may differ).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/keyring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(const keyring_t *kr, buf_t *out) {
  buf_init(out);
  if (keyring_encode(kr, out) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  keyring_t kr, back;
  if (keyring_decode(data, size, &kr) != 0) return 0;
  if (kr.n < 1 || kr.n > KEYRING_MAX || kr.primary >= kr.n) abort();
  for (size_t i = 0; i < kr.n; i++) {
    uint8_t id[KEYRING_ID_BYTES];
    keyring_entry_id(&kr.e[i], id);
    if (keyring_find(&kr, id) != (int)i) abort(); /* each entry once */
  }
  buf_t a, b;
  encode(&kr, &a);
  if (keyring_decode(a.data, a.len, &back) != 0 || back.n != kr.n) abort();
  encode(&back, &b);
  if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) abort();
  buf_free(&a);
  buf_free(&b);
  return 0;
}
