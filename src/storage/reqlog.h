/*
 * reqlog.h - the on-disk form of a request-log entry: the reply a node gave
 * to a request carrying an X-Request-Id, so a retry gets the same reply.
 *
 * The entry remembers which operation on which key the id was used for, so
 * an id reused for a different request is recognised instead of answered
 * with an unrelated reply.
 *
 * A replica that merged the state a coordinator produced for a request id
 * keeps an entry without a reply (status REQLOG_REPLICATED, empty body): if
 * the client retries through this node, the write is not applied twice.
 * Its op may be 0 when the coordinator did not say whether the request was a
 * put or a delete; then only the key identifies the request.
 *
 * Layout (version 1): 'C' 'Q' 0x01, u16be status, u8 op, lbytes key,
 * lbytes body, u32be crc32c of everything before it.
 */
#ifndef CHORUS_REQLOG_H
#define CHORUS_REQLOG_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define REQLOG_KEY_MAX 1024
#define REQLOG_BODY_MAX (16u * 1024 * 1024)

#define REQLOG_REPLICATED 0 /* status of an entry applied by replication: no reply */

typedef struct {
  int status;      /* HTTP status, 100..599, or REQLOG_REPLICATED */
  uint8_t op;      /* engine_op_t: put, get or delete; 0 only in a REQLOG_REPLICATED entry */
  const char *key; /* points into the decoded bytes */
  size_t key_len;
  const uint8_t *body; /* points into the decoded bytes */
  size_t body_len;
} reqlog_entry_t;

/* Appends the encoding of e to out. CHORUS_EINVAL for out-of-range fields. */
int reqlog_encode(const reqlog_entry_t *e, buf_t *out);
/* Decodes p[0..len); e's pointers point into p. CHORUS_ECORRUPT on any
 * malformed, truncated or checksum-failing input. */
int reqlog_decode(const void *p, size_t len, reqlog_entry_t *e);

#endif
