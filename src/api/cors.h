/*
 * cors.h - which browser origins may call this node's API: the pages of
 * the cluster's own members.
 *
 * The dashboard served by one member calls the others (the Data tab picks
 * the node a request goes to), which browsers allow only when the other
 * node names the page's origin in Access-Control-Allow-Origin. A node
 * allows exactly the origins whose host and port are a member's HTTP
 * address (a loopback name matches a member on a loopback address), so a
 * page from anywhere else still cannot write to an unauthenticated node.
 * Pure: the caller passes the members' addresses.
 */
#ifndef CHORUS_CORS_H
#define CHORUS_CORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORS_HOST_MAX 255

typedef struct {
  char host[CORS_HOST_MAX + 1]; /* lowercase, without brackets for IPv6 */
  uint16_t port;
} cors_origin_t;

/* Parses "http://host[:port]" or "https://host[:port]" (no path, no user
 * info); false for anything else ("null", other schemes, bad ports). */
bool cors_parse(const char *origin, cors_origin_t *out);
/* Whether host names the loopback interface (localhost, 127.x.y.z, ::1). */
bool cors_is_loopback(const char *host);
/* Whether the parsed origin is the HTTP address host:port of a member. */
bool cors_matches(const cors_origin_t *o, const char *host, uint16_t port);

#endif
