/*
 * chorus_bench.h - `chorus bench`: a load generator for a Chorus cluster.
 *
 * One thread drives `concurrency` libcurl easy handles from one multi
 * handle, each with at most one request in flight (a kept-alive
 * connection). Operations go to the nodes round-robin; each is a GET with
 * probability read_ratio, else a blind PUT of value_size bytes, on a key
 * drawn uniformly from key_prefix + [0, keys). Without a rate every handle
 * sends its next operation as soon as the last one is answered (a closed
 * loop) and latency is measured from the send. With a rate, operation i is
 * due at start + i/rate; a handle that comes free takes the next due
 * operation, and its latency is measured from when it was due, not from
 * when it went out, so a stall counts for every operation it delayed
 * (coordinated omission corrected, as wrk2 does). Everything is bounded:
 * the run stops at `count` operations or `duration_s`, whichever comes
 * first, and each request at the client's timeout.
 */
#ifndef CHORUS_CMD_BENCH_H
#define CHORUS_CMD_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "chorus_http.h"

#define CHORUS_BENCH_MAX_NODES 32
#define CHORUS_BENCH_MAX_CONCURRENCY 1024
#define CHORUS_BENCH_MAX_VALUE (16u << 20)
#define CHORUS_BENCH_MAX_DURATION_S 86400.0
#define CHORUS_BENCH_MAX_RATE 10000000.0

typedef struct {
  char nodes[CHORUS_BENCH_MAX_NODES][CHORUS_HTTP_URL_MAX]; /* base URLs */
  size_t n_nodes;
  double read_ratio; /* 0..1 */
  size_t value_size; /* bytes of each PUT's value */
  uint64_t keys;     /* key space */
  char key_prefix[128];
  int concurrency;   /* requests in flight at most */
  double duration_s; /* 0: until count */
  uint64_t count;    /* 0: until duration_s */
  double rate;       /* ops/s; 0: a closed loop */
  uint64_t seed;     /* of the key and operation choices */
  bool progress;     /* a line a second on stderr */
  bool json;         /* the result as JSON on stdout */
} chorus_bench_cfg_t;

void chorus_bench_defaults(chorus_bench_cfg_t *c);
/* Runs the benchmark against the nodes with the request options of o (token,
 * timeout, TLS; o->base is unused) and prints the result on stdout. Stops
 * early, still reporting, once *stop becomes non-zero (SIGINT). Returns an
 * exit code: 0 when it ran (errors are part of the result), 5 when no node
 * answered any request, 7 when it could not set up. */
int chorus_bench_run(const chorus_bench_cfg_t *c, const chorus_http_opts_t *o, volatile sig_atomic_t *stop);

#endif
