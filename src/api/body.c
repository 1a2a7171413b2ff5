/*
 * body.c - client input validation (see body.h).
 *
 * jansson parses the body with JSON_ALLOW_NUL so a value may carry any
 * Unicode text; jansson has already checked it is valid UTF-8. Unknown
 * fields are ignored, as clients may send more than this version reads.
 */
#include "body.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/utf8.h"
#include "../storage/context.h"
#include "../storage/engine.h"

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
  json_error_t jerr;
  json_t *root = json_loadb(p, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (!root) {
    if (len == 0)
      return fail(err, 400, "missing_value", "the body must be a JSON object with a \"value\" string");
    return fail(err, 400, "malformed_json", "the body is not valid JSON");
  }
  int rc = 0;
  json_t *value = json_is_object(root) ? json_object_get(root, "value") : NULL;
  json_t *ctx = json_is_object(root) ? json_object_get(root, "context") : NULL;
  if (!value) {
    rc = fail(err, 400, "missing_value", "the body must be a JSON object with a \"value\" string");
  } else if (!json_is_string(value)) {
    rc = fail(err, 400, "bad_value", "\"value\" must be a string");
  } else if (json_string_length(value) > max_value) {
    rc = fail(err, 413, "value_too_large", "the value is larger than the node's --max-value-bytes");
  } else if (ctx && !json_is_string(ctx) && !json_is_null(ctx)) {
    rc = fail(err, 400, "bad_context", "\"context\" must be a string");
  }
  if (!rc && ctx && json_is_string(ctx)) {
    rc = api_context_parse(json_string_value(ctx), json_string_length(ctx), &b->ctx, err);
    b->has_ctx = rc == 0;
  }
  if (!rc) {
    size_t n = json_string_length(value);
    b->value = malloc(n + 1);
    if (!b->value) {
      rc = fail(err, 500, "internal", "out of memory");
    } else {
      memcpy(b->value, json_string_value(value), n);
      b->value[n] = '\0';
      b->value_len = n;
    }
  }
  json_decref(root);
  if (rc) api_body_free(b);
  return rc;
}
