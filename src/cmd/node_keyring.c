/* node_keyring.c - the keyring a node starts with (see node_keyring.h). */
#include "node_keyring.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../common/files.h"
#include "../common/log.h"

int node_keyring_load(const config_t *cfg, keyring_t *out, char *path, size_t pathlen) {
  if (snprintf(path, pathlen, "%s/keyring", cfg->data_dir) >= (int)pathlen) return CHORUS_ETOOBIG;
  keyring_entry_t given = {.none = true};
  if (cfg->cluster_key[0] && seal_key_parse(cfg->cluster_key, given.key) == 0) given.none = false;
  buf_t b;
  buf_init(&b);
  int rc = file_read_all(path, KEYRING_FILE_MAX, &b);
  if (rc == CHORUS_ENOTFOUND) {
    keyring_init(out, given.none ? NULL : given.key);
    rc = 0;
  } else if (rc) {
    log_error("cannot read the keyring %s: %s", path, chorus_strerror(rc));
    rc = CHORUS_EIO;
  } else if (keyring_decode(b.data, b.len, out) != 0) {
    log_error("the keyring %s does not decode: restore it, or delete it to start from --cluster-key", path);
    rc = CHORUS_ECORRUPT;
  } else {
    uint8_t id[KEYRING_ID_BYTES];
    keyring_entry_id(&given, id);
    if (cfg->cluster_key[0] && keyring_find(out, id) < 0)
      log_warn("--cluster-key is not in the keyring %s (rotated since?): the keyring is used", path);
  }
  if (b.data) OPENSSL_cleanse(b.data, b.cap);
  buf_free(&b);
  OPENSSL_cleanse(&given, sizeof given);
  if (!rc) {
    char primary[KEYRING_ID_TEXT];
    keyring_entry_id_text(&out->e[out->primary], primary);
    log_info("keyring: %zu keys, sending with %s", out->n, primary);
  }
  return rc;
}
