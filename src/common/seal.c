/*
 * seal.c - AES-256-GCM sealing with the cluster key (see seal.h).
 *
 * Seal and open share one GCM pass (gcm_run) so that both sides agree on the
 * nonce length and on the additional data (the version byte) by
 * construction. Sealing and opening write straight into the reserved tail of
 * the output buffer and only advance its length on success; a failed open
 * wipes the plaintext it produced before the tag was checked.
 */
#include "seal.h"

#include <limits.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "../common/base64.h"
#include "../common/err.h"

#define NONCE_AT 1
#define BODY_AT (NONCE_AT + SEAL_NONCE_BYTES)

static const uint8_t seal_version = SEAL_VERSION;

int seal_key_parse(const char *base64, uint8_t key[SEAL_KEY_BYTES]) {
  uint8_t tmp[SEAL_KEY_BYTES];
  size_t n = 0;
  if (!base64 || !key) return CHORUS_EINVAL;
  int err = base64_decode(base64, strlen(base64), tmp, sizeof(tmp), &n);
  bool ok = !err && n == SEAL_KEY_BYTES;
  if (ok) memcpy(key, tmp, sizeof(tmp));
  OPENSSL_cleanse(tmp, sizeof(tmp));
  return ok ? 0 : CHORUS_EINVAL;
}

/* The EVP steps of one GCM pass over src[0..len) into dst; encrypting
 * produces the tag, decrypting checks it. false on any failure. */
static bool gcm_steps(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *key, const uint8_t *nonce,
                      const uint8_t *src, size_t len, uint8_t *dst, uint8_t tag[SEAL_TAG_BYTES]) {
  int n = 0;
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_BYTES, NULL) != 1 ||
      EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
      EVP_CipherUpdate(ctx, NULL, &n, &seal_version, sizeof(seal_version)) != 1)
    return false;
  /* A zero-length update would be taken for more additional data. */
  if (len && (EVP_CipherUpdate(ctx, dst, &n, src, (int)len) != 1 || (size_t)n != len)) return false;
  if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_BYTES, tag) != 1) return false;
  if (EVP_CipherFinal_ex(ctx, dst ? dst + len : NULL, &n) != 1 || n != 0) return false;
  return !enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_BYTES, tag) == 1;
}

/* One GCM pass (len <= INT_MAX); failed_err is what a failed pass means to
 * the caller: a broken cipher when sealing, bad input when opening. */
static int gcm_run(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *src, size_t len,
                   uint8_t *dst, uint8_t tag[SEAL_TAG_BYTES], int failed_err) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return CHORUS_ENOMEM;
  bool ok = gcm_steps(ctx, enc, key, nonce, src, len, dst, tag);
  EVP_CIPHER_CTX_free(ctx);
  return ok ? 0 : failed_err;
}

int seal_box(const uint8_t key[SEAL_KEY_BYTES], const void *plain, size_t len, buf_t *out) {
  if (out->err) return out->err;
  if (!key || (len && !plain)) return CHORUS_EINVAL;
  if (len > INT_MAX) return CHORUS_ETOOBIG;
  if (buf_reserve(out, len + SEAL_OVERHEAD)) return out->err;
  uint8_t *s = out->data + out->len;
  s[0] = SEAL_VERSION;
  if (RAND_bytes(s + NONCE_AT, SEAL_NONCE_BYTES) != 1) return CHORUS_EIO;
  int err = gcm_run(1, key, s + NONCE_AT, plain, len, s + BODY_AT, s + BODY_AT + len, CHORUS_EIO);
  if (err) return err;
  out->len += len + SEAL_OVERHEAD;
  return 0;
}

int seal_open(const uint8_t key[SEAL_KEY_BYTES], const void *sealed, size_t len, buf_t *out) {
  const uint8_t *s = sealed;
  uint8_t tag[SEAL_TAG_BYTES];
  if (out->err) return out->err;
  if (!key) return CHORUS_EINVAL;
  if (!s || len < SEAL_OVERHEAD || s[0] != SEAL_VERSION) return CHORUS_ECORRUPT;
  size_t n = len - SEAL_OVERHEAD;
  if (n > INT_MAX) return CHORUS_ECORRUPT;
  if (buf_reserve(out, n)) return out->err;
  uint8_t *dst = n ? out->data + out->len : NULL;
  memcpy(tag, s + BODY_AT + n, sizeof(tag));
  int err = gcm_run(0, key, s + NONCE_AT, s + BODY_AT, n, dst, tag, CHORUS_ECORRUPT);
  if (err) {
    if (dst) OPENSSL_cleanse(dst, n);
    return err;
  }
  out->len += n;
  return 0;
}
