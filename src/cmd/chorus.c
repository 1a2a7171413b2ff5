/*
 * chorus.c - the `chorus` command-line client: finds the command, parses
 * its flags (chorus_opts.c), opens an HTTP handle on the node and runs
 * the command. The only place that exits.
 *
 * Exit codes (chorus_exit.h, docs/client.md): 0 ok, 1 not found, 2 usage,
 * 3 conflict (get --fail-on-conflict), 4 quorum not reached or unavailable
 * (503), 5 the node cannot be reached, 6 authentication refused (401/403),
 * 7 any other error.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "chorus_bench.h"
#include "chorus_cmd.h"
#include "chorus_exit.h"
#include "chorus_opts.h"

typedef struct {
  const char *name;
  unsigned groups;
  int min_args, max_args;
  const char *synopsis;
  const char *summary;
  int (*run)(const chorus_run_t *run); /* NULL: bench */
} command_t;

#define W CHORUS_OPTG_WRITE
static const command_t COMMANDS[] = {
    {"get", CHORUS_OPTG_READ, 1, 1, "KEY", "read a key: its value, or every sibling, and the context",
     chorus_data_get},
    {"put", W, 2, 2, "KEY VALUE|-",
     "write a value (- reads it from stdin), sending back the context of a read made first", chorus_data_put},
    {"delete", W, 1, 1, "KEY", "delete a key, sending back the context of a read made first",
     chorus_data_delete},
    {"members", 0, 0, 0, "", "the members as this node sees them (SWIM status, incarnation)",
     chorus_cluster_members},
    {"ring", 0, 0, 0, "", "the ring's members, their tokens and their share of the keys",
     chorus_cluster_ring},
    {"lookup", 0, 1, 1, "KEY", "where a key lives: token, preference list, coordinator",
     chorus_cluster_lookup},
    {"status", 0, 0, 0, "", "the node: storage, cluster, hints, transfers", chorus_cluster_status},
    {"transfers", 0, 0, 0, "", "ownership transfers (range streams, hand-off) on this node",
     chorus_cluster_transfers},
    {"repair", CHORUS_OPTG_REPAIR, 0, 0, "", "anti-entropy: show its state, or start a round (--start)",
     chorus_cluster_repair},
    {"events", CHORUS_OPTG_EVENTS, 0, 0, "",
     "the cluster's merged event log; --follow keeps printing new events", chorus_events_run},
    {"keys", CHORUS_OPTG_KEYS, 0, 2, "[OP [KEY]]",
     "gossip and peer keys: list, or install, use, remove KEY on every member", chorus_keys_run},
    {"bench", CHORUS_OPTG_BENCH, 0, 0, "", "load the cluster with reads and writes; throughput and latency",
     NULL},
};
#undef W
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static const char EXIT_CODES[] =
    "exit codes:\n"
    "  0  ok\n"
    "  1  not found (404)\n"
    "  2  bad command line\n"
    "  3  the key has siblings (get --fail-on-conflict)\n"
    "  4  quorum not reached or unavailable (503); repair --wait not done in time\n"
    "  5  the node cannot be reached (refused, timed out)\n"
    "  6  authentication refused (401, 403): missing or wrong --token\n"
    "  7  any other error answer\n";

static void usage(FILE *f) {
  fprintf(f, "usage: chorus [flags] COMMAND [flags] [args]\n\ncommands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-10s %-12s %s\n", COMMANDS[i].name, COMMANDS[i].synopsis, COMMANDS[i].summary);
  fprintf(f, "\nflags of every command:\n");
  chorus_opts_usage(f, CHORUS_OPTG_COMMON);
  fprintf(f, "\n%s\nchorus COMMAND --help shows the flags of a command; docs/client.md has examples.\n",
          EXIT_CODES);
}

static void command_usage(FILE *f, const command_t *c) {
  fprintf(f, "usage: chorus %s [flags]%s%s\n\n%s.\n\nflags:\n", c->name, c->synopsis[0] ? " " : "",
          c->synopsis, c->summary);
  chorus_opts_usage(f, c->groups | CHORUS_OPTG_COMMON);
  fprintf(f, "\n%s", EXIT_CODES);
}

static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig) {
  (void)sig;
  stop_flag = 1;
}

static int run_command(const command_t *c, const chorus_opts_t *o) {
  /* Commands that run until interrupted (bench, events --follow, repair --wait) end cleanly on SIGINT
   * and report what they have; a single request keeps the default, dying at once. */
  if (!c->run || o->follow || o->wait) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: a sleep or a poll returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
  }
  signal(SIGPIPE, SIG_IGN);
  if (!c->run) return chorus_bench_run(&o->bench, &o->http, &stop_flag);
  chorus_http_t *h = NULL;
  if (chorus_http_new(&o->http, &h)) return chorus_exit_fail(CHORUS_EXIT_SERVER, "cannot set up libcurl");
  chorus_run_t run = {h, o, &stop_flag};
  int code = c->run(&run);
  chorus_http_free(h);
  return code;
}

int main(int argc, char **argv) {
  static chorus_opts_t o; /* large (the bench's node list): off the stack */
  char err[512];
  int next = 0;
  chorus_opts_defaults(&o);
  if (chorus_opts_parse(&o, argc, argv, CHORUS_OPTG_COMMON, true, &next, err, sizeof err)) {
    fprintf(stderr, "chorus: %s (chorus --help)\n", err);
    return CHORUS_EXIT_USAGE;
  }
  if (next >= argc || strcmp(argv[next], "help") == 0) {
    usage(o.help || next < argc ? stdout : stderr);
    return o.help || next < argc ? CHORUS_EXIT_OK : CHORUS_EXIT_USAGE;
  }
  const command_t *c = NULL;
  for (size_t i = 0; i < N_COMMANDS && !c; i++)
    if (strcmp(argv[next], COMMANDS[i].name) == 0) c = &COMMANDS[i];
  if (!c) {
    fprintf(stderr, "chorus: unknown command '%s' (chorus --help)\n", argv[next]);
    return CHORUS_EXIT_USAGE;
  }
  if (chorus_opts_parse(&o, argc - next, argv + next, c->groups | CHORUS_OPTG_COMMON, false, NULL, err,
                        sizeof err)) {
    fprintf(stderr, "chorus %s: %s (chorus %s --help)\n", c->name, err, c->name);
    return CHORUS_EXIT_USAGE;
  }
  if (o.help) {
    command_usage(stdout, c);
    return CHORUS_EXIT_OK;
  }
  if (o.nargs < c->min_args || o.nargs > c->max_args) {
    fprintf(stderr, "chorus %s: expected %s%s (chorus %s --help)\n", c->name,
            c->synopsis[0] ? c->synopsis : "no arguments", c->synopsis[0] ? " as arguments" : "", c->name);
    return CHORUS_EXIT_USAGE;
  }
  if (chorus_opts_finish(&o, err, sizeof err)) {
    fprintf(stderr, "chorus %s: %s\n", c->name, err);
    return CHORUS_EXIT_USAGE;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "chorus: cannot initialise libcurl\n");
    return CHORUS_EXIT_SERVER;
  }
  int code = run_command(c, &o);
  curl_global_cleanup();
  return code;
}
