/*
 * keyring.c - the keys that seal gossip and peer traffic (see keyring.h).
 *
 * Entries are compared by id (a SHA-256 prefix of the key), which is also
 * what an operator names them by: an id is 64 bits, so two different keys
 * sharing one is not a case the keyring needs to handle.
 */
#include "keyring.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "err.h"
#include "sha256.h"

#define FILE_HEADER "chorus-keyring 1\n"
#define FILE_END "end\n" /* a cut file is not a smaller keyring */
#define KEY_TEXT_MAX 64  /* base64 of 32 bytes is 44 characters */

const keyring_t keyring_plaintext = {.e = {{.none = true}}, .n = 1, .primary = 0};

void keyring_init(keyring_t *kr, const uint8_t *key) {
  memset(kr, 0, sizeof *kr);
  kr->n = 1;
  kr->e[0].none = key == NULL;
  if (key) memcpy(kr->e[0].key, key, SEAL_KEY_BYTES);
}

int keyring_entry_parse(const char *text, size_t len, keyring_entry_t *out) {
  keyring_entry_t e = {0};
  if (len == 4 && memcmp(text, "none", 4) == 0) {
    e.none = true;
  } else {
    char tmp[KEY_TEXT_MAX + 1];
    if (len == 0 || len > KEY_TEXT_MAX || memchr(text, '\0', len)) return CHORUS_EINVAL;
    memcpy(tmp, text, len);
    tmp[len] = '\0';
    if (seal_key_parse(tmp, e.key) != 0) return CHORUS_EINVAL;
  }
  *out = e;
  OPENSSL_cleanse(&e, sizeof e);
  return 0;
}

void keyring_entry_id(const keyring_entry_t *e, uint8_t out[KEYRING_ID_BYTES]) {
  uint8_t h[SHA256_BYTES];
  if (e->none) {
    memset(out, 0, KEYRING_ID_BYTES);
    return;
  }
  sha256_digest(e->key, SEAL_KEY_BYTES, h);
  memcpy(out, h, KEYRING_ID_BYTES);
}

void keyring_id_text(const uint8_t id[KEYRING_ID_BYTES], char out[KEYRING_ID_TEXT]) {
  static const uint8_t none[KEYRING_ID_BYTES];
  if (memcmp(id, none, KEYRING_ID_BYTES) == 0) {
    snprintf(out, KEYRING_ID_TEXT, "none");
    return;
  }
  for (size_t i = 0; i < KEYRING_ID_BYTES; i++)
    snprintf(out + 2 * i, 3, "%02x", id[i]);
}

void keyring_entry_id_text(const keyring_entry_t *e, char out[KEYRING_ID_TEXT]) {
  uint8_t id[KEYRING_ID_BYTES];
  keyring_entry_id(e, id);
  keyring_id_text(id, out);
}

int keyring_find(const keyring_t *kr, const uint8_t id[KEYRING_ID_BYTES]) {
  for (size_t i = 0; i < kr->n; i++) {
    uint8_t have[KEYRING_ID_BYTES];
    keyring_entry_id(&kr->e[i], have);
    if (memcmp(have, id, KEYRING_ID_BYTES) == 0) return (int)i;
  }
  return -1;
}

int keyring_install(keyring_t *kr, const keyring_entry_t *e) {
  uint8_t id[KEYRING_ID_BYTES];
  keyring_entry_id(e, id);
  if (keyring_find(kr, id) >= 0) return 0;
  if (kr->n >= KEYRING_MAX) return CHORUS_ETOOBIG;
  kr->e[kr->n++] = *e;
  return 0;
}

int keyring_use(keyring_t *kr, const uint8_t id[KEYRING_ID_BYTES]) {
  int i = keyring_find(kr, id);
  if (i < 0) return CHORUS_ENOTFOUND;
  kr->primary = (size_t)i;
  return 0;
}

int keyring_remove(keyring_t *kr, const uint8_t id[KEYRING_ID_BYTES]) {
  int i = keyring_find(kr, id);
  if (i < 0) return 0;
  if ((size_t)i == kr->primary) return CHORUS_EBUSY;
  for (size_t j = (size_t)i; j + 1 < kr->n; j++)
    kr->e[j] = kr->e[j + 1];
  kr->n--;
  OPENSSL_cleanse(&kr->e[kr->n], sizeof kr->e[kr->n]);
  if (kr->primary > (size_t)i) kr->primary--;
  return 0;
}

bool keyring_sealed(const keyring_t *kr) {
  return !kr->e[kr->primary].none;
}

int keyring_seal(const keyring_t *kr, const void *plain, size_t len, buf_t *out) {
  const keyring_entry_t *p = &kr->e[kr->primary];
  if (!p->none) return seal_box(p->key, plain, len, out);
  size_t before = out->len;
  buf_put(out, plain, len);
  if (out->err) {
    out->len = before;
    return CHORUS_ENOMEM;
  }
  return 0;
}

int keyring_open(const keyring_t *kr, const void *p, size_t len, buf_t *scratch, const uint8_t **plain,
                 size_t *plain_len) {
  bool none = false;
  for (size_t k = 0; k < kr->n; k++) {
    size_t i = k == 0 ? kr->primary : k <= kr->primary ? k - 1 : k; /* the primary first */
    if (kr->e[i].none) {
      none = true;
      continue;
    }
    buf_reset(scratch);
    if (seal_open(kr->e[i].key, p, len, scratch) == 0) {
      *plain = scratch->data;
      *plain_len = scratch->len;
      return 0;
    }
  }
  if (!none) return CHORUS_ECORRUPT;
  *plain = p;
  *plain_len = len;
  return 0;
}

/* ---- file form ---- */

static void put_entry(buf_t *out, const char *tag, const keyring_entry_t *e) {
  char text[KEY_TEXT_MAX + 1];
  if (e->none)
    snprintf(text, sizeof text, "none");
  else
    base64_encode(e->key, SEAL_KEY_BYTES, text, sizeof text);
  buf_put(out, tag, strlen(tag));
  buf_put(out, " ", 1);
  buf_put(out, text, strlen(text));
  buf_put(out, "\n", 1);
  OPENSSL_cleanse(text, sizeof text);
}

int keyring_encode(const keyring_t *kr, buf_t *out) {
  size_t before = out->len;
  buf_put(out, FILE_HEADER, strlen(FILE_HEADER));
  put_entry(out, "use", &kr->e[kr->primary]);
  for (size_t i = 0; i < kr->n; i++)
    if (i != kr->primary) put_entry(out, "key", &kr->e[i]);
  buf_put(out, FILE_END, strlen(FILE_END));
  if (out->err) {
    out->len = before;
    return CHORUS_ENOMEM;
  }
  return 0;
}

int keyring_decode(const void *p, size_t len, keyring_t *kr) {
  const char *s = p, *end = s + len;
  size_t hl = strlen(FILE_HEADER), el = strlen(FILE_END);
  if (len > KEYRING_FILE_MAX || len < hl + el || memcmp(s, FILE_HEADER, hl) != 0 ||
      memcmp(end - el, FILE_END, el) != 0)
    return CHORUS_ECORRUPT;
  end -= el;
  keyring_t tmp;
  memset(&tmp, 0, sizeof tmp);
  bool have_use = false;
  int rc = 0;
  for (s += hl; s < end && !rc;) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl) {
      rc = CHORUS_ECORRUPT; /* every line ends with a newline */
      break;
    }
    bool use = (size_t)(nl - s) > 4 && memcmp(s, "use ", 4) == 0;
    bool key = (size_t)(nl - s) > 4 && memcmp(s, "key ", 4) == 0;
    keyring_entry_t e;
    uint8_t id[KEYRING_ID_BYTES];
    if ((!use && !key) || (use && have_use) || tmp.n >= KEYRING_MAX ||
        keyring_entry_parse(s + 4, (size_t)(nl - s - 4), &e) != 0) {
      rc = CHORUS_ECORRUPT;
      break;
    }
    keyring_entry_id(&e, id);
    if (keyring_find(&tmp, id) >= 0) rc = CHORUS_ECORRUPT; /* each entry once */
    if (!rc) {
      if (use) {
        tmp.primary = tmp.n;
        have_use = true;
      }
      tmp.e[tmp.n++] = e;
    }
    OPENSSL_cleanse(&e, sizeof e);
    s = nl + 1;
  }
  if (!rc && !have_use) rc = CHORUS_ECORRUPT;
  if (!rc) *kr = tmp;
  OPENSSL_cleanse(&tmp, sizeof tmp);
  return rc;
}
