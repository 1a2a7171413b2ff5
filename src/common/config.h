/*
 * config.h - the node's configuration: command-line flags, CHORUS_*
 * environment variables and defaults, parsed and validated in one place.
 *
 * Precedence: flag > environment variable > default. Every flag is accepted
 * as --name=value or --name value. config_parse is pure (the environment is
 * passed in) so it is unit-testable; it never prints or exits.
 */
#ifndef CHORUS_CONFIG_H
#define CHORUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

typedef enum { FSYNC_ALWAYS = 0, FSYNC_BATCH = 1, FSYNC_NEVER = 2 } fsync_mode_t;

#define CONFIG_MAX_SEEDS 16
#define CONFIG_HOSTPORT_MAX 128

typedef struct {
  char node_id[65];            /* --node-id; "" = generate / load from data dir */
  uint16_t port;               /* --port, HTTP API (TCP), default 8081 */
  char bind[64];               /* --bind, default "0.0.0.0" */
  char data_dir[4096];         /* --data-dir, default "./data/<node-id>" or "./data/node" */
  fsync_mode_t fsync;          /* --fsync=always|batch|never, default always */
  uint64_t max_value_bytes;    /* --max-value-bytes, default 1 MiB; accepts K, M, KiB, MiB suffixes */
  uint64_t event_retention;    /* --event-retention, default 10000 events, >= 1 */
  uint64_t record_cache_bytes; /* --record-cache, default 64 MiB; 0 = no record cache */
  log_level_t log_level;       /* --log-level=debug|info|warn|error, default info */
  char api_token[256];         /* --api-token, "" = no authentication */
  char tls_cert[4096];         /* --tls-cert: PEM certificate chain of the API; "" = plain HTTP */
  char tls_key[4096];          /* --tls-key: PEM private key of --tls-cert; set with it or not at all */
  int http_threads;            /* --http-threads, default 2, 1..64 */
  char web_root[4096];         /* --web-root: the dashboard's files; "" = found next to the executable
                                  (../web/dist), else ./web/dist (resolved when the server starts) */

  /* membership (SWIM); durations in milliseconds */
  bool gossip;                                       /* --gossip=true|false, default true */
  char seeds[CONFIG_MAX_SEEDS][CONFIG_HOSTPORT_MAX]; /* --seed-node host:port, repeatable, comma-separated */
  size_t n_seeds;
  char advertise[64]; /* --advertise: address peers reach this node at; "" = --bind, or 127.0.0.1 for a
                         wildcard bind */
  uint16_t peer_port; /* --peer-port, TCP (push-pull, later replication); 0 = port + 1000 */
  uint64_t probe_interval_ms, probe_timeout_ms, gossip_interval_ms, push_pull_interval_ms, reap_after_ms;
  int suspicion_mult, indirect_checks, retransmit_mult, gossip_nodes;
  char cluster_key[64]; /* --cluster-key: base64 of 32 bytes; "" = gossip is not encrypted */

  /* replication */
  int replicas, read_quorum, write_quorum; /* --replicas N, --read-quorum R, --write-quorum W (R, W <= N;
                                              default a majority of N) */
  int vnodes;                              /* --vnodes, ring tokens per member */
  uint64_t request_timeout_ms;             /* --request-timeout */
  uint64_t max_hints;                      /* --max-hints */
  uint64_t hint_ttl_ms;                    /* --hint-ttl */
  bool merkle_tree;                        /* --merkle-tree */
  bool rebuild_merkle_tree;                /* --rebuild-merkle-tree */
  uint64_t anti_entropy_interval_ms;       /* --anti-entropy-interval, 0: off */
  uint64_t repair_rate;                    /* --repair-rate, keys/s */
  uint64_t tombstone_grace_ms;             /* --tombstone-grace */
  uint64_t transfer_rate;                  /* --transfer-rate, MB/s of ownership transfers */
  int transfer_concurrency;                /* --transfer-concurrency, range streams at once */
} config_t;

typedef enum {
  CONFIG_RUN = 0,     /* start the node */
  CONFIG_HELP = 1,    /* --help was given: print config_usage() and exit 0 */
  CONFIG_VERSION = 2, /* --version was given */
} config_action_t;

void config_defaults(config_t *c);
/* Parses argv (argv[0] is the program) over the CHORUS_* variables found in
 * envp (NULL-terminated "NAME=value" strings; may be NULL). On error returns
 * CHORUS_EINVAL and writes one line naming the flag (or variable) and the
 * problem into err (errlen bytes), e.g.
 * "--port: expected an integer in 1..65535, got 'abc'". *action is set on success. */
int config_parse(config_t *c, int argc, char *const argv[], char *const envp[], config_action_t *action,
                 char *err, size_t errlen);
/* Static text of --help. */
const char *config_usage(void);
const char *config_fsync_name(fsync_mode_t m);

#endif
