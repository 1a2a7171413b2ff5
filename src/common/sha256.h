/*
 * sha256.h - SHA-256 for hot paths (ring tokens, event hashes).
 *
 * OpenSSL 3's one-shot SHA256() looks the algorithm up on every call,
 * which costs more than hashing a short key; this fetches it once per
 * process and is safe to call from any thread.
 */
#ifndef CHORUS_SHA256_H
#define CHORUS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

/* out = SHA-256(p[0..n)); p may be NULL when n is 0. */
void sha256_digest(const void *p, size_t n, uint8_t out[SHA256_BYTES]);

#endif
