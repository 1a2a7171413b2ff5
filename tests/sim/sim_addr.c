/*
 * sim_addr.c - node naming (see sim_addr.h).
 *
 * The parsers reject leading zeros, out-of-range numbers and any padding
 * other than the exact one produced, so that each index has exactly one id
 * and one address per form: a core or codec that mangles an id or a host is
 * caught as an unknown member or an unroutable packet rather than silently
 * aliased to another node.
 */
#include "sim_addr.h"

#include <stdio.h>
#include <string.h>

#define ID_PREFIX "node-"
#define PAD 'p'

/* Parses a canonical decimal number of at most max; advances *p. */
static int64_t parse_dec(const char **p, uint64_t max) {
  const char *s = *p;
  if (*s < '0' || *s > '9') return -1;
  if (*s == '0' && s[1] >= '0' && s[1] <= '9') return -1;
  uint64_t v = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (uint64_t)(*s++ - '0');
    if (v > max) return -1;
  }
  *p = s;
  return (int64_t)v;
}

/* Fills s (cap bytes with its NUL) with PAD from offset len to the end. */
static void pad(char *s, size_t len, size_t cap) {
  memset(s + len, PAD, cap - 1 - len);
  s[cap - 1] = '\0';
}

/* Whether p is sep followed by PAD up to a total string length of total. */
static bool padded(const char *start, const char *p, char sep, size_t total) {
  if (*p++ != sep) return false;
  while (*p == PAD)
    p++;
  return *p == '\0' && (size_t)(p - start) == total;
}

void sim_node_id(uint32_t i, bool long_form, char id[NODE_ID_MAX + 1]) {
  int n = snprintf(id, NODE_ID_MAX + 1, ID_PREFIX "%u%s", i, long_form ? "-" : "");
  if (long_form) pad(id, (size_t)n, NODE_ID_MAX + 1);
}

void sim_node_addr(uint32_t i, bool long_form, swim_addr_t *a) {
  memset(a, 0, sizeof(*a));
  if (long_form)
    pad(a->host, (size_t)snprintf(a->host, sizeof(a->host), "h%u.", i), sizeof(a->host));
  else
    snprintf(a->host, sizeof(a->host), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
  a->port = SIM_PORT;
  a->peer_port = SIM_PEER_PORT;
}

int64_t sim_id_index(const char *id) {
  size_t plen = strlen(ID_PREFIX);
  if (strncmp(id, ID_PREFIX, plen) != 0) return -1;
  const char *p = id + plen;
  int64_t v = parse_dec(&p, SIM_MAX_NODES - 1);
  if (v < 0) return -1;
  return *p == '\0' || padded(id, p, '-', NODE_ID_MAX) ? v : -1;
}

static int64_t host_index(const char *host) {
  const char *p = host;
  if (*p == 'h') {
    p++;
    int64_t v = parse_dec(&p, SIM_MAX_NODES - 1);
    return v >= 0 && padded(host, p, '.', SWIM_HOST_MAX) ? v : -1;
  }
  int64_t octet[4];
  for (int k = 0; k < 4; k++) {
    if (k > 0 && *p++ != '.') return -1;
    octet[k] = parse_dec(&p, 255);
    if (octet[k] < 0) return -1;
  }
  if (*p != '\0' || octet[0] != 10) return -1;
  return (octet[1] << 16) | (octet[2] << 8) | octet[3];
}

int64_t sim_addr_index(const swim_addr_t *a) {
  if (a->port != SIM_PORT || a->peer_port != SIM_PEER_PORT) return -1;
  return host_index(a->host);
}
