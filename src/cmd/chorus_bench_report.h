/*
 * chorus_bench_report.h - what `chorus bench` measured, and how it is
 * shown: the progress line each second, then the result as text or JSON.
 *
 * Counts: every operation completed is ok (2xx), not found (a GET of a key
 * no one wrote: 404, not an error) or an error, of a kind: "http STATUS
 * CODE" for an error answer, "timeout", "connect" or "transport: ..." for
 * none. Latency is recorded for every answer, errors included, and for no
 * request that got none. Kinds beyond CHORUS_BENCH_MAX_KINDS count as
 * "other".
 */
#ifndef CHORUS_CMD_BENCH_REPORT_H
#define CHORUS_CMD_BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chorus_bench.h"
#include "chorus_hist.h"

#define CHORUS_BENCH_MAX_KINDS 16

typedef struct {
  char label[96];
  uint64_t count;
} chorus_bench_kind_t;

typedef struct {
  chorus_hist_t all, reads, writes; /* latency in ns: from when due (with --rate) or sent */
  chorus_hist_t service;            /* with --rate: from when sent */
  uint64_t ops, ok, not_found, errors, answered;
  uint64_t reads_done, writes_done;
  chorus_bench_kind_t kinds[CHORUS_BENCH_MAX_KINDS];
  size_t n_kinds;
  double elapsed_s;
  bool interrupted;
} chorus_bench_result_t;

void chorus_bench_result_init(chorus_bench_result_t *r);
void chorus_bench_count_error(chorus_bench_result_t *r, const char *kind);
/* "[  3s] 1234 ops/s  errors 0  p99 4.12 ms" for the last interval's ops. */
void chorus_bench_progress(FILE *f, const chorus_bench_result_t *r, double at_s, uint64_t ops,
                           double interval_s);
/* The result: text, or one JSON object with c->json. CHORUS_ENOMEM when the JSON cannot be built. */
int chorus_bench_report(FILE *f, const chorus_bench_cfg_t *c, const chorus_bench_result_t *r);

#endif
