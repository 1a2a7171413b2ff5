/*
 * coord_xfer_handoff.c - passes over the records this node holds but does
 * not own (DESIGN §9): each goes to its owners, then is dropped.
 *
 * A pass scans (worker pool) the token ranges this node does not own, a
 * batch at a time. Each batch is offered to each owner (PEER_HANDOFF
 * offer: the versions, no values); what an owner does not already cover
 * is pushed to it whole, and it answers once that is merged durably. Once
 * every owner of a record acknowledged it, the record is dropped if it is
 * still exactly what was handed off (ENGINE_DROP), so a write racing the
 * pass is kept for the next one. A record an owner did not take (down,
 * failed) stays and counts against the pass. A leave hands off to the
 * next owners and drops nothing: the node answers reads until it is gone.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "coord_xfer.h"
#include "ranges.h"

/* Records per batch, at most: each batch ends in as many drop jobs, queued
 * with the clients' writes on the store's one writer; a few hundred keep
 * the wait they add to a client write to a millisecond or two, a hundred
 * while the node serves clients (bench/handoff.py: client p99 3x steady
 * while owners dropped 512 at a time). */
#define SWEEP_KEYS 512
#define SWEEP_KEYS_BUSY 128
#define SWEEP_INTERVAL_MS 10000 /* between passes that went through */
#define LEAVE_PASSES_MAX 3      /* leave: passes before writes are refused, at most */

/* ---- hand-off of what this node no longer owns ---- */

typedef struct {
  char id[NODE_ID_MAX + 1];
  swim_addr_t addr;
  size_t *idx; /* records offered, into the batch */
  size_t n;
  bool failed, pushing;
} owner_t;

struct xfer_sweep {
  coord_work_t work;      /* first */
  view_t *view;           /* held */
  bool drop;              /* drop what the owners acknowledged (else a leave: keep) */
  merkle_range_t *ranges; /* what this node does not own on the target ring */
  size_t nr;
  engine_cursor_t from;
  buf_t raw; /* the scanned batch (recbatch.h) */
  bool end;  /* the scan reached the end of the ranges */
  recbatch_entry_t *e;
  size_t n;
  dvv_t *states;
  uint64_t *tokens;
  bool *lost; /* per record: some owner did not acknowledge it */
  owner_t *owners;
  size_t n_owners;
  int outstanding;   /* offers and pushes out */
  int drops;         /* drop jobs out (+1 while they are being submitted) */
  bool dropping;     /* the drops went out */
  bool paused;       /* the next batch waits for the rate's tokens */
  uint32_t max_keys; /* records this batch scans at most */
};

static const ring_t *target_ring(const xfer_sweep_t *s) {
  return s->drop ? s->view->ring : s->view->next;
}

void xfer_handoff_free(xfer_sweep_t *s) {
  if (!s) return;
  view_release(s->view);
  free(s->ranges);
  buf_free(&s->raw);
  free(s->e);
  for (size_t i = 0; s->states && i < s->n; i++)
    dvv_free(&s->states[i]);
  free(s->states);
  free(s->tokens);
  free(s->lost);
  for (size_t i = 0; i < s->n_owners; i++)
    free(s->owners[i].idx);
  free(s->owners);
  free(s);
}

typedef struct {
  buf_t *out;
  size_t start;
  uint32_t n, max;
} scan_t;

static int scan_one(void *arg, uint64_t token, const char *key, size_t key_len, const uint8_t *rec,
                    size_t rec_len) {
  scan_t *sc = arg;
  (void)token;
  if (sc->n && (sc->out->len - sc->start + rec_len + key_len > XFER_BATCH_BYTES || sc->n >= sc->max))
    return ENGINE_RANGE_STOP;
  recbatch_add(sc->out, key, key_len, rec, rec_len);
  sc->n++;
  return sc->out->err;
}

static int sweep_scan(coord_work_t *w) {
  xfer_sweep_t *s = (xfer_sweep_t *)w;
  scan_t sc = {.out = &s->raw, .start = recbatch_begin(&s->raw), .max = s->max_keys};
  int rc = w->c->env.records_in(w->c->env.state, s->ranges, s->nr, &s->from, scan_one, &sc);
  recbatch_finish(&s->raw, sc.start, sc.n);
  if (rc == ENGINE_RANGE_STOP) return 0;
  if (!rc) s->end = true;
  return rc;
}

static void sweep_end(coord_t *c, const char *why);
static void sweep_offer(coord_t *c);

static void sweep_scanned(coord_work_t *w, int rc) {
  xfer_sweep_t *s = (xfer_sweep_t *)w;
  coord_t *c = w->c;
  if (c->closing || rc) {
    sweep_end(c, rc ? chorus_strerror(rc) : "closing");
    return;
  }
  if (recbatch_decode(s->raw.data, s->raw.len, &s->e, &s->n) != 0) {
    sweep_end(c, "scan");
    return;
  }
  sweep_offer(c);
}

static owner_t *owner_of(xfer_sweep_t *s, const char *id) {
  for (size_t i = 0; i < s->n_owners; i++)
    if (strcmp(s->owners[i].id, id) == 0) return &s->owners[i];
  return NULL;
}

/* Groups the batch's records by owner on the target ring. */
static int group(coord_t *c, xfer_sweep_t *s) {
  const ring_t *r = target_ring(s);
  size_t nm = ring_member_count(r);
  s->owners = calloc(nm ? nm : 1, sizeof *s->owners);
  s->states = calloc(s->n ? s->n : 1, sizeof *s->states);
  s->tokens = calloc(s->n ? s->n : 1, sizeof *s->tokens);
  s->lost = calloc(s->n ? s->n : 1, sizeof *s->lost);
  if (!s->owners || !s->states || !s->tokens || !s->lost) return CHORUS_ENOMEM;
  for (size_t k = 0; k < s->n; k++) {
    dvv_init(&s->states[k]);
    int rc = record_decode(s->e[k].rec, s->e[k].rec_len, &s->states[k]);
    if (rc) {
      s->lost[k] = true; /* a damaged record is not moved, nor dropped */
      continue;
    }
    s->tokens[k] = ring_key_token(s->e[k].key, s->e[k].key_len);
    uint32_t idx[PLAN_MAX_REPLICAS];
    size_t got = ring_preference(r, s->tokens[k], idx, (size_t)c->cfg->replicas);
    for (size_t o = 0; o < got; o++) {
      const char *id = ring_member_id(r, idx[o]);
      if (strcmp(id, c->self) == 0) continue;
      owner_t *ow = owner_of(s, id);
      if (!ow) {
        ow = &s->owners[s->n_owners++];
        snprintf(ow->id, sizeof ow->id, "%s", id);
        const view_member_t *m = view_find(s->view, id);
        if (m) ow->addr = m->addr;
        ow->failed = !m || !view_is_up(s->view, id);
        if (!(ow->idx = malloc(s->n * sizeof *ow->idx))) return CHORUS_ENOMEM;
      }
      ow->idx[ow->n++] = k;
    }
  }
  return 0;
}

typedef struct {
  coord_t *c;
  size_t owner;
  bool push;
} sweep_call_t;

static void sweep_batch_done(coord_t *c);
static void on_handoff_reply(int status, const peer_msg_t *reply, void *arg);

static bool send_handoff(coord_t *c, size_t o, bool push, const uint8_t *covered) {
  xfer_sweep_t *s = c->xfer->sw;
  owner_t *ow = &s->owners[o];
  buf_t b;
  buf_init(&b);
  size_t start = recbatch_begin(&b);
  uint32_t n = 0;
  for (size_t i = 0; i < ow->n; i++) {
    size_t k = ow->idx[i];
    if (push) {
      if (covered && (covered[i / 8] >> (i % 8)) & 1) continue;
      recbatch_add(&b, s->e[k].key, s->e[k].key_len, s->e[k].rec, s->e[k].rec_len);
    } else {
      buf_t bare;
      buf_init(&bare);
      if (record_encode_bare(&s->states[k], &bare) == 0 && !bare.err)
        recbatch_add(&b, s->e[k].key, s->e[k].key_len, bare.data, bare.len);
      else
        b.err = CHORUS_ENOMEM;
      buf_free(&bare);
    }
    n++;
  }
  recbatch_finish(&b, start, n);
  if (push && n == 0) {
    buf_free(&b);
    return false; /* nothing to push: the owner covers all of it */
  }
  sweep_call_t *sc = calloc(1, sizeof *sc);
  peer_msg_t msg;
  peer_msg_init(&msg);
  msg.type = PEER_HANDOFF;
  msg.handoff.mode = push ? PEER_HANDOFF_PUSH : PEER_HANDOFF_OFFER;
  msg.handoff.batch = (peer_bytes_t){b.data, b.len};
  bool sent = sc && !b.err && b.len <= PEER_BATCH_MAX && coord_clock(c, &msg.clock) == 0;
  if (sent) {
    *sc = (sweep_call_t){c, o, push};
    /* counted before it goes: the transport may call back at once (a connection refused) */
    s->outstanding++;
    sent = coord_request(c, &ow->addr, &msg, XFER_REQUEST_TIMEOUT_MS, on_handoff_reply, sc) == 0;
    if (!sent) s->outstanding--;
  }
  if (sent) {
    if (push) {
      xfer_take_tokens(c->xfer, b.len);
      c->xfer->counters.bytes_out += b.len;
      c->xfer->counters.keys_out += n;
    }
  } else {
    free(sc);
    ow->failed = true;
  }
  peer_msg_free(&msg);
  buf_free(&b);
  return sent;
}

static void on_handoff_reply(int status, const peer_msg_t *reply, void *arg) {
  sweep_call_t *sc = arg;
  coord_t *c = sc->c;
  xfer_sweep_t *s = c->xfer->sw;
  owner_t *ow = &s->owners[sc->owner];
  int rc = status                              ? status
           : reply->type != PEER_HANDOFF_REPLY ? CHORUS_ECORRUPT
                                               : reply->handoff_reply.status;
  if (!rc && !sc->push && reply->handoff_reply.covered.len != (ow->n + 7) / 8) rc = CHORUS_ECORRUPT;
  if (rc) {
    if (!ow->failed) log_warn("transfers: hand-off to %s failed: %s", ow->id, chorus_strerror(rc));
    ow->failed = true;
  } else if (!sc->push && !c->closing) {
    /* this call still counts while the push goes out: a push failing at once must not end the batch */
    send_handoff(c, sc->owner, true, reply->handoff_reply.covered.p);
  }
  free(sc);
  if (--s->outstanding == 0) sweep_batch_done(c);
}

static void sweep_offer(coord_t *c) {
  xfer_sweep_t *s = c->xfer->sw;
  int rc = group(c, s);
  if (rc) {
    sweep_end(c, chorus_strerror(rc));
    return;
  }
  s->outstanding = 1; /* held while the offers go out */
  for (size_t o = 0; o < s->n_owners; o++)
    if (!s->owners[o].failed) send_handoff(c, o, false, NULL);
  s->outstanding--;
  if (s->outstanding == 0) sweep_batch_done(c);
}

static void batch_through(coord_t *c);

static void dropped(cjob_t *j) {
  coord_t *c = j->c;
  xfer_sweep_t *s = c->xfer->sw;
  if (!j->job.err && j->job.changed) c->xfer->counters.keys_dropped++;
  coord_cjob_free(j);
  if (--s->drops == 0) batch_through(c);
}

static void next_batch(coord_t *c);

/* Every owner answered (or failed): drop what all of a record's owners
 * acknowledged (not on a leave: the node answers reads until it goes). */
static void sweep_batch_done(coord_t *c) {
  xfer_sweep_t *s = c->xfer->sw;
  for (size_t o = 0; o < s->n_owners; o++) {
    if (!s->owners[o].failed) continue;
    for (size_t i = 0; i < s->owners[o].n; i++)
      s->lost[s->owners[o].idx[i]] = true;
  }
  if (!s->drop || c->closing) {
    batch_through(c);
    return;
  }
  s->dropping = true;
  s->drops = 1; /* held while the drops go out */
  for (size_t k = 0; k < s->n; k++) {
    if (s->lost[k]) continue;
    cjob_t *j = coord_cjob_state(c, dropped, ENGINE_DROP, s->e[k].key, s->e[k].key_len, &s->states[k]);
    if (!j) {
      s->lost[k] = true;
      continue;
    }
    s->drops++;
    coord_cjob_submit(j); /* on failure, dropped runs at once */
  }
  if (--s->drops == 0) batch_through(c);
}

/* The batch is through: count it, move the cursor, go on. */
static void batch_through(coord_t *c) {
  struct xfer *x = c->xfer;
  xfer_sweep_t *s = x->sw;
  /* the scan, the offers and the drops: a pass is paced by the rate too */
  xfer_take_tokens(x, s->raw.len);
  for (size_t k = 0; k < s->n; k++)
    x->pass_failed += s->lost[k];
  x->pass_found += s->n;
  if (s->n) {
    const recbatch_entry_t *l = &s->e[s->n - 1];
    x->sweep_from.started = true;
    x->sweep_from.token = ring_key_token(l->key, l->key_len);
    memcpy(x->sweep_from.key, l->key, l->key_len);
    x->sweep_from.key_len = l->key_len;
  }
  if (s->end || c->closing)
    sweep_end(c, NULL);
  else if (x->tokens <= 0)
    s->paused = true; /* the tick goes on */
  else
    next_batch(c);
}

/* The ranges this node does not own on ring r (everything, when it is not on r). */
static int not_owned(coord_t *c, const ring_t *r, merkle_range_t **out, size_t *n) {
  merkle_range_t *own = NULL;
  size_t no = 0;
  int rc = ranges_shared(r, (uint32_t)c->cfg->replicas, c->self, c->self, &own, &no);
  if (rc) return rc;
  merkle_range_t *res = malloc((no + 1) * sizeof *res);
  if (!res) {
    free(own);
    return CHORUS_ENOMEM;
  }
  size_t k = 0;
  uint64_t lo = 0;
  bool open = true; /* lo is a valid start */
  for (size_t i = 0; i < no; i++) {
    if (open && own[i].lo > lo) res[k++] = (merkle_range_t){lo, own[i].lo - 1};
    open = own[i].hi != UINT64_MAX;
    lo = own[i].hi + 1;
  }
  if (open) res[k++] = (merkle_range_t){lo, UINT64_MAX};
  free(own);
  *out = res;
  *n = k;
  return 0;
}

static void next_batch(coord_t *c) {
  struct xfer *x = c->xfer;
  xfer_sweep_t *old = x->sw;
  xfer_sweep_t *s = calloc(1, sizeof *s);
  if (!s) {
    sweep_end(c, "out of memory");
    return;
  }
  s->view = old->view;
  old->view = NULL;
  s->drop = old->drop;
  s->ranges = old->ranges;
  s->nr = old->nr;
  old->ranges = NULL;
  xfer_handoff_free(old);
  x->sw = s;
  s->from = x->sweep_from;
  buf_init(&s->raw);
  s->max_keys = coord_clients_recent(c, xfer_now(c)) ? SWEEP_KEYS_BUSY : SWEEP_KEYS;
  s->work.run = sweep_scan;
  s->work.done = sweep_scanned;
  if (coord_work_queue(c, &s->work) != 0) sweep_end(c, "cannot queue a scan");
}

void xfer_handoff_start(coord_t *c, view_t *v, bool drop) {
  struct xfer *x = c->xfer;
  xfer_sweep_t *s = calloc(1, sizeof *s);
  if (!s) return;
  s->view = v;
  s->drop = drop;
  buf_init(&s->raw);
  if (not_owned(c, drop ? v->ring : v->next, &s->ranges, &s->nr) != 0) {
    xfer_handoff_free(s);
    return;
  }
  memset(&x->sweep_from, 0, sizeof x->sweep_from);
  x->pass_found = x->pass_failed = 0;
  x->sw = s;
  s->from = x->sweep_from;
  s->max_keys = coord_clients_recent(c, xfer_now(c)) ? SWEEP_KEYS_BUSY : SWEEP_KEYS;
  s->work.run = sweep_scan;
  s->work.done = sweep_scanned;
  xfer_publish(c);
  if (coord_work_queue(c, &s->work) != 0) sweep_end(c, "cannot queue a scan");
}

/* A pass ended (why: NULL when it went through). */
static void sweep_end(coord_t *c, const char *why) {
  struct xfer *x = c->xfer;
  xfer_sweep_t *s = x->sw;
  bool drop = s && s->drop;
  xfer_handoff_free(s);
  x->sw = NULL;
  uint64_t t = xfer_now(c);
  bool clean = !why && x->pass_failed == 0;
  if (why) log_warn("transfers: hand-off pass stopped: %s", why);
  if (x->pass_found)
    log_info("transfers: hand-off pass: %llu records not owned here, %llu not handed off yet",
             (unsigned long long)x->pass_found, (unsigned long long)x->pass_failed);
  x->counters.passes++;
  x->sweep_next_at = t + (clean && drop ? SWEEP_INTERVAL_MS : XFER_RETRY_MS);
  if (!drop && !why && x->st.phase == SWIM_PHASE_LEAVING && !c->closing) {
    /* leave: once a pass went through cleanly (or enough did), refuse
     * writes; once a pass went through cleanly while refusing, go */
    x->leave_passes++;
    if (!x->refusing && (clean || x->leave_passes >= LEAVE_PASSES_MAX)) {
      x->refusing = true;
      log_info("transfers: leave: everything handed off once; refusing writes for the last pass");
      x->sweep_next_at = t;
    } else if (x->refusing && clean && !x->left) {
      x->left = true;
      log_info("transfers: leave: every record is with its next owners; leaving the cluster");
      if (c->env.leave) c->env.leave(c->env.state);
    } else {
      x->sweep_next_at = t;
    }
  }
  xfer_publish(c);
}

void xfer_handoff_resume(coord_t *c) {
  xfer_sweep_t *s = c->xfer->sw;
  if (!s || !s->paused) return;
  s->paused = false;
  next_batch(c);
}
