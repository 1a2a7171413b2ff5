/*
 * coord_aae_serve.c - answering a peer's anti-entropy exchange: the hashes
 * of this node's tree (PEER_TREE) and the keys of segments (PEER_TREE_KEYS),
 * over the token ranges the two share on the ring of the version the peer
 * names. A peer on another ring is answered CHORUS_EAGAIN (membership is
 * still converging; its ranges would not match ours). The store is read on
 * the worker pool; the loop only checks the request and sends the answer.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/err.h"
#include "coord_internal.h"
#include "ranges.h"

typedef struct {
  coord_work_t work; /* first */
  coord_t *c;
  peer_conn_t *conn;
  uint64_t req_id;
  bool keys; /* PEER_TREE_KEYS; else PEER_TREE */
  merkle_range_t *ranges;
  size_t nr;
  unsigned level;
  uint64_t *idx, *out;
  uint32_t *segs;
  size_t n;
  buf_t list;
} serve_t;

static void serve_free(serve_t *s) {
  free(s->ranges);
  free(s->idx);
  free(s->out);
  free(s->segs);
  buf_free(&s->list);
  free(s);
}

static void answer(coord_t *c, peer_conn_t *conn, uint64_t req_id, bool keys, int status, const serve_t *s) {
  peer_msg_t m;
  peer_msg_init(&m);
  static const uint8_t none = 0;
  uint8_t *packed = NULL;
  if (keys) {
    m.type = PEER_TREE_KEYS_REPLY;
    m.tree_keys_reply.status = status;
    m.tree_keys_reply.keys = status ? (peer_bytes_t){&none, 0} : (peer_bytes_t){s->list.data, s->list.len};
  } else {
    m.type = PEER_TREE_REPLY;
    m.tree_reply.hashes = (peer_bytes_t){&none, 0};
    if (!status && s->n && !(packed = malloc(s->n * 8))) status = CHORUS_ENOMEM;
    if (!status) {
      for (size_t i = 0; i < s->n; i++)
        be_put_u64(packed + 8 * i, s->out[i]);
      if (s->n) m.tree_reply.hashes = (peer_bytes_t){packed, s->n * 8};
    }
    m.tree_reply.status = status;
  }
  c->env.respond(c->env.state, conn, req_id, &m);
  peer_msg_free(&m);
  free(packed);
}

static int run(coord_work_t *w) {
  serve_t *s = (serve_t *)w;
  coord_t *c = s->c;
  if (s->keys) return c->env.tree_keys(c->env.state, s->ranges, s->nr, s->segs, s->n, &s->list);
  return c->env.tree_hashes(c->env.state, s->ranges, s->nr, s->level, s->idx, s->n, s->out);
}

static void done(coord_work_t *w, int rc) {
  serve_t *s = (serve_t *)w;
  coord_t *c = s->c;
  if (!rc && s->list.len > PEER_RECORD_MAX) rc = CHORUS_ETOOBIG;
  if (!c->closing) answer(c, s->conn, s->req_id, s->keys, rc, s);
  c->env.conn_release(c->env.state, s->conn);
  serve_free(s);
}

/* The request's inputs, checked against this node's tree and ring. */
static int prepare(coord_t *c, const peer_msg_t *req, serve_t *s) {
  if (!c->env.tree_hashes || !c->env.tree_keys || !c->env.tree_info) return CHORUS_ENOTFOUND;
  engine_tree_info_t ti;
  c->env.tree_info(c->env.state, &ti);
  if (!ti.enabled) return CHORUS_ENOTFOUND;
  uint64_t version = s->keys ? req->tree_keys.ring_version : req->tree.ring_version;
  view_t *v = view_acquire(c->view);
  int rc = ring_version(v->ring) == version ? 0 : CHORUS_EAGAIN;
  if (!rc) rc = ranges_shared(v->ring, v->replicas, c->self, req->from, &s->ranges, &s->nr);
  view_release(v);
  if (rc) return rc;
  if (s->keys) {
    const peer_bytes_t *b = &req->tree_keys.segments;
    s->n = b->len / 4;
    if (s->n && !(s->segs = malloc(s->n * sizeof *s->segs))) return CHORUS_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
      s->segs[i] = be_get_u32(b->p + 4 * i);
      if (s->segs[i] >= ti.segments) return CHORUS_EINVAL;
    }
    return 0;
  }
  s->level = req->tree.level;
  if (s->level > ti.depth) return CHORUS_EINVAL;
  uint64_t width = (uint64_t)1 << (MERKLE_FANOUT_BITS * s->level);
  s->n = req->tree.nodes.len / 8;
  if (s->n && (!(s->idx = malloc(s->n * sizeof *s->idx)) || !(s->out = malloc(s->n * sizeof *s->out))))
    return CHORUS_ENOMEM;
  for (size_t i = 0; i < s->n; i++) {
    s->idx[i] = be_get_u64(req->tree.nodes.p + 8 * i);
    if (s->idx[i] >= width) return CHORUS_EINVAL;
  }
  return 0;
}

void coord_serve_tree(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  bool keys = req->type == PEER_TREE_KEYS;
  serve_t *s = calloc(1, sizeof *s);
  int rc = s ? 0 : CHORUS_ENOMEM;
  if (s) {
    s->c = c;
    s->conn = conn;
    s->req_id = req->req_id;
    s->keys = keys;
    buf_init(&s->list);
    rc = prepare(c, req, s);
    s->work.run = run;
    s->work.done = done;
    if (!rc) {
      c->env.conn_hold(c->env.state, conn);
      rc = coord_work_queue(c, &s->work);
      if (!rc) return;
      c->env.conn_release(c->env.state, conn);
    }
  }
  answer(c, conn, req->req_id, keys, rc, NULL);
  if (s) serve_free(s);
}
