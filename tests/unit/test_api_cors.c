/*
 * test_api_cors.c - origins a node lets call its API: parsing an Origin
 * header, and matching it to a member's HTTP address (loopback names
 * matching each other).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/cors.h"

static void test_origins_parse_with_default_and_explicit_ports(void **state) {
  cors_origin_t o;
  assert_true(cors_parse("http://localhost:8081", &o));
  assert_string_equal(o.host, "localhost");
  assert_int_equal(o.port, 8081);
  assert_true(cors_parse("HTTP://Node-1.Example", &o));
  assert_string_equal(o.host, "node-1.example");
  assert_int_equal(o.port, 80);
  assert_true(cors_parse("https://10.0.0.5", &o));
  assert_int_equal(o.port, 443);
  assert_true(cors_parse("http://[::1]:9000", &o));
  assert_string_equal(o.host, "::1");
  assert_int_equal(o.port, 9000);
}

static void test_anything_but_an_origin_is_refused(void **state) {
  cors_origin_t o;
  const char *bad[] = {NULL, "", "null", "file://", "ftp://host:21", "http://", "http://:80",
                       "http://host:", "http://host:0", "http://host:65536", "http://host:99999999999",
                       "http://host:80/path", "http://user@host", "http://[::1", "http://ho st",
                       "http://host:8x", "http://host?x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_false(cors_parse(bad[i], &o));
}

static void test_an_origin_matches_a_member_by_host_and_port(void **state) {
  cors_origin_t o;
  assert_true(cors_parse("http://localhost:8082", &o));
  assert_true(cors_matches(&o, "127.0.0.1", 8082));
  assert_true(cors_matches(&o, "::1", 8082));
  assert_false(cors_matches(&o, "127.0.0.1", 8083));
  assert_false(cors_matches(&o, "10.0.0.2", 8082));
  assert_true(cors_parse("http://10.0.0.2:8082", &o));
  assert_true(cors_matches(&o, "10.0.0.2", 8082));
  assert_false(cors_matches(&o, "127.0.0.1", 8082));
  assert_true(cors_parse("http://evil.example:8082", &o));
  assert_false(cors_matches(&o, "127.0.0.1", 8082));
  assert_true(cors_is_loopback("127.1.2.3"));
  assert_false(cors_is_loopback("128.0.0.1"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_origins_parse_with_default_and_explicit_ports),
      cmocka_unit_test(test_anything_but_an_origin_is_refused),
      cmocka_unit_test(test_an_origin_matches_a_member_by_host_and_port),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
