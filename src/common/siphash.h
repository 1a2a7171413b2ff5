/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit hash.
 *
 * For hash tables whose keys come from clients: with a secret random key,
 * an attacker cannot choose keys that all land in one bucket.
 */
#ifndef CHORUS_SIPHASH_H
#define CHORUS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_BYTES 16

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_BYTES], const void *data, size_t len);

#endif
