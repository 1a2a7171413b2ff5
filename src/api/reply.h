/*
 * reply.h - the JSON replies of /api/v1/data (DESIGN §4), from what a
 * request produced: a single node's engine job or a coordinated result.
 *
 * Both paths fill an api_reply_t and format it with api_reply_format, so a
 * lone node and a cluster answer in the same shape.
 */
#ifndef CHORUS_API_REPLY_H
#define CHORUS_API_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/node_id.h"
#include "../storage/dvv.h"
#include "../storage/engine.h"

#define API_REPLY_NODES 16

typedef struct {
  const char *ids[API_REPLY_NODES];
  size_t n;
} api_nodes_t;

typedef struct {
  engine_op_t op;
  const char *key;
  size_t key_len;
  const uint8_t *value; /* PUT */
  size_t value_len;
  const dvv_t *state;
  uint64_t event_id;
  /* a write applied now: its dot (NULL or counter 0: none, e.g. a retry) and what it replaced */
  const dvv_dot_t *dot;
  const dvv_dots_t *replaced;
  /* outcome */
  int err; /* as coord_result_t.err / engine_job_t.err */
  bool no_space, request_reused;
  /* placement and quorum */
  const char *responsible;
  api_nodes_t replicas;
  api_nodes_t ok, failed, hinted, repaired, pending;
  bool quorum_achieved;
  uint32_t required;
} api_reply_t;

void api_nodes_add(api_nodes_t *l, const char *id);
/* Appends the JSON body to out; *status is the HTTP status. */
int api_reply_format(const api_reply_t *r, buf_t *out, int *status);

#endif
