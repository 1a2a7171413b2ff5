/*
 * recbatch.h - a batch of (key, record bytes) pairs: what an ownership
 * transfer moves in one message (DESIGN §9). The record bytes are opaque
 * here (record.h: a key's state, or its versions without values); each is
 * decoded, and so checked, where it is applied.
 *
 * Layout (version 1):
 *   'R' 'B' 0x01       magic and version
 *   u32be n            entries, at most RECBATCH_MAX
 *   per entry:
 *     varint key_len   1..RECBATCH_KEY_MAX
 *     key bytes
 *     varint rec_len   1..RECBATCH_RECORD_MAX
 *     record bytes
 * The decoder takes untrusted bytes: it rejects a wrong magic or version,
 * a count the bytes cannot hold, an empty or over-long key or record,
 * truncation and trailing bytes (CHORUS_ECORRUPT). Entries are views into
 * the input, in the writer's order (token order, for a transfer).
 */
#ifndef CHORUS_RECBATCH_H
#define CHORUS_RECBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define RECBATCH_KEY_MAX 1024
#define RECBATCH_RECORD_MAX (64u * 1024 * 1024)
#define RECBATCH_MAX 65536u

typedef struct {
  const char *key;
  size_t key_len;
  const uint8_t *rec;
  size_t rec_len;
} recbatch_entry_t;

/* Starts a batch in out; returns its offset for recbatch_finish. */
size_t recbatch_begin(buf_t *out);
void recbatch_add(buf_t *out, const char *key, size_t key_len, const void *rec, size_t rec_len);
/* Writes the count of entries added since begin (n). */
void recbatch_finish(buf_t *out, size_t start, uint32_t n);

/* *out is a malloc'd array of *n entries pointing into p (NULL when 0). */
int recbatch_decode(const void *p, size_t len, recbatch_entry_t **out, size_t *n);

#endif
