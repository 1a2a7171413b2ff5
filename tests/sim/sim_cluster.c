/*
 * sim_cluster.c - the event loop and the one path from core outputs to the
 * simulated world (see sim_cluster.h).
 *
 * Timers: re-arming only ever moves a node's timer earlier; a superseded
 * TIMER event stays queued but carries an old generation and is skipped.
 * A timer that fires before the core's (later) deadline costs one idle
 * swim_tick, which the core contract allows ("runs every timer due"). A
 * deadline already past after a tick (work one step of the tick created
 * for an earlier step) is served by another tick at the same ms.
 *
 * Errors: a core call that fails is counted as a fault and the run goes on
 * (the report shows it); only running out of memory, here or in a core,
 * and the memory guard (sim_watch.h) stop a run.
 */
#include "sim_cluster.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sim_addr.h"
#include "sim_hash.h"

#define SEED_STREAM_NET 0x6e6574ull /* keeps the network's generator apart from the cluster's */
/* Ticks in a row at one virtual ms that leave work due before the clock
 * is pushed on: a core that never catches up would otherwise hang the run. */
#define SIM_SPIN_MAX 8

/* Counts a failed core call; returns the code if it must stop the run. */
static int note_core(sim_cluster_t *c, int rc) {
  if (rc >= 0) return 0;
  if (rc == CHORUS_ENOMEM) return rc;
  if (!c->core_errors) c->first_core_error = rc;
  c->core_errors++;
  return 0;
}

static int advance(sim_cluster_t *c, uint64_t t) {
  if (t <= c->now) return 0;
  c->node_ms += (uint64_t)c->view.n_up * (t - c->now);
  c->now = t;
  if (t < c->watch.next_check_at) return 0;
  sim_watch_point_t p = {.now_ms = t,
                         .t0_ms = c->cfg.t0_ms,
                         .n_up = c->view.n_up,
                         .alive_pairs = c->view.alive_pairs,
                         .steps = c->steps};
  return sim_watch_check(&c->watch, &p);
}

static int schedule(sim_cluster_t *c, sim_event_kind_t kind, uint64_t at, uint32_t node, uint32_t peer,
                    uint64_t gen, uint8_t *data, size_t len) {
  sim_event_t ev = {.at = at, .kind = kind, .node = node, .peer = peer, .gen = gen, .data = data, .len = len};
  int rc = sim_heap_push(&c->heap, &ev);
  if (rc < 0) free(data);
  return rc;
}

/* Node index of a routable address, or -1. */
static int64_t route(const sim_cluster_t *c, const swim_addr_t *a) {
  int64_t j = sim_addr_index(a);
  return j >= 0 && (uint64_t)j < c->cfg.capacity ? j : -1;
}

static bool reachable(const sim_cluster_t *c, uint32_t a, uint32_t b) {
  return c->view.up[a] && c->view.up[b] && sim_net_linked(&c->net, a, b);
}

static int send_packet(sim_cluster_t *c, uint32_t from, const swim_send_t *s) {
  int64_t to = route(c, &s->to);
  if (to < 0) {
    c->net.st.unroutable++;
    return 0;
  }
  uint8_t *data;
  size_t len;
  int rc = sim_wire_pack_msg(&c->wire, &s->msg, &data, &len);
  if (rc < 0) return rc == CHORUS_ENOMEM ? rc : 0;
  c->net.st.msgs++;
  c->net.st.bytes += len;
  if (sim_net_lose(&c->net)) {
    c->net.st.lost++;
    free(data);
    return 0;
  }
  return schedule(c, SIM_EV_PACKET, c->now + sim_net_delay(&c->net), (uint32_t)to, from, 0, data, len);
}

/* Encodes node i's table as it is now. 1 if there is nothing to send. */
static int pack_local_state(sim_cluster_t *c, uint32_t i, bool join, uint8_t **data, size_t *len) {
  swim_state_t st;
  int rc = swim_local_state(c->cores[i], join, &st);
  if (rc < 0) {
    int fatal = note_core(c, rc);
    return fatal ? fatal : 1;
  }
  rc = sim_wire_pack_state(&c->wire, &st, data, len);
  free(st.members);
  if (rc < 0) return rc == CHORUS_ENOMEM ? rc : 1;
  c->net.st.pp_bytes += *len;
  return 0;
}

static int start_push_pull(sim_cluster_t *c, uint32_t from, const swim_push_pull_t *pp) {
  c->net.st.pp_started++;
  int64_t to = route(c, &pp->to);
  if (to < 0) {
    c->net.st.unroutable++;
    c->net.st.pp_failed++;
    return 0;
  }
  uint8_t *data;
  size_t len;
  int rc = pack_local_state(c, from, false, &data, &len);
  if (rc) {
    c->net.st.pp_failed++;
    return rc < 0 ? rc : 0;
  }
  return schedule(c, SIM_EV_PP_REQUEST, c->now + sim_net_delay(&c->net), (uint32_t)to, from, false, data,
                  len);
}

static void record_event(sim_cluster_t *c, uint32_t i, const swim_event_t *ev) {
  uint64_t h = sim_hash_u64(c->hash, c->now);
  h = sim_hash_u64(h, ((uint64_t)i << 8) | (uint64_t)ev->type);
  h = sim_hash_bytes(h, ev->member.id, strlen(ev->member.id));
  h = sim_hash_u64(h, ((uint64_t)ev->member.status << 8) | (uint64_t)ev->old_status);
  c->hash = sim_hash_u64(h, ev->member.incarnation);
  if (ev->type == SWIM_EV_INCARNATION) c->nodes[i].incarnation = ev->member.incarnation;
  sim_view_apply(&c->view, i, ev, c->now);
}

static int flush(sim_cluster_t *c, uint32_t i) {
  swim_out_t *o = &c->out;
  int rc = 0;
  bool changed = false;
  for (size_t k = 0; k < o->n_events; k++) {
    record_event(c, i, &o->events[k]);
    changed |= o->events[k].type != SWIM_EV_INCARNATION;
  }
  if (changed && c->layer.members) c->layer.members(c->layer.state, i);
  for (size_t k = 0; k < o->n_sends && rc >= 0; k++)
    rc = send_packet(c, i, &o->sends[k]);
  for (size_t k = 0; k < o->n_push_pulls && rc >= 0; k++)
    rc = start_push_pull(c, i, &o->push_pulls[k]);
  swim_out_clear(o);
  return rc;
}

static int rearm(sim_cluster_t *c, uint32_t i, bool after_tick) {
  sim_node_t *n = &c->nodes[i];
  uint64_t d = swim_next_deadline(c->cores[i]);
  if (after_tick && d <= c->now) {
    c->late++;
    if (++n->spin > SIM_SPIN_MAX) {
      c->stuck++;
      d = c->now + 1;
    }
  } else if (after_tick) {
    n->spin = 0;
  }
  if (d == SIM_NEVER) return 0;
  if (d < c->now) d = c->now;
  if (d >= n->timer_at) return 0;
  n->timer_at = d;
  return schedule(c, SIM_EV_TIMER, d, i, i, ++n->timer_gen, NULL, 0);
}

/* Acts on the outputs of the core call that returned rc. */
static int after_input(sim_cluster_t *c, uint32_t i, int rc, bool after_tick) {
  int fatal = note_core(c, rc);
  rc = flush(c, i);
  if (fatal) return fatal;
  return rc < 0 ? rc : rearm(c, i, after_tick);
}

static int on_timer(sim_cluster_t *c, const sim_event_t *ev) {
  sim_node_t *n = &c->nodes[ev->node];
  if (!c->view.up[ev->node] || ev->gen != n->timer_gen) return 0;
  n->timer_at = SIM_NEVER;
  c->hash = sim_hash_u64(sim_hash_u64(c->hash, c->now), ev->node);
  if (!n->joined && n->join_seed >= 0 && c->now >= n->rejoin_at) {
    /* as chorusd's gossip shell: the announcement is repeated until a table arrives */
    n->rejoin_at = c->now + SIM_REJOIN_MS;
    swim_addr_t seed_addr;
    sim_node_addr((uint32_t)n->join_seed, c->cfg.long_names, &seed_addr);
    int rc = after_input(c, ev->node, swim_join(c->cores[ev->node], &seed_addr, 1, c->now, &c->out), false);
    if (rc < 0) return rc;
  }
  return after_input(c, ev->node, swim_tick(c->cores[ev->node], c->now, &c->out), true);
}

static int on_packet(sim_cluster_t *c, const sim_event_t *ev) {
  if (!c->view.up[ev->node] || !c->view.up[ev->peer]) {
    c->net.st.to_down++;
    return 0;
  }
  if (!sim_net_linked(&c->net, ev->node, ev->peer)) {
    c->net.st.cut++;
    return 0;
  }
  if (sim_wire_unpack_msg(&c->wire, ev->data, ev->len, &c->rx) < 0) return 0;
  c->net.st.delivered++;
  uint64_t h = sim_hash_u64(c->hash, c->now);
  h = sim_hash_u64(h, ((uint64_t)ev->peer << 32) | ev->node);
  c->hash = sim_hash_bytes(h, ev->data, ev->len);
  return after_input(c, ev->node, swim_on_message(c->cores[ev->node], &c->rx, c->now, &c->out), false);
}

/* Hands a received state to node i's core. */
static int deliver_state(sim_cluster_t *c, uint32_t i, const sim_event_t *ev) {
  swim_state_t st;
  if (sim_wire_unpack_state(&c->wire, ev->data, ev->len, &st) < 0) {
    c->net.st.pp_failed++;
    return 0;
  }
  uint64_t h = sim_hash_u64(c->hash, c->now);
  h = sim_hash_u64(h, ((uint64_t)ev->peer << 32) | i);
  c->hash = sim_hash_bytes(h, ev->data, ev->len);
  int rc = swim_on_state(c->cores[i], &st, c->now, &c->out);
  free(st.members);
  return after_input(c, i, rc, false);
}

/* The responder answers with its table as it was before merging the
 * initiator's, as a TCP exchange where both sides write first. */
static int on_pp_request(sim_cluster_t *c, const sim_event_t *ev) {
  if (!reachable(c, ev->node, ev->peer)) {
    c->net.st.pp_failed++;
    return 0;
  }
  uint8_t *data;
  size_t len;
  int rc = pack_local_state(c, ev->node, false, &data, &len);
  if (rc < 0) return rc;
  if (rc == 0) {
    rc = schedule(c, SIM_EV_PP_RESPONSE, c->now + sim_net_delay(&c->net), ev->peer, ev->node, 0, data, len);
    if (rc < 0) return rc;
  } else {
    c->net.st.pp_failed++;
  }
  c->nodes[ev->node].joined = true;
  return deliver_state(c, ev->node, ev);
}

static int on_pp_response(sim_cluster_t *c, const sim_event_t *ev) {
  if (!reachable(c, ev->node, ev->peer)) {
    c->net.st.pp_failed++;
    return 0;
  }
  c->net.st.pp_done++;
  c->nodes[ev->node].joined = true;
  return deliver_state(c, ev->node, ev);
}

static int dispatch(sim_cluster_t *c, const sim_event_t *ev) {
  switch (ev->kind) {
  case SIM_EV_TIMER: return on_timer(c, ev);
  case SIM_EV_PACKET: return on_packet(c, ev);
  case SIM_EV_PP_REQUEST: return on_pp_request(c, ev);
  case SIM_EV_PP_RESPONSE: return on_pp_response(c, ev);
  case SIM_EV_EXT: return c->layer.ext ? c->layer.ext(c->layer.state, ev) : 0;
  }
  return CHORUS_EINVAL;
}

int sim_cluster_create(const sim_cluster_config_t *cfg, sim_cluster_t **out) {
  if (cfg->capacity == 0 || cfg->capacity > SIM_MAX_NODES) return CHORUS_EINVAL;
  sim_cluster_t *c = calloc(1, sizeof(*c));
  if (!c) return CHORUS_ENOMEM;
  c->cfg = *cfg;
  c->now = cfg->t0_ms;
  c->hash = SIM_HASH_INIT;
  rng_seed(&c->rng, cfg->seed);
  sim_watch_init(&c->watch, cfg->progress_ms, cfg->max_rss_mb, cfg->t0_ms);
  sim_heap_init(&c->heap);
  sim_wire_init(&c->wire, cfg->swim.packet_overhead);
  swim_out_init(&c->out);
  c->nodes = calloc(cfg->capacity, sizeof(*c->nodes));
  c->cores = calloc(cfg->capacity, sizeof(*c->cores));
  int rc = c->nodes && c->cores ? 0 : CHORUS_ENOMEM;
  if (!rc) rc = sim_view_init(&c->view, cfg->capacity);
  if (!rc) rc = sim_net_init(&c->net, cfg->capacity, &cfg->net, cfg->seed ^ SEED_STREAM_NET);
  if (rc) {
    sim_cluster_destroy(c);
    return rc;
  }
  for (uint32_t i = 0; i < cfg->capacity; i++)
    c->nodes[i].timer_at = SIM_NEVER;
  *out = c;
  return 0;
}

void sim_cluster_destroy(sim_cluster_t *c) {
  if (!c) return;
  if (c->cores)
    for (uint32_t i = 0; i < c->cfg.capacity; i++)
      if (c->cores[i]) swim_destroy(c->cores[i]);
  free(c->cores);
  free(c->nodes);
  sim_heap_free(&c->heap);
  sim_net_free(&c->net);
  sim_view_free(&c->view);
  sim_wire_free(&c->wire);
  swim_out_free(&c->out);
  free(c);
}

int sim_cluster_start(sim_cluster_t *c, uint32_t i, int64_t seed) {
  if (i >= c->cfg.capacity || c->view.up[i]) return CHORUS_EINVAL;
  char id[NODE_ID_MAX + 1];
  swim_addr_t addr;
  sim_node_id(i, c->cfg.long_names, id);
  sim_node_addr(i, c->cfg.long_names, &addr);
  if (c->cores[i]) swim_destroy(c->cores[i]);
  c->cores[i] = NULL;
  swim_t *core;
  int rc = swim_create(&c->cfg.swim, id, &addr, c->nodes[i].incarnation, c->nodes[i].phase, rng_next(&c->rng),
                       c->now, &core);
  if (rc < 0) return rc;
  c->cores[i] = core;
  c->nodes[i].timer_at = SIM_NEVER;
  c->nodes[i].timer_gen++;
  c->nodes[i].joined = seed < 0;
  c->nodes[i].join_seed = seed;
  c->nodes[i].rejoin_at = c->now + SIM_REJOIN_MS;
  sim_view_node_up(&c->view, i);
  c->hash = sim_hash_u64(sim_hash_u64(c->hash, c->now), ((uint64_t)i << 1) | 1);
  if (c->layer.members) c->layer.members(c->layer.state, i);
  if (seed < 0) return rearm(c, i, false);
  swim_addr_t seed_addr;
  sim_node_addr((uint32_t)seed, c->cfg.long_names, &seed_addr);
  return after_input(c, i, swim_join(core, &seed_addr, 1, c->now, &c->out), false);
}

bool sim_cluster_joined(const sim_cluster_t *c, uint32_t i) {
  return i < c->cfg.capacity && c->nodes[i].joined;
}

void sim_cluster_crash(sim_cluster_t *c, uint32_t i) {
  if (i >= c->cfg.capacity || !c->view.up[i]) return;
  sim_view_node_down(&c->view, i, c->cores[i]);
  c->nodes[i].timer_at = SIM_NEVER;
  c->nodes[i].timer_gen++;
  c->hash = sim_hash_u64(sim_hash_u64(c->hash, c->now), (uint64_t)i << 1);
}

int sim_cluster_leave(sim_cluster_t *c, uint32_t i) {
  if (i >= c->cfg.capacity || !c->view.up[i]) return CHORUS_EINVAL;
  c->view.departed[i] = 1;
  return after_input(c, i, swim_leave(c->cores[i], c->now, &c->out), false);
}

int sim_cluster_set_phase(sim_cluster_t *c, uint32_t i, swim_phase_t phase) {
  if (i >= c->cfg.capacity) return CHORUS_EINVAL;
  c->nodes[i].phase = phase;
  if (!c->view.up[i]) return 0;
  return after_input(c, i, swim_set_phase(c->cores[i], phase, c->now, &c->out), false);
}

int sim_cluster_remove(sim_cluster_t *c, uint32_t i, const char *id) {
  if (i >= c->cfg.capacity || !c->view.up[i]) return CHORUS_EINVAL;
  int rc = swim_remove(c->cores[i], id, c->now, &c->out);
  if (rc == CHORUS_EINVAL || rc == CHORUS_ENOTFOUND) return rc; /* not dead (yet): the caller tries later */
  return after_input(c, i, rc, false);
}

void sim_cluster_set_group(sim_cluster_t *c, uint32_t i, uint32_t group) {
  sim_net_set_group(&c->net, i, group);
}

void sim_cluster_set_loss(sim_cluster_t *c, double loss) {
  c->net.cfg.loss = loss;
}

void sim_cluster_set_layer(sim_cluster_t *c, const sim_layer_t *layer) {
  c->layer = *layer;
}

int sim_cluster_schedule_ext(sim_cluster_t *c, uint64_t at, uint32_t node, uint32_t peer, uint64_t gen,
                             uint8_t *data, size_t len) {
  return schedule(c, SIM_EV_EXT, at < c->now ? c->now : at, node, peer, gen, data, len);
}

int sim_cluster_run(sim_cluster_t *c, uint64_t until, sim_pred_t pred, const void *arg) {
  if (pred && pred(c, arg)) return 1;
  for (;;) {
    const sim_event_t *top = sim_heap_peek(&c->heap);
    if (!top || top->at > until) break;
    sim_event_t ev;
    sim_heap_pop(&c->heap, &ev);
    int rc = advance(c, ev.at);
    c->steps++;
    if (rc >= 0) rc = dispatch(c, &ev);
    free(ev.data);
    if (rc < 0) return rc;
    if (pred && pred(c, arg)) return 1;
  }
  return until != SIM_NEVER ? advance(c, until) : 0;
}

void sim_cluster_faults(const sim_cluster_t *c, sim_faults_t *f) {
  f->wire = c->wire.faults;
  f->core_errors = c->core_errors;
  f->first_core_error = c->first_core_error;
  f->stuck = c->stuck;
  f->unknown = c->view.unknown;
  f->inconsistent = c->view.inconsistent;
}

uint64_t sim_faults_total(const sim_faults_t *f) {
  return f->wire.encode_errors + f->wire.decode_errors + f->wire.mismatches + f->wire.oversize +
         f->core_errors + f->stuck + f->unknown + f->inconsistent;
}
