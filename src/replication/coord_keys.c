/*
 * coord_keys.c - key rotation across the cluster (COORD_KEYS): list,
 * install, use and remove a key of the keyring (keyring.h) on every live
 * member, and this node's side of it (PEER_KEYRING).
 *
 * A change goes in two rounds, like a two-phase commit without the abort:
 *  1. every live member (alive or suspected in the current view) and this
 *     node list their keyrings;
 *  2. if the change is safe, every member that answered, and this node
 *     first, applies it; the request is answered with each member's
 *     keyring after the change, or its error.
 * "Safe" is what keeps every pair of members able to open each other's
 * packets: `use K` needs K on every live member (one without it could no
 * longer read this node's packets and would suspect it), and `remove K`
 * needs that no live member sends with K. A live member that did not
 * answer the listing makes use and remove refuse (its keyring is not
 * known); install goes on without it and reports it. A request with
 * local set skips both rounds and changes this node only: how a member
 * that was down during a rotation is given the new key.
 *
 * The keyring is the node's (keyring_t, changed on the loop only, read by
 * the membership and peer transports as they seal and open); the packets
 * sent right after a change are sealed with the new primary. A change is
 * saved before it is acknowledged, and synchronously, on the loop: a
 * rotation step is rare and its file is a few hundred bytes, so one fsync
 * of loop time per step buys a change that a stop or a crash right after
 * its acknowledgement cannot lose. A change that cannot be saved is undone
 * and reported as the member's error.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "coord_internal.h"

/* ---- this node's keyring ---- */

void coord_keys_init(coord_t *c, keyring_t *keys) {
  c->keys = keys;
  atomic_store(&c->keys_sealed, keys && keyring_sealed(keys));
}

/* The keyring's file, durably (see the top of the file). */
static int save(coord_t *c) {
  if (!c->env.keyring_save) return 0;
  buf_t b;
  buf_init(&b);
  int rc = keyring_encode(c->keys, &b);
  if (!rc) rc = c->env.keyring_save(c->env.state, b.data, b.len);
  if (b.data) memset(b.data, 0, b.cap);
  buf_free(&b);
  return rc;
}

bool coord_keys_sealed(coord_t *c) {
  return atomic_load(&c->keys_sealed);
}

/* The keyring's ids, the primary first. */
static void put_ids(const keyring_t *kr, buf_t *out) {
  uint8_t id[KEYRING_ID_BYTES];
  keyring_entry_id(&kr->e[kr->primary], id);
  buf_put(out, id, sizeof id);
  for (size_t i = 0; i < kr->n; i++) {
    if (i == kr->primary) continue;
    keyring_entry_id(&kr->e[i], id);
    buf_put(out, id, sizeof id);
  }
}

/* Applies op to this node's keyring (entry: the key to install, or the id
 * to use or remove) and saves it if it changed. */
static int apply(coord_t *c, uint8_t op, const uint8_t *entry, size_t len) {
  if (!c->keys) return CHORUS_EINVAL;
  keyring_t before = *c->keys;
  int rc = 0;
  if (op == PEER_KEYS_INSTALL) {
    keyring_entry_t e = {.none = len == 0};
    if (len == SEAL_KEY_BYTES) memcpy(e.key, entry, SEAL_KEY_BYTES);
    rc = keyring_install(c->keys, &e);
    memset(&e, 0, sizeof e);
  } else if (op == PEER_KEYS_USE) {
    rc = keyring_use(c->keys, entry);
  } else if (op == PEER_KEYS_REMOVE) {
    rc = keyring_remove(c->keys, entry);
  }
  bool changed = memcmp(&before, c->keys, sizeof before) != 0;
  if (!rc && changed && (rc = save(c)) != 0) {
    *c->keys = before;
    log_error("keyring: the change could not be saved (%s), so it is undone", chorus_strerror(rc));
  }
  memset(&before, 0, sizeof before);
  if (!rc && changed) {
    char id[KEYRING_ID_TEXT];
    keyring_entry_id_text(&c->keys->e[c->keys->primary], id);
    log_info("keyring: %s; %zu keys, sending with %s",
             op == PEER_KEYS_INSTALL ? "key installed"
             : op == PEER_KEYS_USE   ? "primary changed"
                                     : "key removed",
             c->keys->n, id);
    atomic_store(&c->keys_sealed, keyring_sealed(c->keys));
  }
  return rc;
}

void coord_serve_keyring(coord_t *c, peer_conn_t *conn, const peer_msg_t *req) {
  int rc = apply(c, req->keyring.op, req->keyring.entry.p, req->keyring.entry.len);
  buf_t ids;
  buf_init(&ids);
  if (!rc) put_ids(c->keys, &ids);
  if (!rc && ids.err) rc = CHORUS_ENOMEM;
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_KEYRING_REPLY;
  m.keyring_reply.status = rc;
  m.keyring_reply.ids = rc ? (peer_bytes_t){(const uint8_t *)"", 0} : (peer_bytes_t){ids.data, ids.len};
  c->env.respond(c->env.state, conn, req->req_id, &m);
  peer_msg_free(&m);
  buf_free(&ids);
}

/* ---- the cluster-wide request ---- */

typedef struct {
  coord_t *c;
  coord_req_t *req;
  size_t waiting;
  bool applying; /* the second round */
} rotation_t;

typedef struct {
  rotation_t *r;
  size_t part;
} call_t;

static void settle(rotation_t *r);

static void on_reply(int status, const peer_msg_t *reply, void *arg) {
  call_t *call = arg;
  rotation_t *r = call->r;
  coord_part_t *p = &r->req->result.parts[call->part];
  free(call);
  if (status == 0 && reply->type != PEER_KEYRING_REPLY) status = CHORUS_ECORRUPT;
  if (status == 0) status = reply->keyring_reply.status;
  if (status == 0) buf_put(&p->body, reply->keyring_reply.ids.p, reply->keyring_reply.ids.len);
  p->status = status ? status : p->body.err;
  r->waiting--;
  settle(r);
}

/* Sends op to the member of part i (already named), or records why not. */
static void ask(rotation_t *r, size_t i, const swim_addr_t *addr, uint8_t op) {
  coord_req_t *req = r->req;
  coord_part_t *p = &req->result.parts[i];
  buf_reset(&p->body);
  call_t *call = malloc(sizeof *call);
  if (!call) {
    p->status = CHORUS_ENOMEM;
    return;
  }
  *call = (call_t){r, i};
  peer_msg_t msg;
  peer_msg_init(&msg);
  msg.type = PEER_KEYRING;
  msg.keyring.op = op;
  if (op == PEER_KEYS_INSTALL)
    msg.keyring.entry = (peer_bytes_t){req->keys_entry.key, req->keys_entry.none ? 0 : SEAL_KEY_BYTES};
  else if (op != PEER_KEYS_LIST)
    msg.keyring.entry = (peer_bytes_t){req->keys_id, KEYRING_ID_BYTES};
  r->waiting++;
  p->status = coord_request(r->c, addr, &msg, r->c->cfg->request_timeout_ms, on_reply, call);
  if (p->status) {
    r->waiting--;
    free(call);
  }
  peer_msg_free(&msg);
}

/* This node's part (parts[0]): op applied here, then its keyring. */
static void ask_self(rotation_t *r, uint8_t op) {
  coord_req_t *req = r->req;
  coord_part_t *p = &req->result.parts[0];
  buf_reset(&p->body);
  const uint8_t *entry = op == PEER_KEYS_INSTALL ? req->keys_entry.key : req->keys_id;
  p->status = apply(r->c, op, entry, op == PEER_KEYS_INSTALL && req->keys_entry.none ? 0 : SEAL_KEY_BYTES);
  if (!p->status) put_ids(r->c->keys, &p->body);
  if (!p->status) p->status = p->body.err;
}

/* Every member asked in a round, this node first. */
static void round_start(rotation_t *r, uint8_t op) {
  coord_t *c = r->c;
  coord_result_t *res = &r->req->result;
  r->waiting = 1; /* held while asking: an answer may come at once */
  ask_self(r, op);
  view_t *v = view_acquire(c->view);
  for (size_t i = 1; i < res->n_parts; i++) {
    const view_member_t *m = NULL;
    for (size_t j = 0; j < v->n && !m; j++)
      if (strcmp(v->members[j].id, res->parts[i].node) == 0) m = &v->members[j];
    if (!m)
      res->parts[i].status = CHORUS_ENOTFOUND; /* gone from the view since the listing */
    else if (!r->applying || res->parts[i].status == 0)
      ask(r, i, &m->addr, op);
  }
  view_release(v);
  r->waiting--;
  settle(r);
}

static bool has_id(const coord_part_t *p, const uint8_t id[KEYRING_ID_BYTES], bool primary_only) {
  size_t n = primary_only && p->body.len ? KEYRING_ID_BYTES : p->body.len;
  for (size_t o = 0; o + KEYRING_ID_BYTES <= n; o += KEYRING_ID_BYTES)
    if (memcmp(p->body.data + o, id, KEYRING_ID_BYTES) == 0) return true;
  return false;
}

/* After the listing: whether the change keeps every pair of live members
 * able to read each other (see the top of the file). */
static int safe_to_apply(const coord_req_t *req) {
  const coord_result_t *res = &req->result;
  for (size_t i = 0; i < res->n_parts; i++) {
    const coord_part_t *p = &res->parts[i];
    if (req->keys_op == PEER_KEYS_INSTALL) continue;
    if (p->status) return CHORUS_ETIMEDOUT; /* its keyring is not known */
    if (req->keys_op == PEER_KEYS_USE && !has_id(p, req->keys_id, false)) return CHORUS_ENOTFOUND;
    if (req->keys_op == PEER_KEYS_REMOVE && has_id(p, req->keys_id, true)) return CHORUS_EBUSY;
  }
  return 0;
}

static void settle(rotation_t *r) {
  if (r->waiting) return;
  coord_req_t *req = r->req;
  if (!r->applying && req->keys_op != PEER_KEYS_LIST) {
    req->result.err = safe_to_apply(req);
    if (!req->result.err) {
      r->applying = true;
      round_start(r, (uint8_t)req->keys_op);
      return;
    }
  }
  req->done(req);
  free(r);
}

void coord_keys_start(coord_t *c, coord_req_t *req) {
  coord_result_t *res = &req->result;
  view_t *v = view_acquire(c->view);
  rotation_t *r = calloc(1, sizeof *r);
  res->parts = calloc(v->n + 1, sizeof *res->parts);
  if (!r || !res->parts || !c->keys) {
    free(r);
    view_release(v);
    res->err = c->keys ? CHORUS_ENOMEM : CHORUS_EINVAL;
    req->done(req);
    return;
  }
  r->c = c;
  r->req = req;
  snprintf(res->parts[0].node, sizeof res->parts[0].node, "%s", c->self);
  buf_init(&res->parts[0].body);
  res->n_parts = 1;
  for (size_t i = 0; !req->keys_local && i < v->n; i++) {
    const view_member_t *m = &v->members[i];
    if (strcmp(m->id, c->self) == 0 || !view_is_up(v, m->id)) continue;
    coord_part_t *p = &res->parts[res->n_parts++];
    snprintf(p->node, sizeof p->node, "%s", m->id);
    buf_init(&p->body);
  }
  view_release(v);
  /* local: this node alone, at once; otherwise the listing first */
  r->applying = req->keys_local || req->keys_op == PEER_KEYS_LIST;
  round_start(r, r->applying ? (uint8_t)req->keys_op : PEER_KEYS_LIST);
}
