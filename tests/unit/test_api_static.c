/*
 * test_api_static.c - the pure parts of serving the dashboard: which paths
 * may name a file, their content types and cache policies, and ETag
 * matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/static.h"
#include "common/err.h"

static void expect_clean(const char *url, const char *want) {
  char out[256];
  int rc = static_path_clean(url, out, sizeof out);
  if (rc != 0) fail_msg("%s: rc %d", url, rc);
  assert_string_equal(out, want);
}

static void expect_refused(const char *url, int want) {
  char out[256];
  int rc = static_path_clean(url, out, sizeof out);
  if (rc != want) fail_msg("%s: rc %d, expected %d", url, rc, want);
}

static void test_paths_are_made_relative_without_empty_segments(void **state) {
  expect_clean("/", "");
  expect_clean("/index.html", "index.html");
  expect_clean("/assets/app-1a2b.js", "assets/app-1a2b.js");
  expect_clean("//assets///x.css/", "assets/x.css");
  expect_clean("/ring/node-1", "ring/node-1");
  expect_clean("/caf\xc3\xa9.txt", "caf\xc3\xa9.txt");
  expect_clean("/a..b/c...", "a..b/c...");
}

static void test_traversal_control_bytes_and_bad_utf8_are_refused(void **state) {
  expect_refused("/..", CHORUS_EINVAL);
  expect_refused("/../etc/passwd", CHORUS_EINVAL);
  expect_refused("/assets/../../etc/passwd", CHORUS_EINVAL);
  expect_refused("/assets/..", CHORUS_EINVAL);
  expect_refused("/./index.html", CHORUS_EINVAL);
  expect_refused("/a\\..\\b", CHORUS_EINVAL);
  expect_refused("/a\tb", CHORUS_EINVAL);
  expect_refused("/a\x7f", CHORUS_EINVAL);
  expect_refused("/a\xc0\x80"
                 "b",
                 CHORUS_EINVAL); /* how the server spells an encoded NUL */
  expect_refused("/\xff", CHORUS_EINVAL);
}

static void test_hidden_names_are_not_found(void **state) {
  expect_refused("/.env", CHORUS_ENOTFOUND);
  expect_refused("/assets/.git/config", CHORUS_ENOTFOUND);
  expect_refused("/.git/../x", CHORUS_EINVAL); /* the traversal is reported first */
}

static void test_long_paths_do_not_overflow(void **state) {
  char url[600], out[16];
  memset(url, 'a', sizeof url - 1);
  url[0] = '/';
  url[sizeof url - 1] = '\0';
  assert_int_equal(static_path_clean(url, out, sizeof out), CHORUS_ETOOBIG);
  assert_int_equal(static_path_clean("/abcdefghijklmnop", out, sizeof out), CHORUS_ETOOBIG); /* 16 + NUL */
  assert_int_equal(static_path_clean("/abcdefghijklmno", out, sizeof out), 0);               /* 15 + NUL */
}

static void test_extensions_tell_files_from_client_routes(void **state) {
  assert_true(static_has_extension("index.html"));
  assert_true(static_has_extension("assets/app.js"));
  assert_false(static_has_extension(""));
  assert_false(static_has_extension("ring"));
  assert_false(static_has_extension("v1.2/members")); /* a dot in a directory only */
  assert_false(static_has_extension("trailing."));
}

static void test_content_types(void **state) {
  static const char *const cases[][2] = {
      {"index.html", "text/html; charset=utf-8"},
      {"assets/a.js", "text/javascript; charset=utf-8"},
      {"assets/a.mjs", "text/javascript; charset=utf-8"},
      {"assets/a.css", "text/css; charset=utf-8"},
      {"logo.svg", "image/svg+xml"},
      {"logo.PNG", "image/png"},
      {"favicon.ico", "image/x-icon"},
      {"data.json", "application/json"},
      {"assets/a.js.map", "application/json"},
      {"assets/f.woff2", "font/woff2"},
      {"robots.txt", "text/plain; charset=utf-8"},
      {"blob.bin", "application/octet-stream"},
      {"README", "application/octet-stream"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_string_equal(static_content_type(cases[i][0]), cases[i][1]);
}

static void test_hashed_assets_are_immutable_and_the_rest_revalidated(void **state) {
  assert_string_equal(static_cache_control("assets/index-4f3a.js"), "public, max-age=31536000, immutable");
  assert_string_equal(static_cache_control("index.html"), "no-cache");
  assert_string_equal(static_cache_control("favicon.ico"), "no-cache");
  assert_string_equal(static_cache_control("assetsx/a.js"), "no-cache");
}

static void test_etag_matching(void **state) {
  const char *tag = "\"1f-abc\"";
  assert_true(static_etag_match("\"1f-abc\"", tag));
  assert_true(static_etag_match("W/\"1f-abc\"", tag));
  assert_true(static_etag_match("\"x\", \"1f-abc\"", tag));
  assert_true(static_etag_match("*", tag));
  assert_false(static_etag_match("\"1f-abd\"", tag));
  assert_false(static_etag_match("1f-abc", tag));
  assert_false(static_etag_match("", tag));
  assert_false(static_etag_match("\"1f-abc\"x", tag));
}

static void test_root_resolution(void **state) {
  char out[PATH_MAX], cwd[PATH_MAX];
  assert_non_null(getcwd(cwd, sizeof cwd));
  static_root_resolve(".", out, sizeof out);
  assert_string_equal(out, cwd); /* an existing root becomes absolute */
  static_root_resolve("/no/such/dir", out, sizeof out);
  assert_string_equal(out, "/no/such/dir");
  static_root_resolve("", out, sizeof out); /* the default: some web/dist */
  size_t n = strlen(out);
  assert_true(n >= 8 && strcmp(out + n - 8, "web/dist") == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_paths_are_made_relative_without_empty_segments),
      cmocka_unit_test(test_traversal_control_bytes_and_bad_utf8_are_refused),
      cmocka_unit_test(test_hidden_names_are_not_found),
      cmocka_unit_test(test_long_paths_do_not_overflow),
      cmocka_unit_test(test_extensions_tell_files_from_client_routes),
      cmocka_unit_test(test_content_types),
      cmocka_unit_test(test_hashed_assets_are_immutable_and_the_rest_revalidated),
      cmocka_unit_test(test_etag_matching),
      cmocka_unit_test(test_root_resolution),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
