/*
 * chorus_exit.h - what the `chorus` client's exit codes mean, and the one
 * line on stderr that names the cause of a failure.
 *
 * The codes are a contract with scripts (docs/client.md): they never change
 * meaning. A node's answer maps by status (404 -> 1, 503 -> 4, 401/403 ->
 * 6, any other error status -> 7); no answer at all (refused, timed out,
 * broken off) is 5.
 */
#ifndef CHORUS_CMD_EXIT_H
#define CHORUS_CMD_EXIT_H

#include "chorus_http.h"

enum {
  CHORUS_EXIT_OK = 0,
  CHORUS_EXIT_NOT_FOUND = 1,   /* 404: no such key (or member, or route) */
  CHORUS_EXIT_USAGE = 2,       /* a bad command line */
  CHORUS_EXIT_CONFLICT = 3,    /* get --fail-on-conflict found siblings */
  CHORUS_EXIT_UNAVAILABLE = 4, /* 503: quorum not reached, unavailable, shutting down; or not done in time */
  CHORUS_EXIT_UNREACHABLE = 5, /* no answer: connection refused, timed out, broken off */
  CHORUS_EXIT_AUTH = 6,        /* 401 or 403: the token is missing or wrong */
  CHORUS_EXIT_SERVER = 7,      /* any other error answer, or an answer the client cannot read */
};

/* The exit code of a successful answer's status (2xx -> 0). */
int chorus_exit_of_status(long status);
/* The exit code of a request that returned rc (chorus_http_do) with rep. */
int chorus_exit_of(int rc, const chorus_reply_t *rep);
/* Prints "chorus: WHAT: <cause>" on stderr unless the request succeeded
 * with a 2xx, and returns chorus_exit_of(rc, rep). The cause is the node's
 * error code and message, or why no answer came (naming the node). */
int chorus_exit_report(const char *what, int rc, const chorus_reply_t *rep, const chorus_http_opts_t *o);
/* Prints "chorus: <formatted>" on stderr and returns code. */
int chorus_exit_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
