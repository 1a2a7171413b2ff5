/*
 * log.h - leveled, one-line-per-event logging to stderr.
 *
 * Each line: "2026-11-21T23:59:00.123Z INFO node=node-1 message". A line is
 * formatted into a local buffer and written with one write(2), so lines from
 * different threads never interleave.
 */
#ifndef CHORUS_LOG_H
#define CHORUS_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 } log_level_t;

void log_set_level(log_level_t lvl);
void log_set_node(const char *node_id); /* copied; call before starting threads */
/* Parses "debug|info|warn|error"; CHORUS_EINVAL otherwise. */
int log_level_parse(const char *s, log_level_t *out);
const char *log_level_name(log_level_t lvl);
void log_msg(log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
