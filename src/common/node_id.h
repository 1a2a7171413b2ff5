/* node_id.h - the one rule for node ids: 1..NODE_ID_MAX bytes of [A-Za-z0-9._:-]. */
#ifndef CHORUS_NODE_ID_H
#define CHORUS_NODE_ID_H

#include <stdbool.h>
#include <stddef.h>

#define NODE_ID_MAX 64

bool node_id_valid(const char *s, size_t len);

#endif
