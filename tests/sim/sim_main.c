/*
 * sim_main.c - command line of swim_sim: runs one scenario, all of them, or
 * the small suite. Parsing only; every option maps onto sim_opts_t.
 *
 * Exit status: 0 success, 1 a run failed, a suite assertion failed or two
 * runs of --check-determinism differed, 2 usage error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sim_addr.h"
#include "sim_args.h"
#include "sim_scenarios.h"
#include "sim_suite.h"

#define AUDIT_AUTO_MAX_NODES 1000 /* the audit is O(N^2): on by default up to here */

typedef struct {
  const char *scenario;
  const char *suite;
  bool check_determinism;
  int audit; /* -1 auto */
  sim_opts_t o;
} cli_t;

static void usage(FILE *f) {
  fprintf(f,
          "usage: swim_sim --suite small\n"
          "       swim_sim --scenario join|dissemination|crash|loss|partition|all [options]\n"
          "options:\n"
          "  --nodes N             cluster size (default 50)\n"
          "  --seed S              run seed (default 1)\n"
          "  --loss P              loss scenario: packet loss in percent (default 10)\n"
          "  --minutes M           loss scenario: minutes of loss (default 10)\n"
          "  --partition-secs S    partition scenario: seconds apart (default 60)\n"
          "  --delay MS            one-way latency (default 5)\n"
          "  --jitter MS           uniform extra latency 0..MS (default 5)\n"
          "  --stagger MS          between two node starts (default 5)\n"
          "  --probe-interval MS   swim probe interval (default 1000)\n"
          "  --timeout S           longest wait for a phase's goal (default 300)\n"
          "  --progress S          a progress line to stderr every S simulated seconds\n"
          "  --max-rss-mb MB       stop a run whose memory outgrows MB (default 3/4 of RAM, 0 = none)\n"
          "  --audit | --no-audit  recount views from the tables at the end (default: N <= %d)\n"
          "  --long-names          64-byte ids and 63-byte hosts: packets carry the fewest updates\n"
          "  --check-determinism   run twice, compare the hashes of the two runs\n"
          "  --quiet               key=value lines only\n",
          AUDIT_AUTO_MAX_NODES);
}

/* Options that take a value; returns CHORUS_ENOTFOUND for an unknown name. */
static int parse_valued(cli_t *c, const char *name, const char *val) {
  sim_opts_t *o = &c->o;
  if (!strcmp(name, "--scenario")) return c->scenario = val, 0;
  if (!strcmp(name, "--suite")) return c->suite = val, 0;
  if (!strcmp(name, "--nodes")) return sim_parse_u32(val, &o->nodes);
  if (!strcmp(name, "--seed")) return sim_parse_u64(val, UINT64_MAX, &o->seed);
  if (!strcmp(name, "--minutes")) return sim_parse_double(val, 0, 1e6, &o->minutes);
  if (!strcmp(name, "--partition-secs")) return sim_parse_u32(val, &o->partition_s);
  if (!strcmp(name, "--delay")) return sim_parse_u32(val, &o->delay_ms);
  if (!strcmp(name, "--jitter")) return sim_parse_u32(val, &o->jitter_ms);
  if (!strcmp(name, "--stagger")) return sim_parse_u32(val, &o->stagger_ms);
  if (!strcmp(name, "--probe-interval")) return sim_parse_u32(val, &o->probe_interval_ms);
  if (!strcmp(name, "--timeout")) return sim_parse_u32(val, &o->converge_timeout_s);
  if (!strcmp(name, "--progress")) return sim_parse_double(val, 0, 1e6, &o->progress_s);
  if (!strcmp(name, "--max-rss-mb")) return sim_parse_u64(val, UINT64_MAX, &o->max_rss_mb);
  if (!strcmp(name, "--loss")) {
    double pct;
    int rc = sim_parse_double(val, 0, 100, &pct);
    if (!rc) o->loss = pct / 100.0;
    return rc;
  }
  return CHORUS_ENOTFOUND;
}

static int parse_flag(cli_t *c, const char *name) {
  if (!strcmp(name, "--check-determinism")) return c->check_determinism = true, 0;
  if (!strcmp(name, "--audit")) return c->audit = 1, 0;
  if (!strcmp(name, "--no-audit")) return c->audit = 0, 0;
  if (!strcmp(name, "--quiet")) return c->o.quiet = true, 0;
  if (!strcmp(name, "--long-names")) return c->o.long_names = true, 0;
  return CHORUS_ENOTFOUND;
}

static int parse_args(cli_t *c, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (parse_flag(c, argv[i]) == 0) continue;
    int rc = i + 1 < argc ? parse_valued(c, argv[i], argv[i + 1]) : CHORUS_ENOTFOUND;
    if (rc < 0) {
      fprintf(stderr, "swim_sim: bad or unknown option %s%s%s\n", argv[i], i + 1 < argc ? " " : "",
              i + 1 < argc ? argv[i + 1] : "");
      return rc;
    }
    i++;
  }
  if (!c->scenario == !c->suite) return CHORUS_EINVAL;
  if (c->suite && strcmp(c->suite, "small") != 0) return CHORUS_EINVAL;
  if (c->o.nodes < 3 || c->o.nodes >= SIM_MAX_NODES) {
    fprintf(stderr, "swim_sim: --nodes must be 3..%u\n", SIM_MAX_NODES - 1);
    return CHORUS_EINVAL;
  }
  if (c->o.probe_interval_ms == 0) return CHORUS_EINVAL;
  c->o.audit = c->audit < 0 ? c->o.nodes <= AUDIT_AUTO_MAX_NODES : c->audit == 1;
  return 0;
}

static int run_one(const cli_t *c, const char *name) {
  sim_scenario_fn fn = sim_scenario_find(name);
  sim_result_t r;
  if (!c->check_determinism) {
    int rc = fn(&c->o, &r);
    if (rc < 0) {
      fprintf(stderr, "swim_sim: %s: %s\n", name, chorus_strerror(rc));
      return 1;
    }
    sim_result_print(&r, c->o.quiet);
    return 0;
  }
  bool same = false;
  int rc = sim_check_determinism(fn, &c->o, &r, &same);
  if (rc < 0) {
    fprintf(stderr, "swim_sim: %s: %s\n", name, chorus_strerror(rc));
    return 1;
  }
  sim_result_print(&r, c->o.quiet);
  printf("determinism scenario=%s seed=%" PRIu64 " hash=%016" PRIx64 " %s\n", name, c->o.seed, r.hash,
         same ? "same" : "DIFFERENT");
  return same ? 0 : 1;
}

int main(int argc, char **argv) {
  cli_t c = {.audit = -1};
  sim_opts_default(&c.o);
  if (parse_args(&c, argc, argv) < 0) {
    usage(stderr);
    return 2;
  }
  if (c.suite) return sim_suite_small();
  if (strcmp(c.scenario, "all") != 0) {
    if (!sim_scenario_find(c.scenario)) {
      usage(stderr);
      return 2;
    }
    return run_one(&c, c.scenario);
  }
  int status = 0;
  for (size_t i = 0; sim_scenario_names[i]; i++)
    status |= run_one(&c, sim_scenario_names[i]);
  return status;
}
