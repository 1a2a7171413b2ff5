/*
 * kv_main.c - command line of kv_sim, the deterministic key-value
 * simulator: five nodes running the real SWIM core and the real
 * replication coordinator over a simulated network and store (see
 * kv_cluster.h for what is real and what is simulated), with crashes, loss
 * and a partition drawn from the seed, checked for lost and phantom writes
 * afterwards (kv_check.h).
 *
 *   kv_sim --seed N                  one run; prints its figures and trace hash
 *   kv_sim --seed N --runs K         seeds N .. N+K-1
 *   kv_sim --seed N --check-determinism
 *                                    the run twice in this process; the hashes
 *                                    and figures must be equal
 *   kv_sim --suite small             the ctest suite (kv_sim_small)
 *   kv_sim --seed N --sabotage P --expect-lost
 *                                    the store drops a fraction P of writes; the
 *                                    run passes only if the checker sees losses
 *   kv_sim --seed N --sabotage P --expect-resurrected
 *                                    the same; passes only if the checker sees
 *                                    superseded values kept on a replica
 *
 * A failing seed is replayed exactly by `build/tests/kv_sim --seed N` with
 * the same options. Exit status: 0 pass, 1 a run failed (lost or phantom
 * writes, a request never answered, a run stopped early, or two runs of one
 * seed differed), 2 usage error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "kv_run.h"
#include "sim_args.h"

#define MIN_CHAOS_S 10

/* The suite: default options (60 s of chaos, 120 s of quiet), the first
 * seed run twice. About 0.1 s a seed in a release build, 1 s under ASan. */
static const uint64_t suite_seeds[] = {1, 2, 3, 4, 5, 6, 7, 8};

typedef struct {
  kv_opts_t o;
  uint64_t runs;
  bool check_determinism, expect_lost, expect_resurrected, suite;
} cli_t;

static void usage(FILE *f) {
  fprintf(f,
          "usage: kv_sim --suite small\n"
          "       kv_sim [--seed N] [--runs K] [--check-determinism] [options]\n"
          "options:\n"
          "  --chaos S          seconds of faults and client traffic (default 60, at least %d)\n"
          "  --quiet-secs S     seconds of quiet before the check (default 120)\n"
          "  --clients N        simulated clients (default 4)\n"
          "  --keys N           key space (default 12)\n"
          "  --sabotage P       the store silently drops a fraction P of its writes (0..1)\n"
          "  --membership       ownership moves during the chaos: a node joins, one leaves, one is removed\n"
          "  --expect-lost      pass only if the checker reports lost writes (with --sabotage)\n"
          "  --expect-resurrected  pass only if it reports superseded values back (with --sabotage)\n"
          "environment: KV_SIM_EXPLAIN=1 prints each lost write and every node's state of its key,\n"
          "  divergent and stray keys, and each node's view at the end (KV_SIM_EXPLAIN_CHAIN=1: every\n"
          "  write of a lost write's key); KV_SIM_LOG=1 prints the nodes' log at level info\n",
          MIN_CHAOS_S);
}

static int parse_args(cli_t *c, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int rc = 0;
    bool flag = true; /* an option without a value */
    if (!strcmp(a, "--check-determinism"))
      c->check_determinism = true;
    else if (!strcmp(a, "--expect-lost"))
      c->expect_lost = true;
    else if (!strcmp(a, "--expect-resurrected"))
      c->expect_resurrected = true;
    else if (!strcmp(a, "--membership"))
      c->o.membership = true;
    else if ((flag = false), !v)
      rc = CHORUS_EINVAL;
    else if (!strcmp(a, "--suite"))
      rc = (c->suite = !strcmp(v, "small")) ? 0 : CHORUS_EINVAL;
    else if (!strcmp(a, "--seed"))
      rc = sim_parse_u64(v, UINT64_MAX, &c->o.seed);
    else if (!strcmp(a, "--runs"))
      rc = sim_parse_u64(v, 1000000, &c->runs);
    else if (!strcmp(a, "--chaos"))
      rc = sim_parse_u32(v, &c->o.chaos_s);
    else if (!strcmp(a, "--quiet-secs"))
      rc = sim_parse_u32(v, &c->o.quiet_s);
    else if (!strcmp(a, "--clients"))
      rc = sim_parse_u32(v, &c->o.clients);
    else if (!strcmp(a, "--keys"))
      rc = sim_parse_u32(v, &c->o.keys);
    else if (!strcmp(a, "--sabotage"))
      rc = sim_parse_double(v, 0, 1, &c->o.sabotage);
    else
      rc = CHORUS_EINVAL;
    if (rc) {
      fprintf(stderr, "kv_sim: bad or unknown option %s\n", a);
      return rc;
    }
    if (!flag) i++;
  }
  if (c->o.chaos_s < MIN_CHAOS_S || c->o.keys == 0 || c->o.clients == 0 || c->runs == 0) return CHORUS_EINVAL;
  return 0;
}

/* One seed: 0 when it passed (or, expecting losses, when it lost writes). */
static int run_seed(const cli_t *c, uint64_t seed) {
  kv_opts_t o = c->o;
  o.seed = seed;
  kv_result_t r;
  kv_run(&o, &r);
  kv_result_print(&r);
  if (r.rc) fprintf(stderr, "kv_sim: seed %" PRIu64 " stopped: %s\n", seed, chorus_strerror(r.rc));
  bool pass = c->expect_lost          ? r.rc == 0 && r.check.lost > 0
              : c->expect_resurrected ? r.rc == 0 && r.check.resurrected > 0
                                      : kv_result_ok(&r);
  if (c->check_determinism) {
    kv_result_t again;
    kv_run(&o, &again);
    bool same =
        again.hash == r.hash && again.steps == r.steps && memcmp(&again.check, &r.check, sizeof r.check) == 0;
    printf("determinism seed=%" PRIu64 " hash=%016" PRIx64 " %s\n", seed, r.hash,
           same ? "same" : "DIFFERENT");
    pass = pass && same;
  }
  printf("%s seed=%" PRIu64 "%s\n", pass ? "PASS" : "FAIL", seed,
         c->expect_lost          ? " (expecting lost writes)"
         : c->expect_resurrected ? " (expecting resurrected ones)"
                                 : "");
  return pass ? 0 : 1;
}

static int suite_small(cli_t *c) {
  int failed = 0;
  size_t n = sizeof suite_seeds / sizeof suite_seeds[0];
  for (size_t i = 0; i < n; i++) {
    c->check_determinism = i == 0; /* one seed twice in this process */
    failed += run_seed(c, suite_seeds[i]);
  }
  printf("%zu passed, %d failed\n", n - (size_t)failed, failed);
  return failed ? 1 : 0;
}

int main(int argc, char **argv) {
  cli_t c = {.runs = 1};
  kv_opts_default(&c.o);
  if (parse_args(&c, argc, argv) < 0) {
    usage(stderr);
    return 2;
  }
  log_set_level(getenv("KV_SIM_LOG") ? LOG_INFO : LOG_ERROR);
  if (c.suite) return suite_small(&c);
  int status = 0;
  for (uint64_t k = 0; k < c.runs; k++)
    status |= run_seed(&c, c.o.seed + k);
  return status;
}
