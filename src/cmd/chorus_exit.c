/*
 * chorus_exit.c - exit codes and error lines of the `chorus` client (see
 * chorus_exit.h). Every failure is reported here, once, as one line.
 */
#include "chorus_exit.h"

#include <stdarg.h>
#include <stdio.h>

#include "../common/err.h"

int chorus_exit_of_status(long status) {
  if (status >= 200 && status < 300) return CHORUS_EXIT_OK;
  if (status == 404) return CHORUS_EXIT_NOT_FOUND;
  if (status == 503) return CHORUS_EXIT_UNAVAILABLE;
  if (status == 401 || status == 403) return CHORUS_EXIT_AUTH;
  return CHORUS_EXIT_SERVER;
}

int chorus_exit_of(int rc, const chorus_reply_t *rep) {
  switch (rc) {
  case 0: return chorus_exit_of_status(rep->status);
  case CHORUS_EIO:
  case CHORUS_ETIMEDOUT: return CHORUS_EXIT_UNREACHABLE;
  case CHORUS_ESHUTDOWN: return CHORUS_EXIT_OK; /* interrupted on purpose */
  default: return CHORUS_EXIT_SERVER;
  }
}

int chorus_exit_fail(int code, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "chorus: %s\n", line);
  return code;
}

int chorus_exit_report(const char *what, int rc, const chorus_reply_t *rep, const chorus_http_opts_t *o) {
  int code = chorus_exit_of(rc, rep);
  switch (rc) {
  case 0: break;
  case CHORUS_ESHUTDOWN: return code;
  case CHORUS_EIO: return chorus_exit_fail(code, "%s: cannot reach %s: %s", what, o->base, rep->error);
  case CHORUS_ETIMEDOUT:
    return chorus_exit_fail(code, "%s: no answer from %s within %ld ms", what, o->base, o->timeout_ms);
  case CHORUS_ETOOBIG:
    return chorus_exit_fail(code, "%s: the answer of %s is larger than %u bytes", what, o->base,
                            CHORUS_HTTP_BODY_MAX);
  default: return chorus_exit_fail(code, "%s: %s", what, chorus_strerror(rc));
  }
  if (code == CHORUS_EXIT_OK) return code;
  const char *ecode = chorus_reply_code(rep);
  if (!ecode[0]) /* not one of the node's JSON errors: a proxy, or another server */
    return chorus_exit_fail(code, "%s: HTTP %ld from %s", what, rep->status, o->base);
  return chorus_exit_fail(code, "%s: %ld %s: %s", what, rep->status, ecode, chorus_reply_message(rep));
}
