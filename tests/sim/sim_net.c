/*
 * sim_net.c - latency, loss and partitions (see sim_net.h).
 *
 * The loss draw is skipped entirely at loss 0 (rng_chance), so a run at
 * 0% loss consumes the generator the same way whatever the loss code does.
 */
#include "sim_net.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

int sim_net_init(sim_net_t *net, uint32_t n, const sim_net_config_t *cfg, uint64_t seed) {
  memset(net, 0, sizeof(*net));
  net->group = calloc(n ? n : 1, sizeof(*net->group));
  if (!net->group) return CHORUS_ENOMEM;
  net->n = n;
  net->cfg = *cfg;
  rng_seed(&net->rng, seed);
  return 0;
}

void sim_net_free(sim_net_t *net) {
  free(net->group);
  net->group = NULL;
}

uint64_t sim_net_delay(sim_net_t *net) {
  uint64_t d = net->cfg.delay_ms;
  if (net->cfg.jitter_ms) d += rng_below(&net->rng, (uint64_t)net->cfg.jitter_ms + 1);
  return d;
}

bool sim_net_lose(sim_net_t *net) {
  return rng_chance(&net->rng, net->cfg.loss);
}

bool sim_net_linked(const sim_net_t *net, uint32_t a, uint32_t b) {
  return net->group[a] == net->group[b];
}

void sim_net_set_group(sim_net_t *net, uint32_t node, uint32_t group) {
  net->group[node] = group;
}
