/*
 * fuzz_context.c - context_decode on arbitrary strings.
 *
 * Whatever decodes must re-encode to a token that decodes to an equal
 * vector and carries byte for byte the same bytes under the base64 (the
 * input may use the URL-safe or unpadded spelling, so the text can differ).
 * The input is tried as a token, and also as the bytes under the base64,
 * sealed with a correct checksum, so that mutations reach the parser
 * behind the CRC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/buf.h"
#include "storage/context.h"

/* The bytes under a token; NULL when s is not base64. */
static uint8_t *raw_bytes(const char *s, size_t len, size_t *n) {
  uint8_t *p = malloc(len / 4 * 3 + 3);
  if (p && base64_decode(s, len, p, len / 4 * 3 + 3, n) == 0) return p;
  free(p);
  return NULL;
}

static void check(const char *s, size_t len) {
  vv_t v, again;
  char *token = NULL;
  vv_init(&v);
  vv_init(&again);
  if (context_decode(s, len, &v) == 0) {
    if (context_encode(&v, &token) != 0) abort();
    if (context_decode(token, strlen(token), &again) != 0 || !vv_equal(&v, &again)) abort();
    size_t n_in, n_out;
    uint8_t *in = raw_bytes(s, len, &n_in), *out = raw_bytes(token, strlen(token), &n_out);
    if (!in || !out || n_in != n_out || memcmp(in, out, n_in) != 0) abort();
    free(in);
    free(out);
  }
  free(token);
  vv_free(&v);
  vv_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check((const char *)data, size);
  buf_t sealed;
  buf_init(&sealed);
  buf_put(&sealed, data, size);
  buf_put_crc32c(&sealed, 0);
  size_t chars = base64_encoded_len(sealed.len);
  char *token = sealed.err ? NULL : malloc(chars + 1);
  if (token && base64_encode(sealed.data, sealed.len, token, chars + 1) == 0) check(token, chars);
  free(token);
  buf_free(&sealed);
  return 0;
}
