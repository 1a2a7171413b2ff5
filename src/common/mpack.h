/*
 * mpack.h - bounded reader of the msgpack subset the wire codecs use, and
 * the buf_t sink for msgpack-c's packer.
 *
 * Accepted forms: positive and negative integers, nil, bool, str, bin, array
 * and map headers - each only in the shortest form msgpack-c's packer would
 * write, so a codec built on these reads every value in exactly one way and
 * encode(decode(b)) == b holds for whatever it accepts. Floats, ext types and
 * every non-shortest form are rejected.
 *
 * Every reader takes its limits from the caller and compares each count and
 * length from the wire with them and with the bytes left before use; str and
 * bin bodies are returned as pointers into the input, so nothing is ever
 * allocated from an untrusted header. Failure is sticky on buf_reader_t
 * (err = CHORUS_ECORRUPT, nothing left to read): after it every reader
 * returns 0 / false / NULL, so a codec reads a whole group of fields and
 * checks r->err once.
 *
 * Encoding needs msgpack-c; this module does not: mpack_buf_write has the
 * signature of msgpack_packer_write and is passed to msgpack_packer_init.
 */
#ifndef CHORUS_MPACK_H
#define CHORUS_MPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "node_id.h"

/* Marks r as failed: CHORUS_ECORRUPT, nothing left. For codecs rejecting a
 * well-formed value that breaks one of their own rules. */
void mpack_fail(buf_reader_t *r);

/* A positive integer <= max. */
uint64_t mpack_uint(buf_reader_t *r, uint64_t max);
/* An integer in [min, max]; msgpack-c writes values >= 0 in the positive
 * forms, so those are the only forms accepted for them. */
int64_t mpack_int(buf_reader_t *r, int64_t min, int64_t max);
bool mpack_bool(buf_reader_t *r);

/* Headers: the element count (<= max) of an array, the pair count of a map. */
size_t mpack_array(buf_reader_t *r, size_t max);
size_t mpack_map(buf_reader_t *r, size_t max);
/* An array of exactly n elements. */
void mpack_array_of(buf_reader_t *r, size_t n);

/* A str / bin of at most max bytes: a pointer into the input, non-NULL even
 * when empty, valid as long as the input; NULL (and *len = 0) on error. */
const uint8_t *mpack_str(buf_reader_t *r, size_t max, size_t *len);
const uint8_t *mpack_bin(buf_reader_t *r, size_t max, size_t *len);

/* Whether the next value is nil (reads nothing). */
bool mpack_is_nil(const buf_reader_t *r);
/* Reads a nil; fails on anything else. */
void mpack_nil(buf_reader_t *r);

/* A node id (node_id.h rules) copied NUL-terminated into out; an empty str
 * is accepted (as "") only if may_be_empty. The charset rules out NUL, so
 * no id with a NUL inside can pass for a shorter one. */
void mpack_node_id(buf_reader_t *r, char out[NODE_ID_MAX + 1], bool may_be_empty);

/* msgpack_packer_write callback appending to the buf_t passed as data:
 * msgpack_packer_init(&pk, out, mpack_buf_write). Returns out->err, so the
 * packer's own calls report allocation failures too. */
int mpack_buf_write(void *data, const char *p, size_t n);
/* Ends an encoding begun at out->len == start: 0 if every write succeeded;
 * otherwise drops the partial bytes (out holds what it held before) and
 * returns the error. */
int mpack_buf_end(buf_t *out, size_t start);

#endif
