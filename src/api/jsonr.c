/*
 * jsonr.c - strict JSON validation with member lookup (see jsonr.h).
 *
 * Recursive descent bounded by JSONR_MAX_DEPTH; every read is bounded by
 * the end pointer. The text is checked to be UTF-8 once up front, so string
 * scanning only has to look at ASCII bytes; \u escapes are checked for
 * valid surrogate pairs because they can produce any code point.
 */
#include "jsonr.h"

#include <stdint.h>
#include <string.h>

#include "../common/utf8.h"

typedef struct {
  const char *p, *end;
  int depth;
} rd_t;

static void skip_ws(rd_t *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int hex4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v << 4 | d;
  }
  return v;
}

static size_t utf8_len(uint32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Reads one \uXXXX escape (p at the 'u'), with its low surrogate if it is a
 * high one; *cp gets the code point. Returns the bytes consumed or 0. */
static size_t read_u_escape(const char *p, const char *end, uint32_t *cp) {
  if (end - p < 5) return 0;
  int hi = hex4(p + 1);
  if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF)) return 0;
  if (hi < 0xD800 || hi > 0xDBFF) {
    *cp = (uint32_t)hi;
    return 5;
  }
  if (end - p < 11 || p[5] != '\\' || p[6] != 'u') return 0;
  int lo = hex4(p + 7);
  if (lo < 0xDC00 || lo > 0xDFFF) return 0;
  *cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
  return 11;
}

/* r->p at the opening quote; on success r->p is past the closing one and
 * *decoded the length of the unescaped string. */
static bool read_string(rd_t *r, const char **raw, size_t *raw_len, size_t *decoded) {
  const char *p = r->p + 1;
  size_t n = 0;
  *raw = p;
  while (p < r->end) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') {
      *raw_len = (size_t)(p - *raw);
      *decoded = n;
      r->p = p + 1;
      return true;
    }
    if (c < 0x20) return false;
    if (c != '\\') {
      p++;
      n++;
      continue;
    }
    if (p + 1 >= r->end) return false;
    char e = p[1];
    if (e == 'u') {
      uint32_t cp;
      size_t used = read_u_escape(p + 1, r->end, &cp);
      if (!used) return false;
      p += 1 + used;
      n += utf8_len(cp);
    } else if (strchr("\"\\/bfnrt", e) && e) {
      p += 2;
      n++;
    } else {
      return false;
    }
  }
  return false;
}

static bool read_number(rd_t *r) {
  const char *p = r->p, *end = r->end;
  if (p < end && *p == '-') p++;
  if (p >= end) return false;
  if (*p == '0') {
    p++;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end && *p >= '0' && *p <= '9')
      p++;
  } else {
    return false;
  }
  if (p < end && *p == '.') {
    const char *d = ++p;
    while (p < end && *p >= '0' && *p <= '9')
      p++;
    if (p == d) return false;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    const char *d = p;
    while (p < end && *p >= '0' && *p <= '9')
      p++;
    if (p == d) return false;
  }
  r->p = p;
  return true;
}

static bool read_literal(rd_t *r, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return false;
  r->p += n;
  return true;
}

static bool read_value(rd_t *r);

/* r->p at '[' or '{'. Objects check "key": value pairs. */
static bool read_container(rd_t *r, bool object) {
  if (++r->depth > JSONR_MAX_DEPTH) return false;
  char close = object ? '}' : ']';
  r->p++;
  skip_ws(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    r->depth--;
    return true;
  }
  for (;;) {
    if (object) {
      const char *raw;
      size_t rl, dl;
      if (r->p >= r->end || *r->p != '"' || !read_string(r, &raw, &rl, &dl)) return false;
      skip_ws(r);
      if (r->p >= r->end || *r->p != ':') return false;
      r->p++;
    }
    if (!read_value(r)) return false;
    skip_ws(r);
    if (r->p >= r->end) return false;
    if (*r->p == close) break;
    if (*r->p != ',') return false;
    r->p++;
    skip_ws(r);
  }
  r->p++;
  r->depth--;
  return true;
}

static bool read_value(rd_t *r) {
  skip_ws(r);
  if (r->p >= r->end) return false;
  const char *raw;
  size_t rl, dl;
  switch (*r->p) {
  case '"': return read_string(r, &raw, &rl, &dl);
  case '{': return read_container(r, true);
  case '[': return read_container(r, false);
  case 't': return read_literal(r, "true");
  case 'f': return read_literal(r, "false");
  case 'n': return read_literal(r, "null");
  default: return read_number(r);
  }
}

static jsonr_field_t *find_field(jsonr_field_t *f, size_t n, const char *raw, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(f[i].name) == len && memcmp(f[i].name, raw, len) == 0) return &f[i];
  return NULL;
}

static void unescape_raw(const char *raw, size_t raw_len, char *out);

/* The wanted field a member name denotes, escapes in the name included. */
static jsonr_field_t *match_name(jsonr_field_t *f, size_t n, const char *raw, size_t raw_len,
                                 size_t decoded) {
  if (raw_len == decoded) return find_field(f, n, raw, raw_len);
  char name[32];
  if (decoded >= sizeof name) return NULL; /* longer than any wanted name */
  unescape_raw(raw, raw_len, name);
  return find_field(f, n, name, decoded);
}

/* The top-level object: like read_container, recording the wanted members. */
static jsonr_result_t read_top_object(rd_t *r, jsonr_field_t *fields, size_t n) {
  r->depth = 1;
  r->p++;
  skip_ws(r);
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    return JSONR_OK;
  }
  jsonr_result_t result = JSONR_OK;
  for (;;) {
    const char *name;
    size_t nl, dl;
    if (r->p >= r->end || *r->p != '"' || !read_string(r, &name, &nl, &dl)) return JSONR_MALFORMED;
    skip_ws(r);
    if (r->p >= r->end || *r->p != ':') return JSONR_MALFORMED;
    r->p++;
    skip_ws(r);
    const char *start = r->p;
    jsonr_field_t *f = match_name(fields, n, name, nl, dl);
    if (f && f->kind != JSONR_ABSENT) result = JSONR_DUPLICATE;
    if (f && r->p < r->end && *r->p == '"') {
      if (!read_string(r, &f->raw, &f->raw_len, &f->decoded_len)) return JSONR_MALFORMED;
      f->kind = JSONR_STRING;
    } else {
      if (!read_value(r)) return JSONR_MALFORMED;
      if (f) f->kind = r->p - start == 4 && memcmp(start, "null", 4) == 0 ? JSONR_NULL : JSONR_OTHER;
    }
    skip_ws(r);
    if (r->p >= r->end) return JSONR_MALFORMED;
    if (*r->p == '}') break;
    if (*r->p != ',') return JSONR_MALFORMED;
    r->p++;
    skip_ws(r);
  }
  r->p++;
  return result;
}

jsonr_result_t jsonr_object_strings(const char *p, size_t len, jsonr_field_t *fields, size_t nfields) {
  for (size_t i = 0; i < nfields; i++) {
    fields[i].kind = JSONR_ABSENT;
    fields[i].raw = NULL;
    fields[i].raw_len = fields[i].decoded_len = 0;
  }
  if (!utf8_valid(p, len)) return JSONR_MALFORMED;
  rd_t r = {p, p + len, 0};
  skip_ws(&r);
  jsonr_result_t result;
  if (r.p < r.end && *r.p == '{') {
    result = read_top_object(&r, fields, nfields);
  } else {
    result = read_value(&r) ? JSONR_NOT_OBJECT : JSONR_MALFORMED;
  }
  if (result == JSONR_MALFORMED) return result;
  skip_ws(&r);
  return r.p == r.end ? result : JSONR_MALFORMED;
}

static size_t put_utf8(char *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18);
  out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static void unescape_raw(const char *raw, size_t raw_len, char *out) {
  const char *p = raw, *end = raw + raw_len;
  size_t n = 0;
  while (p < end) {
    if (*p != '\\') {
      out[n++] = *p++;
      continue;
    }
    char e = p[1];
    if (e == 'u') {
      uint32_t cp = 0;
      size_t used = read_u_escape(p + 1, end, &cp); /* validated while reading */
      n += put_utf8(out + n, cp);
      p += 1 + used;
      continue;
    }
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    out[n++] = to[strchr(from, e) - from];
    p += 2;
  }
  out[n] = '\0';
}

void jsonr_unescape(const jsonr_field_t *f, char *out) {
  unescape_raw(f->raw, f->raw_len, out);
}
