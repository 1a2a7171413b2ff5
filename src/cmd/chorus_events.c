/*
 * chorus_events.c - `chorus events [--follow]`: the cluster's merged event
 * log (GET /api/v1/cluster/events), one line per event.
 *
 * Following: event ids count per member. The client keeps a cursor per
 * member (the highest id shown; at the start, the member's `total`), asks
 * with every cursor (?since=node:id,...; a member it does not know yet
 * gives its newest page), shows each member's events past its own cursor,
 * and asks again at once while some member's `total` is still past its
 * cursor (more than a page behind), at most EVENTS_ASKS_PER_POLL asks per
 * poll. A member whose total falls below its cursor started a new log (a
 * wiped store): its cursor restarts at 0. Cursors that would make the URL
 * longer than EVENTS_URL_MAX are left out; those members' pages are
 * filtered by their cursors here instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/err.h"
#include "chorus_cmd.h"
#include "chorus_exit.h"
#include "chorus_table.h"

#define EVENTS_MAX_MEMBERS 256
#define EVENTS_PAGE 1000
#define EVENTS_ASKS_PER_POLL 8
#define EVENTS_URL_MAX 4096

typedef struct {
  char node[72];
  uint64_t cursor; /* highest id shown (or skipped as history) */
  uint64_t total;  /* as the member last reported */
} cursor_t;

typedef struct {
  cursor_t c[EVENTS_MAX_MEMBERS];
  size_t n;
} cursors_t;

static cursor_t *cursor_of(cursors_t *cs, const char *node) {
  for (size_t i = 0; i < cs->n; i++)
    if (strcmp(cs->c[i].node, node) == 0) return &cs->c[i];
  if (cs->n == EVENTS_MAX_MEMBERS || strlen(node) >= sizeof cs->c[0].node) return NULL;
  cursor_t *c = &cs->c[cs->n++];
  snprintf(c->node, sizeof c->node, "%s", node);
  c->cursor = c->total = 0;
  return c;
}

static void print_event(const json_t *e, bool json) {
  if (json) {
    char *line = json_dumps(e, JSON_COMPACT);
    if (line) printf("%s\n", line);
    free(line);
    return;
  }
  const char *peer = chorus_json_str(e, "peer");
  const char *key = chorus_json_str(e, "key");
  const json_t *v = json_object_get(e, "value");
  printf("%-24s %-10s %7" JSON_INTEGER_FORMAT " %-14s %s",
         chorus_json_str(e, "timestamp") ? chorus_json_str(e, "timestamp") : "-",
         chorus_json_str(e, "node_id") ? chorus_json_str(e, "node_id") : "-",
         json_integer_value(json_object_get(e, "id")),
         chorus_json_str(e, "type") ? chorus_json_str(e, "type") : "-", key && key[0] ? key : "-");
  if (peer) printf("  peer=%s", peer);
  if (json_string_length(v)) {
    fputs("  ", stdout);
    chorus_table_value(stdout, json_string_value(v), json_string_length(v), 1);
  }
  fputc('\n', stdout);
}

/* Shows the events of one answer past their member's cursor, and takes each
 * member's total. Returns whether some member still has events not shown. */
static bool take_events(cursors_t *cs, const json_t *j, bool json) {
  const json_t *nodes = json_object_get(j, "nodes"), *events = json_object_get(j, "events");
  for (size_t i = 0; i < json_array_size(nodes); i++) {
    const json_t *n = json_array_get(nodes, i);
    const char *id = chorus_json_str(n, "node_id");
    cursor_t *c = id && json_is_true(json_object_get(n, "ok")) ? cursor_of(cs, id) : NULL;
    if (!c) continue;
    c->total = (uint64_t)json_integer_value(json_object_get(n, "total"));
    if (c->total < c->cursor) c->cursor = 0; /* a new log */
  }
  /* shown against the cursors as they were: a page orders by time, not by id */
  for (size_t i = 0; i < json_array_size(events); i++) {
    const json_t *e = json_array_get(events, i);
    cursor_t *c = chorus_json_str(e, "node_id") ? cursor_of(cs, chorus_json_str(e, "node_id")) : NULL;
    if (c && (uint64_t)json_integer_value(json_object_get(e, "id")) > c->cursor) print_event(e, json);
  }
  for (size_t i = 0; i < json_array_size(events); i++) {
    const json_t *e = json_array_get(events, i);
    cursor_t *c = chorus_json_str(e, "node_id") ? cursor_of(cs, chorus_json_str(e, "node_id")) : NULL;
    uint64_t eid = (uint64_t)json_integer_value(json_object_get(e, "id"));
    if (c && eid > c->cursor) c->cursor = eid;
  }
  bool pending = false;
  for (size_t k = 0; k < cs->n; k++)
    pending |= cs->c[k].total > cs->c[k].cursor;
  fflush(stdout);
  return pending;
}

/* The route's path asking from every cursor (since: for the first ask, before any is known). */
static void events_path(const cursors_t *cs, uint64_t since, int limit, char *out, size_t cap) {
  int n = snprintf(out, cap, "/api/v1/cluster/events?limit=%d&since=", limit);
  if (!cs || !cs->n) {
    snprintf(out + n, cap - (size_t)n, "%llu", (unsigned long long)since);
    return;
  }
  size_t at = (size_t)n;
  for (size_t i = 0; i < cs->n; i++) {
    char id[256]; /* the node id, escaped (ids may hold ':') */
    if (chorus_http_key_path("", cs->c[i].node, NULL, id, sizeof id) != 0) continue; /* filtered here */
    int w = snprintf(out + at, cap - at, "%s%s:%llu", at > (size_t)n ? "," : "", id,
                     (unsigned long long)cs->c[i].cursor);
    if (w < 0 || (size_t)w >= cap - at) {
      out[at] = '\0'; /* the URL is full: the rest are filtered here */
      break;
    }
    at += (size_t)w;
  }
}

static int ask(const chorus_run_t *run, const cursors_t *cs, uint64_t since, int limit, chorus_reply_t *rep) {
  static char path[EVENTS_URL_MAX];
  events_path(cs, since, limit, path, sizeof path);
  int rc = chorus_http_do(run->http, "GET", path, NULL, NULL, rep);
  if (rc == CHORUS_ESHUTDOWN) return CHORUS_EXIT_OK;
  int code = chorus_exit_report("events", rc, rep, chorus_http_opts(run->http));
  if (!code && !rep->json)
    code = chorus_exit_fail(CHORUS_EXIT_SERVER, "events: the answer is not a JSON object");
  return code;
}

static void nap(double s, volatile sig_atomic_t *stop) {
  for (double left = s; left > 0 && !*stop; left -= 0.05) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

int chorus_events_run(const chorus_run_t *run) {
  const chorus_opts_t *o = run->opts;
  chorus_reply_t rep;
  chorus_reply_init(&rep);
  if (!o->follow) {
    char path[128];
    snprintf(path, sizeof path, "/api/v1/cluster/events?limit=%d&since=%llu", o->limit,
             (unsigned long long)o->since);
    int code = chorus_cmd_fetch(run, "events", path, &rep);
    if (!code && !o->json) {
      const json_t *events = json_object_get(rep.json, "events"), *nodes = json_object_get(rep.json, "nodes");
      for (size_t i = 0; i < json_array_size(events); i++)
        print_event(json_array_get(events, i), false);
      for (size_t i = 0; i < json_array_size(nodes); i++) {
        const json_t *n = json_array_get(nodes, i);
        if (!json_is_true(json_object_get(n, "ok")))
          fprintf(stderr, "chorus: events: no events from %s (%s)\n",
                  chorus_json_str(n, "node_id") ? chorus_json_str(n, "node_id") : "?",
                  chorus_json_str(n, "error") ? chorus_json_str(n, "error") : "no answer");
      }
    }
    chorus_reply_free(&rep);
    return code;
  }
  static cursors_t cs; /* 20 KB: off the stack; one follow per process */
  cs.n = 0;
  chorus_http_abort_on(run->http, run->stop);
  int code = ask(run, NULL, o->since, o->limit, &rep);
  bool pending = !code && !*run->stop && take_events(&cs, rep.json, o->json);
  for (size_t i = 0; i < cs.n && !o->since; i++)
    cs.c[i].cursor = cs.c[i].total; /* what came before the start is history, shown by the page above */
  while (!code && !*run->stop) {
    if (!pending) nap(o->interval_s, run->stop);
    for (int asks = 0; !code && !*run->stop && asks < EVENTS_ASKS_PER_POLL; asks++) {
      code = ask(run, &cs, 0, EVENTS_PAGE, &rep);
      if (code || *run->stop || !(pending = take_events(&cs, rep.json, o->json))) break;
    }
  }
  chorus_reply_free(&rep);
  return code;
}
