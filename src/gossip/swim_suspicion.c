/*
 * swim_suspicion.c - the Lifeguard suspicion timer of one suspected member.
 *
 * With N live members (at least 1):
 *   min = floor(suspicion_mult x log10(N + 1) x probe_interval)   ms
 *   max = SWIM_SUSPICION_MAX_MULT x min
 *   k   = suspicion_mult - 2                  (confirmations expected)
 *   timeout(c) = max(min, floor(max - (max - min) x ln(c + 1) / ln(k + 1)))
 * where c counts distinct members, other than the first suspector, whose
 * SUSPECT about the same incarnation arrived. The deadline is start +
 * timeout(c): each independent confirmation brings it closer, so a member
 * many peers cannot reach is declared dead sooner, while a lone (possibly
 * slow) accuser has to wait the longest. With k < 1 no confirmation is
 * expected and the timeout is min from the start.
 *
 * Invariants: min <= deadline - start <= max; n <= k; from[0..n] are the
 * distinct ids heard so far (from[0] the first suspector, possibly "").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "swim_internal.h"

uint64_t swim_suspicion_min_ms(uint32_t suspicion_mult, size_t n_live, uint32_t probe_interval_ms) {
  double n = n_live < 1 ? 1.0 : (double)n_live;
  return (uint64_t)floor((double)suspicion_mult * log10(n + 1.0) * (double)probe_interval_ms);
}

uint64_t swim_suspicion_timeout_ms(uint64_t min_ms, uint64_t max_ms, uint32_t k, uint32_t c) {
  if (k < 1) return min_ms;
  double frac = log((double)c + 1.0) / log((double)k + 1.0);
  double raw = (double)max_ms - frac * (double)(max_ms - min_ms);
  uint64_t t = raw <= 0 ? 0 : (uint64_t)floor(raw);
  return t < min_ms ? min_ms : t;
}

swim_suspicion_t *swim_suspicion_new(const swim_config_t *cfg, size_t n_live, const char *from,
                                     uint64_t now_ms) {
  uint32_t k = cfg->suspicion_mult > 2 ? cfg->suspicion_mult - 2 : 0;
  swim_suspicion_t *s = calloc(1, sizeof(*s) + ((size_t)k + 1) * sizeof(s->from[0]));
  if (!s) return NULL;
  s->k = k;
  s->start_ms = now_ms;
  s->min_ms = swim_suspicion_min_ms(cfg->suspicion_mult, n_live, cfg->probe_interval_ms);
  s->max_ms = SWIM_SUSPICION_MAX_MULT * s->min_ms;
  s->deadline_ms = now_ms + swim_suspicion_timeout_ms(s->min_ms, s->max_ms, k, 0);
  strncpy(s->from[0], from, NODE_ID_MAX);
  return s;
}

bool swim_suspicion_confirm(swim_suspicion_t *s, const char *from) {
  /* Guard: past k confirmations the timeout is already at min; an empty or
   * repeated accuser is not independent evidence. */
  if (s->n >= s->k || !from[0]) return false;
  for (uint32_t i = 0; i <= s->n; i++)
    if (strcmp(s->from[i], from) == 0) return false;
  s->n++;
  strncpy(s->from[s->n], from, NODE_ID_MAX);
  s->deadline_ms = s->start_ms + swim_suspicion_timeout_ms(s->min_ms, s->max_ms, s->k, s->n);
  return true;
}
