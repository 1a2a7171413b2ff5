/*
 * swim_name.c - reference-counted name blocks (swim_internal.h): one
 * allocation holding an id and a second string (a host, or an accuser).
 *
 * Why: with every node of a cluster knowing every other, and a rumor queued
 * about most members while a cluster forms, fixed 65-byte ids and 64-byte
 * hosts in each member and each rumor were most of a core's memory. A block
 * is sized to its strings (a 3-byte header, then "node-9999\0" "10.0.39.15\0":
 * one 32-byte heap chunk; a UUID and an IPv4 address take 64), and a rumor
 * shares its member's block.
 *
 * Invariants: refs >= 1 while anyone holds the block; the block never
 * changes after swim_name_new; both strings are NUL-terminated, the id at
 * most NODE_ID_MAX bytes (so second <= NODE_ID_MAX + 1 fits a uint8_t).
 * A block has two holders at most (a member, and the one rumor queued
 * about its id), so 16 bits of count cannot overflow. The core is
 * single-threaded: counts need no atomics.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "swim_internal.h"

swim_name_t *swim_name_new(const char *id, const char *second) {
  size_t id_len = strnlen(id, NODE_ID_MAX), second_len = strlen(second);
  swim_name_t *n = malloc(offsetof(swim_name_t, s) + id_len + 1 + second_len + 1);
  if (!n) return NULL;
  n->refs = 1;
  n->second = (uint8_t)(id_len + 1);
  memcpy(n->s, id, id_len);
  n->s[id_len] = '\0';
  memcpy(n->s + id_len + 1, second, second_len + 1);
  return n;
}

swim_name_t *swim_name_ref(swim_name_t *n) {
  n->refs++;
  return n;
}

void swim_name_unref(swim_name_t *n) {
  if (n && --n->refs == 0) free(n);
}
