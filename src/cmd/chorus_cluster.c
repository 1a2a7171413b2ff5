/*
 * chorus_cluster.c - the introspection commands of the `chorus` client:
 * members, ring, lookup, status, transfers and repair. Each is one GET
 * (repair --start a POST first) rendered as a table or a block, or passed
 * through unchanged with --json; what each field means is docs/api.md's.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/err.h"
#include "chorus_cmd.h"
#include "chorus_exit.h"
#include "chorus_table.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* GET path; on success with text output, show(json) prints it. */
static int fetch_and_show(const chorus_run_t *run, const char *what, const char *path,
                          int (*show)(const json_t *j)) {
  chorus_reply_t rep;
  chorus_reply_init(&rep);
  int code = chorus_cmd_fetch(run, what, path, &rep);
  if (!code && !run->opts->json) code = show(rep.json);
  chorus_reply_free(&rep);
  return code;
}

static int table_or_fail(int rc) {
  return rc ? chorus_exit_fail(CHORUS_EXIT_SERVER, "cannot print the table: %s", chorus_strerror(rc)) : 0;
}

static int show_members(const json_t *j) {
  static const char *const heads[] = {"NODE", "ADDRESS", "STATUS", "PHASE", "INCARNATION", "LAST SEEN"};
  static const char *const fields[] = {"node_id", "address", "status", "phase", "incarnation", "last_seen"};
  int rc = chorus_table_objects(stdout, json_object_get(j, "cluster_members"), N_OF(heads), heads, fields);
  printf("%" JSON_INTEGER_FORMAT " members, %" JSON_INTEGER_FORMAT " alive\n",
         json_integer_value(json_object_get(j, "total_members")),
         json_integer_value(json_object_get(j, "alive_members")));
  return table_or_fail(rc);
}

int chorus_cluster_members(const chorus_run_t *run) {
  return fetch_and_show(run, "members", "/gossip/members", show_members);
}

static const char *const RING_HEADS[] = {"NODE", "STATUS", "PHASE", "ADDRESS", "VNODES", "OWNERSHIP"};
static const char *const RING_FIELDS[] = {"node_id", "status", "phase", "address", "vnodes", "ownership%"};

static int show_ring(const json_t *j) {
  printf("ring %s: %zu members, %" JSON_INTEGER_FORMAT " replicas, %" JSON_INTEGER_FORMAT
         " vnodes each, %" JSON_INTEGER_FORMAT " in all%s\n",
         chorus_json_str(j, "version") ? chorus_json_str(j, "version") : "?",
         json_array_size(json_object_get(j, "members")), json_integer_value(json_object_get(j, "replicas")),
         json_integer_value(json_object_get(j, "vnodes_per_member")),
         json_integer_value(json_object_get(j, "total_vnodes")),
         json_is_true(json_object_get(j, "under_replicated"))
             ? " (under-replicated: fewer members than replicas)"
             : "");
  int rc =
      chorus_table_objects(stdout, json_object_get(j, "members"), N_OF(RING_HEADS), RING_HEADS, RING_FIELDS);
  const json_t *next = json_object_get(j, "next");
  if (!rc && json_is_true(json_object_get(j, "moving")) && json_is_object(next)) {
    printf("ownership moving to ring %s:\n",
           chorus_json_str(next, "version") ? chorus_json_str(next, "version") : "?");
    rc = chorus_table_objects(stdout, json_object_get(next, "members"), N_OF(RING_HEADS), RING_HEADS,
                              RING_FIELDS);
  }
  return table_or_fail(rc);
}

int chorus_cluster_ring(const chorus_run_t *run) {
  return fetch_and_show(run, "ring", "/api/v1/ring", show_ring);
}

/* "n3 (alive)": a member of the preference list with its status (ctx: the statuses). */
static void member_item(const json_t *v, const json_t *statuses, char *out, size_t cap) {
  const char *id = json_string_value(v);
  const char *st = chorus_json_str(statuses, id ? id : "");
  snprintf(out, cap, "%s (%s)", id ? id : "?", st ? st : "?");
}

static int show_lookup(const json_t *j) {
  char prefs[2048];
  chorus_table_join_with(json_object_get(j, "preference_list"), member_item, json_object_get(j, "statuses"),
                         prefs, sizeof prefs);
  static const char *const before[][2] = {{"key:", "key"}, {"token:", "token"}, {"position:", "position"}};
  static const char *const after[][2] = {{"coordinator:", "coordinator"},
                                         {"fallbacks:", "fallbacks"},
                                         {"pending:", "pending"},
                                         {"replicas:", "replicas"},
                                         {"ring:", "ring_version"}};
  chorus_table_fields(stdout, j, before, N_OF(before));
  chorus_table_kv(stdout, "preference:", "%s", prefs);
  chorus_table_fields(stdout, j, after, N_OF(after));
  return 0;
}

int chorus_cluster_lookup(const chorus_run_t *run) {
  char path[CHORUS_HTTP_PATH_MAX], what[1100];
  snprintf(what, sizeof what, "lookup %s", run->opts->args[0]);
  if (chorus_http_key_path("/api/v1/ring/lookup/", run->opts->args[0], NULL, path, sizeof path))
    return chorus_exit_fail(CHORUS_EXIT_USAGE, "%s: the key is too long", what);
  return fetch_and_show(run, what, path, show_lookup);
}

static int show_status(const json_t *j) {
  static const char *const pairs[][2] = {
      {"node:", "node_id"},
      {"status:", "status"},
      {"version:", "version"},
      {"started:", "started_at"},
      {"uptime (s):", "uptime_seconds"},
      {"fsync:", "fsync"},
      {"data dir:", "data_dir"},
      {"keys:", "storage.keys"},
      {"conflicts:", "storage.conflicts"},
      {"events:", "storage.events"},
      {"writable:", "storage.writable"},
      {"members:", "cluster.size"},
      {"alive:", "cluster.alive"},
      {"suspected:", "cluster.suspected"},
      {"dead:", "cluster.dead"},
      {"left:", "cluster.left"},
      {"joined:", "cluster.joined"},
      {"ring:", "cluster.ring.version"},
      {"under-repl.:", "cluster.under_replicated"},
      {"hints:", "hints.total"},
      {"phase:", "transfers.phase"},
      {"loop stall:", "loop.longest_stall_ms"},
  };
  chorus_table_fields(stdout, j, pairs, N_OF(pairs));
  const json_t *ring = chorus_json_path(j, "cluster.ring");
  if (ring)
    chorus_table_kv(
        stdout, "quorums:", "N=%" JSON_INTEGER_FORMAT " R=%" JSON_INTEGER_FORMAT " W=%" JSON_INTEGER_FORMAT,
        json_integer_value(json_object_get(ring, "replicas")),
        json_integer_value(json_object_get(ring, "read_quorum")),
        json_integer_value(json_object_get(ring, "write_quorum")));
  json_t *by_owner = (json_t *)chorus_json_path(j, "hints.by_owner");
  for (void *it = json_object_iter(by_owner); it; it = json_object_iter_next(by_owner, it))
    chorus_table_kv(stdout, "  hints for", "%s: %" JSON_INTEGER_FORMAT, json_object_iter_key(it),
                    json_integer_value(json_object_iter_value(it)));
  return 0;
}

int chorus_cluster_status(const chorus_run_t *run) {
  return fetch_and_show(run, "status", "/api/v1/status", show_status);
}

static int show_transfers(const json_t *j) {
  static const char *const top[][2] = {{"node:", "node_id"},
                                       {"phase:", "phase"},
                                       {"refusing:", "refusing_writes"},
                                       {"streams:", "streams_running"},
                                       {"handoff:", "handoff.running"},
                                       {"passes:", "handoff.passes"},
                                       {"keys sent:", "handoff.keys_sent"},
                                       {"keys dropped:", "handoff.keys_dropped"},
                                       {"received:", "totals.keys_received"},
                                       {"failures:", "totals.failures"}};
  static const char *const heads[] = {"ID",   "KIND",  "STATE",   "PEER",    "PROGRESS",
                                      "KEYS", "BYTES", "ETA (s)", "FAILURES"};
  static const char *const fields[] = {"id",   "kind",  "state", "peer",    "progress%",
                                       "keys", "bytes", "eta_s", "failures"};
  chorus_table_fields(stdout, j, top, N_OF(top));
  const json_t *streams = json_object_get(j, "streams");
  if (!json_array_size(streams)) {
    printf("no range streams\n");
    return 0;
  }
  return table_or_fail(chorus_table_objects(stdout, streams, N_OF(heads), heads, fields));
}

int chorus_cluster_transfers(const chorus_run_t *run) {
  return fetch_and_show(run, "transfers", "/api/v1/transfers", show_transfers);
}

static int show_repair(const json_t *j) {
  static const char *const top[][2] = {
      {"enabled:", "enabled"},        {"interval ms:", "interval_ms"},
      {"running:", "running"},        {"queued:", "queued"},
      {"exchanges:", "exchanges"},    {"failed:", "exchanges_failed"},
      {"repaired:", "keys_repaired"}, {"pushed:", "keys_pushed"},
      {"pulled:", "keys_pulled"},     {"reaped:", "tombstones_reaped"},
      {"tree keys:", "tree.keys"},    {"tree root:", "tree.root"},
  };
  static const char *const heads[] = {"PEER",      "RESULT", "STARTED", "MS",
                                      "DIFFERING", "PUSHED", "PULLED",  "IN SYNC"};
  static const char *const fields[] = {"peer",           "result",      "started_at",  "duration_ms",
                                       "keys_differing", "keys_pushed", "keys_pulled", "in_sync"};
  chorus_table_fields(stdout, j, top, N_OF(top));
  const json_t *cur = json_object_get(j, "current");
  if (cur)
    chorus_table_kv(stdout, "current:", "with %s",
                    chorus_json_str(cur, "peer") ? chorus_json_str(cur, "peer") : "?");
  const json_t *last = json_object_get(j, "last_exchange");
  if (!json_object_size(last)) return 0;
  printf("last exchange with each peer:\n");
  return table_or_fail(chorus_table_objects(stdout, last, N_OF(heads), heads, fields));
}

static bool repair_done(const json_t *j) {
  return !json_is_true(json_object_get(j, "running")) &&
         json_integer_value(json_object_get(j, "queued")) == 0;
}

static void nap(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL); /* SIGINT cuts it short */
}

int chorus_cluster_repair(const chorus_run_t *run) {
  const chorus_opts_t *o = run->opts;
  if (!o->start && !o->wait) return fetch_and_show(run, "repair", "/api/v1/repair", show_repair);
  const chorus_http_opts_t *ho = chorus_http_opts(run->http);
  chorus_reply_t rep;
  chorus_reply_init(&rep);
  int code = 0;
  if (o->start) {
    int rc = chorus_http_do(run->http, "POST", "/api/v1/repair", "", NULL, &rep);
    code = chorus_exit_report("repair --start", rc, &rep, ho);
    if (!code && !o->wait) {
      if (o->json)
        printf("%s\n", (const char *)rep.body.data);
      else {
        printf("repair started: %" JSON_INTEGER_FORMAT " peers queued\n",
               json_integer_value(json_object_get(rep.json, "peers_queued")));
        code = show_repair(rep.json);
      }
    }
  }
  uint64_t deadline = clock_mono_ms() + (uint64_t)(o->wait_s * 1000);
  while (!code && o->wait) {
    int rc = chorus_http_do(run->http, "GET", "/api/v1/repair", NULL, NULL, &rep);
    code = chorus_exit_report("repair --wait", rc, &rep, ho);
    if (code) break;
    if (repair_done(rep.json) || *run->stop) {
      if (o->json)
        printf("%s\n", (const char *)rep.body.data);
      else
        code = show_repair(rep.json);
      break;
    }
    if (clock_mono_ms() >= deadline) {
      code =
          chorus_exit_fail(CHORUS_EXIT_UNAVAILABLE, "repair --wait: still running after %.0f s", o->wait_s);
      break;
    }
    nap(0.5);
  }
  chorus_reply_free(&rep);
  return code;
}
