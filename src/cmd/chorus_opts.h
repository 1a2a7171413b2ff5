/*
 * chorus_opts.h - the `chorus` client's command line: every flag of every
 * command in one table (name, argument, group, help line), parsed by
 * getopt_long into one chorus_opts_t.
 *
 * A command accepts the common flags plus the groups it names, so a flag
 * means the same thing wherever it is accepted, and `chorus CMD --help`
 * lists exactly the flags CMD takes. Flags may come before the command
 * (common ones only) or anywhere after it. Defaults come from CHORUS_NODE
 * and CHORUS_TOKEN, then the flags. Parsing never prints: a bad command
 * line is CHORUS_EINVAL with one line in the error buffer.
 */
#ifndef CHORUS_CMD_OPTS_H
#define CHORUS_CMD_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chorus_bench.h"
#include "chorus_http.h"

enum {
  CHORUS_OPTG_COMMON = 1,
  CHORUS_OPTG_READ = 2,   /* get */
  CHORUS_OPTG_WRITE = 4,  /* put, delete */
  CHORUS_OPTG_REPAIR = 8, /* repair */
  CHORUS_OPTG_EVENTS = 16,
  CHORUS_OPTG_BENCH = 32,
  CHORUS_OPTG_KEYS = 64,
};

#define CHORUS_OPTS_MAX_ARGS 8

typedef struct {
  chorus_http_opts_t http;
  char node[CHORUS_HTTP_URL_MAX]; /* as given (--node, CHORUS_NODE, or the default) */
  bool json, help;
  /* get */
  bool context_only, value_only, fail_on_conflict, local;
  int r; /* 0: the node's default */
  /* put, delete */
  const char *context; /* NULL: read it first (unless blind) */
  bool blind;
  int w;                   /* 0: the node's default */
  const char *consistency; /* NULL, one, quorum or all */
  const char *request_id;
  /* repair */
  bool start, wait;
  double wait_s;
  /* events */
  bool follow;
  int limit; /* per member, 1..1000 */
  uint64_t since;
  double interval_s;
  /* bench */
  const char *nodes; /* --nodes as given; NULL: --node */
  bool no_progress;
  chorus_bench_cfg_t bench;
  /* positional arguments after the command */
  const char *args[CHORUS_OPTS_MAX_ARGS];
  int nargs;
} chorus_opts_t;

/* Sets the defaults, then CHORUS_NODE and CHORUS_TOKEN from the environment. */
void chorus_opts_defaults(chorus_opts_t *o);
/* Parses argv[0..argc) (argv[0] is skipped as the program or the command)
 * for the flags of groups. With stop_at_command, stops at the first
 * non-flag word and sets *next to its index; otherwise every non-flag word
 * is a positional argument. err gets one line on CHORUS_EINVAL. */
int chorus_opts_parse(chorus_opts_t *o, int argc, char **argv, unsigned groups, bool stop_at_command,
                      int *next, char *err, size_t errlen);
/* Turns o->node into o->http.base (and the bench's --nodes into base URLs). */
int chorus_opts_finish(chorus_opts_t *o, char *err, size_t errlen);
/* One line per flag of groups: "  --name ARG   help". */
void chorus_opts_usage(FILE *f, unsigned groups);

#endif
