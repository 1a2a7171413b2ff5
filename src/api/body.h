/*
 * body.h - parsing and validation of client input: the PUT body, the causal
 * context and request ids, and the error each bad input maps to.
 *
 * Pure functions (no I/O), so the parser has a fuzz target. Each failure
 * yields an api_error_t naming the HTTP status, the machine-readable code
 * and a message for the client.
 */
#ifndef CHORUS_BODY_H
#define CHORUS_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "../storage/vv.h"

typedef struct {
  int status;          /* 0 = no error */
  const char *code;    /* "malformed_json", ... (static) */
  const char *message; /* static */
} api_error_t;

typedef struct {
  char *value; /* malloc'd copy, NUL-terminated (values may hold NUL bytes: use value_len) */
  size_t value_len;
  vv_t ctx;
  bool has_ctx;
} api_body_t;

void api_body_init(api_body_t *b);
void api_body_free(api_body_t *b);

/* Parses {"value": "<string>", "context": "<token>"?}. A value longer than
 * max_value bytes is a 413. Returns 0 or CHORUS_EINVAL/CHORUS_ENOMEM with
 * *err set. b must be initialised; on error it is left empty. */
int api_body_parse(const char *p, size_t len, size_t max_value, api_body_t *b, api_error_t *err);
/* Decodes a context token (header or body form) into ctx. */
int api_context_parse(const char *s, size_t len, vv_t *ctx, api_error_t *err);
/* Keys: valid UTF-8, 1..1024 bytes, no NUL. */
int api_key_check(const char *key, size_t len, api_error_t *err);
/* Request ids: 1..128 printable ASCII characters. */
int api_request_id_check(const char *id, api_error_t *err);

#endif
