/*
 * swim_seal.h - AES-256-GCM sealing of gossip packets and push-pull frames
 * with the cluster key (--cluster-key).
 *
 * Sealed form: u8 SWIM_SEAL_VERSION, a 12-byte random nonce, the ciphertext
 * (as long as the plaintext), a 16-byte tag. The version byte is
 * authenticated as additional data, so it cannot be altered either. Every
 * seal draws a fresh nonce from the OpenSSL CSPRNG; at 2^32 seals per key the
 * chance of a nonce repeat stays below 2^-32 (NIST SP 800-38D), far beyond
 * what a membership protocol sends between key rotations.
 */
#ifndef CHORUS_SWIM_SEAL_H
#define CHORUS_SWIM_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define SWIM_KEY_BYTES 32
#define SWIM_SEAL_VERSION 1
#define SWIM_SEAL_NONCE_BYTES 12
#define SWIM_SEAL_TAG_BYTES 16
/* Bytes a seal adds to its plaintext: version, nonce, tag. */
#define SWIM_SEAL_OVERHEAD (1 + SWIM_SEAL_NONCE_BYTES + SWIM_SEAL_TAG_BYTES)

/* Decodes a base64 cluster key (either alphabet, padding optional) that must
 * be exactly SWIM_KEY_BYTES long. CHORUS_EINVAL otherwise; key is written
 * only on success. */
int swim_key_parse(const char *base64, uint8_t key[SWIM_KEY_BYTES]);

/* Appends the sealed form of plain[0..len) to out (len + SWIM_SEAL_OVERHEAD
 * bytes). CHORUS_ETOOBIG if len exceeds what one GCM call takes (INT_MAX),
 * CHORUS_EIO if the random generator or the cipher fails, CHORUS_ENOMEM; on
 * error out keeps its previous length. plain must not lie in out's buffer,
 * which may move as it grows. */
int swim_seal(const uint8_t key[SWIM_KEY_BYTES], const void *plain, size_t len, buf_t *out);

/* Verifies sealed[0..len) and appends its plaintext (len - SWIM_SEAL_OVERHEAD
 * bytes) to out. CHORUS_ECORRUPT if it is shorter than the overhead, has
 * another version, or fails authentication (wrong key, any byte changed);
 * then out keeps its previous length and no unauthenticated plaintext is
 * left in its buffer. sealed must not overlap out's buffer. */
int swim_open(const uint8_t key[SWIM_KEY_BYTES], const void *sealed, size_t len, buf_t *out);

#endif
