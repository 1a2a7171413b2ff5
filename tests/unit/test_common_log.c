/* test_common_log.c - level parsing and names, filtering and the line format of log_msg. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

#define TIMESTAMP_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static int capture_pipe[2] = {-1, -1};
static int saved_stderr = -1;
static char captured[8192];

/* Points fd 2 at a pipe until end_capture; assertions belong after it. */
static void begin_capture(void) {
  assert_int_equal(pipe(capture_pipe), 0);
  saved_stderr = dup(STDERR_FILENO);
  assert_true(saved_stderr >= 0);
  assert_int_equal(dup2(capture_pipe[1], STDERR_FILENO), STDERR_FILENO);
  close(capture_pipe[1]);
}

/* Restores fd 2 and returns what was written meanwhile. */
static const char *end_capture(void) {
  size_t n = 0;
  ssize_t r;
  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  while (n + 1 < sizeof captured && (r = read(capture_pipe[0], captured + n, sizeof captured - 1 - n)) > 0) {
    n += (size_t)r;
  }
  close(capture_pipe[0]);
  captured[n] = '\0';
  return captured;
}

static void assert_matches(const char *text, const char *pattern) {
  regex_t re;
  assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
  int rc = regexec(&re, text, 0, NULL, 0);
  regfree(&re);
  if (rc != 0) fail_msg("'%s' does not match /%s/", text, pattern);
}

static int reset_logger(void **state) {
  log_set_level(LOG_INFO);
  log_set_node("node-1");
  return 0;
}

static void test_level_parse_accepts_the_four_names_in_any_case(void **state) {
  static const struct {
    const char *s;
    log_level_t lvl;
  } ok[] = {
      {"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"error", LOG_ERROR}, {"WARN", LOG_WARN}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    log_level_t lvl = (log_level_t)-1;
    assert_int_equal(log_level_parse(ok[i].s, &lvl), 0);
    assert_int_equal(lvl, ok[i].lvl);
  }
}

static void test_level_parse_rejects_other_names(void **state) {
  static const char *const bad[] = {"", "warning", "trace", "info ", "fatal", "1"};
  log_level_t lvl = LOG_ERROR;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(log_level_parse(bad[i], &lvl), CHORUS_EINVAL);
  assert_int_equal(log_level_parse(NULL, &lvl), CHORUS_EINVAL);
  assert_int_equal(lvl, LOG_ERROR);
}

static void test_level_names_round_trip(void **state) {
  assert_string_equal(log_level_name(LOG_DEBUG), "DEBUG");
  assert_string_equal(log_level_name(LOG_INFO), "INFO");
  assert_string_equal(log_level_name(LOG_WARN), "WARN");
  assert_string_equal(log_level_name(LOG_ERROR), "ERROR");
  assert_string_equal(log_level_name((log_level_t)9), "UNKNOWN");
  for (int l = LOG_DEBUG; l <= LOG_ERROR; l++) {
    log_level_t back;
    assert_int_equal(log_level_parse(log_level_name((log_level_t)l), &back), 0);
    assert_int_equal(back, l);
  }
}

static void test_message_below_level_writes_nothing(void **state) {
  log_set_level(LOG_WARN);
  begin_capture();
  log_debug("hidden %d", 1);
  log_info("hidden %d", 2);
  assert_string_equal(end_capture(), "");
}

static void test_message_at_or_above_level_writes_one_formatted_line(void **state) {
  log_set_level(LOG_WARN);
  begin_capture();
  log_warn("disk %s at %d%%", "full", 99);
  const char *out = end_capture();
  assert_matches(out, "^" TIMESTAMP_RE " WARN node=node-1 disk full at 99%\n$");

  begin_capture();
  log_error("boom");
  assert_matches(end_capture(), "^" TIMESTAMP_RE " ERROR node=node-1 boom\n$");
}

static void test_timestamp_is_current_utc(void **state) {
  struct tm tm = {0};
  begin_capture();
  log_info("now");
  const char *out = end_capture();
  time_t before = time(NULL);
  assert_non_null(strptime(out, "%Y-%m-%dT%H:%M:%S", &tm));
  long skew = (long)(timegm(&tm) - before);
  assert_true(skew >= -5 && skew <= 1);
}

static void test_each_call_writes_exactly_one_line(void **state) {
  log_set_level(LOG_DEBUG);
  begin_capture();
  log_debug("a");
  log_info("b");
  log_warn("line\nbreak\r\ttab");
  const char *out = end_capture();
  size_t lines = 0;
  for (const char *p = out; (p = strchr(p, '\n')) != NULL; p++)
    lines++;
  assert_int_equal(lines, 3);
  assert_non_null(strstr(out, "line?break??tab\n"));
}

static void test_overlong_message_is_cut_with_ellipsis(void **state) {
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  begin_capture();
  log_info("%s", big);
  const char *out = end_capture();
  size_t len = strlen(out);
  assert_true(len <= 2048);
  assert_string_equal(out + len - 5, "x...\n");
  assert_ptr_equal(strchr(out, '\n'), out + len - 1);
}

static void test_unset_node_is_shown_as_dash(void **state) {
  log_set_node(NULL);
  begin_capture();
  log_info("starting");
  assert_matches(end_capture(), "^" TIMESTAMP_RE " INFO node=- starting\n$");
}

static void test_logging_preserves_errno(void **state) {
  begin_capture();
  errno = ENOSPC;
  log_error("write failed");
  int after = errno;
  end_capture();
  assert_int_equal(after, ENOSPC);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_level_parse_accepts_the_four_names_in_any_case, reset_logger),
      cmocka_unit_test_setup(test_level_parse_rejects_other_names, reset_logger),
      cmocka_unit_test_setup(test_level_names_round_trip, reset_logger),
      cmocka_unit_test_setup(test_message_below_level_writes_nothing, reset_logger),
      cmocka_unit_test_setup(test_message_at_or_above_level_writes_one_formatted_line, reset_logger),
      cmocka_unit_test_setup(test_timestamp_is_current_utc, reset_logger),
      cmocka_unit_test_setup(test_each_call_writes_exactly_one_line, reset_logger),
      cmocka_unit_test_setup(test_overlong_message_is_cut_with_ellipsis, reset_logger),
      cmocka_unit_test_setup(test_unset_node_is_shown_as_dash, reset_logger),
      cmocka_unit_test_setup(test_logging_preserves_errno, reset_logger),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
