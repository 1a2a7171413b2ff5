/*
 * chorus_bench.c - the load loop of `chorus bench` (see chorus_bench.h for
 * what it sends and how latency is measured; chorus_bench_report.c counts
 * and prints).
 *
 * One thread, one multi handle, `concurrency` easy handles: a handle is
 * free, waiting for its operation's due time (--rate), or busy with one
 * request. Operations are numbered in the order they are due; a free
 * handle takes the next number, so with a rate the schedule never depends
 * on how fast the cluster answers (the point of measuring from the due
 * time). Cost per operation: one URL built, one multi add/remove; the body
 * of a PUT is built once. An answer's body is kept only up to 4 KB (the
 * error code of an error answer is read from it).
 */
#include "chorus_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/rng.h"
#include "chorus_bench_report.h"
#include "chorus_exit.h"

#define ANSWER_KEEP 4096
#define PREFIX_MAX                                                                                           \
  (3 * sizeof(((chorus_bench_cfg_t *)0)->key_prefix) + 1) /* escaped: 3 bytes a byte at most */
#define URL_MAX (CHORUS_HTTP_URL_MAX + PREFIX_MAX + 40)   /* + "/api/v1/data/" and a number */
#define NS_PER_S 1000000000.0

typedef struct {
  CURL *easy;
  struct curl_slist *headers;
  buf_t answer; /* the first ANSWER_KEEP bytes of the answer */
  uint64_t due_ns, sent_ns;
  bool busy, read;
  char url[URL_MAX];
} conn_t;

typedef struct {
  const chorus_bench_cfg_t *cfg;
  conn_t *conns;
  CURLM *multi;
  char *put_body;
  char prefix[PREFIX_MAX]; /* escaped */
  rng_t rng;
  uint64_t start_ns, end_ns; /* end_ns: when no operation may start any more (0: none) */
  uint64_t issued;           /* operations started (their numbers) */
  int busy;
  chorus_bench_result_t *res;
} bench_t;

void chorus_bench_defaults(chorus_bench_cfg_t *c) {
  memset(c, 0, sizeof *c);
  c->read_ratio = 0.5;
  c->value_size = 128;
  c->keys = 10000;
  snprintf(c->key_prefix, sizeof c->key_prefix, "bench-");
  c->concurrency = 16;
  c->progress = true;
}

static size_t on_answer(char *p, size_t size, size_t n, void *user) {
  conn_t *c = user;
  size_t len = size * n;
  if (c->answer.len < ANSWER_KEEP)
    buf_put(&c->answer, p, len < ANSWER_KEEP - c->answer.len ? len : ANSWER_KEEP - c->answer.len);
  return len;
}

static int conns_open(bench_t *b, const chorus_http_opts_t *o) {
  b->conns = calloc((size_t)b->cfg->concurrency, sizeof *b->conns);
  if (!b->conns) return CHORUS_ENOMEM;
  for (int i = 0; i < b->cfg->concurrency; i++) {
    conn_t *c = &b->conns[i];
    buf_init(&c->answer);
    c->easy = curl_easy_init();
    if (!c->easy) return CHORUS_ENOMEM;
    int rc = chorus_http_setup(c->easy, o, &c->headers);
    if (rc) return rc;
    CURLcode e = curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    e |= curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_answer);
    e |= curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    e |= curl_easy_setopt(c->easy, CURLOPT_PRIVATE, (char *)c);
    if (e != CURLE_OK) return CHORUS_EINVAL;
  }
  return 0;
}

static void conns_close(bench_t *b) {
  for (int i = 0; b->conns && i < b->cfg->concurrency; i++) {
    conn_t *c = &b->conns[i];
    if (c->busy) curl_multi_remove_handle(b->multi, c->easy);
    if (c->easy) curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    buf_free(&c->answer);
  }
  free(b->conns);
  b->conns = NULL;
}

/* {"value":"vvv..."}: the value wrk's bench/wrk.lua sends, so both load the same bytes. */
static char *make_put_body(size_t value_size) {
  static const char head[] = "{\"value\":\"", tail[] = "\"}";
  size_t n = sizeof head - 1 + value_size + sizeof tail;
  char *s = malloc(n);
  if (!s) return NULL;
  memcpy(s, head, sizeof head - 1);
  memset(s + sizeof head - 1, 'v', value_size);
  memcpy(s + sizeof head - 1 + value_size, tail, sizeof tail);
  return s;
}

/* Starts operation number b->issued on c, due at due_ns. */
static int start_op(bench_t *b, conn_t *c, uint64_t due_ns, uint64_t now) {
  const chorus_bench_cfg_t *cfg = b->cfg;
  uint64_t key = rng_below(&b->rng, cfg->keys);
  c->read = rng_unit(&b->rng) < cfg->read_ratio;
  snprintf(c->url, sizeof c->url, "%s/api/v1/data/%s%llu", cfg->nodes[b->issued % cfg->n_nodes], b->prefix,
           (unsigned long long)key);
  CURLcode e = curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
  if (c->read) {
    e |= curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
    e |= curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, NULL);
  } else {
    e |= curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, b->put_body);
    e |= curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, "PUT");
  }
  if (e != CURLE_OK) return CHORUS_EINVAL;
  buf_reset(&c->answer);
  c->due_ns = due_ns;
  c->sent_ns = now;
  if (curl_multi_add_handle(b->multi, c->easy) != CURLM_OK) return CHORUS_ENOMEM;
  c->busy = true;
  b->busy++;
  b->issued++;
  return 0;
}

static void error_kind(const conn_t *c, long status, char *out, size_t cap) {
  json_t *j = json_loadb((const char *)c->answer.data, c->answer.len, 0, NULL);
  const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
  snprintf(out, cap, "http %ld%s%s", status, code ? " " : "", code ? code : "");
  json_decref(j);
}

static void finish_op(bench_t *b, conn_t *c, CURLcode result, uint64_t now) {
  chorus_bench_result_t *r = b->res;
  curl_multi_remove_handle(b->multi, c->easy);
  c->busy = false;
  b->busy--;
  r->ops++;
  if (result != CURLE_OK) {
    char kind[96];
    snprintf(kind, sizeof kind, "%s",
             result == CURLE_OPERATION_TIMEDOUT ? "timeout"
             : result == CURLE_COULDNT_CONNECT  ? "connect"
                                                : "");
    if (!kind[0]) snprintf(kind, sizeof kind, "transport: %s", curl_easy_strerror(result));
    chorus_bench_count_error(r, kind);
    return;
  }
  long status = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  uint64_t latency = now > c->due_ns ? now - c->due_ns : 0;
  r->answered++;
  chorus_hist_record(&r->all, latency);
  chorus_hist_record(c->read ? &r->reads : &r->writes, latency);
  if (b->cfg->rate > 0) chorus_hist_record(&r->service, now > c->sent_ns ? now - c->sent_ns : 0);
  *(c->read ? &r->reads_done : &r->writes_done) += 1;
  if (status >= 200 && status < 300) {
    r->ok++;
  } else if (status == 404 && c->read) {
    r->not_found++;
  } else {
    char kind[96];
    error_kind(c, status, kind, sizeof kind);
    chorus_bench_count_error(r, kind);
  }
}

/* Whether operation number n may still start: not past --count, not due past --duration. */
static bool may_start(const bench_t *b, uint64_t due_ns) {
  if (b->cfg->count && b->issued >= b->cfg->count) return false;
  return !b->end_ns || due_ns < b->end_ns;
}

static uint64_t due_of(const bench_t *b, uint64_t n, uint64_t now) {
  return b->cfg->rate > 0 ? b->start_ns + (uint64_t)((double)n * NS_PER_S / b->cfg->rate) : now;
}

/* Starts what is due on the free handles; *wait_ns gets how long until the next is due (with a rate). */
static int start_due(bench_t *b, uint64_t now, bool stopping, uint64_t *wait_ns, bool *done_issuing) {
  *wait_ns = UINT64_MAX;
  for (int i = 0; i < b->cfg->concurrency && b->busy < b->cfg->concurrency; i++) {
    conn_t *c = &b->conns[i];
    if (c->busy) continue;
    uint64_t due = due_of(b, b->issued, now);
    if (stopping || !may_start(b, due)) {
      *done_issuing = true;
      return 0;
    }
    if (due > now) {
      *wait_ns = due - now;
      return 0;
    }
    int rc = start_op(b, c, due, now);
    if (rc) return rc;
  }
  return 0;
}

static int drive(bench_t *b, volatile sig_atomic_t *stop) {
  const chorus_bench_cfg_t *cfg = b->cfg;
  uint64_t next_progress = b->start_ns + (uint64_t)NS_PER_S, last_progress_ops = 0,
           last_progress = b->start_ns;
  bool done_issuing = false;
  for (;;) {
    uint64_t now = clock_mono_ns(), wait_ns = UINT64_MAX;
    if (*stop) b->res->interrupted = true;
    if (!done_issuing) {
      int rc = start_due(b, now, *stop != 0, &wait_ns, &done_issuing);
      if (rc) return rc;
    }
    if (done_issuing && b->busy == 0) break;
    int running = 0;
    curl_multi_perform(b->multi, &running);
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(b->multi, &left))) {
      if (m->msg != CURLMSG_DONE) continue;
      conn_t *c = NULL;
      CURLcode result = m->data.result;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
      finish_op(b, c, result, clock_mono_ns());
    }
    now = clock_mono_ns();
    if (now >= next_progress) {
      if (cfg->progress)
        chorus_bench_progress(stderr, b->res, (double)(now - b->start_ns) / NS_PER_S,
                              b->res->ops - last_progress_ops, (double)(now - last_progress) / NS_PER_S);
      last_progress_ops = b->res->ops;
      last_progress = now;
      next_progress += (uint64_t)NS_PER_S;
    }
    uint64_t until = next_progress > now ? next_progress - now : 0;
    if (wait_ns < until) until = wait_ns;
    int timeout_ms = (int)(until / 1000000);
    if (timeout_ms > 100) timeout_ms = 100;
    if (b->busy == 0 && wait_ns == UINT64_MAX && !done_issuing) timeout_ms = 0;
    curl_multi_poll(b->multi, NULL, 0, timeout_ms, NULL);
  }
  return 0;
}

int chorus_bench_run(const chorus_bench_cfg_t *cfg, const chorus_http_opts_t *o,
                     volatile sig_atomic_t *stop) {
  bench_t b;
  memset(&b, 0, sizeof b);
  b.cfg = cfg;
  b.res = malloc(sizeof *b.res);
  b.multi = curl_multi_init();
  b.put_body = make_put_body(cfg->value_size);
  int rc = b.res && b.multi && b.put_body ? 0 : CHORUS_ENOMEM;
  if (!rc) rc = chorus_http_key_path("", cfg->key_prefix, NULL, b.prefix, sizeof b.prefix);
  if (!rc) rc = conns_open(&b, o);
  if (!rc && curl_multi_setopt(b.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->concurrency) != CURLM_OK)
    rc = CHORUS_EINVAL;
  int code = CHORUS_EXIT_OK;
  if (!rc) {
    chorus_bench_result_init(b.res);
    rng_seed(&b.rng, cfg->seed ? cfg->seed : clock_mono_ns() ^ clock_wall_ms());
    b.start_ns = clock_mono_ns();
    b.end_ns = cfg->duration_s > 0 ? b.start_ns + (uint64_t)(cfg->duration_s * NS_PER_S) : 0;
    rc = drive(&b, stop);
    b.res->elapsed_s = (double)(clock_mono_ns() - b.start_ns) / NS_PER_S;
  }
  if (!rc) rc = chorus_bench_report(stdout, cfg, b.res);
  if (rc)
    code = chorus_exit_fail(CHORUS_EXIT_SERVER, "bench: %s", chorus_strerror(rc));
  else if (b.res->ops > 0 && b.res->answered == 0)
    code = chorus_exit_fail(CHORUS_EXIT_UNREACHABLE, "bench: no node answered (%s)", b.res->kinds[0].label);
  conns_close(&b);
  if (b.multi) curl_multi_cleanup(b.multi);
  free(b.put_body);
  free(b.res);
  return code;
}
