/*
 * context.c - the client-facing causal context token (layout in context.h).
 *
 * The token is the same checksummed framing as a record, around one encoded
 * vector, in base64. Every rejection is CHORUS_EINVAL because the string
 * comes from a client: it is a bad request, not damaged storage.
 */
#include "context.h"

#include <stdlib.h>
#include <string.h>

#include "../common/base64.h"
#include "../common/err.h"

#define CONTEXT_VERSION 1

static const uint8_t context_magic[3] = {'C', 'X', CONTEXT_VERSION};

/* *out = the base64 of b's bytes, unless the decoder would refuse it unread. */
static int to_token(const buf_t *b, char **out) {
  size_t chars = base64_encoded_len(b->len);
  if (chars > CONTEXT_MAX_CHARS) return CHORUS_ETOOBIG;
  char *s = malloc(chars + 1);
  if (!s) return CHORUS_ENOMEM;
  int rc = base64_encode(b->data, b->len, s, chars + 1);
  if (rc) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int context_encode(const vv_t *ctx, char **out) {
  buf_t b;
  *out = NULL;
  buf_init(&b);
  buf_put(&b, context_magic, sizeof(context_magic));
  vv_encode(ctx, &b);
  buf_put_crc32c(&b, 0);
  int rc = b.err ? b.err : to_token(&b, out);
  buf_free(&b);
  return rc;
}

static int decode_bytes(const uint8_t *p, size_t len, vv_t *ctx) {
  size_t body_len;
  buf_reader_t r;
  if (buf_check_crc32c(p, len, &body_len)) return CHORUS_EINVAL;
  buf_reader_init(&r, p, body_len);
  const uint8_t *magic = buf_read_raw(&r, sizeof(context_magic));
  if (!magic || memcmp(magic, context_magic, sizeof(context_magic)) != 0) return CHORUS_EINVAL;
  int rc = vv_decode(&r, ctx);
  if (rc == CHORUS_ENOMEM) return rc;
  return rc || r.left != 0 ? CHORUS_EINVAL : 0;
}

int context_decode(const char *s, size_t len, vv_t *ctx) {
  size_t n;
  vv_clear(ctx);
  if (!s || len > CONTEXT_MAX_CHARS) return CHORUS_EINVAL;
  uint8_t *bytes = malloc(len / 4 * 3 + 3);
  if (!bytes) return CHORUS_ENOMEM;
  int rc = base64_decode(s, len, bytes, len / 4 * 3 + 3, &n) ? CHORUS_EINVAL : decode_bytes(bytes, n, ctx);
  free(bytes);
  if (rc) vv_clear(ctx);
  return rc;
}
