/*
 * sim_grow.h - room for one more element in a growing array, for the
 * simulators' tables and logs: the capacity doubles (from first), so n
 * appends cost O(n) copies in all.
 */
#ifndef CHORUS_SIM_GROW_H
#define CHORUS_SIM_GROW_H

#include <stddef.h>
#include <stdlib.h>

#include "common/err.h"

/* *v holds n elements of size elem in room for *cap. Makes room for one
 * more; CHORUS_ENOMEM leaves *v and *cap as they were. */
static inline int sim_grow(void **v, size_t *cap, size_t n, size_t elem, size_t first) {
  if (n < *cap) return 0;
  size_t c = *cap ? 2 * *cap : first;
  void *grown = realloc(*v, c * elem);
  if (!grown) return CHORUS_ENOMEM;
  *v = grown;
  *cap = c;
  return 0;
}

#endif
