/*
 * chorus_table.h - how the `chorus` client prints for people: aligned
 * tables, "label: value" blocks, and JSON pieces (string lists, version
 * vectors, numbers, values) rendered as short text.
 *
 * A table copies its cells, so callers may pass stack buffers; its columns
 * are as wide as their widest cell counted in characters (UTF-8 code
 * points), not bytes. Rendered text is cut to the buffer given, never past.
 */
#ifndef CHORUS_CMD_TABLE_H
#define CHORUS_CMD_TABLE_H

#include <stdio.h>

#include <jansson.h>

#define CHORUS_TABLE_MAX_COLS 12
#define CHORUS_TABLE_MAX_ROWS 100000

typedef struct {
  size_t ncols;
  const char *head[CHORUS_TABLE_MAX_COLS]; /* static strings */
  size_t width[CHORUS_TABLE_MAX_COLS];
  char **cells; /* rows x ncols copies, owned */
  size_t rows, cap;
} chorus_table_t;

void chorus_table_init(chorus_table_t *t, size_t ncols, const char *const *heads);
/* Copies ncols cells (NULL prints "-"). CHORUS_ENOMEM, or CHORUS_ETOOBIG past CHORUS_TABLE_MAX_ROWS. */
int chorus_table_add(chorus_table_t *t, const char *const *cells);
void chorus_table_print(const chorus_table_t *t, FILE *f);
void chorus_table_free(chorus_table_t *t);

/* "  label:  text": one line of a block, the label padded to 13 characters. */
void chorus_table_kv(FILE *f, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Renders one element of an array (ctx: what the caller passed along). */
typedef void (*chorus_table_item_fn)(const json_t *item, const json_t *ctx, char *out, size_t cap);
/* The elements of a JSON array as fn renders them, joined by spaces, or "-" for none. */
void chorus_table_join_with(const json_t *arr, chorus_table_item_fn fn, const json_t *ctx, char *out,
                            size_t cap);
/* The scalars of a JSON array joined by spaces, or "-" for none. */
void chorus_table_join(const json_t *arr, char *out, size_t cap);
/* A version vector {"clocks": {"n1": 5}} as "n1:5 n2:3" ("-" when empty). */
void chorus_table_clock(const json_t *vc, char *out, size_t cap);
/* A JSON scalar as text: strings bare, integers and reals as numbers, true/false, null as "-". */
void chorus_table_scalar(const json_t *v, char *out, size_t cap);
/* A value as people read it: unchanged when it holds no control character,
 * else as a quoted JSON string (so a newline or an escape cannot pass for
 * something else). Quoted always when quote is set. */
void chorus_table_value(FILE *f, const char *s, size_t len, int quote);
/* The value at a dotted path ("storage.keys") of j, or NULL. */
const json_t *chorus_json_path(const json_t *j, const char *dotted);
/* A table of JSON objects (the elements of an array, or the values of an
 * object): column i shows field fields[i] (a dotted path; a trailing '%'
 * shows a fraction as a percentage) under heads[i]. */
int chorus_table_objects(FILE *f, const json_t *rows, size_t ncols, const char *const *heads,
                         const char *const *fields);
/* One chorus_table_kv line per {label, dotted path} pair, the value as chorus_table_scalar prints it. */
void chorus_table_fields(FILE *f, const json_t *j, const char *const (*pairs)[2], size_t n);
/* A byte count as "12.3 MB" (1000-based). */
void chorus_table_bytes(double n, char *out, size_t cap);

#endif
