/* advertise.c - a host name given to --advertise, resolved (see advertise.h). */
#include "advertise.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/err.h"
#include "../common/log.h"

static bool is_literal(const char *host, int family) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(family, host, buf) == 1;
}

int advertise_resolve(config_t *cfg) {
  if (is_literal(cfg->advertise, AF_INET) || is_literal(cfg->advertise, AF_INET6)) return 0;
  int family = is_literal(cfg->bind, AF_INET6) ? AF_INET6 : AF_INET;
  struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_DGRAM}, *res = NULL;
  int rc = getaddrinfo(cfg->advertise, NULL, &hints, &res);
  if (rc != 0 || !res) {
    log_error("--advertise %s: cannot resolve it to an IPv%d address: %s", cfg->advertise,
              family == AF_INET ? 4 : 6, rc ? gai_strerror(rc) : "no address");
    if (res) freeaddrinfo(res);
    return CHORUS_EINVAL;
  }
  char ip[INET6_ADDRSTRLEN] = "";
  const void *addr = family == AF_INET ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                                       : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
  inet_ntop(family, addr, ip, sizeof ip);
  freeaddrinfo(res);
  log_info("advertising %s (--advertise %s, resolved at start)", ip, cfg->advertise);
  snprintf(cfg->advertise, sizeof cfg->advertise, "%s", ip);
  return 0;
}
