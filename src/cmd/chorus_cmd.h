/*
 * chorus_cmd.h - the commands of the `chorus` client, as main calls them.
 *
 * Each command gets its parsed options, an HTTP handle on the node they
 * name, and the flag SIGINT sets; it prints its result (text, or the
 * node's JSON with --json) and returns an exit code of chorus_exit.h,
 * having reported any failure on stderr itself.
 */
#ifndef CHORUS_CMD_CMD_H
#define CHORUS_CMD_CMD_H

#include <signal.h>

#include "chorus_http.h"
#include "chorus_opts.h"

typedef struct {
  chorus_http_t *http;
  const chorus_opts_t *opts;
  volatile sig_atomic_t *stop; /* set by SIGINT */
} chorus_run_t;

/* chorus_data.c */
int chorus_data_get(const chorus_run_t *run);
int chorus_data_put(const chorus_run_t *run);
int chorus_data_delete(const chorus_run_t *run);
/* chorus_cluster.c */
int chorus_cluster_members(const chorus_run_t *run);
int chorus_cluster_ring(const chorus_run_t *run);
int chorus_cluster_lookup(const chorus_run_t *run);
int chorus_cluster_status(const chorus_run_t *run);
int chorus_cluster_transfers(const chorus_run_t *run);
int chorus_cluster_repair(const chorus_run_t *run);
/* chorus_events.c */
int chorus_events_run(const chorus_run_t *run);
/* chorus_keys.c */
int chorus_keys_run(const chorus_run_t *run);

/* One GET of path (already escaped): with --json the body goes to stdout
 * as it came; on success *rep holds the answer for the caller to print
 * (rep is always the caller's to free). Returns an exit code, non-zero
 * after reporting a failure as "chorus: WHAT: cause". */
int chorus_cmd_fetch(const chorus_run_t *run, const char *what, const char *path, chorus_reply_t *rep);

#endif
