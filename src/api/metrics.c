/*
 * metrics.c - request counters and latency histograms (see metrics.h).
 *
 * Statuses are counted per exact code from a short list of the codes the API
 * answers, plus "other"; latency buckets follow the Prometheus defaults
 * shifted down, as a node answers in micro- to milliseconds. Storage, gossip
 * and SWIM figures are tables of struct fields, one row per metric.
 */
#include "metrics.h"

#include "../common/err.h"
#include "../gossip/gossip.h"
#include "../replication/coord.h"
#include "tls.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int STATUSES[] = {101, 200, 304, 400, 401, 404, 405,
                               409, 413, 426, 500, 503, 507, 0 /* other */};
#define NSTATUS (sizeof STATUSES / sizeof STATUSES[0])
static const double BUCKETS[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
#define NBUCKET (sizeof BUCKETS / sizeof BUCKETS[0])
_Static_assert(NBUCKET + 1 == METRICS_BUCKETS, "metrics_hist_t holds every bucket and +Inf");

static atomic_uint_fast64_t requests[ROUTE_COUNT][METHOD_COUNT][NSTATUS];
static atomic_uint_fast64_t buckets[ROUTE_COUNT][NBUCKET + 1]; /* non-cumulative; last = +Inf */
static atomic_uint_fast64_t sum_ns[ROUTE_COUNT];

static const char *ROUTE_NAMES[ROUTE_COUNT] = {"data",      "status", "vector_clock", "health", "metrics",
                                               "gossip",    "ring",   "cluster",      "merkle", "repair",
                                               "transfers", "keys",   "ws",           "static", "unknown"};
static const char *METHOD_NAMES[METHOD_COUNT] = {"GET", "PUT", "DELETE", "POST", "HEAD", "OPTIONS", "OTHER"};

api_method_t metrics_method(const char *m) {
  for (int i = 0; i < METHOD_OTHER; i++)
    if (strcmp(m, METHOD_NAMES[i]) == 0) return (api_method_t)i;
  return METHOD_OTHER;
}

const char *metrics_route_name(api_route_t r) {
  return r < ROUTE_COUNT ? ROUTE_NAMES[r] : "unknown";
}

const char *metrics_method_name(api_method_t m) {
  return m < METHOD_COUNT ? METHOD_NAMES[m] : "OTHER";
}

static size_t status_index(int status) {
  for (size_t i = 0; i + 1 < NSTATUS; i++)
    if (STATUSES[i] == status) return i;
  return NSTATUS - 1;
}

void metrics_observe(api_route_t r, api_method_t m, int status, uint64_t duration_ns) {
  if (r >= ROUTE_COUNT || m >= METHOD_COUNT) return;
  atomic_fetch_add_explicit(&requests[r][m][status_index(status)], 1, memory_order_relaxed);
  double s = (double)duration_ns / 1e9;
  size_t b = 0;
  while (b < NBUCKET && s > BUCKETS[b])
    b++;
  atomic_fetch_add_explicit(&buckets[r][b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&sum_ns[r], duration_ns, memory_order_relaxed);
}

void metrics_hist(api_route_t r, metrics_hist_t *out) {
  memset(out, 0, sizeof *out);
  if (r >= ROUTE_COUNT) return;
  for (size_t b = 0; b <= NBUCKET; b++) {
    out->counts[b] = atomic_load_explicit(&buckets[r][b], memory_order_relaxed);
    out->total += out->counts[b];
  }
}

int metrics_hist_quantile(const metrics_hist_t *later, const metrics_hist_t *earlier, double q,
                          double *out_s) {
  uint64_t delta[NBUCKET + 1], total = 0;
  for (size_t b = 0; b <= NBUCKET; b++) {
    delta[b] = later->counts[b] >= earlier->counts[b] ? later->counts[b] - earlier->counts[b] : 0;
    total += delta[b];
  }
  if (total == 0 || !(q > 0 && q <= 1)) return CHORUS_ENOTFOUND;
  double rank = q * (double)total, below = 0;
  for (size_t b = 0; b < NBUCKET; b++) {
    if (delta[b] && below + (double)delta[b] >= rank) {
      double lo = b ? BUCKETS[b - 1] : 0, hi = BUCKETS[b];
      *out_s = lo + (hi - lo) * (rank - below) / (double)delta[b];
      return 0;
    }
    below += (double)delta[b];
  }
  *out_s = BUCKETS[NBUCKET - 1];
  return 0;
}

static void put_text(buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_text(buf_t *out, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0) buf_put(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static uint64_t load(const atomic_uint_fast64_t *a) {
  return atomic_load_explicit(a, memory_order_relaxed);
}

static void render_requests(buf_t *out) {
  put_text(out, "# HELP chorus_http_requests_total HTTP requests answered, by route, method and status.\n"
                "# TYPE chorus_http_requests_total counter\n");
  for (int r = 0; r < ROUTE_COUNT; r++)
    for (int m = 0; m < METHOD_COUNT; m++)
      for (size_t s = 0; s < NSTATUS; s++) {
        uint64_t v = load(&requests[r][m][s]);
        if (!v) continue;
        char code[8];
        if (STATUSES[s])
          snprintf(code, sizeof code, "%d", STATUSES[s]);
        else
          snprintf(code, sizeof code, "other");
        put_text(out, "chorus_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %llu\n",
                 ROUTE_NAMES[r], METHOD_NAMES[m], code, (unsigned long long)v);
      }
}

static void render_latency(buf_t *out) {
  put_text(
      out,
      "# HELP chorus_http_request_duration_seconds Time from the first byte of a request to its answer.\n"
      "# TYPE chorus_http_request_duration_seconds histogram\n");
  for (int r = 0; r < ROUTE_COUNT; r++) {
    uint64_t cum = 0;
    for (size_t b = 0; b <= NBUCKET; b++) {
      cum += load(&buckets[r][b]);
      if (b < NBUCKET)
        put_text(out, "chorus_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                 ROUTE_NAMES[r], BUCKETS[b], (unsigned long long)cum);
      else
        put_text(out, "chorus_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                 ROUTE_NAMES[r], (unsigned long long)cum);
    }
    put_text(out, "chorus_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", ROUTE_NAMES[r],
             (double)load(&sum_ns[r]) / 1e9);
    put_text(out, "chorus_http_request_duration_seconds_count{route=\"%s\"} %llu\n", ROUTE_NAMES[r],
             (unsigned long long)cum);
  }
}

/* One exported figure read from a field of a stats struct. */
typedef struct {
  const char *name;
  const char *help;
  bool gauge;
  size_t offset; /* of the field in the struct the table describes */
} metric_field_t;

static void render_value(buf_t *out, const char *name, bool gauge, const char *help, uint64_t v) {
  put_text(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, gauge ? "gauge" : "counter", name,
           (unsigned long long)v);
}

/* Fields of atomics (shared with the threads that count). */
static void render_atomics(buf_t *out, const metric_field_t *t, size_t n, const void *base) {
  for (size_t i = 0; i < n; i++)
    render_value(out, t[i].name, t[i].gauge, t[i].help,
                 load((atomic_uint_fast64_t *)((const char *)base + t[i].offset)));
}

/* Fields of plain uint64_t (a snapshot). */
static void render_plain(buf_t *out, const metric_field_t *t, size_t n, const void *base) {
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    memcpy(&v, (const char *)base + t[i].offset, sizeof(v));
    render_value(out, t[i].name, t[i].gauge, t[i].help, v);
  }
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const metric_field_t STORAGE_FIELDS[] = {
    {"chorus_storage_batches_total", "Write groups committed (one WriteBatch each).", false,
     offsetof(engine_stats_t, batches)},
    {"chorus_storage_jobs_total", "Operations applied by the writer.", false, offsetof(engine_stats_t, jobs)},
    {"chorus_storage_writes_total", "Key records written.", false, offsetof(engine_stats_t, writes)},
    {"chorus_storage_reads_total", "Key records read from LevelDB.", false, offsetof(engine_stats_t, reads)},
    {"chorus_storage_fsyncs_total", "Synced LevelDB writes.", false, offsetof(engine_stats_t, fsyncs)},
    {"chorus_storage_errors_total", "Write groups that failed.", false, offsetof(engine_stats_t, errors)},
    {"chorus_storage_replays_total", "Retried requests answered from the request log.", false,
     offsetof(engine_stats_t, replays)},
    {"chorus_storage_batch_jobs_max", "Largest write group so far.", true,
     offsetof(engine_stats_t, batch_jobs_max)},
    {"chorus_storage_read_only", "1 after a failed write: writes refused until restart.", true,
     offsetof(engine_stats_t, read_only)},
    {"chorus_conflicts", "Keys holding concurrent siblings.", true, offsetof(engine_stats_t, conflicts_now)},
    {"chorus_storage_keys", "Keys holding a live value on this node.", true, offsetof(engine_stats_t, keys)},
    {"chorus_storage_merges_total", "States of other nodes merged (replication, read repair, hint delivery).",
     false, offsetof(engine_stats_t, merges)},
    {"chorus_storage_merges_changed_total", "Merges that changed the stored state.", false,
     offsetof(engine_stats_t, merges_changed)},
    {"chorus_hints", "Hints this node keeps for other nodes.", true, offsetof(engine_stats_t, hints)},
    {"chorus_hints_stored_total", "Hints stored or merged into a kept hint.", false,
     offsetof(engine_stats_t, hints_stored_total)},
    {"chorus_hints_deleted_total", "Hints deleted after their delivery.", false,
     offsetof(engine_stats_t, hints_deleted_total)},
    {"chorus_hints_expired_total", "Hints dropped undelivered: older than the hint TTL, or unreadable.",
     false, offsetof(engine_stats_t, hints_expired_total)},
    {"chorus_hints_refused_total", "Hints refused because the node keeps the most it may.", false,
     offsetof(engine_stats_t, hints_refused_total)},
    {"chorus_hints_unreadable_total", "Unreadable hints skipped when hints were listed.", false,
     offsetof(engine_stats_t, hints_unreadable_total)},
    {"chorus_storage_record_cache_hits_total", "Key records read from the record cache instead of LevelDB.",
     false, offsetof(engine_stats_t, record_cache_hits)},
    {"chorus_storage_record_cache_misses_total",
     "Key records looked up in the record cache and not found there.", false,
     offsetof(engine_stats_t, record_cache_misses)},
    {"chorus_storage_record_cache_bytes", "Bytes the record cache holds (entries, keys and records).", true,
     offsetof(engine_stats_t, record_cache_bytes)},
    {"chorus_storage_record_cache_entries", "Keys the record cache holds.", true,
     offsetof(engine_stats_t, record_cache_entries)},
};

static const metric_field_t GOSSIP_FIELDS[] = {
    {"chorus_gossip_packets_in_total", "UDP packets received.", false,
     offsetof(gossip_counters_t, packets_in)},
    {"chorus_gossip_packets_out_total", "UDP packets sent.", false, offsetof(gossip_counters_t, packets_out)},
    {"chorus_gossip_bytes_in_total", "Bytes of UDP packets received.", false,
     offsetof(gossip_counters_t, bytes_in)},
    {"chorus_gossip_bytes_out_total", "Bytes of UDP packets sent.", false,
     offsetof(gossip_counters_t, bytes_out)},
    {"chorus_gossip_dropped_malformed_total", "Packets or frames that did not decode.", false,
     offsetof(gossip_counters_t, dropped_malformed)},
    {"chorus_gossip_dropped_auth_total", "Packets or frames that failed authentication (--cluster-key).",
     false, offsetof(gossip_counters_t, dropped_auth)},
    {"chorus_gossip_dropped_oversize_total", "Packets or frames over the size limit.", false,
     offsetof(gossip_counters_t, dropped_oversize)},
    {"chorus_gossip_send_errors_total", "Packets that could not be sent.", false,
     offsetof(gossip_counters_t, send_errors)},
    {"chorus_gossip_push_pulls_total", "Member-table exchanges that completed.", false,
     offsetof(gossip_counters_t, push_pulls_ok)},
    {"chorus_gossip_push_pulls_failed_total", "Member-table exchanges that failed.", false,
     offsetof(gossip_counters_t, push_pulls_failed)},
};

static const metric_field_t SWIM_FIELDS[] = {
    {"chorus_swim_probes_total", "Direct probes sent.", false, offsetof(swim_stats_t, probes)},
    {"chorus_swim_acks_total", "Acks received.", false, offsetof(swim_stats_t, acks)},
    {"chorus_swim_nacks_total", "Nacks received.", false, offsetof(swim_stats_t, nacks)},
    {"chorus_swim_ping_reqs_total", "Indirect probe requests sent.", false,
     offsetof(swim_stats_t, ping_reqs)},
    {"chorus_swim_suspects_total", "Members this node suspected.", false, offsetof(swim_stats_t, suspects)},
    {"chorus_swim_refutes_total", "Suspicions of this node it refuted.", false,
     offsetof(swim_stats_t, refutes)},
    {"chorus_swim_deads_total", "Members declared dead.", false, offsetof(swim_stats_t, deads)},
};

/* chorus_hints_by_owner{owner="..."}: one series per node that has hints waiting here. */
static void render_hint_owners(buf_t *out, engine_t *e) {
  engine_hint_count_t *c = NULL;
  size_t n = 0;
  if (engine_hint_counts(e, &c, &n) || !n) return;
  put_text(out, "# HELP chorus_hints_by_owner Hints this node keeps, by the node they are for.\n"
                "# TYPE chorus_hints_by_owner gauge\n");
  for (size_t i = 0; i < n; i++)
    put_text(out, "chorus_hints_by_owner{owner=\"%s\"} %llu\n", c[i].owner, (unsigned long long)c[i].count);
  free(c);
}

static void render_storage(buf_t *out, engine_t *e) {
  render_atomics(out, STORAGE_FIELDS, NELEM(STORAGE_FIELDS), engine_stats(e));
  render_hint_owners(out, e);
  render_value(out, "chorus_events_total", false, "Events recorded by this node.", engine_event_count(e));
  char *mem = engine_property(e, "leveldb.approximate-memory-usage");
  if (mem) {
    render_value(out, "chorus_storage_leveldb_memory_bytes", true, "LevelDB's approximate memory use.",
                 strtoull(mem, NULL, 10));
    free(mem);
  }
}

static void render_gossip(buf_t *out, gossip_t *g) {
  render_atomics(out, GOSSIP_FIELDS, NELEM(GOSSIP_FIELDS), gossip_counters(g));
  gossip_view_t v;
  if (gossip_view(g, &v) != 0) return;
  render_plain(out, SWIM_FIELDS, NELEM(SWIM_FIELDS), &v.stats);
  render_value(out, "chorus_swim_health_score", true, "Lifeguard local health (0 = healthy).",
               (uint64_t)v.health);
  render_value(out, "chorus_swim_members", true, "Members known, this node included.", v.n);
  gossip_view_free(&v);
}

static const metric_field_t COORD_FIELDS[] = {
    {"chorus_coord_writes_total", "Writes this node coordinated.", false, offsetof(coord_stats_t, writes)},
    {"chorus_coord_reads_total", "Reads this node coordinated.", false, offsetof(coord_stats_t, reads)},
    {"chorus_coord_forwarded_total", "Writes forwarded to a replica to coordinate.", false,
     offsetof(coord_stats_t, forwarded)},
    {"chorus_coord_quorum_failures_total", "Requests answered 503: W or R not met in time.", false,
     offsetof(coord_stats_t, quorum_failures)},
    {"chorus_coord_replica_failures_total", "Replica writes and reads that failed or timed out.", false,
     offsetof(coord_stats_t, replica_failures)},
    {"chorus_coord_read_repairs_total", "Repairs sent to stale replicas.", false,
     offsetof(coord_stats_t, read_repairs)},
    {"chorus_hints_kept_total", "Hints this node stored for replicas that missed a write.", false,
     offsetof(coord_stats_t, hints_kept)},
    {"chorus_hints_delivered_total", "Kept hints merged by their owner and deleted.", false,
     offsetof(coord_stats_t, hints_delivered)},
};

static const metric_field_t PEER_FIELDS[] = {
    {"chorus_peer_frames_in_total", "Peer frames received.", false, offsetof(peer_net_counters_t, frames_in)},
    {"chorus_peer_frames_out_total", "Peer frames sent.", false, offsetof(peer_net_counters_t, frames_out)},
    {"chorus_peer_bytes_in_total", "Bytes received from peers.", false,
     offsetof(peer_net_counters_t, bytes_in)},
    {"chorus_peer_bytes_out_total", "Bytes sent to peers.", false, offsetof(peer_net_counters_t, bytes_out)},
    {"chorus_peer_dropped_malformed_total", "Peer frames that did not decode (connection closed).", false,
     offsetof(peer_net_counters_t, dropped_malformed)},
    {"chorus_peer_dropped_auth_total", "Peer frames that failed authentication (--cluster-key).", false,
     offsetof(peer_net_counters_t, dropped_auth)},
    {"chorus_peer_dropped_oversize_total", "Peer frames over the size limit.", false,
     offsetof(peer_net_counters_t, dropped_oversize)},
    {"chorus_peer_connects_total", "Outbound peer connections opened.", false,
     offsetof(peer_net_counters_t, connects)},
    {"chorus_peer_connect_failures_total", "Outbound peer connections that failed.", false,
     offsetof(peer_net_counters_t, connect_failures)},
    {"chorus_peer_timeouts_total", "Peer requests that timed out.", false,
     offsetof(peer_net_counters_t, timeouts)},
    {"chorus_peer_refused_busy_total", "Peer requests refused: the connection's queue was full.", false,
     offsetof(peer_net_counters_t, refused_busy)},
};

/* The loop thread's stalls (common/loop_stats.h). */
static void render_loop(buf_t *out, const loop_stats_t *l) {
  render_value(out, "chorus_loop_iterations_total", false, "Iterations of the node's loop.",
               load(&l->iterations));
  put_text(
      out,
      "# HELP chorus_loop_busy_seconds_total Time the loop spent running callbacks (not sleeping in poll).\n"
      "# TYPE chorus_loop_busy_seconds_total counter\nchorus_loop_busy_seconds_total %.9f\n",
      (double)load(&l->busy_ns) / 1e9);
  put_text(out,
           "# HELP chorus_loop_stall_seconds_max The longest loop iteration since start: no timer fires "
           "during it.\n"
           "# TYPE chorus_loop_stall_seconds_max gauge\nchorus_loop_stall_seconds_max %.9f\n",
           (double)load(&l->stall_max_ns) / 1e9);
  render_value(out, "chorus_loop_slow_stalls_total", false, "Loop iterations busy 50 ms or longer.",
               load(&l->slow_stalls));
}

static const metric_field_t AAE_FIELDS[] = {
    {"chorus_aae_exchanges_total", "Anti-entropy exchanges this node ran.", false,
     offsetof(aae_status_t, exchanges)},
    {"chorus_aae_exchanges_failed_total",
     "Anti-entropy exchanges that stopped early (peer gone, rings differ).", false,
     offsetof(aae_status_t, exchanges_failed)},
    {"chorus_aae_keys_repaired_total", "Keys repaired by anti-entropy, either way.", false,
     offsetof(aae_status_t, keys_repaired)},
    {"chorus_aae_keys_pushed_total", "Records anti-entropy sent to a peer that lacked them.", false,
     offsetof(aae_status_t, keys_pushed)},
    {"chorus_aae_keys_pulled_total", "Records anti-entropy took from a peer that changed ours.", false,
     offsetof(aae_status_t, keys_pulled)},
    {"chorus_aae_bytes_sent_total", "Payload bytes anti-entropy sent.", false,
     offsetof(aae_status_t, bytes_sent)},
    {"chorus_aae_bytes_received_total", "Payload bytes anti-entropy received.", false,
     offsetof(aae_status_t, bytes_received)},
    {"chorus_tombstones_reaped_total", "Tombstones dropped once every replica held them.", false,
     offsetof(aae_status_t, tombstones_reaped)},
};

static void render_aae(buf_t *out, engine_t *engine, struct coord *coord) {
  aae_status_t st;
  coord_aae_status(coord, &st);
  render_plain(out, AAE_FIELDS, NELEM(AAE_FIELDS), &st);
  engine_tree_info_t ti;
  engine_tree_info(engine, &ti);
  render_value(out, "chorus_merkle_keys", true, "Keys in the anti-entropy tree.", ti.keys);
  render_value(out, "chorus_merkle_memory_bytes", true, "Bytes of the in-memory anti-entropy tree.",
               (uint64_t)ti.memory);
}

static const metric_field_t XFER_FIELDS[] = {
    {"chorus_transfer_keys_received_total", "Records streamed to this node in ownership transfers.", false,
     offsetof(xfer_counters_t, keys_in)},
    {"chorus_transfer_bytes_received_total", "Bytes streamed to this node in ownership transfers.", false,
     offsetof(xfer_counters_t, bytes_in)},
    {"chorus_transfer_keys_sent_total", "Records this node handed off to their owners.", false,
     offsetof(xfer_counters_t, keys_out)},
    {"chorus_transfer_bytes_sent_total", "Bytes this node handed off to their owners.", false,
     offsetof(xfer_counters_t, bytes_out)},
    {"chorus_transfer_keys_dropped_total", "Records dropped here once their owners held them.", false,
     offsetof(xfer_counters_t, keys_dropped)},
    {"chorus_transfer_failures_total", "Transfer batches and hand-offs that failed and were tried again.",
     false, offsetof(xfer_counters_t, failures)},
    {"chorus_transfer_handoff_passes_total", "Passes over the records this node does not own.", false,
     offsetof(xfer_counters_t, passes)},
};

static void render_xfer(buf_t *out, struct coord *coord) {
  xfer_status_t *st = malloc(sizeof *st);
  if (!st) return;
  coord_xfer_status(coord, st);
  render_plain(out, XFER_FIELDS, NELEM(XFER_FIELDS), &st->counters);
  uint64_t running = 0;
  for (size_t i = 0; i < st->n; i++)
    running += !st->entries[i].done;
  render_value(out, "chorus_transfer_streams_running", true, "Range streams this node has not finished.",
               running);
  render_value(out, "chorus_node_phase", true, "This node's phase: 0 normal, 1 joining, 2 leaving.",
               st->phase);
  free(st);
}

static void render_tls(buf_t *out, tls_t *tls) {
  tls_info_t ti;
  tls_info(tls, &ti);
  render_value(out, "chorus_tls_cert_not_after_seconds", true,
               "Expiry of the HTTPS certificate in use, seconds since the epoch.",
               ti.not_after > 0 ? (uint64_t)ti.not_after : 0);
  render_value(out, "chorus_tls_reloads_total", false, "HTTPS certificate reloads (SIGHUP) that took effect.",
               ti.reloads);
  render_value(out, "chorus_tls_reload_failures_total", false,
               "HTTPS certificate reloads refused (bad file, key not the certificate's).", ti.failures);
}

void metrics_render(buf_t *out, engine_t *engine, gossip_t *gossip, struct coord *coord,
                    const loop_stats_t *loop, tls_t *tls) {
  render_requests(out);
  if (tls) render_tls(out, tls);
  if (loop) render_loop(out, loop);
  render_latency(out);
  if (engine) render_storage(out, engine);
  if (gossip) render_gossip(out, gossip);
  if (coord) {
    render_atomics(out, COORD_FIELDS, NELEM(COORD_FIELDS), coord_stats(coord));
    render_atomics(out, PEER_FIELDS, NELEM(PEER_FIELDS), coord_peer_counters(coord));
    if (engine) render_aae(out, engine, coord);
    render_xfer(out, coord);
  }
}
