/* cors.c - parsing an Origin header and matching it to a member (see cors.h). */
#include "cors.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cors_parse(const char *origin, cors_origin_t *out) {
  if (!origin) return false;
  const char *p = origin;
  uint16_t port;
  if (strncasecmp(p, "http://", 7) == 0) {
    p += 7;
    port = 80;
  } else if (strncasecmp(p, "https://", 8) == 0) {
    p += 8;
    port = 443;
  } else {
    return false;
  }
  const char *host = p, *end;
  if (*p == '[') {
    host = ++p;
    end = strchr(p, ']');
    if (!end) return false;
    p = end + 1;
  } else {
    end = p + strcspn(p, ":/?#@");
    p = end;
  }
  size_t n = (size_t)(end - host);
  if (n == 0 || n > CORS_HOST_MAX) return false;
  if (*p == ':') {
    p++;
    if (!isdigit((unsigned char)*p)) return false;
    unsigned long v = 0;
    while (isdigit((unsigned char)*p) && v <= 65535)
      v = v * 10 + (unsigned long)(*p++ - '0');
    if (v == 0 || v > 65535) return false;
    port = (uint16_t)v;
  }
  if (*p) return false; /* a path, user info or garbage: not an origin */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)host[i];
    if (c <= ' ' || c >= 0x7f) return false;
    out->host[i] = (char)tolower(c);
  }
  out->host[n] = '\0';
  out->port = port;
  return true;
}

bool cors_is_loopback(const char *host) {
  if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0) return true;
  return strncmp(host, "127.", 4) == 0;
}

bool cors_matches(const cors_origin_t *o, const char *host, uint16_t port) {
  if (o->port != port) return false;
  if (strcasecmp(o->host, host) == 0) return true;
  return cors_is_loopback(o->host) && cors_is_loopback(host);
}
