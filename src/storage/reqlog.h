/*
 * reqlog.h - the on-disk form of a request-log entry: what became of a
 * request carrying an X-Request-Id, so that a retry is not applied twice.
 *
 * Storage speaks data, not HTTP: an entry keeps the outcome of the first
 * application (its error, event id, the key's state after it and, for a
 * put, the value written), and the API renders a retry's reply from it the
 * way it rendered the first. The entry remembers which operation on which
 * key the id was used for, so an id reused for a different request is
 * recognised instead of answered with an unrelated outcome.
 *
 * A replica that merged the state a coordinator produced for a request id
 * keeps an entry without an outcome (REQLOG_REPLICATED): if the client
 * retries through this node, the write is not applied twice. Its op may be
 * 0 when the coordinator did not say whether the request was a put or a
 * delete; then only the key identifies the request.
 *
 * Layout (version 3): 'C' 'Q' 0x03, u8 kind, u8 op, lbytes key, and for
 * REQLOG_OUTCOME: u8 not_found, u64be event_id, lbytes record, lbytes
 * value, then the write's dots (dvv_dots_encode: its own dot and those it
 * replaced); then u32be crc32c of everything before it. Version 2 is the
 * same without the dots; it still decodes (no dots). Version 1 (an HTTP
 * status and reply body) is no longer decoded: engine start-up rewrites
 * such entries as REQLOG_REPLICATED marks (engine_recover.c).
 */
#ifndef CHORUS_REQLOG_H
#define CHORUS_REQLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "dvv.h"

#define REQLOG_KEY_MAX 1024
#define REQLOG_RECORD_MAX (64u * 1024 * 1024)
#define REQLOG_VALUE_MAX (16u * 1024 * 1024)

typedef enum {
  REQLOG_REPLICATED = 0, /* applied by replication: no outcome kept */
  REQLOG_OUTCOME = 1,    /* applied here: the outcome of the first application */
} reqlog_kind_t;

typedef struct {
  uint8_t kind;    /* reqlog_kind_t */
  uint8_t op;      /* engine_op_t: put or delete; 0 only in a REQLOG_REPLICATED entry */
  const char *key; /* points into the decoded bytes */
  size_t key_len;
  /* REQLOG_OUTCOME only */
  bool not_found;        /* a delete of a key without a live value */
  uint64_t event_id;     /* the event the first application recorded */
  const uint8_t *record; /* the key's state after it (record.h); points into the decoded bytes */
  size_t record_len;
  const uint8_t *value; /* a put's value; points into the decoded bytes */
  size_t value_len;
  /* the write's dots as dvv_dots_encode wrote them (checked by the decoder;
   * read them with reqlog_dots); points into the decoded bytes, or is
   * empty (no write, or a version 2 entry) */
  const uint8_t *dots;
  size_t dots_len;
} reqlog_entry_t;

/* Appends the encoding of e to out. CHORUS_EINVAL for out-of-range fields. */
int reqlog_encode(const reqlog_entry_t *e, buf_t *out);
/* Decodes p[0..len); e's pointers point into p. CHORUS_ECORRUPT on any
 * malformed, truncated or checksum-failing input, or another version. */
int reqlog_decode(const void *p, size_t len, reqlog_entry_t *e);
/* The dots of a decoded entry (replaced is new; release with dvv_dots_free). */
int reqlog_dots(const reqlog_entry_t *e, dvv_dot_t *dot, dvv_dots_t *replaced);
/* An entry of the retired version 1: its op and key (pointing into p), for
 * the start-up rewrite. CHORUS_ECORRUPT when p[0..len) is not one. */
int reqlog_decode_v1(const void *p, size_t len, uint8_t *op, const char **key, size_t *key_len);

#endif
