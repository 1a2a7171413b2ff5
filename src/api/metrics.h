/*
 * metrics.h - request counters and latency histograms, rendered as
 * Prometheus text.
 *
 * All counters are relaxed atomics in fixed arrays indexed by route, method
 * and status class, so recording a request from any HTTP thread is a few
 * atomic adds and never allocates or locks.
 */
#ifndef CHORUS_METRICS_H
#define CHORUS_METRICS_H

#include <stdint.h>

#include "../common/buf.h"
#include "../common/loop_stats.h"
#include "../storage/engine.h"

typedef enum {
  ROUTE_DATA,
  ROUTE_STATUS,
  ROUTE_VECTOR_CLOCK,
  ROUTE_HEALTH,
  ROUTE_METRICS,
  ROUTE_GOSSIP,
  ROUTE_RING,
  ROUTE_CLUSTER,
  ROUTE_MERKLE,    /* /api/v1/merkle-tree[/compare|/verify] */
  ROUTE_REPAIR,    /* /api/v1/repair */
  ROUTE_TRANSFERS, /* /api/v1/transfers */
  ROUTE_KEYS,      /* /api/v1/keys */
  ROUTE_WS,        /* GET /ws: the handshake (the connection itself is not a request) */
  ROUTE_STATIC,    /* the dashboard's files */
  ROUTE_UNKNOWN,
  ROUTE_COUNT
} api_route_t;

typedef enum {
  METHOD_GET,
  METHOD_PUT,
  METHOD_DELETE,
  METHOD_POST,
  METHOD_HEAD,
  METHOD_OPTIONS,
  METHOD_OTHER,
  METHOD_COUNT
} api_method_t;

api_method_t metrics_method(const char *m);
const char *metrics_route_name(api_route_t r);
const char *metrics_method_name(api_method_t m);
/* Records one answered request. */
void metrics_observe(api_route_t r, api_method_t m, int status, uint64_t duration_ns);

/* Latency buckets of one route: non-cumulative counts, the last is +Inf. */
#define METRICS_BUCKETS 15
typedef struct {
  uint64_t counts[METRICS_BUCKETS];
  uint64_t total;
} metrics_hist_t;

/* A snapshot of route's latency histogram (any thread; relaxed reads of
 * independent counters, so a request being recorded may be missing; total
 * is the sum of the counts read). */
void metrics_hist(api_route_t r, metrics_hist_t *out);
/* The q-quantile (0 < q <= 1), in seconds, of the requests recorded
 * between two snapshots (later minus earlier), interpolated linearly
 * inside its bucket as Prometheus' histogram_quantile does; a quantile in
 * the +Inf bucket is the largest finite bound. CHORUS_ENOTFOUND when no
 * request was recorded in between. */
int metrics_hist_quantile(const metrics_hist_t *later, const metrics_hist_t *earlier, double q,
                          double *out_s);

struct gossip;
/* Appends the Prometheus text exposition of every metric to out; the engine
 * and the gossip shell (either may be NULL) add their sections. */
struct coord;
struct tls;
/* ...and the HTTPS certificate (NULL: plain HTTP) its expiry and reloads. */
void metrics_render(buf_t *out, engine_t *engine, struct gossip *gossip, struct coord *coord,
                    const loop_stats_t *loop, struct tls *tls);

#endif
