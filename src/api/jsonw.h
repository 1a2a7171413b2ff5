/*
 * jsonw.h - a streaming JSON writer appending to a buf_t.
 *
 * Replies are written straight into the bytes that are sent, without
 * building a tree of objects first: the hot paths (data replies) cost one
 * pass over their fields and no allocation beyond the output buffer.
 * Strings are written as given and must be valid UTF-8 (every string the
 * node emits was validated on the way in); quotes, backslashes and control
 * characters are escaped. Commas are inserted automatically; the caller
 * keeps objects and arrays balanced (depth at most JW_MAX_DEPTH).
 */
#ifndef CHORUS_JSONW_H
#define CHORUS_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../storage/vv.h"

#define JW_MAX_DEPTH 16

typedef struct {
  buf_t *out;
  int depth;
  bool first[JW_MAX_DEPTH + 1]; /* nothing written yet at this depth */
  bool after_key;
} jw_t;

void jw_init(jw_t *w, buf_t *out);
void jw_object(jw_t *w);
void jw_object_end(jw_t *w);
void jw_array(jw_t *w);
void jw_array_end(jw_t *w);
void jw_key(jw_t *w, const char *key); /* key is a literal without characters to escape */
void jw_string(jw_t *w, const char *s, size_t len);
void jw_cstring(jw_t *w, const char *s);
void jw_uint(jw_t *w, uint64_t v);
void jw_bool(jw_t *w, bool v);
void jw_null(jw_t *w);
void jw_vv(jw_t *w, const vv_t *v); /* {node: counter, ...} */
/* {"clocks": {node: counter, ...}} */
void jw_vclock(jw_t *w, const vv_t *v);

#endif
