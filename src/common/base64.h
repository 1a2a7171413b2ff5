/*
 * base64.h - RFC 4648 base64 for opaque tokens (causal contexts).
 *
 * The encoder writes the standard alphabet with padding. The decoder accepts
 * the standard and the URL-safe alphabets, with or without padding, and
 * rejects anything else (whitespace, bad padding, non-zero trailing bits).
 */
#ifndef CHORUS_BASE64_H
#define CHORUS_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the encoding of n bytes, excluding the terminating NUL. */
size_t base64_encoded_len(size_t n);
/* Writes base64_encoded_len(n) chars plus a NUL into out (cap bytes). */
int base64_encode(const void *p, size_t n, char *out, size_t cap);
/* Decodes s[0..len) into out (cap bytes); *out_len gets the byte count.
 * CHORUS_EINVAL on malformed input, CHORUS_ETOOBIG if cap is too small. */
int base64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
