/* node_id.c - node id validation (see node_id.h). */
#include "node_id.h"

bool node_id_valid(const char *s, size_t len) {
  if (!s || len == 0 || len > NODE_ID_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}
