/*
 * chorus_bench_report.c - the bench's counts, progress line and result
 * (see chorus_bench_report.h). Latencies are kept in nanoseconds and shown
 * in milliseconds; the histogram's rows are powers of two.
 */
#include "chorus_bench_report.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/err.h"

#define NS_PER_MS 1e6

void chorus_bench_result_init(chorus_bench_result_t *r) {
  memset(r, 0, sizeof *r);
  chorus_hist_init(&r->all);
  chorus_hist_init(&r->reads);
  chorus_hist_init(&r->writes);
  chorus_hist_init(&r->service);
}

void chorus_bench_count_error(chorus_bench_result_t *r, const char *kind) {
  r->errors++;
  size_t i = 0;
  while (i < r->n_kinds && strcmp(r->kinds[i].label, kind) != 0)
    i++;
  if (i == r->n_kinds) {
    if (r->n_kinds == CHORUS_BENCH_MAX_KINDS) {
      kind = "other";
      i = CHORUS_BENCH_MAX_KINDS - 1; /* the last slot becomes "other" */
    } else {
      r->n_kinds++;
    }
    snprintf(r->kinds[i].label, sizeof r->kinds[i].label, "%s", kind);
  }
  r->kinds[i].count++;
}

static double ms(uint64_t ns) {
  return (double)ns / NS_PER_MS;
}

void chorus_bench_progress(FILE *f, const chorus_bench_result_t *r, double at_s, uint64_t ops,
                           double interval_s) {
  fprintf(f, "[%4.0fs] %9.1f ops/s  %llu ops  %llu errors  p99 so far %.3f ms\n", at_s,
          interval_s > 0 ? (double)ops / interval_s : 0.0, (unsigned long long)r->ops,
          (unsigned long long)r->errors, ms(chorus_hist_percentile(&r->all, 99)));
}

static const double PERCENTILES[] = {50, 90, 99, 99.9};
static const char *const PERCENTILE_NAMES[] = {"p50", "p90", "p99", "p99_9"};
#define N_PERCENTILES (sizeof PERCENTILES / sizeof PERCENTILES[0])

static void text_row(FILE *f, const char *name, const chorus_hist_t *h) {
  if (!h->total) return;
  fprintf(f, "  %-8s", name);
  for (size_t i = 0; i < N_PERCENTILES; i++)
    fprintf(f, " %9.3f", ms(chorus_hist_percentile(h, PERCENTILES[i])));
  fprintf(f, " %9.3f %9.3f %9llu\n", ms(h->max), chorus_hist_mean(h) / NS_PER_MS,
          (unsigned long long)h->total);
}

/* The histogram in power-of-two rows from the smallest to the largest value. */
static void text_histogram(FILE *f, const chorus_hist_t *h) {
  if (!h->total) return;
  fprintf(f, "latency histogram (every answer):\n");
  unsigned lo = 63u - (unsigned)__builtin_clzll(h->min | 1), hi = 63u - (unsigned)__builtin_clzll(h->max | 1);
  for (unsigned k = lo; k <= hi; k++) {
    uint64_t from = UINT64_C(1) << k, to = k == 63 ? UINT64_MAX : UINT64_C(1) << (k + 1);
    uint64_t n = chorus_hist_count_between(h, k == lo ? 0 : from, to);
    double share = (double)n / (double)h->total;
    char bar[41];
    size_t w = (size_t)(share * 40 + 0.5);
    memset(bar, '#', w);
    bar[w] = '\0';
    fprintf(f, "  %10.3f - %10.3f ms %9llu %6.2f%% %s\n", ms(from), ms(to), (unsigned long long)n,
            share * 100, bar);
  }
}

static void text_report(FILE *f, const chorus_bench_cfg_t *c, const chorus_bench_result_t *r) {
  fprintf(f, "chorus bench: %zu node%s, concurrency %d, %.0f%% reads, %zu-byte values, %llu keys", c->n_nodes,
          c->n_nodes == 1 ? "" : "s", c->concurrency, c->read_ratio * 100, c->value_size,
          (unsigned long long)c->keys);
  if (c->rate > 0) fprintf(f, ", rate %.1f ops/s", c->rate);
  fprintf(f, "%s\n", r->interrupted ? " (interrupted)" : "");
  fprintf(f, "  %llu operations in %.2f s: %.1f ops/s\n", (unsigned long long)r->ops, r->elapsed_s,
          r->elapsed_s > 0 ? (double)r->ops / r->elapsed_s : 0.0);
  fprintf(f, "  %llu ok, %llu not found (reads of keys not written yet), %llu errors\n",
          (unsigned long long)r->ok, (unsigned long long)r->not_found, (unsigned long long)r->errors);
  fprintf(f, "latency (ms)%s     p50       p90       p99     p99.9       max      mean     count\n",
          c->rate > 0 ? ", from when due" : "");
  text_row(f, "all", &r->all);
  text_row(f, "reads", &r->reads);
  text_row(f, "writes", &r->writes);
  if (c->rate > 0) text_row(f, "sent", &r->service);
  if (r->n_kinds) fprintf(f, "errors:\n");
  for (size_t i = 0; i < r->n_kinds; i++)
    fprintf(f, "  %9llu  %s\n", (unsigned long long)r->kinds[i].count, r->kinds[i].label);
  text_histogram(f, &r->all);
}

static json_t *latency_json(const chorus_hist_t *h) {
  json_t *o = json_object();
  if (!o) return NULL;
  int bad = json_object_set_new(o, "count", json_integer((json_int_t)h->total));
  bad |= json_object_set_new(o, "min", json_real(h->total ? ms(h->min) : 0));
  bad |= json_object_set_new(o, "mean", json_real(chorus_hist_mean(h) / NS_PER_MS));
  for (size_t i = 0; i < N_PERCENTILES; i++)
    bad |=
        json_object_set_new(o, PERCENTILE_NAMES[i], json_real(ms(chorus_hist_percentile(h, PERCENTILES[i]))));
  bad |= json_object_set_new(o, "max", json_real(ms(h->max)));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *histogram_json(const chorus_hist_t *h) {
  json_t *rows = json_array();
  if (!rows || !h->total) return rows;
  unsigned lo = 63u - (unsigned)__builtin_clzll(h->min | 1), hi = 63u - (unsigned)__builtin_clzll(h->max | 1);
  for (unsigned k = lo; k <= hi; k++) {
    uint64_t from = UINT64_C(1) << k, to = k == 63 ? UINT64_MAX : UINT64_C(1) << (k + 1);
    uint64_t n = chorus_hist_count_between(h, k == lo ? 0 : from, to);
    if (json_array_append_new(
            rows, json_pack("{s:f,s:f,s:I}", "from_ms", ms(from), "to_ms", ms(to), "count", (json_int_t)n))) {
      json_decref(rows);
      return NULL;
    }
  }
  return rows;
}

static json_t *json_report(const chorus_bench_cfg_t *c, const chorus_bench_result_t *r) {
  json_t *nodes = json_array(), *kinds = json_object();
  bool bad = !nodes || !kinds;
  for (size_t i = 0; !bad && i < c->n_nodes; i++)
    bad = json_array_append_new(nodes, json_string(c->nodes[i])) != 0;
  for (size_t i = 0; !bad && i < r->n_kinds; i++)
    bad = json_object_set_new(kinds, r->kinds[i].label, json_integer((json_int_t)r->kinds[i].count)) != 0;
  if (bad) {
    json_decref(nodes);
    json_decref(kinds);
    return NULL;
  }
  /* "o" fails the whole object when a part could not be built; only sent_latency_ms is optional */
  return json_pack(
      "{s:{s:o,s:i,s:f,s:I,s:I,s:s,s:f,s:I,s:f},s:f,s:I,s:I,s:I,s:I,s:f,s:s,s:o,s:{s:I,s:o},s:{s:I,s:o},"
      "s:o*,s:o,s:o,s:b}",
      "config", "nodes", nodes, "concurrency", c->concurrency, "read_ratio", c->read_ratio, "value_size",
      (json_int_t)c->value_size, "keys", (json_int_t)c->keys, "key_prefix", c->key_prefix, "duration_s",
      c->duration_s, "count", (json_int_t)c->count, "rate", c->rate, "elapsed_s", r->elapsed_s, "ops",
      (json_int_t)r->ops, "ok", (json_int_t)r->ok, "not_found", (json_int_t)r->not_found, "errors",
      (json_int_t)r->errors, "throughput_ops_s", r->elapsed_s > 0 ? (double)r->ops / r->elapsed_s : 0.0,
      "latency_from", c->rate > 0 ? "due" : "sent", "latency_ms", latency_json(&r->all), "reads", "ops",
      (json_int_t)r->reads_done, "latency_ms", latency_json(&r->reads), "writes", "ops",
      (json_int_t)r->writes_done, "latency_ms", latency_json(&r->writes), "sent_latency_ms",
      c->rate > 0 ? latency_json(&r->service) : NULL, "errors_by_kind", kinds, "histogram",
      histogram_json(&r->all), "interrupted", r->interrupted);
}

int chorus_bench_report(FILE *f, const chorus_bench_cfg_t *c, const chorus_bench_result_t *r) {
  if (!c->json) {
    text_report(f, c, r);
    return 0;
  }
  json_t *j = json_report(c, r);
  char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
  json_decref(j);
  if (!text) return CHORUS_ENOMEM;
  fprintf(f, "%s\n", text);
  free(text);
  return 0;
}
