/*
 * chorus_fetch.c - the read every introspection command starts with: one
 * GET, its JSON passed through unchanged with --json, a failure reported
 * once (see chorus_cmd_fetch in chorus_cmd.h).
 */
#include <stdio.h>

#include "chorus_cmd.h"
#include "chorus_exit.h"

int chorus_cmd_fetch(const chorus_run_t *run, const char *what, const char *path, chorus_reply_t *rep) {
  int rc = chorus_http_do(run->http, "GET", path, NULL, NULL, rep);
  if (!rc && run->opts->json && rep->body.len) {
    fwrite(rep->body.data, 1, rep->body.len, stdout);
    fputc('\n', stdout);
  }
  int code = chorus_exit_report(what, rc, rep, chorus_http_opts(run->http));
  if (!code && !rep->json && !run->opts->json)
    code = chorus_exit_fail(CHORUS_EXIT_SERVER, "%s: the answer is not a JSON object", what);
  return code;
}
