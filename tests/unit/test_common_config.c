/* test_common_config.c - flags, environment, defaults and errors of config_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/node_id.h"
#include "common/err.h"

#define MAX_ARGS 16

static config_t cfg;
static config_action_t action;
static char err[256];

/* Runs config_parse on "chorusd" followed by the NULL-terminated arguments,
 * over env (NULL-terminated, may be NULL). */
static int parse(char *const env[], ...) {
  char *argv[MAX_ARGS + 2] = {"chorusd"};
  int argc = 1;
  va_list ap;
  va_start(ap, env);
  for (char *a; (a = va_arg(ap, char *)) != NULL && argc <= MAX_ARGS;)
    argv[argc++] = a;
  va_end(ap);
  memset(err, 0, sizeof err);
  config_defaults(&cfg);
  action = (config_action_t)-1;
  return config_parse(&cfg, argc, argv, env, &action, err, sizeof err);
}

static void assert_config_equal(const config_t *want, const config_t *got) {
  assert_string_equal(want->node_id, got->node_id);
  assert_int_equal(want->port, got->port);
  assert_string_equal(want->bind, got->bind);
  assert_string_equal(want->data_dir, got->data_dir);
  assert_int_equal(want->fsync, got->fsync);
  assert_int_equal(want->max_value_bytes, got->max_value_bytes);
  assert_int_equal(want->event_retention, got->event_retention);
  assert_int_equal(want->record_cache_bytes, got->record_cache_bytes);
  assert_int_equal(want->log_level, got->log_level);
  assert_string_equal(want->api_token, got->api_token);
  assert_int_equal(want->http_threads, got->http_threads);
}

static void assert_one_line_starting_with(const char *prefix) {
  assert_true(strlen(err) > strlen(prefix));
  if (strncmp(err, prefix, strlen(prefix)) != 0) fail_msg("error '%s' does not start with '%s'", err, prefix);
  assert_null(strchr(err, '\n'));
}

/* ---- valid values: one table, checked as --name=value, --name value and env ---- */

typedef struct {
  const char *flag, *env, *value;
  void (*expect)(config_t *c); /* turns the defaults into the expected result */
} valid_case_t;

static void want_node(config_t *c) {
  snprintf(c->node_id, sizeof c->node_id, "node-1");
  snprintf(c->data_dir, sizeof c->data_dir, "./data/node-1");
}
static void want_port(config_t *c) {
  c->port = 9000;
}
static void want_bind6(config_t *c) {
  snprintf(c->bind, sizeof c->bind, "::1");
}
static void want_localhost(config_t *c) {
  snprintf(c->bind, sizeof c->bind, "127.0.0.1");
}
static void want_data_dir(config_t *c) {
  snprintf(c->data_dir, sizeof c->data_dir, "/var/lib/chorus");
}
static void want_batch(config_t *c) {
  c->fsync = FSYNC_BATCH;
}
static void want_never(config_t *c) {
  c->fsync = FSYNC_NEVER;
}
static void want_2k(config_t *c) {
  c->max_value_bytes = 2048;
}
static void want_retention(config_t *c) {
  c->event_retention = 5;
}
static void want_debug(config_t *c) {
  c->log_level = LOG_DEBUG;
}
static void want_cache_2g(config_t *c) {
  c->record_cache_bytes = 2ull << 30;
}
static void want_no_cache(config_t *c) {
  c->record_cache_bytes = 0;
}
static void want_token(config_t *c) {
  snprintf(c->api_token, sizeof c->api_token, "s3cret");
}
static void want_threads(config_t *c) {
  c->http_threads = 8;
}
static void want_web_root(config_t *c) {
  snprintf(c->web_root, sizeof c->web_root, "/srv/chorus/web");
}

static const valid_case_t valid_cases[] = {
    {"--node-id", "CHORUS_NODE_ID", "node-1", want_node},
    {"--port", "CHORUS_PORT", "9000", want_port},
    {"--bind", "CHORUS_BIND", "::1", want_bind6},
    {"--bind", "CHORUS_BIND", "localhost", want_localhost},
    {"--data-dir", "CHORUS_DATA_DIR", "/var/lib/chorus", want_data_dir},
    {"--fsync", "CHORUS_FSYNC", "batch", want_batch},
    {"--fsync", "CHORUS_FSYNC", "never", want_never},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "2048", want_2k},
    {"--event-retention", "CHORUS_EVENT_RETENTION", "5", want_retention},
    {"--record-cache", "CHORUS_RECORD_CACHE", "2GiB", want_cache_2g},
    {"--record-cache", "CHORUS_RECORD_CACHE", "0", want_no_cache},
    {"--log-level", "CHORUS_LOG_LEVEL", "debug", want_debug},
    {"--api-token", "CHORUS_API_TOKEN", "s3cret", want_token},
    {"--http-threads", "CHORUS_HTTP_THREADS", "8", want_threads},
    {"--web-root", "CHORUS_WEB_ROOT", "/srv/chorus/web", want_web_root},
};
#define VALID_COUNT (sizeof valid_cases / sizeof valid_cases[0])

static void check_valid(const valid_case_t *vc, int rc) {
  config_t want;
  if (rc != 0) fail_msg("%s %s: rc %d, error '%s'", vc->flag, vc->value, rc, err);
  assert_int_equal(action, CONFIG_RUN);
  config_defaults(&want);
  vc->expect(&want);
  assert_config_equal(&want, &cfg);
}

static void test_defaults_match_documented_values(void **state) {
  config_t c;
  config_defaults(&c);
  assert_string_equal(c.node_id, "");
  assert_int_equal(c.port, 8081);
  assert_string_equal(c.bind, "0.0.0.0");
  assert_string_equal(c.data_dir, "./data/node");
  assert_int_equal(c.fsync, FSYNC_ALWAYS);
  assert_int_equal(c.max_value_bytes, 1048576);
  assert_int_equal(c.event_retention, 10000);
  assert_int_equal(c.record_cache_bytes, 64u << 20);
  assert_int_equal(c.log_level, LOG_INFO);
  assert_string_equal(c.api_token, "");
  assert_int_equal(c.http_threads, 2);
}

static void test_no_arguments_give_defaults(void **state) {
  config_t want;
  config_defaults(&want);
  assert_int_equal(parse(NULL, NULL), 0);
  assert_int_equal(action, CONFIG_RUN);
  assert_string_equal(err, "");
  assert_config_equal(&want, &cfg);
}

static void test_each_flag_accepts_equals_form(void **state) {
  for (size_t i = 0; i < VALID_COUNT; i++) {
    char arg[128];
    snprintf(arg, sizeof arg, "%s=%s", valid_cases[i].flag, valid_cases[i].value);
    check_valid(&valid_cases[i], parse(NULL, arg, NULL));
  }
}

static void test_each_flag_accepts_separate_value(void **state) {
  for (size_t i = 0; i < VALID_COUNT; i++) {
    const valid_case_t *vc = &valid_cases[i];
    check_valid(vc, parse(NULL, (char *)vc->flag, (char *)vc->value, NULL));
  }
}

static void test_each_env_var_overrides_default(void **state) {
  for (size_t i = 0; i < VALID_COUNT; i++) {
    char var[128];
    snprintf(var, sizeof var, "%s=%s", valid_cases[i].env, valid_cases[i].value);
    char *env[] = {"PATH=/usr/bin", var, NULL};
    check_valid(&valid_cases[i], parse(env, NULL));
  }
}

static void test_flag_overrides_env(void **state) {
  char *env[] = {"CHORUS_PORT=9000", "CHORUS_LOG_LEVEL=error", NULL};
  assert_int_equal(parse(env, "--port=9001", NULL), 0);
  assert_int_equal(cfg.port, 9001);
  assert_int_equal(cfg.log_level, LOG_ERROR);
}

static void test_invalid_env_overridden_by_flag_is_not_an_error(void **state) {
  char *env[] = {"CHORUS_PORT=nope", NULL};
  assert_int_equal(parse(env, "--port", "9001", NULL), 0);
  assert_int_equal(cfg.port, 9001);
}

static void test_last_occurrence_of_a_flag_wins(void **state) {
  assert_int_equal(parse(NULL, "--port=1", "--port", "2", NULL), 0);
  assert_int_equal(cfg.port, 2);
}

static void test_unknown_chorus_env_vars_are_ignored(void **state) {
  char *env[] = {"CHORUS_BOGUS=1", "CHORUS_=x", "CHORUS_PORTS=7", "CHORUS_PORT", "PORT=7", NULL};
  assert_int_equal(parse(env, NULL), 0);
  assert_int_equal(cfg.port, 8081);
}

static void test_empty_env_var_counts_as_unset(void **state) {
  char *env[] = {"CHORUS_PORT=", "CHORUS_API_TOKEN=", NULL};
  assert_int_equal(parse(env, NULL), 0);
  assert_int_equal(cfg.port, 8081);
  assert_string_equal(cfg.api_token, "");
}

static void test_first_of_duplicate_env_vars_wins(void **state) {
  char *env[] = {"CHORUS_PORT=1000", "CHORUS_PORT=2000", NULL};
  assert_int_equal(parse(env, NULL), 0);
  assert_int_equal(cfg.port, 1000);
}

/* ---- invalid values: every one must fail naming its flag or variable ---- */

typedef struct {
  const char *flag, *env;
  const char *value;
} invalid_case_t;

static char long_node_id[66], long_data_dir[4097], long_token[257], long_bind[80];

static const invalid_case_t invalid_cases[] = {
    {"--node-id", "CHORUS_NODE_ID", "a b"},
    {"--node-id", "CHORUS_NODE_ID", "node/1"},
    {"--node-id", "CHORUS_NODE_ID", "n\xc3\xbc"},
    {"--node-id", "CHORUS_NODE_ID", long_node_id},
    {"--port", "CHORUS_PORT", "abc"},
    {"--port", "CHORUS_PORT", "0"},
    {"--port", "CHORUS_PORT", "65536"},
    {"--port", "CHORUS_PORT", "80x"},
    {"--port", "CHORUS_PORT", "+80"},
    {"--port", "CHORUS_PORT", " 80"},
    {"--port", "CHORUS_PORT", "80 "},
    {"--port", "CHORUS_PORT", "0x50"},
    {"--port", "CHORUS_PORT", "18446744073709551697"},
    {"--bind", "CHORUS_BIND", "example.com"},
    {"--bind", "CHORUS_BIND", "1.2.3"},
    {"--bind", "CHORUS_BIND", "256.0.0.1"},
    {"--bind", "CHORUS_BIND", "::g"},
    {"--bind", "CHORUS_BIND", "LOCALHOST"},
    {"--bind", "CHORUS_BIND", long_bind},
    {"--data-dir", "CHORUS_DATA_DIR", long_data_dir},
    {"--fsync", "CHORUS_FSYNC", "sometimes"},
    {"--fsync", "CHORUS_FSYNC", "1"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "0"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "0K"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "67108865"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "65M"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "1G"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "1.5M"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "K"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "1KB2"},
    {"--record-cache", "CHORUS_RECORD_CACHE", "65G"},
    {"--record-cache", "CHORUS_RECORD_CACHE", "1T"},
    {"--record-cache", "CHORUS_RECORD_CACHE", "-1"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "1 K"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "1B"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "-1"},
    {"--max-value-bytes", "CHORUS_MAX_VALUE_BYTES", "18014398509481984K"},
    {"--event-retention", "CHORUS_EVENT_RETENTION", "0"},
    {"--event-retention", "CHORUS_EVENT_RETENTION", "100000001"},
    {"--event-retention", "CHORUS_EVENT_RETENTION", "ten"},
    {"--event-retention", "CHORUS_EVENT_RETENTION", "1e3"},
    {"--log-level", "CHORUS_LOG_LEVEL", "verbose"},
    {"--log-level", "CHORUS_LOG_LEVEL", "warning"},
    {"--api-token", "CHORUS_API_TOKEN", long_token},
    {"--http-threads", "CHORUS_HTTP_THREADS", "0"},
    {"--http-threads", "CHORUS_HTTP_THREADS", "65"},
    {"--http-threads", "CHORUS_HTTP_THREADS", "two"},
};
#define INVALID_COUNT (sizeof invalid_cases / sizeof invalid_cases[0])

/* Empty values are invalid as flags; as environment variables they mean unset. */
static const char *const flags_rejecting_empty[] = {
    "--node-id",         "--port",      "--bind",      "--data-dir",    "--fsync", "--max-value-bytes",
    "--event-retention", "--log-level", "--api-token", "--http-threads"};

static int fill_long_values(void **state) {
  memset(long_node_id, 'n', sizeof long_node_id - 1);
  memset(long_data_dir, 'd', sizeof long_data_dir - 1);
  memset(long_token, 't', sizeof long_token - 1);
  memset(long_bind, '1', sizeof long_bind - 1);
  return 0;
}

static void check_invalid(const char *name, const char *value, int rc) {
  char prefix[64];
  if (rc != CHORUS_EINVAL) fail_msg("%s '%.40s' accepted (rc %d)", name, value, rc);
  snprintf(prefix, sizeof prefix, "%s: expected ", name);
  assert_one_line_starting_with(prefix);
}

static void test_quorums_default_to_a_majority_of_the_replicas(void **state) {
  assert_int_equal(parse(NULL, NULL), 0);
  assert_int_equal(cfg.replicas, 3);
  assert_int_equal(cfg.read_quorum, 2);
  assert_int_equal(cfg.write_quorum, 2);
  assert_int_equal(parse(NULL, "--replicas=1", NULL), 0);
  assert_int_equal(cfg.read_quorum, 1);
  assert_int_equal(cfg.write_quorum, 1);
  assert_int_equal(parse(NULL, "--replicas=5", "--write-quorum=5", NULL), 0);
  assert_int_equal(cfg.read_quorum, 3);
  assert_int_equal(cfg.write_quorum, 5);
}

static void test_quorum_above_the_replicas_is_rejected(void **state) {
  assert_int_equal(parse(NULL, "--read-quorum=4", NULL), CHORUS_EINVAL);
  assert_one_line_starting_with("--read-quorum: must be at most --replicas (3)");
  char *env[] = {"CHORUS_REPLICAS=1", NULL};
  assert_int_equal(parse(env, "--write-quorum=2", NULL), CHORUS_EINVAL);
  assert_one_line_starting_with("--write-quorum: must be at most --replicas (1)");
}

static void test_a_tls_certificate_and_its_key_come_together(void **state) {
  assert_int_equal(parse(NULL, "--tls-cert=/etc/c.pem", NULL), CHORUS_EINVAL);
  assert_one_line_starting_with("--tls-cert: needs --tls-key");
  char *env[] = {"CHORUS_TLS_KEY=/etc/k.pem", NULL};
  assert_int_equal(parse(env, NULL), CHORUS_EINVAL);
  assert_one_line_starting_with("--tls-key: needs --tls-cert");
  assert_int_equal(parse(env, "--tls-cert=/etc/c.pem", NULL), 0);
  assert_string_equal(cfg.tls_cert, "/etc/c.pem");
  assert_string_equal(cfg.tls_key, "/etc/k.pem");
  assert_int_equal(parse(NULL, NULL), 0);
  assert_string_equal(cfg.tls_cert, "");
}

static void test_every_invalid_flag_value_is_rejected_naming_the_flag(void **state) {
  for (size_t i = 0; i < INVALID_COUNT; i++) {
    const invalid_case_t *ic = &invalid_cases[i];
    char arg[5000];
    snprintf(arg, sizeof arg, "%s=%s", ic->flag, ic->value);
    check_invalid(ic->flag, ic->value, parse(NULL, arg, NULL));
    if (ic->value[0] != '-')
      check_invalid(ic->flag, ic->value, parse(NULL, (char *)ic->flag, (char *)ic->value, NULL));
  }
}

static void test_every_invalid_env_value_is_rejected_naming_the_variable(void **state) {
  for (size_t i = 0; i < INVALID_COUNT; i++) {
    char var[5000];
    snprintf(var, sizeof var, "%s=%s", invalid_cases[i].env, invalid_cases[i].value);
    char *env[] = {var, NULL};
    check_invalid(invalid_cases[i].env, invalid_cases[i].value, parse(env, NULL));
  }
}

static void test_empty_flag_value_is_rejected(void **state) {
  for (size_t i = 0; i < sizeof flags_rejecting_empty / sizeof flags_rejecting_empty[0]; i++) {
    char arg[64];
    snprintf(arg, sizeof arg, "%s=", flags_rejecting_empty[i]);
    check_invalid(flags_rejecting_empty[i], "", parse(NULL, arg, NULL));
  }
}

static void test_port_rejects_trailing_garbage(void **state) {
  assert_int_equal(parse(NULL, "--port=abc", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "--port: expected an integer in 1..65535, got 'abc'");
  assert_int_equal(parse(NULL, "--port", "8081x", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "--port: expected an integer in 1..65535, got '8081x'");
}

static void test_fsync_error_lists_the_modes(void **state) {
  char *env[] = {"CHORUS_FSYNC=sometimes", NULL};
  assert_int_equal(parse(env, NULL), CHORUS_EINVAL);
  assert_string_equal(err, "CHORUS_FSYNC: expected always|batch|never, got 'sometimes'");
}

static void test_log_level_error_lists_the_levels(void **state) {
  assert_int_equal(parse(NULL, "--log-level=loud", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "--log-level: expected debug|info|warn|error, got 'loud'");
}

static void test_api_token_error_does_not_echo_the_token(void **state) {
  assert_int_equal(parse(NULL, "--api-token", long_token, NULL), CHORUS_EINVAL);
  assert_null(strstr(err, "ttt"));
  assert_non_null(strstr(err, "256 bytes"));
}

static void test_error_quotes_control_characters_and_cuts_long_values(void **state) {
  assert_int_equal(parse(NULL, "--bind=1.2.3.4\nINFO forged", NULL), CHORUS_EINVAL);
  assert_string_equal(err,
                      "--bind: expected an IPv4 or IPv6 address or 'localhost', got '1.2.3.4?INFO forged'");
  assert_int_equal(parse(NULL, "--data-dir", long_data_dir, NULL), CHORUS_EINVAL);
  assert_true(strlen(err) < 200);
  assert_non_null(strstr(err, "...'"));
}

static void test_failed_parse_leaves_config_untouched(void **state) {
  config_t before;
  assert_int_equal(parse(NULL, "--port=1234", NULL), 0);
  before = cfg;
  char *argv[] = {"chorusd", "--node-id=x", "--port=0", NULL};
  assert_int_equal(config_parse(&cfg, 3, argv, NULL, &action, err, sizeof err), CHORUS_EINVAL);
  assert_config_equal(&before, &cfg);
}

static void test_error_buffer_is_bounded(void **state) {
  char small[8];
  char *argv[] = {"chorusd", "--port=abc", NULL};
  memset(small, 'x', sizeof small);
  assert_int_equal(config_parse(&cfg, 2, argv, NULL, &action, small, sizeof small), CHORUS_EINVAL);
  assert_string_equal(small, "--port:");
  assert_int_equal(config_parse(&cfg, 2, argv, NULL, &action, NULL, 0), CHORUS_EINVAL);
}

/* ---- argv shape ---- */

static void test_unknown_flag_is_rejected(void **state) {
  assert_int_equal(parse(NULL, "--bogus", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "unknown flag '--bogus' (see --help)");
  assert_int_equal(parse(NULL, "--bogus=1", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "unknown flag '--bogus' (see --help)");
  assert_int_equal(parse(NULL, "--port8081", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "unknown flag '--port8081' (see --help)");
  assert_int_equal(parse(NULL, "-p", "1", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "unknown flag '-p' (see --help)");
}

static void test_positional_argument_is_rejected(void **state) {
  assert_int_equal(parse(NULL, "--port", "1", "extra", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "unexpected argument 'extra' (see --help)");
}

static void test_missing_value_at_end_of_argv_is_rejected(void **state) {
  assert_int_equal(parse(NULL, "--port", NULL), CHORUS_EINVAL);
  assert_one_line_starting_with("--port: missing value");
}

static void test_argument_starting_with_dash_is_not_taken_as_value(void **state) {
  assert_int_equal(parse(NULL, "--node-id", "--port", "1", NULL), CHORUS_EINVAL);
  assert_one_line_starting_with("--node-id: missing value");
  assert_int_equal(parse(NULL, "--api-token=-dash-", NULL), 0);
  assert_string_equal(cfg.api_token, "-dash-");
}

static void test_size_suffixes_are_powers_of_1024(void **state) {
  static const struct {
    const char *v;
    uint64_t bytes;
  } cases[] = {{"1", 1},
               {"1K", 1024},
               {"1k", 1024},
               {"2KB", 2048},
               {"3kib", 3072},
               {"1KiB", 1024},
               {"1M", 1048576},
               {"2mb", 2097152},
               {"64MiB", 67108864},
               {"65536K", 67108864},
               {"67108864", 67108864},
               {"007K", 7168}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char arg[64];
    snprintf(arg, sizeof arg, "--max-value-bytes=%s", cases[i].v);
    if (parse(NULL, arg, NULL) != 0) fail_msg("%s: %s", cases[i].v, err);
    assert_int_equal(cfg.max_value_bytes, cases[i].bytes);
  }
}

static void test_choices_ignore_case(void **state) {
  assert_int_equal(parse(NULL, "--fsync=NEVER", "--log-level=Warn", NULL), 0);
  assert_int_equal(cfg.fsync, FSYNC_NEVER);
  assert_int_equal(cfg.log_level, LOG_WARN);
}

static void test_bind_accepts_ipv4_and_ipv6_literals(void **state) {
  static const char *const ok[] = {"127.0.0.1",       "10.1.2.3", "::", "fe80::1", "2001:db8::8a2e:370:7334",
                                   "::ffff:192.0.2.1"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    if (parse(NULL, "--bind", (char *)ok[i], NULL) != 0) fail_msg("%s: %s", ok[i], err);
    assert_string_equal(cfg.bind, ok[i]);
  }
}

static void test_data_dir_default_derived_from_node_id(void **state) {
  char *env[] = {"CHORUS_NODE_ID=env-node", NULL};
  assert_int_equal(parse(NULL, "--node-id=a.b:c_d-1", NULL), 0);
  assert_string_equal(cfg.data_dir, "./data/a.b:c_d-1");
  assert_int_equal(parse(env, NULL), 0);
  assert_string_equal(cfg.data_dir, "./data/env-node");
  assert_int_equal(parse(env, "--node-id", "flag-node", NULL), 0);
  assert_string_equal(cfg.data_dir, "./data/flag-node");
  assert_int_equal(parse(NULL, NULL), 0);
  assert_string_equal(cfg.data_dir, "./data/node");
}

static void test_explicit_data_dir_wins_over_derived_one(void **state) {
  char *env[] = {"CHORUS_DATA_DIR=/srv/env", NULL};
  assert_int_equal(parse(NULL, "--data-dir=/srv/x", "--node-id=n1", NULL), 0);
  assert_string_equal(cfg.data_dir, "/srv/x");
  assert_int_equal(parse(env, "--node-id=n1", NULL), 0);
  assert_string_equal(cfg.data_dir, "/srv/env");
}

static void test_node_id_accepts_64_characters(void **state) {
  char id[65];
  memset(id, 'x', 64);
  id[64] = '\0';
  assert_int_equal(parse(NULL, "--node-id", id, NULL), 0);
  assert_string_equal(cfg.node_id, id);
}

static void test_node_id_rule(void **state) {
  assert_true(node_id_valid("node-1", 6));
  assert_true(node_id_valid("A.z_0:9-", 8));
  assert_true(node_id_valid("abc", 1));
  assert_false(node_id_valid("", 0));
  assert_false(node_id_valid(NULL, 0));
  assert_false(node_id_valid("a\0b", 3));
  assert_false(node_id_valid("a/b", 3));
  assert_false(node_id_valid("a b", 3));
  assert_false(node_id_valid(long_node_id, 65));
  assert_true(node_id_valid(long_node_id, 64));
}

/* ---- actions and help ---- */

static void test_help_and_version_set_the_action(void **state) {
  assert_int_equal(parse(NULL, "--help", NULL), 0);
  assert_int_equal(action, CONFIG_HELP);
  assert_int_equal(parse(NULL, "-h", NULL), 0);
  assert_int_equal(action, CONFIG_HELP);
  assert_int_equal(parse(NULL, "--version", NULL), 0);
  assert_int_equal(action, CONFIG_VERSION);
}

static void test_help_wins_over_later_and_env_errors(void **state) {
  char *env[] = {"CHORUS_PORT=bad", NULL};
  assert_int_equal(parse(env, "--port=1", "--help", "--bogus", NULL), 0);
  assert_int_equal(action, CONFIG_HELP);
}

static void test_help_after_an_unknown_flag_is_an_error(void **state) {
  assert_int_equal(parse(NULL, "--bogus", "--help", NULL), CHORUS_EINVAL);
}

static void test_action_flag_rejects_a_value(void **state) {
  assert_int_equal(parse(NULL, "--help=yes", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "--help takes no value");
}

static void test_usage_lists_every_flag_with_env_and_default(void **state) {
  static const char *const needles[] = {"--node-id=",
                                        "CHORUS_NODE_ID",
                                        "--port=",
                                        "8081",
                                        "CHORUS_PORT",
                                        "--bind=",
                                        "0.0.0.0",
                                        "CHORUS_BIND",
                                        "--data-dir=",
                                        "CHORUS_DATA_DIR",
                                        "./data/<node-id>",
                                        "--fsync=",
                                        "always",
                                        "CHORUS_FSYNC",
                                        "--max-value-bytes=",
                                        "1MiB",
                                        "CHORUS_MAX_VALUE_BYTES",
                                        "--event-retention=",
                                        "10000",
                                        "CHORUS_EVENT_RETENTION",
                                        "--log-level=",
                                        "info",
                                        "CHORUS_LOG_LEVEL",
                                        "--api-token=",
                                        "CHORUS_API_TOKEN",
                                        "--http-threads=",
                                        "CHORUS_HTTP_THREADS",
                                        "--web-root=",
                                        "CHORUS_WEB_ROOT",
                                        "./web/dist;",
                                        "--tls-cert=",
                                        "CHORUS_TLS_CERT",
                                        "--tls-key=",
                                        "CHORUS_TLS_KEY",
                                        "-h, --help",
                                        "print the version and exit",
                                        "--version"};
  const char *u = config_usage();
  assert_ptr_equal(u, config_usage());
  for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
    if (!strstr(u, needles[i])) fail_msg("usage lacks '%s'", needles[i]);
  }
  for (const char *line = u; *line;) {
    size_t len = strcspn(line, "\n");
    if (len > 80) fail_msg("usage line longer than 80 columns: %.*s", (int)len, line);
    line += len + (line[len] == '\n');
  }
}

static void test_fsync_names(void **state) {
  assert_string_equal(config_fsync_name(FSYNC_ALWAYS), "always");
  assert_string_equal(config_fsync_name(FSYNC_BATCH), "batch");
  assert_string_equal(config_fsync_name(FSYNC_NEVER), "never");
  assert_string_equal(config_fsync_name((fsync_mode_t)7), "unknown");
}

/* ---- membership flags ---- */

static void test_membership_defaults(void **state) {
  assert_int_equal(parse(NULL, NULL), 0);
  assert_true(cfg.gossip);
  assert_int_equal(cfg.n_seeds, 0);
  assert_int_equal(cfg.probe_interval_ms, 1000);
  assert_int_equal(cfg.probe_timeout_ms, 500);
  assert_int_equal(cfg.gossip_interval_ms, 200);
  assert_int_equal(cfg.push_pull_interval_ms, 30000);
  assert_int_equal(cfg.reap_after_ms, 24ull * 3600 * 1000);
  assert_int_equal(cfg.suspicion_mult, 4);
  assert_int_equal(cfg.indirect_checks, 3);
  assert_int_equal(cfg.retransmit_mult, 4);
  assert_int_equal(cfg.gossip_nodes, 3);
  assert_int_equal(cfg.peer_port, 9081);
  assert_string_equal(cfg.advertise, "127.0.0.1");
  assert_string_equal(cfg.cluster_key, "");
}

static void test_durations_take_units(void **state) {
  assert_int_equal(
      parse(NULL, "--probe-interval=250ms", "--reap-after=2h", "--push-pull-interval", "1m", NULL), 0);
  assert_int_equal(cfg.probe_interval_ms, 250);
  assert_int_equal(cfg.reap_after_ms, 2ull * 3600 * 1000);
  assert_int_equal(cfg.push_pull_interval_ms, 60000);
  const char *bad[] = {"--probe-interval=1",  "--probe-interval=1x",  "--probe-interval=-1s",
                       "--probe-interval=ms", "--probe-interval=5ms", "--probe-interval=2h"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(parse(NULL, bad[i], NULL), CHORUS_EINVAL);
    assert_non_null(strstr(err, "--probe-interval: expected a duration"));
  }
}

static void test_gossip_switch_takes_booleans(void **state) {
  assert_int_equal(parse(NULL, "--gossip=false", NULL), 0);
  assert_false(cfg.gossip);
  assert_int_equal(parse(NULL, "--gossip=TRUE", NULL), 0);
  assert_true(cfg.gossip);
  assert_int_equal(parse(NULL, "--gossip=maybe", NULL), CHORUS_EINVAL);
  assert_string_equal(err, "--gossip: expected true or false, got 'maybe'");
}

static void test_seed_nodes_repeat_and_split_on_commas(void **state) {
  assert_int_equal(parse(NULL, "--seed-node=localhost:8081", "--seed-node", "10.0.0.2:8082,[::1]:8083", NULL),
                   0);
  assert_int_equal(cfg.n_seeds, 3);
  assert_string_equal(cfg.seeds[0], "localhost:8081");
  assert_string_equal(cfg.seeds[1], "10.0.0.2:8082");
  assert_string_equal(cfg.seeds[2], "[::1]:8083");
  char *env[] = {"CHORUS_SEED_NODE=a:1,b:2", NULL};
  assert_int_equal(parse(env, NULL), 0);
  assert_int_equal(cfg.n_seeds, 2);
  assert_int_equal(parse(env, "--seed-node=c:3", NULL), 0); /* a flag replaces the variable */
  assert_int_equal(cfg.n_seeds, 1);
  assert_string_equal(cfg.seeds[0], "c:3");
  const char *bad[] = {"--seed-node=host",   "--seed-node=host:0", "--seed-node=host:70000",
                       "--seed-node=:80",    "--seed-node=a b:80", "--seed-node=a:80,",
                       "--seed-node=[::1:80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(parse(NULL, bad[i], NULL), CHORUS_EINVAL);
    assert_non_null(strstr(err, "--seed-node: expected host:port"));
  }
}

static void test_peer_port_and_advertise_are_derived(void **state) {
  assert_int_equal(parse(NULL, "--port=8082", "--bind=10.1.2.3", NULL), 0);
  assert_int_equal(cfg.peer_port, 9082);
  assert_string_equal(cfg.advertise, "10.1.2.3");
  assert_int_equal(parse(NULL, "--port=8082", "--peer-port=7000", "--advertise=node-a.example", NULL), 0);
  assert_int_equal(cfg.peer_port, 7000);
  assert_string_equal(cfg.advertise, "node-a.example");
  assert_int_equal(parse(NULL, "--advertise=not a host", NULL), CHORUS_EINVAL);
}

static void test_cluster_key_must_be_32_bytes_and_is_never_echoed(void **state) {
  const char *key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; /* 32 bytes */
  char flag[96];
  snprintf(flag, sizeof flag, "--cluster-key=%s", key);
  assert_int_equal(parse(NULL, flag, NULL), 0);
  assert_string_equal(cfg.cluster_key, key);
  assert_int_equal(parse(NULL, "--cluster-key=c2hvcnQ=", NULL), CHORUS_EINVAL);
  assert_null(strstr(err, "c2hvcnQ"));
  assert_non_null(strstr(err, "--cluster-key: expected 32 bytes in base64"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_match_documented_values),
      cmocka_unit_test(test_no_arguments_give_defaults),
      cmocka_unit_test(test_each_flag_accepts_equals_form),
      cmocka_unit_test(test_each_flag_accepts_separate_value),
      cmocka_unit_test(test_each_env_var_overrides_default),
      cmocka_unit_test(test_flag_overrides_env),
      cmocka_unit_test(test_invalid_env_overridden_by_flag_is_not_an_error),
      cmocka_unit_test(test_last_occurrence_of_a_flag_wins),
      cmocka_unit_test(test_unknown_chorus_env_vars_are_ignored),
      cmocka_unit_test(test_empty_env_var_counts_as_unset),
      cmocka_unit_test(test_first_of_duplicate_env_vars_wins),
      cmocka_unit_test(test_quorums_default_to_a_majority_of_the_replicas),
      cmocka_unit_test(test_quorum_above_the_replicas_is_rejected),
      cmocka_unit_test(test_a_tls_certificate_and_its_key_come_together),
      cmocka_unit_test(test_every_invalid_flag_value_is_rejected_naming_the_flag),
      cmocka_unit_test(test_every_invalid_env_value_is_rejected_naming_the_variable),
      cmocka_unit_test(test_empty_flag_value_is_rejected),
      cmocka_unit_test(test_port_rejects_trailing_garbage),
      cmocka_unit_test(test_fsync_error_lists_the_modes),
      cmocka_unit_test(test_log_level_error_lists_the_levels),
      cmocka_unit_test(test_api_token_error_does_not_echo_the_token),
      cmocka_unit_test(test_error_quotes_control_characters_and_cuts_long_values),
      cmocka_unit_test(test_failed_parse_leaves_config_untouched),
      cmocka_unit_test(test_error_buffer_is_bounded),
      cmocka_unit_test(test_unknown_flag_is_rejected),
      cmocka_unit_test(test_positional_argument_is_rejected),
      cmocka_unit_test(test_missing_value_at_end_of_argv_is_rejected),
      cmocka_unit_test(test_argument_starting_with_dash_is_not_taken_as_value),
      cmocka_unit_test(test_size_suffixes_are_powers_of_1024),
      cmocka_unit_test(test_choices_ignore_case),
      cmocka_unit_test(test_bind_accepts_ipv4_and_ipv6_literals),
      cmocka_unit_test(test_data_dir_default_derived_from_node_id),
      cmocka_unit_test(test_explicit_data_dir_wins_over_derived_one),
      cmocka_unit_test(test_node_id_accepts_64_characters),
      cmocka_unit_test(test_node_id_rule),
      cmocka_unit_test(test_help_and_version_set_the_action),
      cmocka_unit_test(test_help_wins_over_later_and_env_errors),
      cmocka_unit_test(test_help_after_an_unknown_flag_is_an_error),
      cmocka_unit_test(test_action_flag_rejects_a_value),
      cmocka_unit_test(test_usage_lists_every_flag_with_env_and_default),
      cmocka_unit_test(test_membership_defaults),
      cmocka_unit_test(test_durations_take_units),
      cmocka_unit_test(test_gossip_switch_takes_booleans),
      cmocka_unit_test(test_seed_nodes_repeat_and_split_on_commas),
      cmocka_unit_test(test_peer_port_and_advertise_are_derived),
      cmocka_unit_test(test_cluster_key_must_be_32_bytes_and_is_never_echoed),
      cmocka_unit_test(test_fsync_names),
  };
  return cmocka_run_group_tests(tests, fill_long_values, NULL);
}
