/*
 * coord_xfer_pull.c - the range streams this node pulls (DESIGN §9): on a
 * join, what it will own; on a removal, what it gained. Planned by
 * xfer_plan.h; each stream asks its source for the next batch of records
 * after its cursor (PEER_RANGE), merges the batch durably and quietly,
 * then saves the cursor, so a restart resumes at the last batch applied.
 * A stream that fails tries its next source after XFER_RETRY_MS.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"
#include "../common/log.h"
#include "coord_xfer.h"
#include "ranges.h"

/* ---- pulls: streams of ranges this node gains ---- */

static int add_pull(coord_t *c, xfer_reason_t reason, const xfer_gain_t *g) {
  struct xfer *x = c->xfer;
  if (x->st.n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 8;
    xfer_pull_t *p = realloc(x->st.pulls, cap * sizeof *p);
    if (!p) return CHORUS_ENOMEM;
    x->st.pulls = p;
    xfer_pull_rt_t *r = realloc(x->rt, cap * sizeof *r);
    if (!r) return CHORUS_ENOMEM;
    x->rt = r;
    x->cap = cap;
  }
  xfer_pull_t *p = &x->st.pulls[x->st.n];
  memset(p, 0, sizeof *p);
  if (!(p->ranges = malloc(g->nr * sizeof *p->ranges))) return CHORUS_ENOMEM;
  memcpy(p->ranges, g->ranges, g->nr * sizeof *p->ranges);
  p->nr = g->nr;
  p->id = x->st.next_id++;
  p->reason = reason;
  memcpy(p->sources, g->sources, sizeof p->sources);
  p->n_sources = g->n_sources;
  p->started_ms = xfer_wall(c);
  p->done = g->n_sources == 0; /* nobody holds it: nothing to stream */
  if (p->done) p->finished_ms = p->started_ms;
  memset(&x->rt[x->st.n], 0, sizeof x->rt[x->st.n]);
  x->st.n++;
  return 0;
}

static bool skip_source(const char *id, void *arg) {
  const xfer_skip_t *s = arg;
  if (strcmp(id, s->self) == 0) return true;
  for (size_t i = 0; i < s->n_gone; i++)
    if (strcmp(id, s->gone[i]) == 0) return true;
  return false;
}

/* Plans the streams of what self gains from ring `from` to ring `to`. */
int xfer_plan(coord_t *c, const ring_t *from, const ring_t *to, xfer_reason_t reason, xfer_skip_t *skip) {
  xfer_gain_t *g = NULL;
  size_t n = 0;
  int rc = xfer_plan_gains(from, to, (uint32_t)c->cfg->replicas, c->self, skip_source, skip, &g, &n);
  for (size_t i = 0; !rc && i < n; i++)
    rc = add_pull(c, reason, &g[i]);
  if (!rc && n) {
    uint64_t tokens = 0;
    for (size_t i = 0; i < n; i++)
      tokens = ranges_tokens(g[i].ranges, g[i].nr) > UINT64_MAX - tokens
                   ? UINT64_MAX
                   : tokens + ranges_tokens(g[i].ranges, g[i].nr);
    log_info("transfers: %s: %zu streams planned for %.1f%% of the token space",
             reason == XFER_JOIN ? "join" : "removal", n, 100.0 * (double)tokens / 18446744073709551616.0);
  }
  xfer_gains_free(g, n);
  if (!rc) xfer_save(c);
  xfer_publish(c);
  return rc;
}

typedef struct {
  coord_t *c;
  uint64_t id;
  uint32_t gen; /* of the stream when it was asked */
  /* the batch being applied */
  engine_cursor_t last;
  uint64_t keys, bytes;
  bool done;
  int pending, err;
} pull_call_t;

static size_t find_pull(const struct xfer *x, uint64_t id) {
  for (size_t i = 0; i < x->st.n; i++)
    if (x->st.pulls[i].id == id) return i;
  return SIZE_MAX;
}

static void pull_failed(coord_t *c, size_t i, const char *why) {
  struct xfer *x = c->xfer;
  xfer_pull_t *p = &x->st.pulls[i];
  xfer_pull_rt_t *r = &x->rt[i];
  r->fetching = false;
  r->fetched_all = false;
  r->gen++;
  r->next_from = p->cursor; /* batches out of the failed generation are asked again */
  r->failures++;
  x->counters.failures++;
  log_warn("transfers: stream %llu from %s failed (%s); trying again", (unsigned long long)p->id,
           p->n_sources ? p->sources[r->src % p->n_sources] : "-", why);
  if (p->n_sources) r->src = (r->src + 1) % p->n_sources;
  r->retry_at = xfer_now(c) + XFER_RETRY_MS;
  xfer_publish(c);
}

/* The index of pc's stream; SIZE_MAX (pc freed) when it is gone or the
 * node closes. */
static size_t call_pull(pull_call_t *pc) {
  size_t i = find_pull(pc->c->xfer, pc->id);
  if (i != SIZE_MAX && !pc->c->closing) return i;
  free(pc);
  return SIZE_MAX;
}

/* The batch of pc is applied (or failed): the stream moves on. */
static void batch_applied(pull_call_t *pc) {
  coord_t *c = pc->c;
  struct xfer *x = c->xfer;
  size_t i = call_pull(pc);
  if (i == SIZE_MAX) return;
  xfer_pull_t *p = &x->st.pulls[i];
  xfer_pull_rt_t *r = &x->rt[i];
  r->applying--;
  if (pc->err) {
    if (pc->gen == r->gen) pull_failed(c, i, chorus_strerror(pc->err));
    free(pc);
    return;
  }
  if (pc->gen != r->gen) { /* asked before a failure: applied, but the stream asks it again */
    free(pc);
    return;
  }
  if (pc->keys) p->cursor = pc->last;
  p->keys += pc->keys;
  p->bytes += pc->bytes;
  r->rate_bytes += pc->bytes;
  uint64_t t = xfer_now(c);
  if (t - r->rate_at >= 1000) {
    r->rate = (double)r->rate_bytes * 1000.0 / (double)(t - r->rate_at);
    r->rate_at = t;
    r->rate_bytes = 0;
  }
  x->counters.keys_in += pc->keys;
  x->counters.bytes_in += pc->bytes;
  if (pc->done) { /* the last batch: every one before it was applied first (the store's order) */
    p->done = true;
    p->finished_ms = xfer_wall(c);
    log_info("transfers: stream %llu done: %llu keys, %llu bytes from %s", (unsigned long long)p->id,
             (unsigned long long)p->keys, (unsigned long long)p->bytes,
             p->n_sources ? p->sources[r->src % p->n_sources] : "-");
  }
  r->failures = 0;
  free(pc);
  xfer_save(c);
  xfer_publish(c);
  /* the next batch goes at once (the tick would add its period per batch) */
  view_t *v = view_acquire(c->view);
  xfer_run_pulls(c, v);
  view_release(v);
}

/* A merge of a pulled record is durable. */
static void pulled_one(cjob_t *j) {
  pull_call_t *pc = j->user;
  if (j->job.err && !pc->err) pc->err = j->job.err;
  coord_cjob_free(j);
  if (--pc->pending == 0) batch_applied(pc);
}

int coord_xfer_merge(coord_t *c, const recbatch_entry_t *e, size_t n, const char *peer,
                     void (*finish)(cjob_t *), void *user, int *pending) {
  dvv_t d;
  dvv_init(&d);
  /* every record must decode before any is applied: a damaged batch changes nothing */
  for (size_t k = 0; k < n; k++) {
    int rc = record_decode(e[k].rec, e[k].rec_len, &d);
    if (!rc && d.n == 0) rc = CHORUS_ECORRUPT;
    if (rc) {
      dvv_free(&d);
      return rc;
    }
  }
  for (size_t k = 0; k < n; k++) {
    int rc = record_decode(e[k].rec, e[k].rec_len, &d);
    cjob_t *j = rc ? NULL : coord_cjob_state(c, finish, ENGINE_MERGE, e[k].key, e[k].key_len, &d);
    if (!j) {
      dvv_free(&d);
      return rc ? rc : CHORUS_ENOMEM; /* jobs already out finish the batch with their results */
    }
    j->user = user;
    j->job.quiet = true;
    snprintf(j->peer, sizeof j->peer, "%s", peer);
    (*pending)++;
    coord_cjob_submit(j); /* on failure, finish runs at once with the error */
  }
  dvv_free(&d);
  return 0;
}

static void on_range_reply(int status, const peer_msg_t *reply, void *arg) {
  pull_call_t *pc = arg;
  coord_t *c = pc->c;
  struct xfer *x = c->xfer;
  size_t i = call_pull(pc);
  if (i == SIZE_MAX) return;
  xfer_pull_rt_t *r = &x->rt[i];
  if (pc->gen != r->gen) { /* a reply to a failed generation */
    free(pc);
    return;
  }
  r->fetching = false;
  int rc = status ? status : reply->type != PEER_RANGE_REPLY ? CHORUS_ECORRUPT : reply->range_reply.status;
  recbatch_entry_t *e = NULL;
  size_t n = 0;
  if (!rc) rc = recbatch_decode(reply->range_reply.batch.p, reply->range_reply.batch.len, &e, &n);
  if (rc) {
    pull_failed(c, i, chorus_strerror(rc));
    free(pc);
    return;
  }
  const xfer_pull_t *p = &x->st.pulls[i];
  pc->done = reply->range_reply.done;
  pc->keys = n;
  pc->bytes = reply->range_reply.batch.len;
  xfer_take_tokens(x, pc->bytes);
  if (n) {
    const recbatch_entry_t *l = &e[n - 1];
    pc->last.started = true;
    pc->last.token = ring_key_token(l->key, l->key_len);
    memcpy(pc->last.key, l->key, l->key_len);
    pc->last.key_len = l->key_len;
    /* a batch must move the cursor forward and stay in the ranges: a source that answers otherwise is wrong
     */
    if (!merkle_ranges_contain(p->ranges, p->nr, pc->last.token)) rc = CHORUS_ECORRUPT;
  } else if (!pc->done) {
    rc = CHORUS_ECORRUPT;
  }
  if (rc) {
    free(e);
    pull_failed(c, i, chorus_strerror(rc));
    free(pc);
    return;
  }
  r->applying++;
  if (n) r->next_from = pc->last;
  r->fetched_all = pc->done;
  pc->pending = 1; /* held until every job is out */
  rc = coord_xfer_merge(c, e, n, reply->from, pulled_one, pc, &pc->pending);
  free(e);
  if (rc) pc->err = rc;
  if (--pc->pending == 0) {
    batch_applied(pc);
    return;
  }
  /* the next batch is asked for while this one is merged */
  view_t *v = view_acquire(c->view);
  xfer_run_pulls(c, v);
  view_release(v);
}

static void pull_send(coord_t *c, size_t i, const view_t *v) {
  struct xfer *x = c->xfer;
  xfer_pull_t *p = &x->st.pulls[i];
  xfer_pull_rt_t *r = &x->rt[i];
  /* the first source up, from the one this stream is at */
  const view_member_t *m = NULL;
  for (size_t k = 0; k < p->n_sources && !m; k++) {
    size_t s = (r->src + k) % p->n_sources;
    if (view_is_up(v, p->sources[s]) && (m = view_find(v, p->sources[s]))) r->src = s;
  }
  if (!m) {
    r->retry_at = xfer_now(c) + XFER_RETRY_MS;
    return;
  }
  uint8_t *ranges = malloc(p->nr * 16);
  pull_call_t *pc = calloc(1, sizeof *pc);
  uint8_t after[8 + ENGINE_KEY_MAX];
  if (!ranges || !pc) {
    free(ranges);
    free(pc);
    return;
  }
  for (size_t k = 0; k < p->nr; k++) {
    be_put_u64(ranges + 16 * k, p->ranges[k].lo);
    be_put_u64(ranges + 16 * k + 8, p->ranges[k].hi);
  }
  peer_msg_t msg;
  peer_msg_init(&msg);
  msg.type = PEER_RANGE;
  msg.range.ranges = (peer_bytes_t){ranges, p->nr * 16};
  if (!r->next_from.started) r->next_from = p->cursor; /* a stream resumed from its saved position */
  if (r->next_from.started) {
    be_put_u64(after, r->next_from.token);
    memcpy(after + 8, r->next_from.key, r->next_from.key_len);
    msg.range.after = (peer_bytes_t){after, 8 + r->next_from.key_len};
  }
  msg.range.max_bytes = XFER_BATCH_BYTES;
  pc->c = c;
  pc->id = p->id;
  pc->gen = r->gen;
  r->fetching = true;
  if (r->rate_at == 0) r->rate_at = xfer_now(c);
  if (coord_clock(c, &msg.clock) != 0 ||
      coord_request(c, &m->addr, &msg, XFER_REQUEST_TIMEOUT_MS, on_range_reply, pc) != 0) {
    free(pc);
    pull_failed(c, i, "cannot send");
  }
  peer_msg_free(&msg);
  free(ranges);
}

bool xfer_pulls_done(const struct xfer *x, xfer_reason_t reason) {
  for (size_t i = 0; i < x->st.n; i++)
    if (x->st.pulls[i].reason == reason && !x->st.pulls[i].done) return false;
  return true;
}

void xfer_run_pulls(coord_t *c, const view_t *v) {
  struct xfer *x = c->xfer;
  int running = 0;
  for (size_t i = 0; i < x->st.n; i++)
    running += xfer_pull_busy(&x->rt[i]);
  uint64_t t = xfer_now(c);
  for (size_t i = 0; i < x->st.n && x->tokens > 0; i++) {
    const xfer_pull_rt_t *r = &x->rt[i];
    if (x->st.pulls[i].done || r->fetching || r->fetched_all || r->applying >= XFER_APPLYING_MAX ||
        r->retry_at > t)
      continue;
    bool busy = xfer_pull_busy(r);
    if (!busy && running >= c->cfg->transfer_concurrency) continue; /* a new stream waits its turn */
    pull_send(c, i, v);
    running += !busy && xfer_pull_busy(r);
  }
}

/* Members on the owners' ring of `was` that left it by removal: not on
 * v's ring and not leaving when last seen. */
