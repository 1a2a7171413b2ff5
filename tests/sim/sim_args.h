/*
 * sim_args.h - the number parsers the simulators' command lines share:
 * the whole string must be a number in range, nothing else (no sign for
 * the unsigned ones, no trailing text); CHORUS_EINVAL otherwise.
 */
#ifndef CHORUS_SIM_ARGS_H
#define CHORUS_SIM_ARGS_H

#include <stdint.h>

int sim_parse_u64(const char *s, uint64_t max, uint64_t *v);
int sim_parse_u32(const char *s, uint32_t *v);
int sim_parse_double(const char *s, double lo, double hi, double *v);

#endif
