/*
 * context.h - the causal context as clients see it: an opaque base64 string.
 *
 * Bytes before base64: 'C' 'X' 0x01, vv_encode(ctx), u32be crc32c of the
 * preceding bytes. The checksum makes a mistyped or truncated context a
 * clean 400 instead of a silently different version.
 */
#ifndef CHORUS_CONTEXT_H
#define CHORUS_CONTEXT_H

#include <stddef.h>

#include "vv.h"

#define CONTEXT_MAX_CHARS 65536 /* longer strings are rejected unread */

/* *out gets a malloc'd NUL-terminated base64 string; the caller frees it. */
int context_encode(const vv_t *ctx, char **out);
/* ctx (initialised) is replaced. CHORUS_EINVAL for anything malformed. */
int context_decode(const char *s, size_t len, vv_t *ctx);

#endif
