/*
 * fuzz_body.c - the request-body parser on arbitrary bytes.
 *
 * 1. api_body_parse either fails with a 4xx/5xx error naming a code, or
 *    yields a value no longer than the limit; it never crashes or leaks.
 *    The first input byte picks the limit so small limits are exercised.
 * 2. Differential check of the JSON reader against jansson: both accept
 *    and reject the same texts, and the "value" member decodes to the same
 *    bytes. Where jansson departs from RFC 8259 on purpose (integers or
 *    reals it cannot represent, NUL in member names, raw NUL bytes, nesting
 *    deeper than ours) the comparison is skipped.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "api/jsonr.h"

static void check_body(const uint8_t *data, size_t size) {
  size_t limit = (size_t)data[0] * 16;
  api_body_t b;
  api_body_init(&b);
  api_error_t err = {0};
  int rc = api_body_parse((const char *)data + 1, size - 1, limit, &b, &err);
  if (rc == 0) {
    if (!b.value || b.value_len > limit) abort();
  } else if (err.status < 400 || !err.code || !err.message) {
    abort();
  }
  api_body_free(&b);
}

static int depth_of(const char *p, size_t len) {
  int d = 0, max = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '[' || p[i] == '{') max = ++d > max ? d : max;
    if (p[i] == ']' || p[i] == '}') d--;
  }
  return max;
}

static void check_against_jansson(const char *p, size_t len) {
  jsonr_field_t f[1] = {{.name = "value"}};
  jsonr_result_t ours = jsonr_object_strings(p, len, f, 1);
  if (memchr(p, '\0', len)) { /* never valid JSON; jansson stops reading at it */
    if (ours != JSONR_MALFORMED) abort();
    return;
  }
  json_error_t jerr;
  json_t *root = json_loadb(p, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
  if (!root) {
    bool jansson_limit = strstr(jerr.text, "too big") || strstr(jerr.text, "overflow") ||
                         strstr(jerr.text, "NUL") || strstr(jerr.text, "nesting");
    if (ours != JSONR_MALFORMED && !jansson_limit) abort();
    return;
  }
  if (ours == JSONR_MALFORMED) {
    if (depth_of(p, len) <= JSONR_MAX_DEPTH) abort();
  } else if ((ours == JSONR_NOT_OBJECT) != !json_is_object(root)) {
    abort();
  } else if (ours == JSONR_OK) {
    json_t *v = json_object_get(root, "value");
    if ((f[0].kind == JSONR_STRING) != json_is_string(v)) abort();
    if (f[0].kind == JSONR_STRING) {
      char *out = malloc(f[0].decoded_len + 1);
      if (!out) abort();
      jsonr_unescape(&f[0], out);
      if (f[0].decoded_len != json_string_length(v) ||
          memcmp(out, json_string_value(v), f[0].decoded_len) != 0)
        abort();
      free(out);
    }
  }
  json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  check_body(data, size);
  check_against_jansson((const char *)data + 1, size - 1);
  return 0;
}
