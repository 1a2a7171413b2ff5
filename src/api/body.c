/*
 * body.c - client input validation (see body.h).
 *
 * The body is read with jsonr (one pass, no tree): any valid JSON is
 * accepted as long as its top level is an object with a "value" string; a
 * value may carry any Unicode text, NUL included. Unknown members are
 * ignored, as clients may send more than this version reads.
 */
#include "body.h"

#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/utf8.h"
#include "../storage/context.h"
#include "../storage/engine.h"
#include "jsonr.h"

static int fail(api_error_t *err, int status, const char *code, const char *message) {
  err->status = status;
  err->code = code;
  err->message = message;
  return status == 500 ? CHORUS_ENOMEM : CHORUS_EINVAL;
}

void api_body_init(api_body_t *b) {
  memset(b, 0, sizeof *b);
  vv_init(&b->ctx);
}

void api_body_free(api_body_t *b) {
  free(b->value);
  vv_free(&b->ctx);
  api_body_init(b);
}

int api_context_parse(const char *s, size_t len, vv_t *ctx, api_error_t *err) {
  if (len == 0) return 0; /* an empty context is the context of nothing */
  if (context_decode(s, len, ctx) != 0)
    return fail(err, 400, "bad_context", "the causal context is not a token this cluster issued");
  return 0;
}

int api_key_check(const char *key, size_t len, api_error_t *err) {
  if (len == 0 || len > ENGINE_KEY_MAX) return fail(err, 400, "bad_key", "a key is 1 to 1024 bytes of UTF-8");
  if (memchr(key, '\0', len) || !utf8_valid(key, len))
    return fail(err, 400, "bad_key", "a key must be valid UTF-8 without NUL characters");
  return 0;
}

int api_request_id_check(const char *id, api_error_t *err) {
  size_t n = strlen(id);
  if (n == 0 || n > ENGINE_REQUEST_ID_MAX)
    return fail(err, 400, "bad_request_id", "X-Request-Id must be 1 to 128 printable ASCII characters");
  for (size_t i = 0; i < n; i++)
    if (id[i] < 0x21 || id[i] > 0x7e)
      return fail(err, 400, "bad_request_id", "X-Request-Id must be 1 to 128 printable ASCII characters");
  return 0;
}

int api_body_parse(const char *p, size_t len, size_t max_value, api_body_t *b, api_error_t *err) {
  jsonr_field_t f[2] = {{.name = "value"}, {.name = "context"}};
  jsonr_field_t *value = &f[0], *ctx = &f[1];
  jsonr_result_t res = len ? jsonr_object_strings(p, len, f, 2) : JSONR_NOT_OBJECT;
  if (res == JSONR_MALFORMED || res == JSONR_DUPLICATE)
    return fail(err, 400, "malformed_json", "the body is not valid JSON (or names a field twice)");
  if (res == JSONR_NOT_OBJECT || value->kind == JSONR_ABSENT)
    return fail(err, 400, "missing_value", "the body must be a JSON object with a \"value\" string");
  if (value->kind != JSONR_STRING) return fail(err, 400, "bad_value", "\"value\" must be a string");
  if (value->decoded_len > max_value)
    return fail(err, 413, "value_too_large", "the value is larger than the node's --max-value-bytes");
  if (ctx->kind == JSONR_OTHER) return fail(err, 400, "bad_context", "\"context\" must be a string");
  int rc = 0;
  if (ctx->kind == JSONR_STRING && ctx->decoded_len) {
    char small[512], *text = ctx->decoded_len < sizeof small ? small : malloc(ctx->decoded_len + 1);
    if (!text) return fail(err, 500, "internal", "out of memory");
    jsonr_unescape(ctx, text);
    rc = api_context_parse(text, ctx->decoded_len, &b->ctx, err);
    if (text != small) free(text);
    b->has_ctx = rc == 0;
  }
  if (!rc) {
    b->value = malloc(value->decoded_len + 1);
    if (!b->value) {
      rc = fail(err, 500, "internal", "out of memory");
    } else {
      jsonr_unescape(value, b->value);
      b->value_len = value->decoded_len;
    }
  }
  if (rc) api_body_free(b);
  return rc;
}
