/*
 * seal.h - AES-256-GCM sealing with the cluster key (--cluster-key): gossip
 * packets and push-pull frames (src/gossip) and peer transport frames
 * (src/replication) alike, so it belongs to neither.
 *
 * Sealed form: u8 SEAL_VERSION, a 12-byte random nonce, the ciphertext
 * (as long as the plaintext), a 16-byte tag. The version byte is
 * authenticated as additional data, so it cannot be altered either. Every
 * seal draws a fresh nonce from the OpenSSL CSPRNG; at 2^32 seals per key the
 * chance of a nonce repeat stays below 2^-32 (NIST SP 800-38D), far beyond
 * what a membership protocol sends between key rotations.
 */
#ifndef CHORUS_SEAL_H
#define CHORUS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define SEAL_KEY_BYTES 32
#define SEAL_VERSION 1
#define SEAL_NONCE_BYTES 12
#define SEAL_TAG_BYTES 16
/* Bytes a seal adds to its plaintext: version, nonce, tag. */
#define SEAL_OVERHEAD (1 + SEAL_NONCE_BYTES + SEAL_TAG_BYTES)

/* Decodes a base64 cluster key (either alphabet, padding optional) that must
 * be exactly SEAL_KEY_BYTES long. CHORUS_EINVAL otherwise; key is written
 * only on success. */
int seal_key_parse(const char *base64, uint8_t key[SEAL_KEY_BYTES]);

/* Appends the sealed form of plain[0..len) to out (len + SEAL_OVERHEAD
 * bytes). CHORUS_ETOOBIG if len exceeds what one GCM call takes (INT_MAX),
 * CHORUS_EIO if the random generator or the cipher fails, CHORUS_ENOMEM; on
 * error out keeps its previous length. plain must not lie in out's buffer,
 * which may move as it grows. */
int seal_box(const uint8_t key[SEAL_KEY_BYTES], const void *plain, size_t len, buf_t *out);

/* Verifies sealed[0..len) and appends its plaintext (len - SEAL_OVERHEAD
 * bytes) to out. CHORUS_ECORRUPT if it is shorter than the overhead, has
 * another version, or fails authentication (wrong key, any byte changed);
 * then out keeps its previous length and no unauthenticated plaintext is
 * left in its buffer. sealed must not overlap out's buffer. */
int seal_open(const uint8_t key[SEAL_KEY_BYTES], const void *sealed, size_t len, buf_t *out);

#endif
