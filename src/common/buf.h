/*
 * buf.h - growable byte writer and bounded byte reader for every binary codec.
 *
 * Both carry a sticky error: after the first failure every further call is a
 * no-op, so a codec checks the error once at the end instead of after every
 * field. The reader never reads past the bytes it was given and never trusts
 * a length from the input: every length is checked against what remains.
 * Integers on the wire are big-endian (fixed width) or unsigned LEB128
 * varints (at most 10 bytes, no overflow past 64 bits, shortest form only so
 * that every value has exactly one encoding).
 */
#ifndef CHORUS_BUF_H
#define CHORUS_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *data; /* owned; NULL until the first write */
  size_t len;
  size_t cap;
  int err; /* 0, or the first CHORUS_E* error (CHORUS_ENOMEM) */
} buf_t;

void buf_init(buf_t *b);
void buf_free(buf_t *b);  /* frees data and re-initialises */
void buf_reset(buf_t *b); /* len = 0, keeps the allocation, clears err */
int buf_reserve(buf_t *b, size_t extra);
void buf_put(buf_t *b, const void *p, size_t n);
void buf_put_u8(buf_t *b, uint8_t v);
void buf_put_u16be(buf_t *b, uint16_t v);
void buf_put_u32be(buf_t *b, uint32_t v);
void buf_put_u64be(buf_t *b, uint64_t v);
void buf_put_varint(buf_t *b, uint64_t v);
/* varint length, then the bytes */
void buf_put_lbytes(buf_t *b, const void *p, size_t n);
/* Hands the bytes to the caller (who frees them with free()); b is re-initialised.
 * After an error the bytes are incomplete: they are freed and NULL returned. */
uint8_t *buf_detach(buf_t *b, size_t *len);
/* Appends the u32be crc32c of the bytes from offset start to the end: the
 * trailer of every checksummed encoding (records, contexts, events). */
void buf_put_crc32c(buf_t *b, size_t start);

typedef struct {
  const uint8_t *p;
  size_t left;
  int err; /* 0, or CHORUS_ECORRUPT after a read past the end or a bad varint */
} buf_reader_t;

void buf_reader_init(buf_reader_t *r, const void *p, size_t len);
uint8_t buf_read_u8(buf_reader_t *r);
uint16_t buf_read_u16be(buf_reader_t *r);
uint32_t buf_read_u32be(buf_reader_t *r);
uint64_t buf_read_u64be(buf_reader_t *r);
uint64_t buf_read_varint(buf_reader_t *r);
/* n raw bytes; returns a pointer into the input or NULL (and sets err). */
const uint8_t *buf_read_raw(buf_reader_t *r, size_t n);
/* varint length (rejected if > max or > remaining), then the bytes; returns a
 * pointer into the input (valid as long as the input) or NULL on error. A
 * zero length returns a non-NULL pointer. */
const uint8_t *buf_read_lbytes(buf_reader_t *r, size_t max, size_t *len);
/* Checks that p[0..len) ends with the u32be crc32c of the bytes before it and
 * sets *body_len to the length without that trailer. CHORUS_ECORRUPT otherwise. */
int buf_check_crc32c(const void *p, size_t len, size_t *body_len);

#endif
