/*
 * base64.c - RFC 4648 base64 (see base64.h).
 *
 * The decoder is strict on purpose: contexts are opaque tokens, and accepting
 * two spellings of the same bytes (stray whitespace, non-zero padding bits)
 * would let a mangled token pass for a valid one. Both alphabets are accepted
 * because clients put contexts in URLs as well as in headers.
 */
#include "base64.h"

#include "err.h"

static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t n) {
  return (n + 2) / 3 * 4;
}

int base64_encode(const void *p, size_t n, char *out, size_t cap) {
  const uint8_t *b = p;
  if (n > (SIZE_MAX - 1) / 4 * 3 - 2 || cap < base64_encoded_len(n) + 1) return CHORUS_ETOOBIG;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    size_t rem = n - i;
    uint32_t v = (uint32_t)b[i] << 16;
    if (rem > 1) v |= (uint32_t)b[i + 1] << 8;
    if (rem > 2) v |= b[i + 2];
    out[o++] = base64_alphabet[(v >> 18) & 63];
    out[o++] = base64_alphabet[(v >> 12) & 63];
    out[o++] = rem > 1 ? base64_alphabet[(v >> 6) & 63] : '=';
    out[o++] = rem > 2 ? base64_alphabet[v & 63] : '=';
  }
  out[o] = '\0';
  return 0;
}

/* Value of one character in either alphabet, or -1. */
static int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Length of s without its padding, or SIZE_MAX when the padding is malformed:
 * padding is one or two '=' completing a final group of four. */
static size_t unpadded_len(const char *s, size_t len) {
  size_t n = len;
  while (n > 0 && len - n < 2 && s[n - 1] == '=')
    n--;
  if (n == len) return n;
  if (len % 4 != 0 || (n % 4) + (len - n) != 4) return SIZE_MAX;
  return n;
}

int base64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  *out_len = 0;
  if (!s && len) return CHORUS_EINVAL;
  size_t n = unpadded_len(s, len);
  if (n == SIZE_MAX || n % 4 == 1) return CHORUS_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (sextet(s[i]) < 0) return CHORUS_EINVAL;
  if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap) return CHORUS_ETOOBIG;
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 6) | (uint32_t)sextet(s[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  /* Leftover bits of a partial group must be zero, or two strings would decode alike. */
  if (acc != 0) return CHORUS_EINVAL;
  *out_len = o;
  return 0;
}
