/*
 * sim_net.h - the simulated network: who can reach whom, how long a packet
 * takes, which packets are lost, and what was sent.
 *
 * A packet takes delay_ms plus a uniform jitter in [0, jitter_ms] and is
 * lost with probability loss, both drawn from the network's own generator at
 * send time. Reachability is decided at delivery: both ends must be in the
 * same partition group (group 0 = no partition). The network knows nothing
 * about node liveness; the cluster checks that. Push-pull exchanges model
 * TCP: never lost, but they fail when the ends cannot reach each other.
 */
#ifndef CHORUS_SIM_NET_H
#define CHORUS_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"

typedef struct {
  uint32_t delay_ms;
  uint32_t jitter_ms;
  double loss; /* per packet, 0..1 */
} sim_net_config_t;

/* Traffic counters; monotonic over a run (phases take differences). */
typedef struct {
  uint64_t msgs, bytes; /* UDP packets handed to the network, and their encoded bytes */
  uint64_t lost;        /* dropped by the loss model */
  uint64_t cut;         /* dropped at delivery: different partition groups */
  uint64_t to_down;     /* dropped at delivery: an end is crashed */
  uint64_t unroutable;  /* sent to an address no simulated node has */
  uint64_t delivered;   /* handed to swim_on_message */
  uint64_t pp_started;  /* push-pull exchanges requested by cores */
  uint64_t pp_failed;   /* ends unreachable at some step */
  uint64_t pp_done;     /* both states delivered */
  uint64_t pp_bytes;    /* encoded state bytes of both directions */
} sim_net_stats_t;

typedef struct {
  sim_net_config_t cfg;
  rng_t rng;
  uint32_t *group; /* per node */
  uint32_t n;
  sim_net_stats_t st;
} sim_net_t;

int sim_net_init(sim_net_t *net, uint32_t n, const sim_net_config_t *cfg, uint64_t seed);
void sim_net_free(sim_net_t *net);
/* One-way latency of the next packet or TCP segment. */
uint64_t sim_net_delay(sim_net_t *net);
/* Whether the next packet is lost. */
bool sim_net_lose(sim_net_t *net);
bool sim_net_linked(const sim_net_t *net, uint32_t a, uint32_t b);
void sim_net_set_group(sim_net_t *net, uint32_t node, uint32_t group);

#endif
