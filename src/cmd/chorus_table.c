/*
 * chorus_table.c - tables and text rendering for the `chorus` client (see
 * chorus_table.h). Rows grow geometrically up to CHORUS_TABLE_MAX_ROWS.
 */
#include "chorus_table.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

static size_t text_width(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) n++;
  return n;
}

void chorus_table_init(chorus_table_t *t, size_t ncols, const char *const *heads) {
  memset(t, 0, sizeof *t);
  t->ncols = ncols > CHORUS_TABLE_MAX_COLS ? CHORUS_TABLE_MAX_COLS : ncols;
  for (size_t i = 0; i < t->ncols; i++) {
    t->head[i] = heads[i];
    t->width[i] = text_width(heads[i]);
  }
}

int chorus_table_add(chorus_table_t *t, const char *const *cells) {
  if (t->rows >= CHORUS_TABLE_MAX_ROWS) return CHORUS_ETOOBIG;
  if (t->rows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **more = realloc(t->cells, cap * t->ncols * sizeof *more);
    if (!more) return CHORUS_ENOMEM;
    t->cells = more;
    t->cap = cap;
  }
  char **row = t->cells + t->rows * t->ncols;
  for (size_t i = 0; i < t->ncols; i++) {
    row[i] = strdup(cells[i] ? cells[i] : "-");
    if (!row[i]) {
      while (i > 0)
        free(row[--i]);
      return CHORUS_ENOMEM;
    }
  }
  for (size_t i = 0; i < t->ncols; i++) {
    size_t w = text_width(row[i]);
    if (w > t->width[i]) t->width[i] = w;
  }
  t->rows++;
  return 0;
}

static void print_row(const chorus_table_t *t, FILE *f, const char *const *cells) {
  for (size_t i = 0; i < t->ncols; i++) {
    bool last = i + 1 == t->ncols;
    fputs(cells[i], f);
    if (!last)
      for (size_t pad = text_width(cells[i]); pad < t->width[i] + 2; pad++)
        fputc(' ', f);
  }
  fputc('\n', f);
}

void chorus_table_print(const chorus_table_t *t, FILE *f) {
  print_row(t, f, t->head);
  for (size_t r = 0; r < t->rows; r++)
    print_row(t, f, (const char *const *)(t->cells + r * t->ncols));
}

void chorus_table_free(chorus_table_t *t) {
  for (size_t i = 0; i < t->rows * t->ncols; i++)
    free(t->cells[i]);
  free(t->cells);
  memset(t, 0, sizeof *t);
}

void chorus_table_kv(FILE *f, const char *label, const char *fmt, ...) {
  char text[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  fprintf(f, "  %-14s%s\n", label, text);
}

/* Appends s (and a separator before it unless first) to out, within cap. */
static void append(char *out, size_t cap, size_t *len, const char *s) {
  int n = snprintf(out + *len, cap - *len, "%s%s", *len ? " " : "", s);
  if (n > 0) *len = (size_t)n >= cap - *len ? cap - 1 : *len + (size_t)n;
}

void chorus_table_join_with(const json_t *arr, chorus_table_item_fn fn, const json_t *ctx, char *out,
                            size_t cap) {
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < json_array_size(arr); i++) {
    char s[256];
    fn(json_array_get(arr, i), ctx, s, sizeof s);
    append(out, cap, &len, s);
  }
  if (!len) snprintf(out, cap, "-");
}

static void scalar_item(const json_t *v, const json_t *ctx, char *out, size_t cap) {
  chorus_table_scalar(v, out, cap);
}

void chorus_table_join(const json_t *arr, char *out, size_t cap) {
  chorus_table_join_with(arr, scalar_item, NULL, out, cap);
}

void chorus_table_clock(const json_t *vc, char *out, size_t cap) {
  size_t len = 0;
  json_t *clocks = json_object_get(vc, "clocks");
  out[0] = '\0';
  for (void *it = json_object_iter(clocks); it; it = json_object_iter_next(clocks, it)) {
    char s[160];
    snprintf(s, sizeof s, "%s:%" JSON_INTEGER_FORMAT, json_object_iter_key(it),
             json_integer_value(json_object_iter_value(it)));
    append(out, cap, &len, s);
  }
  if (!len) snprintf(out, cap, "-");
}

void chorus_table_scalar(const json_t *v, char *out, size_t cap) {
  switch (json_typeof(v)) {
  case JSON_STRING: snprintf(out, cap, "%s", json_string_value(v)); break;
  case JSON_INTEGER: snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
  case JSON_REAL: snprintf(out, cap, "%.4g", json_real_value(v)); break;
  case JSON_TRUE: snprintf(out, cap, "true"); break;
  case JSON_FALSE: snprintf(out, cap, "false"); break;
  default: snprintf(out, cap, "-"); break;
  }
}

void chorus_table_value(FILE *f, const char *s, size_t len, int quote) {
  for (size_t i = 0; !quote && i < len; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) quote = 1;
  if (!quote) {
    fwrite(s, 1, len, f);
    return;
  }
  json_t *j = json_stringn_nocheck(s, len);
  char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
  fputs(text ? text : "(value not shown: out of memory)", f);
  free(text);
  json_decref(j);
}

void chorus_table_bytes(double n, char *out, size_t cap) {
  const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
  size_t u = 0;
  while (n >= 1000 && u + 1 < sizeof unit / sizeof unit[0]) {
    n /= 1000;
    u++;
  }
  snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
}

const json_t *chorus_json_path(const json_t *j, const char *dotted) {
  char part[128];
  while (j && *dotted) {
    size_t n = strcspn(dotted, ".");
    if (n >= sizeof part) return NULL;
    memcpy(part, dotted, n);
    part[n] = '\0';
    j = json_object_get(j, part);
    dotted += n + (dotted[n] == '.');
  }
  return j;
}

/* A cell: the scalar at the path, a list joined, a '%' path as a percentage. */
static void cell_text(const json_t *row, const char *field, char *out, size_t cap) {
  char path[128];
  size_t n = strlen(field);
  bool percent = n > 0 && field[n - 1] == '%' && n < sizeof path;
  snprintf(path, sizeof path, "%.*s", (int)(percent ? n - 1 : n), field);
  const json_t *v = chorus_json_path(row, path);
  if (percent && json_is_number(v))
    snprintf(out, cap, "%.1f%%", json_number_value(v) * 100.0);
  else if (json_is_array(v))
    chorus_table_join(v, out, cap);
  else
    chorus_table_scalar(v, out, cap);
}

int chorus_table_objects(FILE *f, const json_t *rows, size_t ncols, const char *const *heads,
                         const char *const *fields) {
  chorus_table_t t;
  chorus_table_init(&t, ncols, heads);
  char text[CHORUS_TABLE_MAX_COLS][512];
  const char *cells[CHORUS_TABLE_MAX_COLS];
  int rc = 0;
  size_t n = json_is_array(rows) ? json_array_size(rows) : 0;
  void *it = json_is_object(rows) ? json_object_iter((json_t *)rows) : NULL;
  for (size_t r = 0; !rc && (r < n || it); r++) {
    const json_t *row = it ? json_object_iter_value(it) : json_array_get(rows, r);
    if (it) it = json_object_iter_next((json_t *)rows, it);
    for (size_t c = 0; c < t.ncols; c++) {
      cell_text(row, fields[c], text[c], sizeof text[c]);
      cells[c] = text[c];
    }
    rc = chorus_table_add(&t, cells);
  }
  if (!rc) chorus_table_print(&t, f);
  chorus_table_free(&t);
  return rc;
}

void chorus_table_fields(FILE *f, const json_t *j, const char *const (*pairs)[2], size_t n) {
  for (size_t i = 0; i < n; i++) {
    char text[1024];
    cell_text(j, pairs[i][1], text, sizeof text);
    chorus_table_kv(f, pairs[i][0], "%s", text);
  }
}
