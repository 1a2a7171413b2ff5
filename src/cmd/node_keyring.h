/*
 * node_keyring.h - <data-dir>/keyring: the keys that seal gossip and peer
 * traffic, as the last rotation left them (keyring.h has the file form).
 *
 * At start the file, when there is one, is the keyring: a node restarted
 * with the --cluster-key it was first given keeps the keys rotated in since
 * (as Consul's and Serf's keyring files do). Without the file the keyring is
 * --cluster-key alone, or "none" (plaintext) without it. The file is written
 * by the replication service when a rotation changes the keyring
 * (coord_keys.c), mode 0600.
 */
#ifndef CHORUS_NODE_KEYRING_H
#define CHORUS_NODE_KEYRING_H

#include <stddef.h>

#include "../common/config.h"
#include "../common/keyring.h"

/* Writes the keyring's path into path and loads the keyring into out.
 * CHORUS_ECORRUPT (logged) when the file does not decode, CHORUS_EIO when
 * it cannot be read, CHORUS_ETOOBIG when path does not fit. */
int node_keyring_load(const config_t *cfg, keyring_t *out, char *path, size_t pathlen);

#endif
