/* utf8.c - strict UTF-8 checks for keys and previews (see utf8.h). */
#include "utf8.h"

#include <stdint.h>

/* Length of the sequence starting at p[i] if it is a valid one, else 0. */
static size_t seq_len(const uint8_t *p, size_t i, size_t len) {
  uint8_t c = p[i];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (len - i < n) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((p[i + k] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (p[i + k] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0; /* overlong */
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                       /* surrogate */
  if (cp > 0x10FFFF) return 0;
  return n;
}

bool utf8_valid(const void *p, size_t len) {
  const uint8_t *s = p;
  for (size_t i = 0; i < len;) {
    size_t n = seq_len(s, i, len);
    if (!n) return false;
    i += n;
  }
  return true;
}

size_t utf8_prefix(const void *p, size_t len, size_t max) {
  const uint8_t *s = p;
  if (len <= max) return len;
  /* back off to the start of the character the cut would split: at most 3
   * continuation bytes; more means the bytes are not UTF-8, so cut at max */
  size_t cut = max;
  for (int k = 0; k < 3 && cut > 0 && (s[cut] & 0xC0) == 0x80; k++)
    cut--;
  return (s[cut] & 0xC0) == 0x80 ? max : cut;
}
