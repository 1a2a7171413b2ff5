/* crc32c.h - CRC-32C (Castagnoli), the checksum of every record on disk and context on the wire. */
#ifndef CHORUS_CRC32C_H
#define CHORUS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c(0, p, n) starts a checksum; pass the previous result to extend it. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
