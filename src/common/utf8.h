/* utf8.h - strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. */
#ifndef CHORUS_UTF8_H
#define CHORUS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool utf8_valid(const void *p, size_t len);
/* The longest prefix of p[0..len) that is at most max bytes and ends on a
 * character boundary; bytes that are not UTF-8 are cut at max. */
size_t utf8_prefix(const void *p, size_t len, size_t max);

#endif
