/*
 * log.c - leveled one-line logging to stderr (see log.h).
 *
 * Owns the process-wide level and node id. Invariants:
 * - a line is "<UTC time with ms>Z LEVEL node=<id or -> message\n", at most
 *   LOG_LINE_MAX bytes, built in a stack buffer and handed to one write(2);
 *   LOG_LINE_MAX <= PIPE_BUF, so even on a pipe the kernel never splits or
 *   interleaves lines of different threads;
 * - a message never spans lines: control bytes become '?', and a message that
 *   does not fit ends in "...";
 * - the level is atomic (read by every thread, may be changed at run time);
 *   the node id is plain data, written only before threads start;
 * - log_msg preserves errno, so callers may log between a failure and its
 *   report.
 */
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

#define LOG_LINE_MAX 2048
#define LOG_ELLIPSIS "..."
_Static_assert(LOG_LINE_MAX <= PIPE_BUF, "a line must be one atomic pipe write");

static atomic_int log_level = LOG_INFO;
static char log_node[65];

/* Upper case as they appear in lines; log_level_parse ignores case, so the
 * two round-trip. */
static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
#define LEVEL_COUNT (sizeof level_names / sizeof level_names[0])

void log_set_level(log_level_t lvl) {
  atomic_store_explicit(&log_level, (int)lvl, memory_order_relaxed);
}

void log_set_node(const char *node_id) {
  snprintf(log_node, sizeof log_node, "%s", node_id ? node_id : "");
}

int log_level_parse(const char *s, log_level_t *out) {
  if (!s) return CHORUS_EINVAL;
  for (size_t i = 0; i < LEVEL_COUNT; i++) {
    if (strcasecmp(s, level_names[i]) == 0) {
      *out = (log_level_t)i;
      return 0;
    }
  }
  return CHORUS_EINVAL;
}

const char *log_level_name(log_level_t lvl) {
  return (unsigned)lvl < LEVEL_COUNT ? level_names[lvl] : "UNKNOWN";
}

/* "2026-11-21T23:59:00.123Z LEVEL node=id "; returns its length. */
static size_t format_prefix(char *line, size_t cap, log_level_t lvl) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(line, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  int r = snprintf(line + n, cap - n, ".%03ldZ %s node=%s ", ts.tv_nsec / 1000000L, log_level_name(lvl),
                   log_node[0] ? log_node : "-");
  return r < 0 ? n : n + (size_t)r;
}

/* Formats the message after the prefix, keeping one byte for the newline;
 * returns the message length. */
static size_t format_message(char *msg, size_t cap, const char *fmt, va_list ap) {
  int r = vsnprintf(msg, cap - 1, fmt, ap);
  if (r < 0) return 0;
  size_t len = (size_t)r;
  if (len >= cap - 1) {
    len = cap - 2;
    memcpy(msg + len - (sizeof LOG_ELLIPSIS - 1), LOG_ELLIPSIS, sizeof LOG_ELLIPSIS - 1);
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)msg[i];
    if (ch < 0x20 || ch == 0x7f) msg[i] = '?';
  }
  return len;
}

void log_msg(log_level_t lvl, const char *fmt, ...) {
  if ((int)lvl < atomic_load_explicit(&log_level, memory_order_relaxed)) return;
  int saved_errno = errno;
  char line[LOG_LINE_MAX];
  size_t n = format_prefix(line, sizeof line, lvl);
  va_list ap;
  va_start(ap, fmt);
  n += format_message(line + n, sizeof line - n, fmt, ap);
  va_end(ap);
  line[n++] = '\n';
  while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR) {
  }
  errno = saved_errno;
}
