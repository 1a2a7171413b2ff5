/*
 * sim_report.c - prints a scenario's result (see sim_result_print in
 * sim_scenarios.h): one key=value line that scripts can parse, then a
 * sentence for people. A duration that was never reached prints as
 * "never"; fault counters print only when something went wrong.
 */
#include <inttypes.h>
#include <stdio.h>

#include "common/err.h"
#include "sim_scenarios.h"

static const char *const kind_names[] = {
    [SIM_JOIN] = "join", [SIM_DISSEM] = "dissemination", [SIM_CRASH] = "crash",
    [SIM_LOSS] = "loss", [SIM_PARTITION] = "partition",
};

static void kv_ms(const char *key, uint64_t ms) {
  if (ms == SIM_NEVER)
    printf(" %s=never", key);
  else
    printf(" %s=%" PRIu64, key, ms);
}

/* Seconds with one decimal, or "never", into buf. */
static const char *secs(char *buf, size_t n, uint64_t ms) {
  if (ms == SIM_NEVER)
    snprintf(buf, n, "never");
  else
    snprintf(buf, n, "%.1f s", (double)ms / 1000.0);
  return buf;
}

static void print_specific(const sim_result_t *r) {
  switch (r->kind) {
  case SIM_JOIN:
    kv_ms("newcomer_ms", r->newcomer_ms);
    kv_ms("newcomer_bound_ms", r->newcomer_bound_ms);
    break;
  case SIM_DISSEM:
    kv_ms("dissem_ms", r->dissem_ms);
    kv_ms("dissem_bound_ms", r->dissem_bound_ms);
    break;
  case SIM_CRASH:
    kv_ms("suspect_first_ms", r->suspect_first_ms);
    kv_ms("dead_first_ms", r->dead_first_ms);
    kv_ms("dead_all_ms", r->dead_all_ms);
    kv_ms("dead_bound_ms", r->dead_bound_ms);
    kv_ms("rejoin_ms", r->rejoin_ms);
    kv_ms("rejoin_bound_ms", r->rejoin_bound_ms);
    break;
  case SIM_LOSS:
    printf(" one_view_at_end=%d", r->one_view_at_end);
    kv_ms("recover_ms", r->recover_ms);
    break;
  case SIM_PARTITION:
    printf(" split_dead=%" PRIu64 " split_pairs=%" PRIu64, r->split_dead, r->split_pairs);
    kv_ms("heal_ms", r->heal_ms);
    kv_ms("heal_bound_ms", r->heal_bound_ms);
    break;
  }
}

static void print_faults(const sim_faults_t *f) {
  printf(" faults=%" PRIu64, sim_faults_total(f));
  if (!sim_faults_total(f)) return;
  printf(" encode_errors=%" PRIu64 " decode_errors=%" PRIu64 " mismatches=%" PRIu64 " oversize=%" PRIu64,
         f->wire.encode_errors, f->wire.decode_errors, f->wire.mismatches, f->wire.oversize);
  printf(" core_errors=%" PRIu64 " first_core_error=%s stuck=%" PRIu64 " unknown=%" PRIu64
         " inconsistent=%" PRIu64,
         f->core_errors, f->core_errors ? chorus_strerror(f->first_core_error) : "none", f->stuck, f->unknown,
         f->inconsistent);
}

static void print_summary(const sim_result_t *r) {
  char a[32], b[32], c[32], d[32];
  printf("  %u nodes, seed %" PRIu64 ": one view after %s;", r->nodes, r->seed,
         secs(a, sizeof(a), r->converge_ms));
  switch (r->kind) {
  case SIM_JOIN:
    printf(" a newcomer was known by all after %s (bound %s).\n", secs(b, sizeof(b), r->newcomer_ms),
           secs(c, sizeof(c), r->newcomer_bound_ms));
    break;
  case SIM_DISSEM:
    printf(" a leave reached all after %s (bound %s).\n", secs(b, sizeof(b), r->dissem_ms),
           secs(c, sizeof(c), r->dissem_bound_ms));
    break;
  case SIM_CRASH:
    printf(" a crashed node was first suspected after %s, first marked dead after %s, dead at all after %s "
           "(bound %s).\n",
           secs(a, sizeof(a), r->suspect_first_ms), secs(b, sizeof(b), r->dead_first_ms),
           secs(c, sizeof(c), r->dead_all_ms), secs(d, sizeof(d), r->dead_bound_ms));
    printf("  Restarted, it was known alive by all again after %s (bound %s).\n",
           secs(a, sizeof(a), r->rejoin_ms), secs(b, sizeof(b), r->rejoin_bound_ms));
    break;
  case SIM_LOSS:
    printf(" %.0f s of loss gave %" PRIu64 " false dead and %" PRIu64 " false suspicions (%" PRIu64
           " refutations); one view %s, again after %s once the loss stopped.\n",
           r->phase_s, r->false_dead, r->false_suspect, r->refutes, r->one_view_at_end ? "held" : "was lost",
           secs(b, sizeof(b), r->recover_ms));
    break;
  case SIM_PARTITION:
    printf(" %" PRIu64 " DEAD entries at heal for %" PRIu64
           " pairs across the cut; one view again after %s (bound %s).\n",
           r->split_dead, r->split_pairs, secs(b, sizeof(b), r->heal_ms),
           secs(c, sizeof(c), r->heal_bound_ms));
    break;
  }
  printf("  per node over %.1f s: %.1f msgs/s, %.0f bytes/s UDP; %.3f push-pulls/s, %.0f bytes/s TCP.\n",
         r->phase_s, r->msgs_node_s, r->bytes_node_s, r->pp_node_s, r->pp_bytes_node_s);
  printf("  %.1f s simulated in %.2f s.\n", r->sim_s, r->wall_s);
}

void sim_result_print(const sim_result_t *r, bool quiet) {
  printf("scenario=%s nodes=%u seed=%" PRIu64, kind_names[r->kind], r->nodes, r->seed);
  kv_ms("converge_ms", r->converge_ms);
  print_specific(r);
  printf(" false_dead=%" PRIu64 " false_suspect=%" PRIu64 " refutes=%" PRIu64 " run_false_dead=%" PRIu64,
         r->false_dead, r->false_suspect, r->refutes, r->run_false_dead);
  printf(" phase_s=%.1f msgs_node_s=%.2f bytes_node_s=%.0f pp_node_s=%.4f pp_bytes_node_s=%.0f", r->phase_s,
         r->msgs_node_s, r->bytes_node_s, r->pp_node_s, r->pp_bytes_node_s);
  print_faults(&r->faults);
  printf(" late_ticks=%" PRIu64, r->late_ticks);
  printf(" audit=%" PRId64 " hash=%016" PRIx64 " steps=%" PRIu64 " sim_s=%.1f wall_s=%.2f\n", r->audit_bad,
         r->hash, r->steps, r->sim_s, r->wall_s);
  if (!quiet) print_summary(r);
  fflush(stdout);
}
