/*
 * coord_aae.c - active anti-entropy (DESIGN §9): this node compares its
 * tree with one peer's at a time, over the token ranges the two share,
 * and repairs the keys that differ.
 *
 * An exchange, driven from the loop (every step that reads the store runs
 * on the worker pool through the env):
 *   1. tree: from the root down, level by level, the hashes of the nodes
 *      still in question are asked of the peer (PEER_TREE, at most
 *      PEER_TREE_NODES_MAX a message) and computed here; only the children
 *      of nodes that differ are asked next. When keys are few per leaf the
 *      leaf level is skipped: the keys of a differing last branch are
 *      cheaper than its 16 leaf hashes.
 *   2. keys: for the differing segments, both sides list (key, item hash)
 *      (PEER_TREE_KEYS); keys only here are pushed (PEER_REPLICATE, op
 *      repair), keys only there are pulled (PEER_READ), merged here with
 *      the DVV sync of read repair (a repair event, with the peer's
 *      clock). A key both hold in other versions is asked of the peer
 *      with what this node holds (its versions without values): the peer
 *      answers "covered" when it has nothing this node lacks, and this
 *      node's record is pushed; otherwise its record travels, is merged
 *      here, and the merge is pushed back only if the peer lacked part of
 *      it. So a key one side has newer costs one record on the wire, not
 *      two. Nothing is ever overwritten: a merge keeps every concurrent
 *      sibling.
 *   3. the result is kept (the last exchange per peer) and counted.
 * Repairs run at most REPAIRS_IN_FLIGHT at a time and --repair-rate keys a
 * second (a token bucket the tick refills), a quarter of that while client
 * requests are in flight here or this node served replica reads or writes
 * for clients in the last COORD_CLIENT_RECENT_MS (every replica of a busy key
 * range yields, not only its coordinators); past CLIENT_BUSY_OPS of them no new repair
 * starts. A peer that fails a
 * request, or vanishes, ends the exchange: nothing is half-applied (every
 * repair is a whole merge), and the next round tries again. Rings that
 * differ (membership still converging) end it too: the ranges would not
 * match.
 *
 * Rounds: every --anti-entropy-interval the next live peer, in turn, that
 * shares ranges with this node. POST /api/v1/repair queues every live peer
 * at once (coord_aae_repair_all). An operator's compare runs the same
 * exchange without step 2's repairs.
 *
 * Ownership: the exchange is owned by the loop; it is freed when it has
 * finished and nothing it started is still out (outstanding == 0).
 * Status readers on other threads copy the public state under mu.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../storage/treekeys.h"
#include "coord_internal.h"
#include "ranges.h"

#define REPAIRS_IN_FLIGHT 16
#define CLIENT_BUSY_OPS 256   /* client requests in flight past which repairs wait */
#define SEGMENTS_PER_ASK 256  /* segments whose keys one PEER_TREE_KEYS asks */
#define KEYS_PER_LEAF_SKIP 4  /* at most this many keys per leaf: skip the leaf level */
#define MSG_OVERHEAD 48       /* payload bytes counted per message besides its fields */
#define TREE_TIMEOUT_MS 10000 /* a tree or keys request (the peer scans part of its store) */

typedef struct aae_x aae_x_t;

typedef struct {
  uint64_t *v;
  size_t n, cap;
} u64s_t;

typedef enum {
  ITEM_PUSH, /* only here */
  ITEM_PULL, /* only there */
  ITEM_SYNC  /* both, in other versions */
} item_kind_t;

typedef struct {
  char *key;
  size_t key_len;
  item_kind_t kind;
} item_t;

typedef struct {
  coord_work_t work; /* first */
  aae_x_t *x;
  /* tree hashes */
  unsigned level;
  const uint64_t *idx;
  size_t n;
  uint64_t *out;
  /* keys */
  const uint32_t *segs;
  buf_t keys;
} xwork_t;

/* One repair: a record read here (push, sync) and asked of the peer (pull, sync). */
typedef struct {
  coord_work_t work; /* first: the read of our record */
  aae_x_t *x;
  item_t *it;
  dvv_t ours, theirs;
  bool found; /* ours */
} repair_t;

struct aae_x {
  coord_t *c;
  swim_addr_t addr;
  uint64_t ring_version;
  merkle_range_t *ranges;
  size_t nr;
  unsigned depth, bits;
  bool repair;        /* false: compare only */
  coord_req_t *req;   /* a compare waiting for the result, or NULL */
  aae_compare_t *cmp; /* its result being filled */
  int outstanding;    /* requests, works and jobs not back */
  bool finished;      /* the result is recorded; free when outstanding is 0 */
  int status;
  aae_exchange_t res;
  /* tree */
  unsigned level, stop_level; /* stop_level: the level whose differing nodes go to keys */
  u64s_t todo, differ;
  size_t pos, chunk;
  uint64_t *ours, *theirs;
  int parts; /* of the current chunk: 2 when both hash lists are in */
  xwork_t hw;
  /* keys */
  uint32_t *segs;
  size_t n_segs, seg_pos, seg_chunk;
  xwork_t kw;
  uint8_t *their_keys;
  size_t their_len;
  item_t *items;
  size_t n_items, item_pos;
  int repairs; /* in flight */
};

struct aae {
  pthread_mutex_t mu; /* guards st against status readers */
  aae_status_t st;
  /* loop only */
  aae_x_t *x;  /* the running exchange (periodic or full repair) */
  aae_x_t *cx; /* the running compare */
  uint64_t next_at;
  size_t rr; /* peers take turns */
  char queue[AAE_PEERS_MAX][NODE_ID_MAX + 1];
  size_t n_queue;
  double tokens;
  uint64_t refilled_at;
};

/* ---- small helpers ---- */

static int u64s_push(u64s_t *a, uint64_t v) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 256;
    uint64_t *p = realloc(a->v, cap * sizeof *p);
    if (!p) return CHORUS_ENOMEM;
    a->v = p;
    a->cap = cap;
  }
  a->v[a->n++] = v;
  return 0;
}

static void locked(coord_t *c, void (*fn)(aae_status_t *st, const void *arg), const void *arg) {
  pthread_mutex_lock(&c->aae->mu);
  fn(&c->aae->st, arg);
  pthread_mutex_unlock(&c->aae->mu);
}

static void set_current(aae_status_t *st, const void *arg) {
  const aae_x_t *x = arg;
  st->running = x != NULL;
  if (x) st->current = x->res;
}

static void publish_progress(aae_x_t *x) {
  if (!x->req) locked(x->c, set_current, x);
}

/* ---- the end of an exchange ---- */

static void x_free(aae_x_t *x) {
  free(x->ranges);
  free(x->todo.v);
  free(x->differ.v);
  free(x->ours);
  free(x->theirs);
  free(x->segs);
  buf_free(&x->kw.keys);
  free(x->their_keys);
  for (size_t i = 0; i < x->n_items; i++)
    free(x->items[i].key);
  free(x->items);
  free(x);
}

static void record_result(aae_status_t *st, const void *arg) {
  const aae_exchange_t *r = arg;
  st->running = false;
  st->exchanges++;
  if (r->status) st->exchanges_failed++;
  st->keys_pushed += r->keys_pushed;
  st->keys_pulled += r->keys_pulled;
  st->keys_repaired += r->keys_pushed + r->keys_pulled;
  st->bytes_sent += r->bytes_sent;
  st->bytes_received += r->bytes_received;
  size_t i = 0;
  while (i < st->n_last && strcmp(st->last[i].peer, r->peer) != 0)
    i++;
  if (i == st->n_last) {
    if (st->n_last == AAE_PEERS_MAX)
      i = 0; /* forget the first peer seen */
    else
      st->n_last++;
  }
  st->last[i] = *r;
}

static void x_settle(aae_x_t *x) {
  if (x->finished && x->outstanding == 0) x_free(x);
}

/* A step that sends holds x: a send may fail at once and call back
 * (peer_net_request), which may finish x; x lives until the step ends. */
static void x_hold(aae_x_t *x) {
  x->outstanding++;
}

static void x_release(aae_x_t *x) {
  x->outstanding--;
  x_settle(x);
}

static void x_finish(aae_x_t *x, int status) {
  if (x->finished) return;
  coord_t *c = x->c;
  x->finished = true;
  x->status = status;
  x->res.status = status;
  x->res.ended_ms = clock_wall_ms();
  if (status && status != CHORUS_ESHUTDOWN)
    log_debug("anti-entropy: exchange with %s stopped: %s", x->res.peer, chorus_strerror(status));
  else if (x->res.keys_pushed || x->res.keys_pulled)
    log_info("anti-entropy: %s: %llu segments differed, %llu keys pushed, %llu pulled", x->res.peer,
             (unsigned long long)x->res.segments_differing, (unsigned long long)x->res.keys_pushed,
             (unsigned long long)x->res.keys_pulled);
  if (x->req) {
    coord_req_t *req = x->req;
    x->req = NULL;
    x->cmp->x = x->res;
    req->result.err = status;
    req->result.compare = x->cmp;
    x->cmp = NULL;
    if (c->aae->cx == x) c->aae->cx = NULL;
    req->done(req);
  } else {
    locked(c, record_result, &x->res);
    if (c->aae->x == x) c->aae->x = NULL;
  }
  x_settle(x);
}

/* ---- step 3: repairs ---- */

static void pump(aae_x_t *x);
static void keys_chunk(aae_x_t *x);

static void repair_end(repair_t *r, bool pushed, bool pulled) {
  aae_x_t *x = r->x;
  if (pushed) x->res.keys_pushed++;
  if (pulled) x->res.keys_pulled++;
  dvv_free(&r->ours);
  dvv_free(&r->theirs);
  free(r);
  x->repairs--;
  x->outstanding--;
  if (x->finished) {
    x_settle(x);
    return;
  }
  pump(x);
}

static void on_pushed(int status, const peer_msg_t *reply, void *arg) {
  repair_t *r = arg;
  bool ok = status == 0 && reply->type == PEER_REPLICATE_ACK && reply->replicate_ack.status == 0;
  if (!ok && !r->x->finished) x_finish(r->x, status ? status : CHORUS_EIO);
  repair_end(r, ok, false);
}

/* Sends state to the peer as a repair. Returns whether it went out (the
 * reply then ends r). */
static bool push_state(repair_t *r, const dvv_t *state) {
  aae_x_t *x = r->x;
  coord_t *c = x->c;
  buf_t rec;
  buf_init(&rec);
  peer_msg_t m;
  peer_msg_init(&m);
  bool sent = false;
  if (record_encode(state, &rec) == 0 && coord_clock(c, &m.clock) == 0) {
    m.type = PEER_REPLICATE;
    m.replicate.op = PEER_OP_REPAIR;
    m.replicate.key = (peer_bytes_t){(const uint8_t *)r->it->key, r->it->key_len};
    m.replicate.record = (peer_bytes_t){rec.data, rec.len};
    sent = coord_request(c, &x->addr, &m, c->cfg->request_timeout_ms, on_pushed, r) == 0;
    if (sent) {
      x->res.bytes_sent += rec.len + r->it->key_len + MSG_OVERHEAD;
      x->res.bytes_received += MSG_OVERHEAD;
      x->res.record_bytes += rec.len;
    }
  }
  buf_free(&rec);
  peer_msg_free(&m);
  return sent;
}

static int read_ours(coord_work_t *w) {
  repair_t *r = (repair_t *)w;
  coord_t *c = r->x->c;
  int rc = c->env.record_read(c->env.state, r->it->key, r->it->key_len, &r->ours);
  r->found = rc == 0;
  return rc == CHORUS_ENOTFOUND ? 0 : rc;
}

static bool pull(repair_t *r, const dvv_t *have);

static void after_read_ours(coord_work_t *w, int rc) {
  repair_t *r = (repair_t *)w;
  if (rc && !r->x->finished) x_finish(r->x, rc);
  bool going = false;
  if (!rc && !r->x->finished && r->it->kind == ITEM_PUSH && r->found) going = push_state(r, &r->ours);
  /* gone here meanwhile: a plain pull */
  if (!rc && !r->x->finished && r->it->kind == ITEM_SYNC) going = pull(r, r->found ? &r->ours : NULL);
  if (!going) repair_end(r, false, false);
}

static void merged(cjob_t *j) {
  repair_t *r = j->user;
  aae_x_t *x = r->x;
  int err = j->job.err;
  bool changed = err == 0 && j->job.changed;
  /* the peer lacks part of the merge: send it back */
  bool back = err == 0 && !x->finished && !dvv_equal(&j->job.state, &r->theirs);
  dvv_t state;
  dvv_init(&state);
  if (back && dvv_copy(&state, &j->job.state) != 0) back = false;
  coord_cjob_free(j);
  if (err && !x->finished) x_finish(x, err);
  if (changed) x->res.keys_pulled++;
  if (back && push_state(r, &state)) {
    dvv_free(&state);
    return;
  }
  dvv_free(&state);
  repair_end(r, false, false);
}

static void on_pulled(int status, const peer_msg_t *reply, void *arg) {
  repair_t *r = arg;
  aae_x_t *x = r->x;
  bool ok = status == 0 && reply->type == PEER_READ_REPLY && reply->read_reply.status == 0;
  if (!ok) {
    if (!x->finished) x_finish(x, status ? status : CHORUS_EIO);
    repair_end(r, false, false);
    return;
  }
  x->res.bytes_received += reply->read_reply.record.len + MSG_OVERHEAD;
  x->res.record_bytes += reply->read_reply.record.len;
  if (reply->read_reply.covered && !x->finished && r->found && push_state(r, &r->ours)) return;
  if (!reply->read_reply.record.p || x->finished) {
    /* gone there meanwhile: the next exchange sees it as ours only */
    repair_end(r, false, false);
    return;
  }
  int rc = record_decode(reply->read_reply.record.p, reply->read_reply.record.len, &r->theirs);
  cjob_t *j = rc ? NULL : coord_cjob_received(x->c, merged, reply, r->it->key, r->it->key_len);
  if (!j || r->theirs.n == 0 || dvv_copy(&j->incoming, &r->theirs) != 0) {
    coord_cjob_free(j);
    x_finish(x, rc ? rc : CHORUS_ENOMEM);
    repair_end(r, false, false);
    return;
  }
  j->user = r;
  j->job.op = ENGINE_MERGE;
  j->job.event_type = EVENT_REPAIR;
  j->job.incoming = &j->incoming;
  coord_cjob_submit(j); /* on failure, merged runs at once with the error */
}

/* Asks the peer for its record of the key, saying what this node holds
 * (have, NULL: nothing). Returns whether it went out (the reply then ends r). */
static bool pull(repair_t *r, const dvv_t *have) {
  aae_x_t *x = r->x;
  coord_t *c = x->c;
  buf_t h;
  buf_init(&h);
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_READ;
  m.read.key = (peer_bytes_t){(const uint8_t *)r->it->key, r->it->key_len};
  bool sent = (!have || record_encode_bare(have, &h) == 0) && coord_clock(c, &m.clock) == 0;
  if (sent && have) m.read.have = (peer_bytes_t){h.data, h.len};
  sent = sent && coord_request(c, &x->addr, &m, c->cfg->request_timeout_ms, on_pulled, r) == 0;
  if (sent) x->res.bytes_sent += r->it->key_len + h.len + MSG_OVERHEAD;
  peer_msg_free(&m);
  buf_free(&h);
  return sent;
}

static bool start_item(aae_x_t *x, item_t *it) {
  coord_t *c = x->c;
  repair_t *r = calloc(1, sizeof *r);
  if (!r) return false;
  r->x = x;
  r->it = it;
  dvv_init(&r->ours);
  dvv_init(&r->theirs);
  x->repairs++;
  x->outstanding++;
  if (it->kind != ITEM_PULL) {
    r->work.run = read_ours;
    r->work.done = after_read_ours;
    if (coord_work_queue(c, &r->work) == 0) return true;
  } else if (pull(r, NULL)) {
    return true;
  }
  x->repairs--;
  x->outstanding--;
  free(r);
  return false;
}

static int count_ops(const coord_t *c) {
  int n = 0;
  for (const op_t *o = c->ops; o && n < CLIENT_BUSY_OPS; o = o->next)
    n++;
  return n;
}

/* Starts what repairs the rate, the window and client traffic allow; once
 * the chunk's items are all back, the next chunk. */
static void pump(aae_x_t *x) {
  coord_t *c = x->c;
  struct aae *a = c->aae;
  bool busy = count_ops(c) >= CLIENT_BUSY_OPS;
  x_hold(x);
  while (!x->finished && !busy && x->item_pos < x->n_items && x->repairs < REPAIRS_IN_FLIGHT &&
         a->tokens >= 1) {
    a->tokens -= 1;
    if (!start_item(x, &x->items[x->item_pos++])) x_finish(x, CHORUS_ENOMEM);
  }
  if (!x->finished && x->item_pos == x->n_items && x->repairs == 0)
    keys_chunk(x);
  else if (!x->finished)
    coord_wake(c); /* waiting for tokens or replies: keep ticking fast */
  x_release(x);
}

/* ---- a step: one request to the peer, the same computed here ---- */

/* One of a step's two halves is back (rc: its failure): whether x goes on. */
static bool half_back(aae_x_t *x, int rc) {
  x->outstanding--;
  if (x->finished) {
    x_settle(x);
    return false;
  }
  if (rc) x_finish(x, rc);
  return rc == 0;
}

/* The reply's status when the transport delivered one of the wanted type. */
static int reply_status(int status, const peer_msg_t *reply, peer_type_t want) {
  if (status) return status;
  if (reply->type != want) return CHORUS_ECORRUPT;
  return want == PEER_TREE_REPLY ? reply->tree_reply.status : reply->tree_keys_reply.status;
}

/* Sends m (payload bytes counted) and queues w to compute our half; each
 * half comes back through half_back. */
static void ask_and_compute(aae_x_t *x, peer_msg_t *m, size_t bytes, peer_reply_fn cb, xwork_t *w,
                            int (*run)(coord_work_t *), void (*done)(coord_work_t *, int)) {
  coord_t *c = x->c;
  x->parts = 2;
  x->outstanding++;
  int rc = coord_request(c, &x->addr, m, TREE_TIMEOUT_MS, cb, x);
  if (rc) {
    x->outstanding--;
    x_finish(x, rc);
    return;
  }
  x->res.bytes_sent += bytes + MSG_OVERHEAD;
  w->x = x;
  w->work.run = run;
  w->work.done = done;
  x->outstanding++;
  rc = coord_work_queue(c, &w->work);
  if (rc) {
    x->outstanding--;
    x_finish(x, rc);
  }
}

/* ---- step 2: keys of differing segments ---- */

static int cmp_entry(const void *a, const void *b) {
  const treekeys_entry_t *x = a, *y = b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int d = memcmp(x->key, y->key, n);
  return d ? d : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static void note_key(aae_x_t *x, const treekeys_entry_t *e, char where) {
  x->res.keys_differing++;
  aae_compare_t *cmp = x->cmp;
  if (!cmp) return;
  /* the segments that hold differing keys (a compare asks for keys a whole
   * branch at a time when keys are few per leaf) */
  uint32_t seg = (uint32_t)(ring_key_token(e->key, e->key_len) >> (64 - x->bits));
  bool known = false;
  for (size_t i = 0; i < cmp->n_segments && !known; i++)
    known = cmp->segments[i] == seg;
  if (!known && cmp->n_segments < AAE_SAMPLE_KEYS) cmp->segments[cmp->n_segments++] = seg;
  if (cmp->n_keys == AAE_SAMPLE_KEYS) return;
  size_t n = e->key_len < AAE_KEY_SHOWN ? e->key_len : AAE_KEY_SHOWN;
  memcpy(cmp->keys[cmp->n_keys], e->key, n);
  cmp->keys[cmp->n_keys][n] = '\0';
  cmp->where[cmp->n_keys++] = where;
}

static int add_item(aae_x_t *x, const treekeys_entry_t *e, item_kind_t kind) {
  if (!x->repair) return 0;
  item_t *it = &x->items[x->n_items];
  it->key = malloc(e->key_len + 1);
  if (!it->key) return CHORUS_ENOMEM;
  memcpy(it->key, e->key, e->key_len);
  it->key[e->key_len] = '\0';
  it->key_len = e->key_len;
  it->kind = kind;
  x->n_items++;
  return 0;
}

/* Both lists of the chunk are in: what differs becomes repair items. */
static int compare_keys(aae_x_t *x) {
  treekeys_entry_t *ours = NULL, *theirs = NULL;
  size_t no = 0, nt = 0;
  int rc = treekeys_decode(x->kw.keys.data, x->kw.keys.len, &ours, &no);
  if (!rc) rc = treekeys_decode(x->their_keys, x->their_len, &theirs, &nt);
  for (size_t i = 0; i < x->n_items; i++)
    free(x->items[i].key);
  free(x->items);
  x->items = NULL;
  x->n_items = x->item_pos = 0;
  if (!rc && no + nt) {
    x->items = calloc(no + nt, sizeof *x->items);
    if (!x->items) rc = CHORUS_ENOMEM;
  }
  if (!rc) {
    if (no) qsort(ours, no, sizeof *ours, cmp_entry); /* an empty list is NULL */
    if (nt) qsort(theirs, nt, sizeof *theirs, cmp_entry);
    x->res.keys_compared += no + nt;
    size_t i = 0, j = 0;
    while (!rc && (i < no || j < nt)) {
      int d = i == no ? 1 : j == nt ? -1 : cmp_entry(&ours[i], &theirs[j]);
      if (d < 0) {
        note_key(x, &ours[i], 'l');
        rc = add_item(x, &ours[i++], ITEM_PUSH);
      } else if (d > 0) {
        note_key(x, &theirs[j], 'r');
        rc = add_item(x, &theirs[j++], ITEM_PULL);
      } else {
        if (ours[i].hash != theirs[j].hash) {
          note_key(x, &ours[i], 'b');
          rc = add_item(x, &ours[i], ITEM_SYNC);
        }
        i++;
        j++;
      }
    }
  }
  free(ours);
  free(theirs);
  return rc;
}

static void keys_part_in(aae_x_t *x) {
  if (--x->parts > 0) return;
  int rc = compare_keys(x);
  x->seg_pos += x->seg_chunk;
  if (rc) {
    x_finish(x, rc);
    return;
  }
  publish_progress(x);
  pump(x);
}

static int list_ours(coord_work_t *w) {
  xwork_t *k = (xwork_t *)w;
  aae_x_t *x = k->x;
  buf_reset(&k->keys);
  return x->c->env.tree_keys(x->c->env.state, x->ranges, x->nr, k->segs, k->n, &k->keys);
}

static void after_list_ours(coord_work_t *w, int rc) {
  aae_x_t *x = ((xwork_t *)w)->x;
  if (half_back(x, rc)) keys_part_in(x);
}

static void on_their_keys(int status, const peer_msg_t *reply, void *arg) {
  aae_x_t *x = arg;
  if (!half_back(x, reply_status(status, reply, PEER_TREE_KEYS_REPLY))) return;
  const peer_bytes_t *b = &reply->tree_keys_reply.keys;
  free(x->their_keys);
  x->their_keys = malloc(b->len ? b->len : 1);
  if (!x->their_keys) {
    x_finish(x, CHORUS_ENOMEM);
    return;
  }
  memcpy(x->their_keys, b->p, b->len);
  x->their_len = b->len;
  x->res.bytes_received += b->len + MSG_OVERHEAD;
  keys_part_in(x);
}

/* The next chunk of differing segments, or the end. */
static void keys_step(aae_x_t *x) {
  if (x->seg_pos >= x->n_segs) {
    x_finish(x, 0);
    return;
  }
  size_t n = x->n_segs - x->seg_pos;
  if (n > SEGMENTS_PER_ASK) n = SEGMENTS_PER_ASK;
  x->seg_chunk = n;
  uint8_t *packed = malloc(n * 4);
  if (!packed) {
    x_finish(x, CHORUS_ENOMEM);
    return;
  }
  for (size_t i = 0; i < n; i++)
    be_put_u32(packed + 4 * i, x->segs[x->seg_pos + i]);
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_TREE_KEYS;
  m.tree_keys.ring_version = x->ring_version;
  m.tree_keys.segments = (peer_bytes_t){packed, n * 4};
  x->kw.segs = x->segs + x->seg_pos;
  x->kw.n = n;
  ask_and_compute(x, &m, n * 4, on_their_keys, &x->kw, list_ours, after_list_ours);
  peer_msg_free(&m);
  free(packed);
}

static void keys_chunk(aae_x_t *x) {
  x_hold(x);
  keys_step(x);
  x_release(x);
}

/* A number for this exchange, the same on every run of a simulation:
 * FNV-1a over this node's id, the peer's and the exchanges so far. */
static uint64_t exchange_seed(const aae_x_t *x) {
  uint64_t h = 1469598103934665603ull;
  const char *parts[2] = {x->c->self, x->res.peer};
  for (size_t p = 0; p < 2; p++)
    for (const char *s = parts[p]; *s; s++)
      h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return (h ^ x->c->aae->st.exchanges) * 1099511628211ull;
}

/* The differing nodes of stop_level become the segments below them. */
static int to_segments(aae_x_t *x) {
  unsigned shift = MERKLE_FANOUT_BITS * (x->depth - x->stop_level);
  size_t per = (size_t)1 << shift;
  if (x->differ.n > SIZE_MAX / per) return CHORUS_ENOMEM;
  x->n_segs = x->differ.n * per;
  x->segs = x->n_segs ? malloc(x->n_segs * sizeof *x->segs) : NULL;
  if (x->n_segs && !x->segs) return CHORUS_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < x->differ.n; i++)
    for (size_t s = 0; s < per; s++)
      x->segs[k++] = (uint32_t)((x->differ.v[i] << shift) + s);
  x->res.segments_differing = x->n_segs;
  /* Start at a point of its own: two peers repairing one replica at once
   * then mostly work on different segments, and each finds in sync what
   * the other repaired, instead of both sending every record. */
  if (x->n_segs > 1) {
    size_t from = (size_t)(exchange_seed(x) % x->n_segs);
    uint32_t *rot = malloc(x->n_segs * sizeof *rot);
    if (!rot) return CHORUS_ENOMEM;
    for (size_t i = 0; i < x->n_segs; i++)
      rot[i] = x->segs[(from + i) % x->n_segs];
    free(x->segs);
    x->segs = rot;
  }
  return 0;
}

/* ---- step 1: the tree, level by level ---- */

static void tree_chunk(aae_x_t *x);

static void tree_part_in(aae_x_t *x) {
  if (--x->parts > 0) return;
  int rc = 0;
  for (size_t i = 0; i < x->chunk && !rc; i++)
    if (x->ours[i] != x->theirs[i]) rc = u64s_push(&x->differ, x->todo.v[x->pos + i]);
  x->res.tree_nodes += x->chunk;
  x->pos += x->chunk;
  if (rc) {
    x_finish(x, rc);
    return;
  }
  tree_chunk(x);
}

static int hash_ours(coord_work_t *w) {
  xwork_t *h = (xwork_t *)w;
  aae_x_t *x = h->x;
  return x->c->env.tree_hashes(x->c->env.state, x->ranges, x->nr, h->level, h->idx, h->n, h->out);
}

static void after_hash_ours(coord_work_t *w, int rc) {
  aae_x_t *x = ((xwork_t *)w)->x;
  if (half_back(x, rc)) tree_part_in(x);
}

static void on_their_hashes(int status, const peer_msg_t *reply, void *arg) {
  aae_x_t *x = arg;
  int rc = reply_status(status, reply, PEER_TREE_REPLY);
  if (!rc && reply->tree_reply.hashes.len != x->chunk * 8) rc = CHORUS_ECORRUPT;
  if (!half_back(x, rc)) return;
  const uint8_t *p = reply->tree_reply.hashes.p;
  for (size_t i = 0; i < x->chunk; i++)
    x->theirs[i] = be_get_u64(p + 8 * i);
  x->res.bytes_received += x->chunk * 8 + MSG_OVERHEAD;
  tree_part_in(x);
}

/* The next chunk of the current level; at the level's end, the next level
 * (children of the nodes that differ) or the keys. */
static void tree_step(aae_x_t *x) {
  if (x->pos >= x->todo.n) {
    if (x->differ.n == 0) {
      x_finish(x, 0); /* in sync */
      return;
    }
    if (x->level >= x->stop_level) {
      int rc = to_segments(x);
      if (rc) {
        x_finish(x, rc);
        return;
      }
      publish_progress(x);
      keys_chunk(x);
      return;
    }
    /* the children of what differs */
    u64s_t next = {0};
    for (size_t i = 0; i < x->differ.n; i++)
      for (uint64_t k = 0; k < MERKLE_FANOUT; k++)
        if (u64s_push(&next, x->differ.v[i] * MERKLE_FANOUT + k) != 0) {
          free(next.v);
          x_finish(x, CHORUS_ENOMEM);
          return;
        }
    free(x->todo.v);
    x->todo = next;
    x->differ.n = 0;
    x->pos = 0;
    x->level++;
  }
  size_t n = x->todo.n - x->pos;
  if (n > PEER_TREE_NODES_MAX) n = PEER_TREE_NODES_MAX;
  x->chunk = n;
  uint8_t *packed = malloc(n * 8);
  if (!packed) {
    x_finish(x, CHORUS_ENOMEM);
    return;
  }
  for (size_t i = 0; i < n; i++)
    be_put_u64(packed + 8 * i, x->todo.v[x->pos + i]);
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_TREE;
  m.tree.ring_version = x->ring_version;
  m.tree.level = (uint8_t)x->level;
  m.tree.nodes = (peer_bytes_t){packed, n * 8};
  x->hw.level = x->level;
  x->hw.idx = x->todo.v + x->pos;
  x->hw.n = n;
  x->hw.out = x->ours;
  ask_and_compute(x, &m, n * 8, on_their_hashes, &x->hw, hash_ours, after_hash_ours);
  peer_msg_free(&m);
  free(packed);
}

static void tree_chunk(aae_x_t *x) {
  x_hold(x);
  tree_step(x);
  x_release(x);
}

/* ---- starting ---- */

static bool tree_available(const coord_t *c) {
  return c->env.tree_hashes && c->env.tree_keys && c->env.record_read && c->env.tree_info;
}

/* An exchange with member m of view v (both held by the caller). */
static aae_x_t *x_start(coord_t *c, const view_t *v, const view_member_t *m, bool repair, coord_req_t *req,
                        int *err) {
  aae_x_t *x = calloc(1, sizeof *x);
  *err = CHORUS_ENOMEM;
  if (!x) return NULL;
  x->c = c;
  x->addr = m->addr;
  x->repair = repair;
  x->req = req;
  snprintf(x->res.peer, sizeof x->res.peer, "%s", m->id);
  x->res.started_ms = clock_wall_ms();
  buf_init(&x->kw.keys);
  engine_tree_info_t ti;
  c->env.tree_info(c->env.state, &ti);
  x->bits = ti.bits;
  x->depth = ti.depth;
  x->ring_version = ring_version(v->ring);
  int rc = ranges_shared(v->ring, v->replicas, c->self, m->id, &x->ranges, &x->nr);
  x->ours = malloc(PEER_TREE_NODES_MAX * sizeof *x->ours);
  x->theirs = malloc(PEER_TREE_NODES_MAX * sizeof *x->theirs);
  if (req && !(x->cmp = calloc(1, sizeof *x->cmp))) rc = CHORUS_ENOMEM;
  if (!rc && (!x->ours || !x->theirs || u64s_push(&x->todo, 0) != 0)) rc = CHORUS_ENOMEM;
  if (rc) {
    free(x->cmp);
    x_free(x);
    *err = rc;
    return NULL;
  }
  if (x->cmp) x->cmp->bits = x->bits;
  x->res.ranges = x->nr;
  /* Few keys per leaf: the keys of a differing last branch cost less than
   * its leaves' hashes. */
  uint64_t segs = ti.segments ? ti.segments : 1;
  x->stop_level = ti.keys / segs <= KEYS_PER_LEAF_SKIP && x->depth > 0 ? x->depth - 1 : x->depth;
  *err = 0;
  return x;
}

static void x_go(aae_x_t *x) {
  if (x->nr == 0) {
    x_finish(x, 0); /* nothing shared */
    return;
  }
  publish_progress(x);
  tree_chunk(x);
}

/* The next peer to exchange with: the queue first, then live members in turn. */
static const view_member_t *pick_peer(coord_t *c, const view_t *v) {
  struct aae *a = c->aae;
  while (a->n_queue) {
    const view_member_t *m = view_find(v, a->queue[0]);
    memmove(a->queue[0], a->queue[1], (a->n_queue - 1) * sizeof a->queue[0]);
    a->n_queue--;
    if (m && m->status == SWIM_ALIVE) return m;
  }
  for (size_t k = 0; k < v->n; k++) {
    const view_member_t *m = &v->members[(a->rr + k) % v->n];
    if (m->status != SWIM_ALIVE || strcmp(m->id, c->self) == 0) continue;
    a->rr = (a->rr + k + 1) % v->n;
    return m;
  }
  return NULL;
}

static void set_queued(aae_status_t *st, const void *arg) {
  st->queued = *(const size_t *)arg;
}

bool coord_aae_busy(const coord_t *c) {
  const struct aae *a = c->aae;
  return a && ((a->x && !a->x->finished) || (a->cx && !a->cx->finished) || a->n_queue);
}

void coord_aae_tick(coord_t *c, uint64_t now) {
  struct aae *a = c->aae;
  if (c->closing || !a || !tree_available(c) || !c->cfg->anti_entropy_interval_ms) return;
  /* client requests in flight here, or served here as a replica within the
   * last COORD_CLIENT_RECENT_MS: repairs yield, at a quarter of the rate */
  bool clients = coord_clients_recent(c, now);
  double rate = (double)c->cfg->repair_rate / (clients ? 4.0 : 1.0);
  if (a->refilled_at) {
    a->tokens += rate * (double)(now - a->refilled_at) / 1000.0;
    if (a->tokens > rate) a->tokens = rate;
  }
  a->refilled_at = now;
  if (a->x && !a->x->finished) {
    if (a->x->item_pos < a->x->n_items) pump(a->x);
    return;
  }
  if (a->cx && !a->cx->finished && a->cx->item_pos < a->cx->n_items) pump(a->cx);
  if (now < a->next_at && a->n_queue == 0) return;
  a->next_at = now + c->cfg->anti_entropy_interval_ms;
  view_t *v = view_acquire(c->view);
  const view_member_t *m = pick_peer(c, v);
  int err = 0;
  aae_x_t *x = m ? x_start(c, v, m, true, NULL, &err) : NULL;
  view_release(v);
  locked(c, set_queued, &a->n_queue);
  if (!x) return;
  a->x = x;
  x_go(x);
}

int coord_aae_repair_all(coord_t *c, size_t *queued) {
  struct aae *a = c->aae;
  *queued = 0;
  if (!a || !tree_available(c)) return CHORUS_ENOTFOUND;
  view_t *v = view_acquire(c->view);
  for (size_t i = 0; i < v->n && a->n_queue < AAE_PEERS_MAX; i++) {
    const view_member_t *m = &v->members[i];
    if (m->status != SWIM_ALIVE || strcmp(m->id, c->self) == 0) continue;
    bool dup = false;
    for (size_t k = 0; k < a->n_queue; k++)
      dup |= strcmp(a->queue[k], m->id) == 0;
    if (!dup) snprintf(a->queue[a->n_queue++], sizeof a->queue[0], "%s", m->id);
  }
  view_release(v);
  *queued = a->n_queue;
  locked(c, set_queued, &a->n_queue);
  coord_wake(c);
  return 0;
}

void coord_aae_compare(coord_t *c, coord_req_t *req) {
  struct aae *a = c->aae;
  int err = 0;
  if (!a || !tree_available(c))
    err = CHORUS_ENOTFOUND;
  else if (a->cx)
    err = CHORUS_EAGAIN; /* one compare at a time */
  view_t *v = view_acquire(c->view);
  const view_member_t *m = err ? NULL : view_find(v, req->node);
  if (!err && (!m || strcmp(m->id, c->self) == 0))
    err = CHORUS_EINVAL;
  else if (!err && m->status != SWIM_ALIVE)
    err = CHORUS_EBUSY;
  aae_x_t *x = err ? NULL : x_start(c, v, m, false, req, &err);
  view_release(v);
  if (!x) {
    req->result.err = err;
    req->done(req);
    return;
  }
  a->cx = x;
  x_go(x);
}

/* ---- the service's state ---- */

int coord_aae_create(coord_t *c) {
  struct aae *a = calloc(1, sizeof *a);
  if (!a) return CHORUS_ENOMEM;
  pthread_mutex_init(&a->mu, NULL);
  a->st.enabled = tree_available(c) && c->cfg->anti_entropy_interval_ms > 0;
  a->st.interval_ms = a->st.enabled ? c->cfg->anti_entropy_interval_ms : 0;
  a->st.repair_rate = c->cfg->repair_rate;
  /* the first round after one interval: membership settles first */
  a->tokens = (double)c->cfg->repair_rate;
  c->aae = a;
  return 0;
}

void coord_aae_stop(coord_t *c) {
  struct aae *a = c->aae;
  if (!a) return;
  a->n_queue = 0;
  if (a->x) x_finish(a->x, CHORUS_ESHUTDOWN); /* x_finish forgets it */
  if (a->cx) x_finish(a->cx, CHORUS_ESHUTDOWN);
}

void coord_aae_free(coord_t *c) {
  struct aae *a = c->aae;
  if (!a) return;
  pthread_mutex_destroy(&a->mu);
  free(a);
  c->aae = NULL;
}

static void count_reaped(aae_status_t *st, const void *arg) {
  st->tombstones_reaped += *(const uint64_t *)arg;
}

void coord_aae_count_reaped(coord_t *c, uint64_t n) {
  if (c->aae) locked(c, count_reaped, &n);
}

void coord_aae_status(coord_t *c, aae_status_t *out) {
  memset(out, 0, sizeof *out);
  if (!c->aae) return;
  pthread_mutex_lock(&c->aae->mu);
  *out = c->aae->st;
  pthread_mutex_unlock(&c->aae->mu);
}
