/*
 * chorus_opts.c - the flag table and its parser (see chorus_opts.h).
 *
 * Numbers are checked against their range here, so commands get values
 * they can use as they are. Durations are a number with an optional unit
 * (ms, s, m; seconds without one).
 */
#include "chorus_opts.h"

#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

enum {
  O_NODE = 256,
  O_TOKEN,
  O_JSON,
  O_TIMEOUT,
  O_CACERT,
  O_INSECURE,
  O_HELP,
  O_CONTEXT_ONLY,
  O_VALUE_ONLY,
  O_FAIL_ON_CONFLICT,
  O_LOCAL,
  O_R,
  O_CONSISTENCY,
  O_CONTEXT,
  O_BLIND,
  O_W,
  O_REQUEST_ID,
  O_START,
  O_WAIT,
  O_WAIT_TIMEOUT,
  O_FOLLOW,
  O_LIMIT,
  O_SINCE,
  O_INTERVAL,
  O_NODES,
  O_READ_RATIO,
  O_VALUE_SIZE,
  O_KEYS,
  O_KEY_PREFIX,
  O_CONCURRENCY,
  O_DURATION,
  O_COUNT,
  O_RATE,
  O_SEED,
  O_NO_PROGRESS,
};

typedef struct {
  const char *name;
  int val;
  char short_name; /* 0: none */
  unsigned groups;
  const char *arg; /* NULL: takes no argument */
  const char *help;
  size_t sets; /* a switch: 1 + the offset of the bool in chorus_opts_t it sets; 0 otherwise */
} flag_t;

#define SETS(field) (offsetof(chorus_opts_t, field) + 1)

#define RW (CHORUS_OPTG_READ | CHORUS_OPTG_WRITE)

static const flag_t FLAGS[] = {
    {"node", O_NODE, 'n', CHORUS_OPTG_COMMON, "HOST:PORT|URL",
     "the node to ask (env CHORUS_NODE; default 127.0.0.1:8081)", 0},
    {"token", O_TOKEN, 0, CHORUS_OPTG_COMMON, "TOKEN", "API token, sent as a Bearer token (env CHORUS_TOKEN)",
     0},
    {"json", O_JSON, 0, CHORUS_OPTG_COMMON, NULL, "print the node's JSON instead of text", SETS(json)},
    {"timeout", O_TIMEOUT, 0, CHORUS_OPTG_COMMON, "DURATION", "give up on a request after this (default 10s)",
     0},
    {"cacert", O_CACERT, 0, CHORUS_OPTG_COMMON, "FILE", "HTTPS: trust the CA certificates in FILE", 0},
    {"insecure", O_INSECURE, 'k', CHORUS_OPTG_COMMON, NULL, "HTTPS: do not verify the node's certificate",
     SETS(http.insecure)},
    {"help", O_HELP, 'h', CHORUS_OPTG_COMMON, NULL, "show this help", SETS(help)},
    {"context-only", O_CONTEXT_ONLY, 0, CHORUS_OPTG_READ, NULL,
     "print only the context (also of a missing key, which exits 1)", SETS(context_only)},
    {"value-only", O_VALUE_ONLY, 0, CHORUS_OPTG_READ, NULL,
     "print only the value (the newest sibling), as stored", SETS(value_only)},
    {"fail-on-conflict", O_FAIL_ON_CONFLICT, 0, CHORUS_OPTG_READ, NULL, "exit 3 when the key has siblings",
     SETS(fail_on_conflict)},
    {"local", O_LOCAL, 0, CHORUS_OPTG_READ | CHORUS_OPTG_KEYS, NULL,
     "this node only: its own copy (get), its own keyring (keys)", SETS(local)},
    {"r", O_R, 0, CHORUS_OPTG_READ, "N", "replies a read waits for (1..N)", 0},
    {"consistency", O_CONSISTENCY, 0, RW, "one|quorum|all", "named quorum for the request", 0},
    {"context", O_CONTEXT, 0, CHORUS_OPTG_WRITE, "CTX",
     "write with this context instead of reading one first", 0},
    {"blind", O_BLIND, 0, CHORUS_OPTG_WRITE, NULL,
     "send no context: replace whatever the coordinator holds, unseen", SETS(blind)},
    {"w", O_W, 0, CHORUS_OPTG_WRITE, "N", "acknowledgements a write waits for (1..N)", 0},
    {"request-id", O_REQUEST_ID, 0, CHORUS_OPTG_WRITE, "ID",
     "X-Request-Id: a retry with the same id writes once", 0},
    {"start", O_START, 0, CHORUS_OPTG_REPAIR, NULL, "start an exchange with every live peer (POST)",
     SETS(start)},
    {"wait", O_WAIT, 0, CHORUS_OPTG_REPAIR, NULL, "poll until no exchange is running or queued", SETS(wait)},
    {"wait-timeout", O_WAIT_TIMEOUT, 0, CHORUS_OPTG_REPAIR, "DURATION",
     "with --wait: exit 4 if not done by then (default 5m)", 0},
    {"follow", O_FOLLOW, 'f', CHORUS_OPTG_EVENTS, NULL, "keep printing new events until interrupted",
     SETS(follow)},
    {"limit", O_LIMIT, 0, CHORUS_OPTG_EVENTS, "N", "events per member, 1..1000 (default 20)", 0},
    {"since", O_SINCE, 0, CHORUS_OPTG_EVENTS, "ID", "only events with a larger id, per member", 0},
    {"interval", O_INTERVAL, 0, CHORUS_OPTG_EVENTS, "DURATION",
     "with --follow: time between polls (default 1s)", 0},
    {"nodes", O_NODES, 0, CHORUS_OPTG_BENCH, "LIST",
     "comma-separated nodes, used round-robin (default --node)", 0},
    {"read-ratio", O_READ_RATIO, 0, CHORUS_OPTG_BENCH, "F", "share of GETs, 0..1 (default 0.5)", 0},
    {"value-size", O_VALUE_SIZE, 0, CHORUS_OPTG_BENCH, "BYTES", "bytes of each written value (default 128)",
     0},
    {"keys", O_KEYS, 0, CHORUS_OPTG_BENCH, "N", "key space, keys drawn uniformly (default 10000)", 0},
    {"key-prefix", O_KEY_PREFIX, 0, CHORUS_OPTG_BENCH, "P", "key names are P0, P1, ... (default bench-)", 0},
    {"concurrency", O_CONCURRENCY, 'c', CHORUS_OPTG_BENCH, "N", "requests in flight, 1..1024 (default 16)",
     0},
    {"duration", O_DURATION, 'd', CHORUS_OPTG_BENCH, "DURATION", "run this long (default 10s unless --count)",
     0},
    {"count", O_COUNT, 0, CHORUS_OPTG_BENCH, "N", "stop after N operations", 0},
    {"rate", O_RATE, 0, CHORUS_OPTG_BENCH, "OPS",
     "send at this fixed rate (ops/s); latency counts from when each op was due", 0},
    {"seed", O_SEED, 0, CHORUS_OPTG_BENCH, "N", "seed of the key and operation choices", 0},
    {"no-progress", O_NO_PROGRESS, 0, CHORUS_OPTG_BENCH, NULL, "no progress line each second on stderr",
     SETS(no_progress)},
};
#define N_FLAGS (sizeof FLAGS / sizeof FLAGS[0])

void chorus_opts_defaults(chorus_opts_t *o) {
  memset(o, 0, sizeof *o);
  const char *node = getenv("CHORUS_NODE");
  snprintf(o->node, sizeof o->node, "%s", node && node[0] ? node : "127.0.0.1:8081");
  const char *token = getenv("CHORUS_TOKEN");
  if (token) snprintf(o->http.token, sizeof o->http.token, "%s", token);
  o->http.timeout_ms = 10000;
  o->wait_s = 300;
  o->limit = 20;
  o->interval_s = 1;
  chorus_bench_defaults(&o->bench);
}

static int bad(char *err, size_t errlen, const char *flag, const char *want, const char *got) {
  snprintf(err, errlen, "--%s: expected %s, got '%s'", flag, want, got);
  return CHORUS_EINVAL;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  char *end = NULL;
  if (!s[0] || s[0] == '-') return CHORUS_EINVAL;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || v < lo || v > hi) return CHORUS_EINVAL;
  *out = v;
  return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (!s[0] || *end || !isfinite(v) || v < lo || v > hi) return CHORUS_EINVAL;
  *out = v;
  return 0;
}

/* "1.5s", "200ms", "2m", "3" (seconds) into seconds. */
static int parse_duration(const char *s, double hi_s, double *out) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v) || v < 0) return CHORUS_EINVAL;
  double scale = strcmp(end, "ms") == 0 ? 0.001 : strcmp(end, "m") == 0 ? 60 : 1;
  if (*end && strcmp(end, "ms") && strcmp(end, "s") && strcmp(end, "m")) return CHORUS_EINVAL;
  v *= scale;
  if (v <= 0 || v > hi_s) return CHORUS_EINVAL;
  *out = v;
  return 0;
}

static int set_string(char *dst, size_t cap, const char *flag, const char *v, char *err, size_t errlen) {
  if (strlen(v) >= cap) return bad(err, errlen, flag, "a shorter value", v);
  snprintf(dst, cap, "%s", v);
  return 0;
}

/* One flag's value into o. */
static int apply(chorus_opts_t *o, const flag_t *f, const char *v, char *err, size_t errlen) {
  uint64_t u = 0;
  double d = 0;
  chorus_bench_cfg_t *b = &o->bench;
  if (f->sets) {
    *(bool *)((char *)o + f->sets - 1) = true;
    return 0;
  }
  switch (f->val) {
  case O_NODE: return set_string(o->node, sizeof o->node, f->name, v, err, errlen);
  case O_TOKEN: return set_string(o->http.token, sizeof o->http.token, f->name, v, err, errlen);
  case O_CACERT: return set_string(o->http.cacert, sizeof o->http.cacert, f->name, v, err, errlen);
  case O_KEY_PREFIX: return set_string(b->key_prefix, sizeof b->key_prefix, f->name, v, err, errlen);
  case O_CONTEXT: o->context = v; return 0;
  case O_REQUEST_ID: o->request_id = v; return 0;
  case O_NODES: o->nodes = v; return 0;
  case O_CONSISTENCY:
    if (strcmp(v, "one") && strcmp(v, "quorum") && strcmp(v, "all"))
      return bad(err, errlen, f->name, "one, quorum or all", v);
    o->consistency = v;
    return 0;
  case O_TIMEOUT:
    if (parse_duration(v, 3600, &d)) return bad(err, errlen, f->name, "a duration up to 1h (5s, 500ms)", v);
    o->http.timeout_ms = (long)ceil(d * 1000);
    return 0;
  case O_WAIT_TIMEOUT:
    if (parse_duration(v, 86400, &o->wait_s)) return bad(err, errlen, f->name, "a duration up to 24h", v);
    return 0;
  case O_INTERVAL:
    if (parse_duration(v, 3600, &o->interval_s) || o->interval_s < 0.05)
      return bad(err, errlen, f->name, "a duration from 50ms to 1h", v);
    return 0;
  case O_DURATION:
    if (parse_duration(v, CHORUS_BENCH_MAX_DURATION_S, &b->duration_s))
      return bad(err, errlen, f->name, "a duration up to 24h", v);
    return 0;
  case O_R:
  case O_W:
    if (parse_u64(v, 1, 64, &u)) return bad(err, errlen, f->name, "an integer from 1 to N", v);
    *(f->val == O_R ? &o->r : &o->w) = (int)u;
    return 0;
  case O_LIMIT:
    if (parse_u64(v, 1, 1000, &u)) return bad(err, errlen, f->name, "an integer from 1 to 1000", v);
    o->limit = (int)u;
    return 0;
  case O_SINCE:
    if (parse_u64(v, 0, UINT64_MAX, &o->since)) return bad(err, errlen, f->name, "an event id", v);
    return 0;
  case O_READ_RATIO:
    if (parse_double(v, 0, 1, &b->read_ratio)) return bad(err, errlen, f->name, "a number from 0 to 1", v);
    return 0;
  case O_VALUE_SIZE:
    if (parse_u64(v, 0, CHORUS_BENCH_MAX_VALUE, &u))
      return bad(err, errlen, f->name, "0 to 16777216 bytes", v);
    b->value_size = (size_t)u;
    return 0;
  case O_KEYS:
    if (parse_u64(v, 1, 1000000000, &b->keys)) return bad(err, errlen, f->name, "1 to 10^9 keys", v);
    return 0;
  case O_CONCURRENCY:
    if (parse_u64(v, 1, CHORUS_BENCH_MAX_CONCURRENCY, &u)) return bad(err, errlen, f->name, "1 to 1024", v);
    b->concurrency = (int)u;
    return 0;
  case O_COUNT:
    if (parse_u64(v, 1, 1000000000000, &b->count))
      return bad(err, errlen, f->name, "1 to 10^12 operations", v);
    return 0;
  case O_RATE:
    if (parse_double(v, 0.1, CHORUS_BENCH_MAX_RATE, &b->rate))
      return bad(err, errlen, f->name, "0.1 to 10^7 ops/s", v);
    return 0;
  case O_SEED:
    if (parse_u64(v, 0, UINT64_MAX, &b->seed)) return bad(err, errlen, f->name, "an unsigned integer", v);
    return 0;
  default: return bad(err, errlen, f->name, "a known flag", v);
  }
}

int chorus_opts_parse(chorus_opts_t *o, int argc, char **argv, unsigned groups, bool stop_at_command,
                      int *next, char *err, size_t errlen) {
  struct option longs[N_FLAGS + 1];
  const flag_t *by_index[N_FLAGS];
  char shorts[2 * N_FLAGS + 3];
  size_t nl = 0, ns = 0;
  shorts[ns++] = stop_at_command ? '+' : '-'; /* '-': words in order, as argument 1 */
  shorts[ns++] = ':';                         /* a missing argument is ':', not '?' */
  for (size_t i = 0; i < N_FLAGS; i++) {
    if (!(FLAGS[i].groups & groups)) continue;
    longs[nl] =
        (struct option){FLAGS[i].name, FLAGS[i].arg ? required_argument : no_argument, NULL, FLAGS[i].val};
    by_index[nl++] = &FLAGS[i];
    if (FLAGS[i].short_name) {
      shorts[ns++] = FLAGS[i].short_name;
      if (FLAGS[i].arg) shorts[ns++] = ':';
    }
  }
  longs[nl] = (struct option){0, 0, 0, 0};
  shorts[ns] = '\0';
  opterr = 0;
  optind = 0; /* a full re-initialisation of getopt (GNU): it runs twice per command line */
  for (;;) {
    int idx = -1;
    int c = getopt_long(argc, argv, shorts, longs, &idx);
    if (c == -1) break;
    if (c == 1) {
      if (o->nargs == CHORUS_OPTS_MAX_ARGS) {
        snprintf(err, errlen, "too many arguments ('%s')", optarg);
        return CHORUS_EINVAL;
      }
      o->args[o->nargs++] = optarg;
      continue;
    }
    if (c == '?' || c == ':') {
      const char *word = argv[optind - 1];
      snprintf(err, errlen, c == ':' ? "%s needs a value" : "unknown flag %s", word);
      return CHORUS_EINVAL;
    }
    const flag_t *f = NULL;
    for (size_t i = 0; i < nl && !f; i++)
      if (by_index[i]->val == c || by_index[i]->short_name == c) f = by_index[i];
    if (!f) {
      snprintf(err, errlen, "unknown flag -%c", c);
      return CHORUS_EINVAL;
    }
    int rc = apply(o, f, optarg, err, errlen);
    if (rc) return rc;
  }
  if (next) *next = optind;
  for (int i = optind; !stop_at_command && i < argc; i++) { /* the words after "--" */
    if (o->nargs == CHORUS_OPTS_MAX_ARGS) {
      snprintf(err, errlen, "too many arguments ('%s')", argv[i]);
      return CHORUS_EINVAL;
    }
    o->args[o->nargs++] = argv[i];
  }
  return 0;
}

int chorus_opts_finish(chorus_opts_t *o, char *err, size_t errlen) {
  if (chorus_http_base_url(o->node, o->http.base, sizeof o->http.base))
    return bad(err, errlen, "node", "HOST:PORT or http(s)://HOST:PORT", o->node);
  chorus_bench_cfg_t *b = &o->bench;
  b->n_nodes = 0;
  const char *list = o->nodes ? o->nodes : o->node;
  char one[CHORUS_HTTP_URL_MAX];
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    if (b->n_nodes == CHORUS_BENCH_MAX_NODES || n >= sizeof one)
      return bad(err, errlen, "nodes", "up to 32 nodes", list);
    memcpy(one, p, n);
    one[n] = '\0';
    if (n && chorus_http_base_url(one, b->nodes[b->n_nodes++], CHORUS_HTTP_URL_MAX))
      return bad(err, errlen, "nodes", "HOST:PORT or URL, comma-separated", one);
    p += n + (p[n] == ',');
  }
  if (!b->n_nodes) return bad(err, errlen, "nodes", "at least one node", list);
  if (b->duration_s == 0 && b->count == 0) b->duration_s = 10;
  b->json = o->json;
  b->progress = !o->no_progress;
  return 0;
}

void chorus_opts_usage(FILE *f, unsigned groups) {
  for (size_t i = 0; i < N_FLAGS; i++) {
    if (!(FLAGS[i].groups & groups)) continue;
    char left[64];
    char sh[8] = "";
    if (FLAGS[i].short_name) snprintf(sh, sizeof sh, "-%c, ", FLAGS[i].short_name);
    snprintf(left, sizeof left, "%s--%s%s%s", sh, FLAGS[i].name, FLAGS[i].arg ? " " : "",
             FLAGS[i].arg ? FLAGS[i].arg : "");
    fprintf(f, "  %-30s %s\n", left, FLAGS[i].help);
  }
}
