/*
 * config.c - flags, CHORUS_* environment variables and defaults (see config.h).
 *
 * One table, options[], describes every flag: its name, environment variable,
 * default, help text and the setter that parses and validates a value into
 * its field. Parsing, defaults, environment lookup and --help are all driven
 * by it, so an option exists exactly when it has a row.
 *
 * Invariants:
 * - defaults are strings fed through the same setters as user input, so a
 *   default is valid by construction and shown verbatim in --help;
 * - config_parse fills a private copy and touches *c only on success;
 * - an error message is one line: values are quoted with control bytes
 *   replaced and long values cut, secrets are never echoed;
 * - an empty environment variable counts as unset (VAR= cmd clears it), an
 *   unknown CHORUS_* variable is ignored: other tools share the prefix.
 */
#include "config.h"

#include "node_id.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "err.h"

#define USAGE_WIDTH 80
#define USAGE_DESC_COLUMN 26
#define QUOTE_MAX 64 /* bytes of an offending value repeated in an error */
#define WANT_MAX 160

typedef struct opt opt_t;
/* Parses v into the option's field of c. On failure returns CHORUS_EINVAL and
 * writes what was expected into want ("an integer in 1..65535"). */
typedef int (*opt_set_fn)(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);

struct opt {
  const char *name;     /* long flag without "--" */
  const char *alias;    /* another spelling, or NULL */
  const char *env;      /* NULL for actions */
  const char *meta;     /* placeholder of the value in --help */
  const char *def;      /* default as text, parsed by set; NULL: the field stays zero */
  const char *def_note; /* the default in --help when def is NULL */
  const char *help;
  opt_set_fn set; /* NULL: a flag without value that ends parsing with action */
  config_action_t action;
  size_t off, size;  /* the field in config_t */
  uint64_t min, max; /* bounds of integer options; max 0 means not an integer */
  bool secret;       /* never echo the value */
  bool repeatable;   /* every occurrence of the flag is applied, in order */
};

#define FIELD(f) .off = offsetof(config_t, f), .size = sizeof(((config_t *)0)->f)

static int set_node_id(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_text(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_bind(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_u16(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_int(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_u64(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_bytes(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_fsync(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_log_level(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_bool(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_duration(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_seeds(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_host(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);
static int set_key(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen);

#define HOUR_MS (3600ull * 1000)

static const opt_t options[] = {
    {.name = "node-id",
     .env = "CHORUS_NODE_ID",
     .meta = "ID",
     .set = set_node_id,
     FIELD(node_id),
     .help = "node identity, 1..64 of [A-Za-z0-9._:-]",
     .def_note = "the id in the data dir, else generated"},
    {.name = "port",
     .env = "CHORUS_PORT",
     .meta = "PORT",
     .def = "8081",
     .set = set_u16,
     FIELD(port),
     .min = 1,
     .max = 65535,
     .help = "TCP port of the HTTP API"},
    {.name = "bind",
     .env = "CHORUS_BIND",
     .meta = "ADDR",
     .def = "0.0.0.0",
     .set = set_bind,
     FIELD(bind),
     .help = "address to listen on: an IPv4 or IPv6 literal, or localhost"},
    {.name = "data-dir",
     .env = "CHORUS_DATA_DIR",
     .meta = "DIR",
     .set = set_text,
     FIELD(data_dir),
     .help = "where the node keeps its data",
     .def_note = "./data/<node-id>, or ./data/node without a node id"},
    {.name = "fsync",
     .env = "CHORUS_FSYNC",
     .meta = "MODE",
     .def = "always",
     .set = set_fsync,
     FIELD(fsync),
     .help = "when writes are synced to disk: always|batch|never"},
    {.name = "max-value-bytes",
     .env = "CHORUS_MAX_VALUE_BYTES",
     .meta = "SIZE",
     .def = "1MiB",
     .set = set_bytes,
     FIELD(max_value_bytes),
     .min = 1,
     .max = 64 * 1024 * 1024,
     .help = "largest value accepted; suffixes K, KB, KiB, M, MB, MiB all mean powers of 1024"},
    {.name = "event-retention",
     .env = "CHORUS_EVENT_RETENTION",
     .meta = "N",
     .def = "10000",
     .set = set_u64,
     FIELD(event_retention),
     .min = 1,
     .max = 100000000,
     .help = "events kept in the event log"},
    {.name = "record-cache",
     .env = "CHORUS_RECORD_CACHE",
     .meta = "SIZE",
     .def = "64MiB",
     .set = set_bytes,
     FIELD(record_cache_bytes),
     .min = 0,
     .max = 64ull * 1024 * 1024 * 1024,
     .help = "memory for recently used key records, read without a LevelDB lookup; 0 turns the cache off"},
    {.name = "log-level",
     .env = "CHORUS_LOG_LEVEL",
     .meta = "LEVEL",
     .def = "info",
     .set = set_log_level,
     FIELD(log_level),
     .help = "least severe messages logged: debug|info|warn|error"},
    {.name = "api-token",
     .env = "CHORUS_API_TOKEN",
     .meta = "TOKEN",
     .set = set_text,
     FIELD(api_token),
     .secret = true,
     .help = "token clients must present",
     .def_note = "none: no authentication"},
    {.name = "tls-cert",
     .env = "CHORUS_TLS_CERT",
     .meta = "FILE",
     .set = set_text,
     FIELD(tls_cert),
     .help = "PEM certificate (chain) the API serves HTTPS with; read again on SIGHUP",
     .def_note = "none: plain HTTP"},
    {.name = "tls-key",
     .env = "CHORUS_TLS_KEY",
     .meta = "FILE",
     .set = set_text,
     FIELD(tls_key),
     .help = "PEM private key of --tls-cert, unencrypted; read again on SIGHUP",
     .def_note = "none"},
    {.name = "http-threads",
     .env = "CHORUS_HTTP_THREADS",
     .meta = "N",
     .def = "2",
     .set = set_int,
     FIELD(http_threads),
     .min = 1,
     .max = 64,
     .help = "threads serving HTTP requests"},
    {.name = "web-root",
     .env = "CHORUS_WEB_ROOT",
     .meta = "DIR",
     .set = set_text,
     FIELD(web_root),
     .help = "the dashboard's built files, served at /",
     .def_note = "web/dist beside the executable's directory, else ./web/dist"},
    {.name = "gossip",
     .env = "CHORUS_GOSSIP",
     .meta = "BOOL",
     .def = "true",
     .set = set_bool,
     FIELD(gossip),
     .help = "take part in a cluster; false runs a standalone node"},
    {.name = "seed-node",
     .env = "CHORUS_SEED_NODE",
     .meta = "HOST:PORT",
     .set = set_seeds,
     FIELD(seeds),
     .repeatable = true,
     .help = "HTTP address of a member to join through; repeatable or comma-separated",
     .def_note = "none: start a new cluster"},
    {.name = "advertise",
     .env = "CHORUS_ADVERTISE",
     .meta = "HOST",
     .set = set_host,
     FIELD(advertise),
     .help = "address other members reach this node at",
     .def_note = "--bind, or 127.0.0.1 when binding all addresses"},
    {.name = "peer-port",
     .env = "CHORUS_PEER_PORT",
     .meta = "PORT",
     .set = set_u16,
     FIELD(peer_port),
     .min = 1,
     .max = 65535,
     .help = "TCP port of the peer transport (membership sync)",
     .def_note = "--port + 1000"},
    {.name = "probe-interval",
     .env = "CHORUS_PROBE_INTERVAL",
     .meta = "DURATION",
     .def = "1s",
     .set = set_duration,
     FIELD(probe_interval_ms),
     .min = 10,
     .max = HOUR_MS,
     .help = "time between failure-detection probes"},
    {.name = "probe-timeout",
     .env = "CHORUS_PROBE_TIMEOUT",
     .meta = "DURATION",
     .def = "500ms",
     .set = set_duration,
     FIELD(probe_timeout_ms),
     .min = 5,
     .max = HOUR_MS,
     .help = "wait for a probe's ack before asking others to probe"},
    {.name = "suspicion-mult",
     .env = "CHORUS_SUSPICION_MULT",
     .meta = "N",
     .def = "4",
     .set = set_int,
     FIELD(suspicion_mult),
     .min = 1,
     .max = 100,
     .help = "suspicion timeout = N x log10(members + 1) x probe interval, at least"},
    {.name = "indirect-checks",
     .env = "CHORUS_INDIRECT_CHECKS",
     .meta = "N",
     .def = "3",
     .set = set_int,
     FIELD(indirect_checks),
     .min = 0,
     .max = 16,
     .help = "members asked to probe a member that missed an ack"},
    {.name = "retransmit-mult",
     .env = "CHORUS_RETRANSMIT_MULT",
     .meta = "N",
     .def = "4",
     .set = set_int,
     FIELD(retransmit_mult),
     .min = 1,
     .max = 100,
     .help = "an update is sent N x ceil(log10(members + 1)) times"},
    {.name = "gossip-interval",
     .env = "CHORUS_GOSSIP_INTERVAL",
     .meta = "DURATION",
     .def = "200ms",
     .set = set_duration,
     FIELD(gossip_interval_ms),
     .min = 10,
     .max = HOUR_MS,
     .help = "time between gossip rounds"},
    {.name = "gossip-nodes",
     .env = "CHORUS_GOSSIP_NODES",
     .meta = "N",
     .def = "3",
     .set = set_int,
     FIELD(gossip_nodes),
     .min = 1,
     .max = 64,
     .help = "members each gossip round sends to"},
    {.name = "push-pull-interval",
     .env = "CHORUS_PUSH_PULL_INTERVAL",
     .meta = "DURATION",
     .def = "30s",
     .set = set_duration,
     FIELD(push_pull_interval_ms),
     .min = 100,
     .max = 24 * HOUR_MS,
     .help = "time between full member-table exchanges with a random member"},
    {.name = "reap-after",
     .env = "CHORUS_REAP_AFTER",
     .meta = "DURATION",
     .def = "24h",
     .set = set_duration,
     FIELD(reap_after_ms),
     .min = 1000,
     .max = 365 * 24 * HOUR_MS,
     .help = "dead members are forgotten after this long"},
    {.name = "cluster-key",
     .env = "CHORUS_CLUSTER_KEY",
     .meta = "BASE64",
     .set = set_key,
     FIELD(cluster_key),
     .secret = true,
     .help = "32-byte key (base64) encrypting and authenticating membership traffic",
     .def_note = "none: not encrypted"},
    {.name = "replicas",
     .env = "CHORUS_REPLICAS",
     .meta = "N",
     .def = "3",
     .set = set_int,
     FIELD(replicas),
     .min = 1,
     .max = 15,
     .help = "copies of each key (N)"},
    {.name = "read-quorum",
     .env = "CHORUS_READ_QUORUM",
     .meta = "R",
     .def_note = "a majority of --replicas (2 of 3)",
     .set = set_int,
     FIELD(read_quorum),
     .min = 1,
     .max = 15,
     .help = "replies a read waits for (R, at most N)"},
    {.name = "write-quorum",
     .env = "CHORUS_WRITE_QUORUM",
     .meta = "W",
     .def_note = "a majority of --replicas (2 of 3)",
     .set = set_int,
     FIELD(write_quorum),
     .min = 1,
     .max = 15,
     .help = "durable acks a write waits for (W, at most N)"},
    {.name = "vnodes",
     .env = "CHORUS_VNODES",
     .meta = "N",
     .def = "150",
     .set = set_int,
     FIELD(vnodes),
     .min = 1,
     .max = 1024,
     .help = "ring tokens per member (every member must use the same)"},
    {.name = "request-timeout",
     .env = "CHORUS_REQUEST_TIMEOUT",
     .meta = "DURATION",
     .def = "5s",
     .set = set_duration,
     FIELD(request_timeout_ms),
     .min = 10,
     .max = HOUR_MS,
     .help = "a coordinated request answers 503 when its quorum is not met by then"},
    {.name = "max-hints",
     .env = "CHORUS_MAX_HINTS",
     .meta = "N",
     .def = "100000",
     .set = set_u64,
     FIELD(max_hints),
     .min = 0,
     .max = 100000000,
     .help =
         "hints (writes kept for a down replica) this node stores at most (0: none; anti-entropy repairs)"},
    {.name = "hint-ttl",
     .env = "CHORUS_HINT_TTL",
     .meta = "DURATION",
     .def = "3h",
     .set = set_duration,
     FIELD(hint_ttl_ms),
     .min = 1000,
     .max = 30 * 24 * HOUR_MS,
     .help = "hints older than this are dropped (anti-entropy repairs what they carried)"},
    {.name = "merkle-tree",
     .env = "CHORUS_MERKLE_TREE",
     .meta = "BOOL",
     .def = "true",
     .set = set_bool,
     FIELD(merkle_tree),
     .help = "keep the anti-entropy tree in step with every write (off: no anti-entropy)"},
    {.name = "rebuild-merkle-tree",
     .env = "CHORUS_REBUILD_MERKLE_TREE",
     .meta = "BOOL",
     .def = "false",
     .set = set_bool,
     FIELD(rebuild_merkle_tree),
     .help =
         "rebuild the anti-entropy tree from the records at start-up (when GET /api/v1/merkle-tree/verify "
         "found it damaged)"},
    {.name = "anti-entropy-interval",
     .env = "CHORUS_ANTI_ENTROPY_INTERVAL",
     .meta = "DURATION",
     .def = "10s",
     .set = set_duration,
     FIELD(anti_entropy_interval_ms),
     .min = 0,
     .max = 24 * HOUR_MS,
     .help = "how often this node compares its tree with a peer's and repairs the difference (0: never)"},
    {.name = "repair-rate",
     .env = "CHORUS_REPAIR_RATE",
     .meta = "N",
     .def = "500",
     .set = set_u64,
     FIELD(repair_rate),
     .min = 1,
     .max = 10000000,
     .help = "keys per second anti-entropy repairs at most (a quarter of it while this node coordinates "
             "client requests)"},
    {.name = "transfer-rate",
     .env = "CHORUS_TRANSFER_RATE",
     .meta = "MBPS",
     .def = "100",
     .set = set_u64,
     FIELD(transfer_rate),
     .min = 1,
     .max = 100000,
     .help = "megabytes per second this node streams at most in ownership transfers (joins, leaves, "
             "removals), in and out together"},
    {.name = "transfer-concurrency",
     .env = "CHORUS_TRANSFER_CONCURRENCY",
     .meta = "N",
     .def = "2",
     .set = set_int,
     FIELD(transfer_concurrency),
     .min = 1,
     .max = 64,
     .help = "range streams this node pulls at once in an ownership transfer"},
    {.name = "tombstone-grace",
     .env = "CHORUS_TOMBSTONE_GRACE",
     .meta = "DURATION",
     .def = "1h",
     .set = set_duration,
     FIELD(tombstone_grace_ms),
     .min = 0,
     .max = 365 * 24 * HOUR_MS,
     .help = "a tombstone every replica holds is dropped this long after its delete, and never before "
             "--hint-ttl"},
    {.name = "help", .alias = "-h", .action = CONFIG_HELP, .help = "print this help and exit"},
    {.name = "version", .action = CONFIG_VERSION, .help = "print the version and exit"},
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

static const char *const fsync_names[] = {"always", "batch", "never"};
#define FSYNC_COUNT (sizeof fsync_names / sizeof fsync_names[0])

static void *field(config_t *c, const opt_t *o) {
  return (char *)c + o->off;
}

const char *config_fsync_name(fsync_mode_t m) {
  return (unsigned)m < FSYNC_COUNT ? fsync_names[m] : "unknown";
}

/* Appends name to a "a|b|c" list in buf, lower-cased. */
static void append_choice(char *buf, size_t cap, const char *name) {
  size_t n = strlen(buf);
  if (n > 0 && n + 1 < cap) buf[n++] = '|';
  for (; *name && n + 1 < cap; name++)
    buf[n++] = (char)(*name >= 'A' && *name <= 'Z' ? *name + 32 : *name);
  buf[n] = '\0';
}

/* ---- setters ---- */

static int set_node_id(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  size_t len = strlen(v);
  if (!node_id_valid(v, len)) {
    snprintf(want, wantlen, "1..%zu characters of [A-Za-z0-9._:-]", o->size - 1);
    return CHORUS_EINVAL;
  }
  snprintf(field(c, o), o->size, "%s", v);
  return 0;
}

static int set_text(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  size_t len = strlen(v);
  if (len == 0 || len >= o->size) {
    snprintf(want, wantlen, "1..%zu bytes", o->size - 1);
    return CHORUS_EINVAL;
  }
  snprintf(field(c, o), o->size, "%s", v);
  return 0;
}

static int set_bind(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  unsigned char addr[sizeof(struct in6_addr)];
  if (strcmp(v, "localhost") == 0) v = "127.0.0.1";
  if (strlen(v) >= o->size || (inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1)) {
    snprintf(want, wantlen, "an IPv4 or IPv6 address or 'localhost'");
    return CHORUS_EINVAL;
  }
  snprintf(field(c, o), o->size, "%s", v);
  return 0;
}

/* Decimal digits only: no sign, no blanks, no overflow. *end gets the first
 * byte that is not a digit. */
static int parse_decimal(const char *s, uint64_t *out, const char **end) {
  uint64_t x = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (x > (UINT64_MAX - d) / 10) return CHORUS_EINVAL;
    x = x * 10 + d;
  }
  if (p == s) return CHORUS_EINVAL;
  *out = x;
  *end = p;
  return 0;
}

/* "" or a binary-multiple suffix; both SI and IEC spellings mean 1024. */
static int parse_suffix(const char *s, uint64_t *mult) {
  static const struct {
    const char *suffix;
    uint64_t mult;
  } suffixes[] = {{"", 1},
                  {"k", 1024},
                  {"kb", 1024},
                  {"kib", 1024},
                  {"m", 1024 * 1024},
                  {"mb", 1024 * 1024},
                  {"mib", 1024 * 1024},
                  {"g", 1024 * 1024 * 1024},
                  {"gb", 1024 * 1024 * 1024},
                  {"gib", 1024 * 1024 * 1024}};
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    if (strcasecmp(s, suffixes[i].suffix) == 0) {
      *mult = suffixes[i].mult;
      return 0;
    }
  }
  return CHORUS_EINVAL;
}

/* An integer within the option's bounds, with a size suffix when sized. */
static int parse_bounded(const opt_t *o, const char *v, bool sized, uint64_t *out, char *want,
                         size_t wantlen) {
  const char *end;
  uint64_t x, mult = 1;
  bool ok = parse_decimal(v, &x, &end) == 0 && (sized ? parse_suffix(end, &mult) == 0 : *end == '\0') &&
            x <= UINT64_MAX / mult && x * mult >= o->min && x * mult <= o->max;
  if (!ok) {
    snprintf(want, wantlen, "an integer in %" PRIu64 "..%" PRIu64 "%s", o->min, o->max,
             sized ? ", optionally with suffix K, KB, KiB, M, MB, MiB, G, GB or GiB" : "");
    return CHORUS_EINVAL;
  }
  *out = x * mult;
  return 0;
}

static int set_u16(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  uint64_t x;
  int rc = parse_bounded(o, v, false, &x, want, wantlen);
  if (rc == 0) *(uint16_t *)field(c, o) = (uint16_t)x;
  return rc;
}

static int set_int(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  uint64_t x;
  int rc = parse_bounded(o, v, false, &x, want, wantlen);
  if (rc == 0) *(int *)field(c, o) = (int)x;
  return rc;
}

static int set_u64(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  return parse_bounded(o, v, false, field(c, o), want, wantlen);
}

static int set_bytes(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  return parse_bounded(o, v, true, field(c, o), want, wantlen);
}

static int set_fsync(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  for (size_t i = 0; i < FSYNC_COUNT; i++) {
    if (strcasecmp(v, fsync_names[i]) == 0) {
      *(fsync_mode_t *)field(c, o) = (fsync_mode_t)i;
      return 0;
    }
  }
  want[0] = '\0';
  for (size_t i = 0; i < FSYNC_COUNT; i++)
    append_choice(want, wantlen, fsync_names[i]);
  return CHORUS_EINVAL;
}

static int set_log_level(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  if (log_level_parse(v, field(c, o)) == 0) return 0;
  want[0] = '\0';
  for (int l = LOG_DEBUG; l <= LOG_ERROR; l++)
    append_choice(want, wantlen, log_level_name((log_level_t)l));
  return CHORUS_EINVAL;
}

/* ---- defaults and parsing ---- */

static int set_bool(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
      *(bool *)field(c, o) = strcasecmp(v, yes[i]) == 0;
      return 0;
    }
  }
  snprintf(want, wantlen, "true or false");
  return CHORUS_EINVAL;
}

/* "<number><unit>" with unit ms, s, m or h; stored in milliseconds. */
static int set_duration(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  static const struct {
    const char *unit;
    uint64_t ms;
  } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  uint64_t n;
  const char *end;
  snprintf(want, wantlen, "a duration from %" PRIu64 "ms to %" PRIu64 "h, like 500ms, 1s, 2m or 24h", o->min,
           o->max / 3600000);
  if (parse_decimal(v, &n, &end) != 0) return CHORUS_EINVAL;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(end, units[i].unit) != 0) continue;
    if (n > o->max / units[i].ms || n * units[i].ms < o->min) return CHORUS_EINVAL;
    *(uint64_t *)field(c, o) = n * units[i].ms;
    return 0;
  }
  return CHORUS_EINVAL;
}

/* A host peers can resolve: an IP literal or a DNS name. */
static bool host_valid(const char *h, size_t len) {
  unsigned char addr[sizeof(struct in6_addr)];
  char tmp[64];
  if (len == 0 || len >= sizeof tmp) return false;
  memcpy(tmp, h, len);
  tmp[len] = '\0';
  if (inet_pton(AF_INET6, tmp, addr) == 1) return true;
  for (size_t i = 0; i < len; i++) {
    char ch = tmp[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
          ch == '-'))
      return false;
  }
  return true;
}

static int set_host(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  if (!host_valid(v, strlen(v)) || strlen(v) >= o->size) {
    snprintf(want, wantlen, "an IP address or a host name");
    return CHORUS_EINVAL;
  }
  snprintf(field(c, o), o->size, "%s", v);
  return 0;
}

/* Appends each "host:port" (or "[v6]:port") of a comma-separated list. */
static int set_seeds(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  snprintf(want, wantlen, "host:port[,host:port...], at most %d", CONFIG_MAX_SEEDS);
  while (*v) {
    size_t len = strcspn(v, ",");
    const char *colon = len ? memrchr(v, ':', len) : NULL;
    bool bracketed = len && v[0] == '[';
    if (!colon || c->n_seeds == CONFIG_MAX_SEEDS || len >= CONFIG_HOSTPORT_MAX) return CHORUS_EINVAL;
    const char *host = bracketed ? v + 1 : v;
    size_t host_len = (size_t)(colon - host) - (bracketed ? 1 : 0);
    if (bracketed && colon[-1] != ']') return CHORUS_EINVAL;
    uint64_t port;
    const char *end;
    if (!host_valid(host, host_len) || parse_decimal(colon + 1, &port, &end) != 0 || end != v + len ||
        port == 0 || port > 65535)
      return CHORUS_EINVAL;
    snprintf(c->seeds[c->n_seeds++], CONFIG_HOSTPORT_MAX, "%.*s", (int)len, v);
    if (v[len] == ',' && v[len + 1] == '\0') return CHORUS_EINVAL; /* a trailing comma names nothing */
    v += len + (v[len] == ',');
  }
  return 0;
}

/* Only checks the shape (32 bytes of base64); the key itself is for gossip. */
static int set_key(const opt_t *o, config_t *c, const char *v, char *want, size_t wantlen) {
  uint8_t key[33];
  size_t n = 0;
  if (strlen(v) >= o->size || base64_decode(v, strlen(v), key, sizeof key, &n) != 0 || n != 32) {
    snprintf(want, wantlen, "32 bytes in base64 (e.g. from 'head -c32 /dev/urandom | base64')");
    return CHORUS_EINVAL;
  }
  snprintf(field(c, o), o->size, "%s", v);
  return 0;
}

/* Values derived from others when not given: the data dir from the node id,
 * the peer port from the HTTP port, the advertised address from --bind. */
static void derive(config_t *c, bool data_dir_given) {
  if (!data_dir_given)
    snprintf(c->data_dir, sizeof c->data_dir, "./data/%s", c->node_id[0] ? c->node_id : "node");
  if (!c->peer_port)
    c->peer_port = c->port <= 64535 ? (uint16_t)(c->port + 1000) : (uint16_t)(c->port - 1000);
  /* Quorums not given are a majority of the replicas. */
  if (!c->read_quorum) c->read_quorum = c->replicas / 2 + 1;
  if (!c->write_quorum) c->write_quorum = c->replicas / 2 + 1;
  if (!c->advertise[0]) {
    bool wildcard = strcmp(c->bind, "0.0.0.0") == 0 || strcmp(c->bind, "::") == 0;
    snprintf(c->advertise, sizeof c->advertise, "%s", wildcard ? "127.0.0.1" : c->bind);
  }
}

void config_defaults(config_t *c) {
  char want[WANT_MAX];
  memset(c, 0, sizeof *c);
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    /* Defaults are constants; the unit tests check that each one parses. */
    if (options[i].set && options[i].def)
      (void)options[i].set(&options[i], c, options[i].def, want, sizeof want);
  }
  derive(c, false);
}

/* A value repeated in an error: at most QUOTE_MAX bytes, control bytes as '?'. */
static void quote_value(char *dst, size_t cap, const char *v) {
  size_t n = 0;
  for (; *v && n < QUOTE_MAX && n + 1 < cap; v++) {
    unsigned char ch = (unsigned char)*v;
    dst[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
  }
  dst[n] = '\0';
  if (*v) snprintf(dst + n, cap - n, "...");
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return CHORUS_EINVAL;
}

/* The option arg names ("--port", "--port=80", "-h"); *value gets the text
 * after '=' or NULL. */
static const opt_t *find_flag(const char *arg, const char **value) {
  const char *eq = strchr(arg, '=');
  size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
  *value = eq ? eq + 1 : NULL;
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const opt_t *o = &options[i];
    bool long_match =
        len == strlen(o->name) + 2 && strncmp(arg, "--", 2) == 0 && strncmp(arg + 2, o->name, len - 2) == 0;
    bool alias_match = o->alias && len == strlen(o->alias) && strncmp(arg, o->alias, len) == 0;
    if (long_match || alias_match) return o;
  }
  return NULL;
}

/* The first "name=value" of envp; NULL when absent or empty. */
static const char *env_lookup(char *const envp[], const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; envp && envp[i]; i++) {
    if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
      return envp[i][len + 1] ? envp[i] + len + 1 : NULL;
  }
  return NULL;
}

/* Collects flag values into flags[] (the last one of a flag wins). Stops at an
 * action flag, which *action gets. A flag's value is the next argument unless
 * that starts with '-': "--node-id --port 1" is a missing id, not the id
 * "--port"; such values need the --name=value form. */
static int scan_argv(int argc, char *const argv[], const char *flags[], config_action_t *action, char *err,
                     size_t errlen) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *value;
    const opt_t *o = arg[0] == '-' ? find_flag(arg, &value) : NULL;
    char shown[QUOTE_MAX + 4];
    quote_value(shown, sizeof shown, arg);
    if (!o && arg[0] == '-') {
      shown[strcspn(shown, "=")] = '\0';
      return fail(err, errlen, "unknown flag '%s' (see --help)", shown);
    }
    if (!o) return fail(err, errlen, "unexpected argument '%s' (see --help)", shown);
    if (!o->set) {
      if (value) return fail(err, errlen, "--%s takes no value", o->name);
      *action = o->action;
      return 0;
    }
    if (!value && i + 1 < argc && argv[i + 1][0] != '-') value = argv[++i];
    if (!value) return fail(err, errlen, "--%s: missing value (use --%s=%s)", o->name, o->name, o->meta);
    flags[o - options] = value;
  }
  return 0;
}

static int apply_one(const opt_t *o, config_t *c, const char *v, bool from_flag, char *err, size_t errlen) {
  char want[WANT_MAX], shown[QUOTE_MAX + 4];
  if (o->set(o, c, v, want, sizeof want) == 0) return 0;
  quote_value(shown, sizeof shown, v);
  const char *dashes = from_flag ? "--" : "";
  const char *source = from_flag ? o->name : o->env;
  if (o->secret)
    return fail(err, errlen, "%s%s: expected %s, got %zu bytes", dashes, source, want, strlen(v));
  return fail(err, errlen, "%s%s: expected %s, got '%s'", dashes, source, want, shown);
}

/* Every value a repeatable flag was given, in command-line order. */
static int apply_repeated(const opt_t *o, config_t *c, int argc, char *const argv[], char *err,
                          size_t errlen) {
  for (int i = 1; i < argc; i++) {
    const char *value;
    if (argv[i][0] != '-' || find_flag(argv[i], &value) != o) continue;
    if (!value) value = argv[++i]; /* scan_argv checked it is there */
    int rc = apply_one(o, c, value, true, err, errlen);
    if (rc) return rc;
  }
  return 0;
}

/* Applies flag values, else environment values, over the defaults in c. */
static int apply(config_t *c, int argc, char *const argv[], const char *flags[], char *const envp[],
                 char *err, size_t errlen) {
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const opt_t *o = &options[i];
    int rc = 0;
    if (flags[i] && o->repeatable)
      rc = apply_repeated(o, c, argc, argv, err, errlen);
    else if (flags[i])
      rc = apply_one(o, c, flags[i], true, err, errlen);
    else if (o->env && env_lookup(envp, o->env))
      rc = apply_one(o, c, env_lookup(envp, o->env), false, err, errlen);
    if (rc) return rc;
  }
  return 0;
}

/* Checks between options: quorums cannot exceed the replicas; a TLS
 * certificate needs its key and a key its certificate. */
static int check_between(const config_t *c, char *err, size_t errlen) {
  const char *flag = c->read_quorum > c->replicas    ? "--read-quorum"
                     : c->write_quorum > c->replicas ? "--write-quorum"
                                                     : NULL;
  if (flag) {
    if (err && errlen)
      snprintf(err, errlen, "%s: must be at most --replicas (%d), got %d", flag, c->replicas,
               flag[2] == 'r' ? c->read_quorum : c->write_quorum);
    return CHORUS_EINVAL;
  }
  if (!c->tls_cert[0] != !c->tls_key[0]) {
    if (err && errlen)
      snprintf(err, errlen, "%s: needs %s too", c->tls_cert[0] ? "--tls-cert" : "--tls-key",
               c->tls_cert[0] ? "--tls-key" : "--tls-cert");
    return CHORUS_EINVAL;
  }
  return 0;
}

int config_parse(config_t *c, int argc, char *const argv[], char *const envp[], config_action_t *action,
                 char *err, size_t errlen) {
  config_t tmp;
  const char *flags[OPTION_COUNT] = {0};
  config_action_t act = CONFIG_RUN;
  if (err && errlen > 0) err[0] = '\0';
  config_defaults(&tmp);
  int rc = scan_argv(argc, argv, flags, &act, err, errlen);
  if (rc == 0 && act == CONFIG_RUN) {
    /* derived values are derived again from what was given */
    tmp.data_dir[0] = '\0';
    tmp.advertise[0] = '\0';
    tmp.peer_port = 0;
    tmp.read_quorum = tmp.write_quorum = 0;
    rc = apply(&tmp, argc, argv, flags, envp, err, errlen);
    if (rc == 0) derive(&tmp, tmp.data_dir[0] != '\0');
    if (rc == 0) rc = check_between(&tmp, err, errlen);
  }
  if (rc != 0) return rc;
  *c = tmp;
  *action = act;
  return 0;
}

/* ---- --help ---- */

typedef struct {
  char *buf;
  size_t cap, len, col;
} text_t;

static void put(text_t *t, const char *s, size_t n) {
  if (t->len + n >= t->cap) n = t->len < t->cap ? t->cap - t->len - 1 : 0;
  memcpy(t->buf + t->len, s, n);
  t->len += n;
  t->buf[t->len] = '\0';
  size_t tail = n;
  while (tail > 0 && s[tail - 1] != '\n')
    tail--;
  t->col = tail > 0 ? n - tail : t->col + n;
}

static void pad_to(text_t *t, size_t col) {
  while (t->col < col)
    put(t, " ", 1);
}

/* Appends words, breaking lines before USAGE_WIDTH and indenting to col. */
static void put_wrapped(text_t *t, const char *words, size_t col) {
  while (*words) {
    size_t n = strcspn(words, " ");
    if (t->col > col && t->col + 1 + n > USAGE_WIDTH) {
      put(t, "\n", 1);
      pad_to(t, col);
    } else if (t->col > col) {
      put(t, " ", 1);
    }
    pad_to(t, col);
    put(t, words, n);
    words += n + strspn(words + n, " ");
  }
}

static void put_option(text_t *t, const opt_t *o) {
  char flag[64], desc[512], range[48] = "", def[128] = "", env[48] = "";
  snprintf(flag, sizeof flag, "  %s%s--%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "", o->name,
           o->meta ? "=" : "", o->meta ? o->meta : "");
  if (o->max && o->set != set_duration)
    snprintf(range, sizeof range, "%" PRIu64 "..%" PRIu64 "; ", o->min, o->max);
  if (o->def || o->def_note) snprintf(def, sizeof def, "default %s; ", o->def ? o->def : o->def_note);
  if (o->env) snprintf(env, sizeof env, "env %s", o->env);
  if (o->env) {
    snprintf(desc, sizeof desc, "%s (%s%s%s)", o->help, range, def, env);
  } else {
    snprintf(desc, sizeof desc, "%s", o->help);
  }
  put(t, flag, strlen(flag));
  if (t->col >= USAGE_DESC_COLUMN - 1) put(t, "\n", 1);
  put_wrapped(t, desc, USAGE_DESC_COLUMN);
  put(t, "\n", 1);
}

static char usage_text[16384];
static pthread_once_t usage_once = PTHREAD_ONCE_INIT;

static void build_usage(void) {
  static const char head[] = "usage: chorusd [flag...]\n\n"
                             "Every flag is also accepted as --name VALUE. A flag overrides its\n"
                             "environment variable, which overrides the default.\n\n";
  text_t t = {.buf = usage_text, .cap = sizeof usage_text};
  put(&t, head, sizeof head - 1);
  for (size_t i = 0; i < OPTION_COUNT; i++)
    put_option(&t, &options[i]);
}

const char *config_usage(void) {
  pthread_once(&usage_once, build_usage);
  return usage_text;
}
