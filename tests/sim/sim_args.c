/*
 * sim_args.c - command-line number parsing (see sim_args.h).
 */
#include "sim_args.h"

#include <errno.h>
#include <stdlib.h>

#include "common/err.h"

int sim_parse_u64(const char *s, uint64_t max, uint64_t *v) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || x > max) return CHORUS_EINVAL;
  *v = x;
  return 0;
}

int sim_parse_u32(const char *s, uint32_t *v) {
  uint64_t x;
  int rc = sim_parse_u64(s, UINT32_MAX, &x);
  if (!rc) *v = (uint32_t)x;
  return rc;
}

int sim_parse_double(const char *s, double lo, double hi, double *v) {
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (errno || end == s || *end || !(x >= lo && x <= hi)) return CHORUS_EINVAL;
  *v = x;
  return 0;
}
