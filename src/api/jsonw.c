/* jsonw.c - streaming JSON writer (see jsonw.h). */
#include "jsonw.h"

#include <string.h>

void jw_init(jw_t *w, buf_t *out) {
  w->out = out;
  w->depth = 0;
  w->first[0] = true;
  w->after_key = false;
}

/* Separates a value from the previous one at this depth, unless it follows its key. */
static void sep(jw_t *w) {
  if (w->after_key) {
    w->after_key = false;
    return;
  }
  if (!w->first[w->depth]) buf_put_u8(w->out, ',');
  w->first[w->depth] = false;
}

static void begin(jw_t *w, char c) {
  sep(w);
  buf_put_u8(w->out, (uint8_t)c);
  if (w->depth < JW_MAX_DEPTH) w->depth++;
  w->first[w->depth] = true;
}

static void end(jw_t *w, char c) {
  buf_put_u8(w->out, (uint8_t)c);
  if (w->depth > 0) w->depth--;
}

void jw_object(jw_t *w) {
  begin(w, '{');
}

void jw_object_end(jw_t *w) {
  end(w, '}');
}

void jw_array(jw_t *w) {
  begin(w, '[');
}

void jw_array_end(jw_t *w) {
  end(w, ']');
}

static void put_escaped(buf_t *out, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  buf_put_u8(out, '"');
  size_t run = 0; /* bytes copied in one go since the last escape */
  for (size_t i = 0; i < len; i++) {
    uint8_t c = (uint8_t)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    buf_put(out, s + run, i - run);
    run = i + 1;
    char esc[6] = {'\\', 0};
    size_t n = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      memcpy(esc + 1, "u00", 3);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      n = 6;
    }
    buf_put(out, esc, n);
  }
  buf_put(out, s + run, len - run);
  buf_put_u8(out, '"');
}

void jw_key(jw_t *w, const char *key) {
  sep(w);
  buf_put_u8(w->out, '"');
  buf_put(w->out, key, strlen(key));
  buf_put(w->out, "\":", 2);
  w->after_key = true;
}

void jw_string(jw_t *w, const char *s, size_t len) {
  sep(w);
  put_escaped(w->out, s ? s : "", s ? len : 0);
}

void jw_cstring(jw_t *w, const char *s) {
  jw_string(w, s, s ? strlen(s) : 0);
}

void jw_uint(jw_t *w, uint64_t v) {
  char digits[20];
  size_t n = 0;
  do {
    digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sep(w);
  buf_put(w->out, digits + sizeof digits - n, n);
}

void jw_bool(jw_t *w, bool v) {
  sep(w);
  buf_put(w->out, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(jw_t *w) {
  sep(w);
  buf_put(w->out, "null", 4);
}

void jw_vv(jw_t *w, const vv_t *v) {
  jw_object(w);
  for (size_t i = 0; i < v->n; i++) {
    jw_key(w, v->e[i].node); /* node ids need no escaping */
    jw_uint(w, v->e[i].counter);
  }
  jw_object_end(w);
}

void jw_vclock(jw_t *w, const vv_t *v) {
  jw_object(w);
  jw_key(w, "clocks");
  jw_vv(w, v);
  jw_object_end(w);
}
