/*
 * jsonr.h - a strict, allocation-free JSON reader for request bodies.
 *
 * jsonr_object_strings validates a whole JSON text (RFC 8259: UTF-8, no
 * trailing bytes, nesting at most JSONR_MAX_DEPTH) and, when its top level
 * is an object, reports where the string values of the wanted member names
 * are. Other members may hold any JSON value and are skipped. It does not
 * build a tree: a PUT body costs one pass over its bytes.
 */
#ifndef CHORUS_JSONR_H
#define CHORUS_JSONR_H

#include <stdbool.h>
#include <stddef.h>

#define JSONR_MAX_DEPTH 64

typedef enum {
  JSONR_ABSENT = 0, /* no member of that name */
  JSONR_STRING,     /* a string: raw (still escaped) bytes at raw[0..raw_len) */
  JSONR_NULL,
  JSONR_OTHER, /* a number, boolean, array or object */
} jsonr_kind_t;

typedef struct {
  const char *name; /* in: member name to look for (no escapes in it) */
  jsonr_kind_t kind;
  const char *raw;
  size_t raw_len;
  size_t decoded_len; /* bytes after unescaping (JSONR_STRING only) */
} jsonr_field_t;

typedef enum {
  JSONR_OK = 0,
  JSONR_MALFORMED,  /* not valid JSON */
  JSONR_NOT_OBJECT, /* valid JSON whose top level is not an object */
  JSONR_DUPLICATE,  /* a wanted member appears twice */
} jsonr_result_t;

jsonr_result_t jsonr_object_strings(const char *p, size_t len, jsonr_field_t *fields, size_t nfields);
/* Unescapes a JSONR_STRING field into out (f->decoded_len bytes + a NUL). */
void jsonr_unescape(const jsonr_field_t *f, char *out);

#endif
