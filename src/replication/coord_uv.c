/*
 * coord_uv.c - the replication service's libuv shell: the env (coord.h)
 * on the node's loop, the peer transport (peer_net.h) and the storage
 * engine, plus the wake-up and the tick timer that drive coord_drain and
 * coord_tick. chorusd uses coord_start; a simulator builds its own env and
 * never links this file's behaviour into its runs.
 */
#include "coord_internal.h"

#include <stdlib.h>

#include "../common/clock.h"
#include "../common/err.h"
#include "../common/files.h"
#include "events_part.h"

static uint64_t uv_now_ms(void *state) {
  return uv_now(((coord_t *)state)->loop);
}

static uint64_t wall_ms(void *state) {
  (void)state;
  return clock_wall_ms();
}

static int net_request(void *state, const swim_addr_t *to, peer_msg_t *msg, uint64_t timeout_ms,
                       peer_reply_fn cb, void *arg) {
  return peer_net_request(((coord_t *)state)->net, to, msg, timeout_ms, cb, arg);
}

static int net_respond(void *state, peer_conn_t *conn, uint64_t req_id, peer_msg_t *msg) {
  (void)state;
  return peer_net_respond(conn, req_id, msg);
}

static void net_hold(void *state, peer_conn_t *conn) {
  (void)state;
  peer_conn_hold(conn);
}

static void net_release(void *state, peer_conn_t *conn) {
  (void)state;
  peer_conn_release(conn);
}

static int store_submit(void *state, engine_job_t *job) {
  return engine_submit(((coord_t *)state)->engine, job);
}

static int store_clock(void *state, vv_t *out) {
  return engine_clock(((coord_t *)state)->engine, out);
}

static int store_hints(void *state, const char *owner, size_t limit, engine_hint_t **out, size_t *n) {
  return engine_hints(((coord_t *)state)->engine, owner, limit, out, n);
}

static int store_hint_counts(void *state, engine_hint_count_t **out, size_t *n) {
  return engine_hint_counts(((coord_t *)state)->engine, out, n);
}

/* The conflicts the engine read, moved into p (keys change owner). */
static int take_conflicts(events_part_t *p, engine_conflict_t *cs, size_t n) {
  if (n == 0) return 0;
  p->conflicts = calloc(n, sizeof *p->conflicts);
  if (!p->conflicts) return CHORUS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    p->conflicts[i] = (events_part_conflict_t){cs[i].key, cs[i].key_len, cs[i].siblings};
    cs[i].key = NULL;
  }
  p->n_conflicts = n;
  return 0;
}

/* Worker pool: this node's part of an events gather, read from the engine
 * and encoded. The count is read first, so
 * events recorded meanwhile may have ids above total (as they could when
 * the part was JSON). */
static int store_events_part(void *state, uint64_t since, uint32_t limit, buf_t *out, vv_t *clock) {
  coord_t *c = state;
  events_part_t p;
  events_part_init(&p);
  snprintf(p.node, sizeof p.node, "%s", c->self);
  p.total = engine_event_count(c->engine);
  if (since == 0 && p.total > limit) since = p.total - limit;
  engine_conflict_t *cs = NULL;
  size_t n_cs = 0;
  int rc = engine_clock(c->engine, &p.clock);
  if (!rc) rc = engine_events(c->engine, since, limit, &p.events, &p.n_events);
  if (!rc) rc = engine_conflicts(c->engine, EVENTS_PART_MAX_CONFLICTS, &cs, &n_cs);
  if (!rc) rc = take_conflicts(&p, cs, n_cs);
  for (size_t i = 0; i < n_cs; i++)
    free(cs[i].key);
  free(cs);
  if (!rc) rc = events_part_encode(&p, out);
  if (!rc) rc = vv_copy(clock, &p.clock);
  events_part_free(&p);
  return rc;
}

/* The anti-entropy tree, straight from the engine. */
static void store_tree_info(void *state, engine_tree_info_t *out) {
  engine_tree_info(((coord_t *)state)->engine, out);
}

static int store_tree_hashes(void *state, const merkle_range_t *r, size_t nr, unsigned level,
                             const uint64_t *idx, size_t n, uint64_t *out) {
  return engine_tree_hashes(((coord_t *)state)->engine, r, nr, level, idx, n, out);
}

static int store_tree_keys(void *state, const merkle_range_t *r, size_t nr, const uint32_t *segs, size_t n,
                           buf_t *out) {
  return engine_tree_keys(((coord_t *)state)->engine, r, nr, segs, n, out);
}

static int store_record_read(void *state, const char *key, size_t key_len, dvv_t *out) {
  return engine_record_read(((coord_t *)state)->engine, key, key_len, out);
}

static int store_records_in(void *state, const merkle_range_t *r, size_t nr, const engine_cursor_t *from,
                            engine_range_fn fn, void *arg) {
  return engine_records_in(((coord_t *)state)->engine, r, nr, from, fn, arg);
}

/* The transfer state: one small file of the data dir, replaced durably. */
static int xfer_save(void *state, const uint8_t *p, size_t len) {
  return file_replace_bytes(((coord_t *)state)->state_path, p, len);
}

static int keyring_save(void *state, const uint8_t *p, size_t len) {
  return file_replace_bytes(((coord_t *)state)->keyring_path, p, len);
}

static int xfer_load(void *state, buf_t *out) {
  return file_read_all(((coord_t *)state)->state_path, XFER_STATE_FILE_MAX, out);
}

static void set_phase(void *state, swim_phase_t phase) {
  gossip_t *g = ((coord_t *)state)->gossip;
  if (g) gossip_set_phase(g, phase);
}

static void leave_cluster(void *state) {
  coord_t *c = state;
  if (c->gossip) gossip_leave_now(c->gossip);
  if (c->on_left) c->on_left(c->on_left_state);
}

static bool gossip_has_joined(void *state) {
  gossip_t *g = ((coord_t *)state)->gossip;
  return !g || gossip_joined(g);
}

static int store_tombstones(void *state, uint64_t before_ms, size_t limit, engine_tombstone_t **out,
                            size_t *n) {
  return engine_tombstones(((coord_t *)state)->engine, before_ms, limit, out, n);
}

/* A work item on libuv's pool. Work reads the engine, so once coord_close
 * has begun none starts (skipped), and coord_close waits for those already
 * running: the engine may be closed right after it. */
typedef struct {
  uv_work_t w;
  coord_t *c;
  void (*run)(void *arg);
  void (*after)(void *arg, int status);
  void *arg;
  bool skipped;
} work_t;

static void work_run(uv_work_t *w) {
  work_t *k = w->data;
  coord_t *c = k->c;
  pthread_mutex_lock(&c->work_mu);
  k->skipped = c->work_closing;
  if (!k->skipped) c->readers++;
  pthread_mutex_unlock(&c->work_mu);
  if (k->skipped) return;
  k->run(k->arg);
  pthread_mutex_lock(&c->work_mu);
  if (--c->readers == 0) pthread_cond_broadcast(&c->work_idle);
  pthread_mutex_unlock(&c->work_mu);
}

static void work_after(uv_work_t *w, int status) {
  work_t *k = w->data;
  k->after(k->arg, status || k->skipped ? CHORUS_ESHUTDOWN : 0);
  free(k);
}

static int pool_work(void *state, void (*run)(void *arg), void (*after)(void *arg, int status), void *arg) {
  work_t *k = malloc(sizeof *k);
  if (!k) return CHORUS_ENOMEM;
  *k = (work_t){.c = state, .run = run, .after = after, .arg = arg};
  k->w.data = k;
  if (uv_queue_work(((coord_t *)state)->loop, &k->w, work_run, work_after) != 0) {
    free(k);
    return CHORUS_EIO;
  }
  return 0;
}

/* Any thread, under an inbox queue's lock. */
static void loop_wake(void *state) {
  uv_async_send(&((coord_t *)state)->async);
}

static void on_tick(uv_timer_t *t);

static void fast_ticks(void *state) {
  coord_t *c = state;
  if (uv_timer_get_repeat(&c->timer) != COORD_TICK_MS)
    uv_timer_start(&c->timer, on_tick, COORD_TICK_MS, COORD_TICK_MS);
}

static void on_tick(uv_timer_t *t) {
  coord_t *c = t->data;
  uint64_t want = coord_tick(c, uv_now(c->loop));
  if (!c->closing && uv_timer_get_repeat(t) != want) uv_timer_start(t, on_tick, want, want);
}

static void on_async(uv_async_t *a) {
  coord_drain(a->data);
}

static void on_request(peer_conn_t *conn, const peer_msg_t *req, void *state) {
  coord_on_request(state, conn, req);
}

int coord_start(uv_loop_t *loop, const coord_opts_t *o, coord_t **out) {
  coord_env_t env = {.now_ms = uv_now_ms,
                     .wall_ms = wall_ms,
                     .request = net_request,
                     .respond = net_respond,
                     .conn_hold = net_hold,
                     .conn_release = net_release,
                     .submit = store_submit,
                     .clock = store_clock,
                     .hints = store_hints,
                     .hint_counts = store_hint_counts,
                     .events_part = store_events_part,
                     .work = pool_work,
                     .wake = loop_wake,
                     .fast_ticks = fast_ticks,
                     .record_read = store_record_read,
                     .joined = gossip_has_joined,
                     .tombstones = store_tombstones,
                     .records_in = store_records_in,
                     .set_phase = set_phase,
                     .leave = leave_cluster};
  if (o->state_path) {
    env.xfer_save = xfer_save;
    env.xfer_load = xfer_load;
  }
  if (o->keyring_path) env.keyring_save = keyring_save;
  engine_tree_info_t ti;
  engine_tree_info(o->engine, &ti);
  if (ti.enabled) {
    env.tree_info = store_tree_info;
    env.tree_hashes = store_tree_hashes;
    env.tree_keys = store_tree_keys;
  }
  /* the state file is read at create: the env's state must be c by then */
  coord_t *c = calloc(1, sizeof *c);
  if (!c) return CHORUS_ENOMEM;
  c->state_path = o->state_path;
  c->keyring_path = o->keyring_path;
  env.state = c;
  int rc = coord_create_in(c, &env, o);
  if (rc) return rc;
  c->on_left = o->on_left;
  c->on_left_state = o->state;
  c->loop = loop;
  c->work_mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER; /* static: nothing to destroy */
  c->work_idle = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
  c->engine = o->engine;
  peer_net_opts_t po = {
      .cfg = o->cfg, .node_id = o->node_id, .keyring = o->keyring, .on_request = on_request, .state = c};
  rc = peer_net_start(loop, &po, &c->net);
  if (rc) {
    coord_retire(c, 1);
    coord_unref(c);
    return rc;
  }
  uv_async_init(loop, &c->async, on_async);
  uv_timer_init(loop, &c->timer);
  c->async.data = c->timer.data = c;
  uv_timer_start(&c->timer, on_tick, COORD_TICK_MS, COORD_TICK_MS);
  *out = c;
  return 0;
}

void coord_close(coord_t *c) {
  if (!c) return;
  /* work skips the engine from now on; wait for work already reading it */
  pthread_mutex_lock(&c->work_mu);
  c->work_closing = true;
  while (c->readers > 0)
    pthread_cond_wait(&c->work_idle, &c->work_mu);
  pthread_mutex_unlock(&c->work_mu);
  coord_stop_taking(c);
  peer_net_close(c->net); /* fails every request in flight on the network */
  coord_client_fail_all(c);
  uv_timer_stop(&c->timer);
}

static void on_handle_closed(uv_handle_t *h) {
  coord_unref(h->data);
}

void coord_destroy(coord_t *c) {
  if (!c) return;
  coord_drain(c);     /* engine completions that arrived since */
  coord_retire(c, 2); /* c is freed when both handles and every work item are done */
  uv_close((uv_handle_t *)&c->async, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

const peer_net_counters_t *coord_peer_counters(const coord_t *c) {
  return peer_net_counters(c->net);
}
