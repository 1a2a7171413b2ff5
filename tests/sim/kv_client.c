/*
 * kv_client.c - simulated clients and the write log (see kv_client.h).
 *
 * A client is a small state machine driven by KV_EV_CLIENT events: IDLE
 * (next event: read), READ (a GET in flight), READ_DONE (next event:
 * write), WRITE (a PUT or DELETE in flight). A request's done callback
 * only records the outcome and schedules the next step, so a client never
 * re-enters a coordinator from its callback. A request refused at once
 * (the node is going down) is tried again after the think time.
 */
#include "kv_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "storage/record.h"
#include "sim_grow.h"

#define THINK_MS 5 /* plus 0..THINK_JITTER_MS between two steps */
#define THINK_JITTER_MS 45
#define DELETE_PERCENT 15 /* of the writes on a key with a live value */

typedef enum { CL_IDLE, CL_READ, CL_READ_DONE, CL_WRITE } cl_phase_t;

typedef struct {
  kv_clients_t *all;
  uint32_t idx;
  cl_phase_t phase;
  coord_req_t req;
  uint32_t key;
  char key_name[KV_KEY_MAX];
  char value[24];
  dvv_t read;
  vv_t ctx;
  uint64_t write; /* the write in flight */
} client_t;

struct kv_clients {
  kv_cluster_t *kc;
  client_t *v;
  uint32_t n, keys;
  bool stopping;
  kv_log_t log;
};

void kv_key_name(uint32_t k, char out[KV_KEY_MAX]) {
  snprintf(out, KV_KEY_MAX, "k%u", k);
}

uint64_t kv_value_write(const uint8_t *value, size_t len) {
  if (len < 2 || len > 20 || value[0] != 'w' || value[1] == '0') return 0;
  uint64_t id = 0;
  for (size_t i = 1; i < len; i++) {
    if (value[i] < '0' || value[i] > '9') return 0;
    id = id * 10 + (uint64_t)(value[i] - '0');
  }
  return id;
}

int kv_clients_create(kv_cluster_t *kc, uint32_t n, uint32_t keys, kv_clients_t **out) {
  kv_clients_t *c = calloc(1, sizeof *c);
  if (!c || !(c->v = calloc(n ? n : 1, sizeof *c->v))) {
    free(c);
    return CHORUS_ENOMEM;
  }
  c->kc = kc;
  c->n = n;
  c->keys = keys ? keys : 1;
  for (uint32_t i = 0; i < n; i++) {
    c->v[i].all = c;
    c->v[i].idx = i;
    dvv_init(&c->v[i].read);
    vv_init(&c->v[i].ctx);
  }
  kc->clients = c;
  *out = c;
  return 0;
}

void kv_clients_destroy(kv_clients_t *c) {
  if (!c) return;
  for (uint32_t i = 0; i < c->n; i++) {
    dvv_free(&c->v[i].read);
    vv_free(&c->v[i].ctx);
  }
  for (size_t i = 0; i < c->log.n; i++) {
    vv_free(&c->log.w[i].ctx);
    dvv_free(&c->log.w[i].read);
  }
  free(c->log.w);
  free(c->v);
  free(c);
}

static int schedule_step(client_t *cl) {
  kv_cluster_t *kc = cl->all->kc;
  uint64_t at = kv_now(kc) + THINK_MS + rng_below(&kc->rng, THINK_JITTER_MS + 1);
  return kv_schedule(kc, at, KV_EV_CLIENT, cl->idx, cl->idx, 0, 0, NULL, 0);
}

int kv_clients_start(kv_clients_t *c) {
  int rc = 0;
  for (uint32_t i = 0; i < c->n && !rc; i++)
    rc = schedule_step(&c->v[i]);
  return rc;
}

void kv_clients_stop(kv_clients_t *c) {
  c->stopping = true;
}

bool kv_clients_idle(const kv_clients_t *c) {
  for (uint32_t i = 0; i < c->n; i++)
    if (c->v[i].phase == CL_READ || c->v[i].phase == CL_WRITE) return false;
  return true;
}

const kv_log_t *kv_clients_log(const kv_clients_t *c) {
  return &c->log;
}

uint32_t kv_clients_keys(const kv_clients_t *c) {
  return c->keys;
}

/* A random running node's coordinator, or NULL when none runs. */
static coord_t *pick_node(kv_cluster_t *kc) {
  uint32_t up[KV_NODES] = {0}, n = 0;
  for (uint32_t i = 0; i < KV_NODES; i++)
    if (kc->nodes[i].up) up[n++] = i;
  return n ? kc->nodes[up[rng_below(&kc->rng, n)]].coord : NULL;
}

static void done(coord_req_t *req);

/* Submits cl->req (already filled) to a random running node. */
static int submit(client_t *cl, cl_phase_t phase) {
  coord_t *coord = pick_node(cl->all->kc);
  cl->req.key = cl->key_name;
  cl->req.key_len = strlen(cl->key_name);
  cl->req.done = done;
  cl->req.user = cl;
  if (!coord || coord_submit(coord, &cl->req) != 0) return 1;
  cl->phase = phase;
  return 0;
}

static int start_read(client_t *cl) {
  kv_cluster_t *kc = cl->all->kc;
  cl->key = (uint32_t)rng_below(&kc->rng, cl->all->keys);
  kv_key_name(cl->key, cl->key_name);
  memset(&cl->req, 0, sizeof cl->req);
  cl->req.kind = COORD_DATA;
  cl->req.op = ENGINE_GET;
  if (submit(cl, CL_READ)) return schedule_step(cl);
  return 0;
}

/* Logs the write about to be sent; its value names it. */
static int log_write(client_t *cl, bool del) {
  kv_log_t *log = &cl->all->log;
  void *v = log->w;
  int rc = sim_grow(&v, &log->cap, log->n, sizeof *log->w, 1024);
  log->w = v;
  if (rc) return rc;
  kv_write_t *w = &log->w[log->n];
  memset(w, 0, sizeof *w);
  vv_init(&w->ctx);
  dvv_init(&w->read);
  w->key = cl->key;
  w->del = del;
  rc = vv_copy(&w->ctx, &cl->ctx);
  if (!rc) rc = dvv_copy(&w->read, &cl->read);
  if (rc) {
    vv_free(&w->ctx);
    dvv_free(&w->read);
    return rc;
  }
  cl->write = ++log->n;
  return 0;
}

static int start_write(client_t *cl) {
  kv_cluster_t *kc = cl->all->kc;
  bool del = dvv_live_count(&cl->read) > 0 && rng_below(&kc->rng, 100) < DELETE_PERCENT;
  int rc = log_write(cl, del);
  if (rc) return rc;
  memset(&cl->req, 0, sizeof cl->req);
  cl->req.kind = COORD_DATA;
  cl->req.op = del ? ENGINE_DELETE : ENGINE_PUT;
  cl->req.ctx = &cl->ctx;
  if (!del) {
    snprintf(cl->value, sizeof cl->value, "w%llu", (unsigned long long)cl->write);
    cl->req.value = (const uint8_t *)cl->value;
    cl->req.value_len = strlen(cl->value);
  }
  if (submit(cl, CL_WRITE)) {
    cl->all->log.w[cl->write - 1].status = KV_W_FAILED;
    cl->phase = CL_IDLE;
    return schedule_step(cl);
  }
  return 0;
}

int kv_client_on_event(kv_cluster_t *kc, const sim_event_t *ev) {
  kv_clients_t *all = kc->clients;
  if (!all || ev->node >= all->n) return CHORUS_EINVAL;
  client_t *cl = &all->v[ev->node];
  if (cl->phase == CL_READ_DONE) return start_write(cl);
  if (all->stopping) return 0;
  return start_read(cl);
}

static void read_done(client_t *cl, const coord_result_t *res) {
  kv_log_t *log = &cl->all->log;
  log->reads++;
  bool ok = res->err == 0 || res->err == CHORUS_ENOTFOUND;
  if (ok && (dvv_copy(&cl->read, &res->state) != 0 || dvv_context(&cl->read, &cl->ctx) != 0)) {
    cl->all->kc->fatal = CHORUS_ENOMEM;
    ok = false;
  }
  if (!ok) log->reads_failed++;
  cl->phase = ok && !cl->all->stopping ? CL_READ_DONE : CL_IDLE;
}

static void write_done(client_t *cl, const coord_result_t *res) {
  bool acked = res->err == 0; /* a forwarded write's result is its coordinator's, as data */
  cl->all->log.w[cl->write - 1].status = acked ? KV_W_ACKED : KV_W_FAILED;
  cl->phase = CL_IDLE;
}

static void done(coord_req_t *req) {
  client_t *cl = req->user;
  if (cl->phase == CL_READ)
    read_done(cl, &req->result);
  else
    write_done(cl, &req->result);
  coord_result_free(&req->result);
  int rc = schedule_step(cl);
  if (rc && !cl->all->kc->fatal) cl->all->kc->fatal = rc;
}
