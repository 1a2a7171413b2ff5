/*
 * keyring.h - the keys that seal gossip packets and peer frames: several
 * for receiving, one of them (the primary) for sending, as memberlist's
 * keyring does. Rotation without downtime is install (every member can now
 * open the new key), use (members send with it), remove (the old key is
 * refused from then on).
 *
 * "none" is an entry like a key: plaintext. A node started without
 * --cluster-key holds only "none"; a cluster goes from no key to a key
 * without a restart by install K, use K, remove none, and back the same way.
 *
 * Invariants: 1 <= n <= KEYRING_MAX entries, all different; the primary is
 * one of them; an entry that is the primary cannot be removed. Pure data:
 * no I/O, no allocation; the caller keeps one keyring per node and changes
 * it on one thread.
 *
 * Sealing and opening (seal.h): keyring_seal uses the primary (none: the
 * bytes as they are); keyring_open tries the primary first, then every
 * other key, and takes the bytes as plaintext only when "none" is an entry.
 *
 * File form (the data dir's keyring, written when it changes, read at
 * start): text lines
 *   chorus-keyring 1
 *   use <entry>
 *   key <entry>        (one per other entry)
 *   end
 * where an entry is "none" or the base64 of a 32-byte key. keyring_decode
 * takes untrusted bytes: it refuses anything else (CHORUS_ECORRUPT).
 */
#ifndef CHORUS_KEYRING_H
#define CHORUS_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "seal.h"

#define KEYRING_MAX 8
#define KEYRING_ID_BYTES 8                         /* an entry's id: SHA-256 of the key, cut; none: zeros */
#define KEYRING_ID_TEXT (2 * KEYRING_ID_BYTES + 1) /* 16 hex digits, or "none" */
#define KEYRING_FILE_MAX 1024                      /* bytes of the file form at most */

typedef struct {
  bool none; /* plaintext */
  uint8_t key[SEAL_KEY_BYTES];
} keyring_entry_t;

typedef struct {
  keyring_entry_t e[KEYRING_MAX];
  size_t n;
  size_t primary; /* index into e */
} keyring_t;

/* "none" alone: what a node without a key seals and opens with. */
extern const keyring_t keyring_plaintext;
/* A keyring of one entry, the primary: key, or "none" when key is NULL. */
void keyring_init(keyring_t *kr, const uint8_t *key);
/* "none", or the base64 of a 32-byte key. CHORUS_EINVAL otherwise. */
int keyring_entry_parse(const char *text, size_t len, keyring_entry_t *out);
/* The entry's id, raw and as text ("none" for plaintext). */
void keyring_entry_id(const keyring_entry_t *e, uint8_t out[KEYRING_ID_BYTES]);
void keyring_entry_id_text(const keyring_entry_t *e, char out[KEYRING_ID_TEXT]);
/* An id as text: 16 hex digits, or "none" for the all-zero id of plaintext. */
void keyring_id_text(const uint8_t id[KEYRING_ID_BYTES], char out[KEYRING_ID_TEXT]);
/* The index of the entry with this id, or -1. */
int keyring_find(const keyring_t *kr, const uint8_t id[KEYRING_ID_BYTES]);

/* Adds e (0 if it is there already); CHORUS_ETOOBIG when KEYRING_MAX are. */
int keyring_install(keyring_t *kr, const keyring_entry_t *e);
/* Makes the entry with this id the primary; CHORUS_ENOTFOUND if none has it. */
int keyring_use(keyring_t *kr, const uint8_t id[KEYRING_ID_BYTES]);
/* Removes the entry with this id (0 if none has it); CHORUS_EBUSY when it
 * is the primary. */
int keyring_remove(keyring_t *kr, const uint8_t id[KEYRING_ID_BYTES]);
/* Whether sending seals (the primary is a key). */
bool keyring_sealed(const keyring_t *kr);

/* Appends the sealed form of plain[0..len) to out, with the primary (as
 * seal_box); with "none" as the primary, plain itself. */
int keyring_seal(const keyring_t *kr, const void *plain, size_t len, buf_t *out);
/* Opens p[0..len): on 0, *plain and *plain_len are the plaintext, in
 * scratch (reset first) or p itself when taken as plaintext.
 * CHORUS_ECORRUPT when no entry accepts it. */
int keyring_open(const keyring_t *kr, const void *p, size_t len, buf_t *scratch, const uint8_t **plain,
                 size_t *plain_len);

/* The file form (above). Its text holds the keys: the caller keeps it
 * private (mode 0600) and wipes its buffer. */
int keyring_encode(const keyring_t *kr, buf_t *out);
/* CHORUS_ECORRUPT for anything but the file form; kr is written only on 0. */
int keyring_decode(const void *p, size_t len, keyring_t *kr);

#endif
