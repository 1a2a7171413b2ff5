/*
 * peer_codec.c - frames and messages of the peer transport (layout in
 * peer_codec.h).
 *
 * Encoding goes through msgpack-c's packer (shortest forms); decoding through
 * the bounded reader of common/mpack.h, never msgpack-c's unpacker, which
 * sizes allocations from headers it has not checked against the input.
 *
 * Invariants:
 *  - the encoder refuses (out untouched) any message the decoder would
 *    refuse, so whatever is sent can be received; msg_check and the read_*
 *    functions state the same rules from the two sides;
 *  - the decoder reads only through buf_reader_t, compares every length and
 *    count from the wire with a limit of peer_codec.h before use, returns
 *    views into the input instead of copies, and on error leaves m zeroed
 *    with an empty clock, so the result depends on the bytes alone;
 *  - the clock is the one allocation, and it grows per entry read, never
 *    from the count in the map header.
 */
#include "peer_codec.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/mpack.h"
#include "../common/seal.h"

#define MSG_FIELDS 5

_Static_assert(VV_NODE_MAX == NODE_ID_MAX, "clock ids follow the node id rule");
_Static_assert(PEER_CLOCK_MAX <= VV_MAX_ENTRIES, "a decoded clock must be a valid vv_t");
_Static_assert(PEER_FRAME_MAX <= UINT32_MAX, "the length prefix is a u32");
_Static_assert(PEER_RECORD_MAX >= RECORD_MAX_VALUE, "a record holds at least one value");
/* The bytes of a sealed REPLICATE beyond its record, every field at its
 * limit in its widest form: version, header, type, req_id, from, clock,
 * body header, op, key, record header, hint_for, request_id, seal. */
#define REPLICATE_OVERHEAD_MAX                                                                               \
  (1 + 1 + 1 + 9 + (2 + NODE_ID_MAX) + 3 + PEER_CLOCK_MAX * (2 + NODE_ID_MAX + 9) + 1 + 1 +                  \
   (3 + PEER_KEY_MAX) + 5 + (2 + NODE_ID_MAX) + (2 + PEER_REQUEST_ID_MAX) + SEAL_OVERHEAD)
_Static_assert(PEER_FRAME_MAX - PEER_RECORD_MAX >= REPLICATE_OVERHEAD_MAX,
               "a frame holds the largest REPLICATE");
/* The same for a FORWARD_REPLY: status, flags, event_id, record header,
 * required, responsible and the six node lists at their limits. */
#define FORWARD_REPLY_OVERHEAD_MAX                                                                           \
  (1 + 1 + 1 + 9 + (2 + NODE_ID_MAX) + 3 + PEER_CLOCK_MAX * (2 + NODE_ID_MAX + 9) + 1 + 5 + 2 + 9 + 5 + 2 +  \
   (2 + NODE_ID_MAX) + PEER_FWD_LISTS * (3 + PEER_NODES_MAX * (2 + NODE_ID_MAX)) + 5 +                       \
   PEER_DOTS_MAX * (1 + 2 + NODE_ID_MAX + 9) + SEAL_OVERHEAD)
_Static_assert(PEER_FRAME_MAX - PEER_RECORD_MAX >= FORWARD_REPLY_OVERHEAD_MAX,
               "a frame holds the largest FORWARD_REPLY");

/* A forward reply without dots, as nodes of an earlier version send it. */
#define FORWARD_REPLY_FIELDS_V1 12

/* Body arity per type (index: peer_type_t). */
static const uint8_t body_fields[] = {
    [PEER_REPLICATE] = 5, [PEER_REPLICATE_ACK] = 2,  [PEER_READ] = 2,      [PEER_READ_REPLY] = 3,
    [PEER_FORWARD] = 7,   [PEER_FORWARD_REPLY] = 13, [PEER_EVENTS] = 2,    [PEER_EVENTS_REPLY] = 2,
    [PEER_PING] = 0,      [PEER_PONG] = 0,           [PEER_PUSH_PULL] = 1, [PEER_PUSH_PULL_REPLY] = 1,
    [PEER_TREE] = 3,      [PEER_TREE_REPLY] = 2,     [PEER_TREE_KEYS] = 2, [PEER_TREE_KEYS_REPLY] = 2,
    [PEER_RANGE] = 3,     [PEER_RANGE_REPLY] = 3,    [PEER_HANDOFF] = 2,   [PEER_HANDOFF_REPLY] = 2,
    [PEER_KEYRING] = 2,   [PEER_KEYRING_REPLY] = 2,
};
_Static_assert(PEER_FRAME_MAX - PEER_BATCH_MAX >= 64u * 1024, "a frame holds the largest record batch");

static bool type_valid(uint64_t t) {
  return t >= PEER_REPLICATE && t <= PEER_TYPE_LAST;
}

/* The entry a keyring op carries: its length, or -1 for nil. */
static long keyring_entry_len(uint64_t op) {
  return op == PEER_KEYS_LIST ? -1 : op == PEER_KEYS_INSTALL ? SEAL_KEY_BYTES : KEYRING_ID_BYTES;
}

static bool keyring_entry_ok(uint64_t op, peer_bytes_t e) {
  if (op < PEER_KEYS_LIST || op > PEER_KEYS_REMOVE) return false;
  long want = keyring_entry_len(op);
  if (want < 0) return e.p == NULL;
  return e.p && (e.len == (size_t)want || (op == PEER_KEYS_INSTALL && e.len == 0));
}

/* A reply's ids: 1..KEYRING_MAX of them, or none when the status is an error. */
static bool keyring_ids_ok(int32_t status, peer_bytes_t ids) {
  if (!ids.p || ids.len % KEYRING_ID_BYTES) return false;
  size_t n = ids.len / KEYRING_ID_BYTES;
  return status ? n == 0 : n >= 1 && n <= KEYRING_MAX;
}

static bool op_valid(peer_type_t type, uint64_t op) {
  return op >= PEER_OP_PUT && op <= (type == PEER_REPLICATE ? PEER_OP_REAP : PEER_OP_DELETE);
}

/* ---- encoder ---- */

/* Accumulates the first failed rule; 0 while all hold. */
typedef struct {
  int rc;
} check_t;

static void require(check_t *c, bool ok, int rc) {
  if (!ok && !c->rc) c->rc = rc;
}

static void check_bin(check_t *c, peer_bytes_t b, size_t max, bool nil_ok) {
  require(c, b.p || nil_ok, CHORUS_EINVAL);
  require(c, b.len <= max, CHORUS_ETOOBIG);
}

static void check_str(check_t *c, peer_bytes_t s, size_t max) {
  check_bin(c, s, max, true);
  require(c, !s.p || !memchr(s.p, '\0', s.len), CHORUS_EINVAL);
}

static void check_key(check_t *c, peer_bytes_t k) {
  check_bin(c, k, PEER_KEY_MAX, false);
  require(c, k.len > 0, CHORUS_EINVAL);
}

static void check_id(check_t *c, const char *id, bool may_be_empty) {
  size_t n = strnlen(id, NODE_ID_MAX + 1);
  require(c, n <= NODE_ID_MAX && (n == 0 ? may_be_empty : node_id_valid(id, n)), CHORUS_EINVAL);
}

/* A bin of fixed-size items: present, a whole number of them, at most max. */
static void check_packed(check_t *c, peer_bytes_t b, size_t item, size_t max) {
  check_bin(c, b, item * max, false);
  require(c, b.len % item == 0, CHORUS_EINVAL);
}

static void check_forward_reply(check_t *c, const peer_forward_reply_t *f) {
  require(c, f->status <= 0 && f->flags <= PEER_FWD_FLAGS, CHORUS_EINVAL);
  require(c, f->replaced.n < PEER_DOTS_MAX && (f->dot.counter || !f->replaced.n), CHORUS_EINVAL);
  if (f->dot.counter) check_id(c, f->dot.node, false);
  for (size_t i = 0; i < f->replaced.n && i < PEER_DOTS_MAX; i++) {
    check_id(c, f->replaced.d[i].node, false);
    require(c, f->replaced.d[i].counter > 0, CHORUS_EINVAL);
  }
  check_bin(c, f->record, PEER_RECORD_MAX, true);
  check_id(c, f->responsible, true);
  for (size_t l = 0; f->lists && l < PEER_FWD_LISTS; l++) {
    require(c, f->lists[l].n <= PEER_NODES_MAX, CHORUS_EINVAL);
    for (size_t i = 0; i < f->lists[l].n && i < PEER_NODES_MAX; i++)
      check_id(c, f->lists[l].id[i], false);
  }
}

static void check_body(check_t *c, const peer_msg_t *m) {
  switch (m->type) {
  case PEER_REPLICATE:
    require(c, op_valid(m->type, m->replicate.op), CHORUS_EINVAL);
    check_key(c, m->replicate.key);
    check_bin(c, m->replicate.record, PEER_RECORD_MAX, false);
    check_id(c, m->replicate.hint_for, true);
    check_str(c, m->replicate.request_id, PEER_REQUEST_ID_MAX);
    break;
  case PEER_REPLICATE_ACK: require(c, m->replicate_ack.status <= 0, CHORUS_EINVAL); break;
  case PEER_READ:
    check_key(c, m->read.key);
    check_bin(c, m->read.have, PEER_RECORD_MAX, true);
    break;
  case PEER_READ_REPLY:
    require(c, m->read_reply.status <= 0, CHORUS_EINVAL);
    check_bin(c, m->read_reply.record, PEER_RECORD_MAX, true);
    require(c, !m->read_reply.covered || !m->read_reply.record.p, CHORUS_EINVAL);
    break;
  case PEER_FORWARD:
    require(c, op_valid(m->type, m->forward.op), CHORUS_EINVAL);
    check_key(c, m->forward.key);
    check_bin(c, m->forward.value, RECORD_MAX_VALUE, true);
    check_str(c, m->forward.context, PEER_CONTEXT_MAX);
    check_str(c, m->forward.request_id, PEER_REQUEST_ID_MAX);
    break;
  case PEER_FORWARD_REPLY: check_forward_reply(c, &m->forward_reply); break;
  case PEER_EVENTS_REPLY:
    require(c, m->events_reply.status <= 0, CHORUS_EINVAL);
    check_bin(c, m->events_reply.events, PEER_RECORD_MAX, false);
    break;
  case PEER_PUSH_PULL:
  case PEER_PUSH_PULL_REPLY: check_bin(c, m->push_pull.state, PEER_RECORD_MAX, false); break;
  case PEER_TREE:
    require(c, m->tree.level <= PEER_TREE_LEVEL_MAX, CHORUS_EINVAL);
    check_packed(c, m->tree.nodes, 8, PEER_TREE_NODES_MAX);
    break;
  case PEER_TREE_REPLY:
    require(c, m->tree_reply.status <= 0, CHORUS_EINVAL);
    check_packed(c, m->tree_reply.hashes, 8, PEER_TREE_NODES_MAX);
    break;
  case PEER_TREE_KEYS: check_packed(c, m->tree_keys.segments, 4, PEER_TREE_SEGMENTS_MAX); break;
  case PEER_TREE_KEYS_REPLY:
    require(c, m->tree_keys_reply.status <= 0, CHORUS_EINVAL);
    check_bin(c, m->tree_keys_reply.keys, PEER_RECORD_MAX, false);
    break;
  case PEER_RANGE:
    check_packed(c, m->range.ranges, 16, PEER_RANGES_MAX);
    check_bin(c, m->range.after, 8 + PEER_KEY_MAX, true);
    require(c, !m->range.after.p || m->range.after.len > 8, CHORUS_EINVAL);
    break;
  case PEER_RANGE_REPLY:
    require(c, m->range_reply.status <= 0, CHORUS_EINVAL);
    check_bin(c, m->range_reply.batch, PEER_BATCH_MAX, false);
    break;
  case PEER_HANDOFF:
    require(c, m->handoff.mode == PEER_HANDOFF_OFFER || m->handoff.mode == PEER_HANDOFF_PUSH, CHORUS_EINVAL);
    check_bin(c, m->handoff.batch, PEER_BATCH_MAX, false);
    break;
  case PEER_HANDOFF_REPLY:
    require(c, m->handoff_reply.status <= 0, CHORUS_EINVAL);
    check_bin(c, m->handoff_reply.covered, PEER_COVERED_MAX, false);
    break;
  case PEER_KEYRING: require(c, keyring_entry_ok(m->keyring.op, m->keyring.entry), CHORUS_EINVAL); break;
  case PEER_KEYRING_REPLY:
    require(c, m->keyring_reply.status <= 0, CHORUS_EINVAL);
    require(c, keyring_ids_ok(m->keyring_reply.status, m->keyring_reply.ids), CHORUS_EINVAL);
    break;
  case PEER_EVENTS:
  case PEER_PING:
  case PEER_PONG: break;
  default: require(c, false, CHORUS_EINVAL);
  }
}

static int msg_check(const peer_msg_t *m) {
  check_t c = {0};
  require(&c, type_valid(m->type), CHORUS_EINVAL);
  check_id(&c, m->from, false);
  require(&c, m->clock.n <= PEER_CLOCK_MAX, CHORUS_ETOOBIG);
  check_body(&c, m);
  return c.rc;
}

static void pack_bytes(msgpack_packer *pk, peer_bytes_t b, bool is_str) {
  if (!b.p) {
    msgpack_pack_nil(pk);
  } else if (is_str) {
    msgpack_pack_str(pk, b.len);
    msgpack_pack_str_body(pk, b.p, b.len);
  } else {
    msgpack_pack_bin(pk, b.len);
    msgpack_pack_bin_body(pk, b.p, b.len);
  }
}

static void pack_cstr(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

/* hint_for: "" is nil. */
static void pack_opt_id(msgpack_packer *pk, const char *id) {
  if (id[0])
    pack_cstr(pk, id);
  else
    msgpack_pack_nil(pk);
}

static void pack_clock(msgpack_packer *pk, const vv_t *clock) {
  msgpack_pack_map(pk, clock->n);
  for (size_t i = 0; i < clock->n; i++) {
    pack_cstr(pk, clock->e[i].node);
    msgpack_pack_uint64(pk, clock->e[i].counter);
  }
}

static void pack_forward_reply(msgpack_packer *pk, const peer_forward_reply_t *f) {
  msgpack_pack_int32(pk, f->status);
  msgpack_pack_uint8(pk, f->flags);
  msgpack_pack_uint64(pk, f->event_id);
  pack_bytes(pk, f->record, false);
  msgpack_pack_uint8(pk, f->required);
  pack_opt_id(pk, f->responsible);
  for (size_t l = 0; l < PEER_FWD_LISTS; l++) {
    size_t n = f->lists ? f->lists[l].n : 0;
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
      pack_cstr(pk, f->lists[l].id[i]);
  }
  msgpack_pack_array(pk, f->dot.counter ? 1 + f->replaced.n : 0);
  for (size_t i = 0; f->dot.counter && i <= f->replaced.n; i++) {
    const dvv_dot_t *d = i ? &f->replaced.d[i - 1] : &f->dot;
    msgpack_pack_array(pk, 2);
    pack_cstr(pk, d->node);
    msgpack_pack_uint64(pk, d->counter);
  }
}

static void pack_bool(msgpack_packer *pk, bool b) {
  if (b)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
}

static void pack_body(msgpack_packer *pk, const peer_msg_t *m) {
  msgpack_pack_array(pk, body_fields[m->type]);
  switch (m->type) {
  case PEER_REPLICATE:
    msgpack_pack_uint8(pk, (uint8_t)m->replicate.op);
    pack_bytes(pk, m->replicate.key, false);
    pack_bytes(pk, m->replicate.record, false);
    pack_opt_id(pk, m->replicate.hint_for);
    pack_bytes(pk, m->replicate.request_id, true);
    break;
  case PEER_REPLICATE_ACK:
    msgpack_pack_int32(pk, m->replicate_ack.status);
    msgpack_pack_uint64(pk, m->replicate_ack.event_id);
    break;
  case PEER_READ:
    pack_bytes(pk, m->read.key, false);
    pack_bytes(pk, m->read.have, false);
    break;
  case PEER_READ_REPLY:
    msgpack_pack_int32(pk, m->read_reply.status);
    pack_bytes(pk, m->read_reply.record, false);
    pack_bool(pk, m->read_reply.covered);
    break;
  case PEER_FORWARD:
    msgpack_pack_uint8(pk, (uint8_t)m->forward.op);
    pack_bytes(pk, m->forward.key, false);
    pack_bytes(pk, m->forward.value, false);
    pack_bytes(pk, m->forward.context, true);
    msgpack_pack_uint8(pk, m->forward.r);
    msgpack_pack_uint8(pk, m->forward.w);
    pack_bytes(pk, m->forward.request_id, true);
    break;
  case PEER_FORWARD_REPLY: pack_forward_reply(pk, &m->forward_reply); break;
  case PEER_EVENTS:
    msgpack_pack_uint64(pk, m->events.since);
    msgpack_pack_uint32(pk, m->events.limit);
    break;
  case PEER_EVENTS_REPLY:
    msgpack_pack_int32(pk, m->events_reply.status);
    pack_bytes(pk, m->events_reply.events, false);
    break;
  case PEER_PUSH_PULL:
  case PEER_PUSH_PULL_REPLY: pack_bytes(pk, m->push_pull.state, false); break;
  case PEER_TREE:
    msgpack_pack_uint64(pk, m->tree.ring_version);
    msgpack_pack_uint8(pk, m->tree.level);
    pack_bytes(pk, m->tree.nodes, false);
    break;
  case PEER_TREE_REPLY:
    msgpack_pack_int32(pk, m->tree_reply.status);
    pack_bytes(pk, m->tree_reply.hashes, false);
    break;
  case PEER_TREE_KEYS:
    msgpack_pack_uint64(pk, m->tree_keys.ring_version);
    pack_bytes(pk, m->tree_keys.segments, false);
    break;
  case PEER_TREE_KEYS_REPLY:
    msgpack_pack_int32(pk, m->tree_keys_reply.status);
    pack_bytes(pk, m->tree_keys_reply.keys, false);
    break;
  case PEER_RANGE:
    pack_bytes(pk, m->range.ranges, false);
    pack_bytes(pk, m->range.after, false);
    msgpack_pack_uint32(pk, m->range.max_bytes);
    break;
  case PEER_RANGE_REPLY:
    msgpack_pack_int32(pk, m->range_reply.status);
    pack_bytes(pk, m->range_reply.batch, false);
    pack_bool(pk, m->range_reply.done);
    break;
  case PEER_HANDOFF:
    msgpack_pack_uint8(pk, m->handoff.mode);
    pack_bytes(pk, m->handoff.batch, false);
    break;
  case PEER_HANDOFF_REPLY:
    msgpack_pack_int32(pk, m->handoff_reply.status);
    pack_bytes(pk, m->handoff_reply.covered, false);
    break;
  case PEER_KEYRING:
    msgpack_pack_uint8(pk, m->keyring.op);
    pack_bytes(pk, m->keyring.entry, false);
    break;
  case PEER_KEYRING_REPLY:
    msgpack_pack_int32(pk, m->keyring_reply.status);
    pack_bytes(pk, m->keyring_reply.ids, false);
    break;
  default: break;
  }
}

int peer_msg_encode(const peer_msg_t *m, buf_t *out) {
  if (out->err) return out->err;
  int rc = msg_check(m);
  if (rc) return rc;
  size_t start = out->len;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, mpack_buf_write);
  buf_put_u8(out, PEER_WIRE_VERSION);
  msgpack_pack_array(&pk, MSG_FIELDS);
  msgpack_pack_uint8(&pk, (uint8_t)m->type);
  msgpack_pack_uint64(&pk, m->req_id);
  pack_cstr(&pk, m->from);
  pack_clock(&pk, &m->clock);
  pack_body(&pk, m);
  return mpack_buf_end(out, start);
}

/* ---- decoder ---- */

static peer_bytes_t read_bin(buf_reader_t *r, size_t max) {
  peer_bytes_t b;
  b.p = mpack_bin(r, max, &b.len);
  return b;
}

static peer_bytes_t read_opt_bin(buf_reader_t *r, size_t max) {
  peer_bytes_t none = {NULL, 0};
  if (!mpack_is_nil(r)) return read_bin(r, max);
  mpack_nil(r);
  return none;
}

static peer_bytes_t read_opt_str(buf_reader_t *r, size_t max) {
  peer_bytes_t s = {NULL, 0};
  if (mpack_is_nil(r)) {
    mpack_nil(r);
    return s;
  }
  s.p = mpack_str(r, max, &s.len);
  if (s.p && memchr(s.p, '\0', s.len)) mpack_fail(r);
  return s;
}

static peer_bytes_t read_key(buf_reader_t *r) {
  peer_bytes_t k = read_bin(r, PEER_KEY_MAX);
  if (k.p && k.len == 0) mpack_fail(r);
  return k;
}

static void read_opt_id(buf_reader_t *r, char out[NODE_ID_MAX + 1]) {
  if (mpack_is_nil(r))
    mpack_nil(r);
  else
    mpack_node_id(r, out, false);
}

static peer_bytes_t read_packed(buf_reader_t *r, size_t item, size_t max) {
  peer_bytes_t b = read_bin(r, item * max);
  if (b.len % item) mpack_fail(r);
  return b;
}

static int32_t read_status(buf_reader_t *r) {
  return (int32_t)mpack_int(r, INT32_MIN, 0);
}

static peer_op_t read_op(buf_reader_t *r, peer_type_t type) {
  uint64_t op = mpack_uint(r, UINT8_MAX);
  if (!op_valid(type, op)) mpack_fail(r);
  return (peer_op_t)op;
}

/* Entries must come in vv order (strictly increasing ids, counters > 0), so
 * each is appended at the end and the clock is a valid vv_t as read. */
static void read_clock(buf_reader_t *r, vv_t *clock) {
  size_t n = mpack_map(r, PEER_CLOCK_MAX);
  for (size_t i = 0; i < n && !r->err; i++) {
    char id[NODE_ID_MAX + 1];
    mpack_node_id(r, id, false);
    uint64_t counter = mpack_uint(r, UINT64_MAX);
    if (r->err) return;
    if (counter == 0 || (i > 0 && strcmp(clock->e[clock->n - 1].node, id) >= 0)) {
      mpack_fail(r);
      return;
    }
    int rc = vv_set(clock, id, counter);
    if (rc) {
      r->err = rc;
      r->left = 0;
    }
  }
}

static void read_dot(buf_reader_t *r, dvv_dot_t *d) {
  mpack_array_of(r, 2);
  mpack_node_id(r, d->node, false);
  d->counter = mpack_uint(r, UINT64_MAX);
  if (!r->err && d->counter == 0) mpack_fail(r);
}

/* The write's dot, then those it replaced. */
static void read_dots(buf_reader_t *r, peer_forward_reply_t *f) {
  size_t n = mpack_array(r, PEER_DOTS_MAX);
  if (!n || r->err) return;
  read_dot(r, &f->dot);
  if (n == 1 || r->err) return;
  f->replaced.d = calloc(n - 1, sizeof *f->replaced.d);
  if (!f->replaced.d) {
    r->err = CHORUS_ENOMEM;
    r->left = 0;
    return;
  }
  f->replaced_owned = true;
  for (size_t i = 0; i + 1 < n && !r->err; i++) {
    read_dot(r, &f->replaced.d[i]);
    f->replaced.n = i + 1;
  }
}

/* fields: FORWARD_REPLY_FIELDS_V1 from a node of an earlier version, one more with the dots */
static void read_forward_reply(buf_reader_t *r, peer_forward_reply_t *f, size_t fields) {
  f->status = read_status(r);
  f->flags = (uint8_t)mpack_uint(r, PEER_FWD_FLAGS);
  f->event_id = mpack_uint(r, UINT64_MAX);
  f->record = read_opt_bin(r, PEER_RECORD_MAX);
  f->required = (uint8_t)mpack_uint(r, UINT8_MAX);
  read_opt_id(r, f->responsible);
  if (r->err) return;
  f->lists = calloc(PEER_FWD_LISTS, sizeof *f->lists);
  if (!f->lists) {
    r->err = CHORUS_ENOMEM;
    r->left = 0;
    return;
  }
  f->lists_owned = true;
  for (size_t l = 0; l < PEER_FWD_LISTS && !r->err; l++) {
    f->lists[l].n = (uint8_t)mpack_array(r, PEER_NODES_MAX);
    for (size_t i = 0; i < f->lists[l].n && !r->err; i++)
      mpack_node_id(r, f->lists[l].id[i], false);
  }
  if (fields > FORWARD_REPLY_FIELDS_V1) read_dots(r, f);
}

static void read_body(buf_reader_t *r, peer_msg_t *m) {
  size_t fields = body_fields[m->type];
  if (m->type == PEER_FORWARD_REPLY) {
    fields = mpack_array(r, fields);
    if (fields < FORWARD_REPLY_FIELDS_V1) mpack_fail(r);
  } else {
    mpack_array_of(r, fields);
  }
  switch (m->type) {
  case PEER_REPLICATE:
    m->replicate.op = read_op(r, m->type);
    m->replicate.key = read_key(r);
    m->replicate.record = read_bin(r, PEER_RECORD_MAX);
    read_opt_id(r, m->replicate.hint_for);
    m->replicate.request_id = read_opt_str(r, PEER_REQUEST_ID_MAX);
    break;
  case PEER_REPLICATE_ACK:
    m->replicate_ack.status = read_status(r);
    m->replicate_ack.event_id = mpack_uint(r, UINT64_MAX);
    break;
  case PEER_READ:
    m->read.key = read_key(r);
    m->read.have = read_opt_bin(r, PEER_RECORD_MAX);
    break;
  case PEER_READ_REPLY:
    m->read_reply.status = read_status(r);
    m->read_reply.record = read_opt_bin(r, PEER_RECORD_MAX);
    m->read_reply.covered = mpack_bool(r);
    if (m->read_reply.covered && m->read_reply.record.p) mpack_fail(r);
    break;
  case PEER_FORWARD:
    m->forward.op = read_op(r, m->type);
    m->forward.key = read_key(r);
    m->forward.value = read_opt_bin(r, RECORD_MAX_VALUE);
    m->forward.context = read_opt_str(r, PEER_CONTEXT_MAX);
    m->forward.r = (uint8_t)mpack_uint(r, UINT8_MAX);
    m->forward.w = (uint8_t)mpack_uint(r, UINT8_MAX);
    m->forward.request_id = read_opt_str(r, PEER_REQUEST_ID_MAX);
    break;
  case PEER_FORWARD_REPLY: read_forward_reply(r, &m->forward_reply, fields); break;
  case PEER_EVENTS:
    m->events.since = mpack_uint(r, UINT64_MAX);
    m->events.limit = (uint32_t)mpack_uint(r, UINT32_MAX);
    break;
  case PEER_EVENTS_REPLY:
    m->events_reply.status = read_status(r);
    m->events_reply.events = read_bin(r, PEER_RECORD_MAX);
    break;
  case PEER_PUSH_PULL:
  case PEER_PUSH_PULL_REPLY: m->push_pull.state = read_bin(r, PEER_RECORD_MAX); break;
  case PEER_TREE:
    m->tree.ring_version = mpack_uint(r, UINT64_MAX);
    m->tree.level = (uint8_t)mpack_uint(r, PEER_TREE_LEVEL_MAX);
    m->tree.nodes = read_packed(r, 8, PEER_TREE_NODES_MAX);
    break;
  case PEER_TREE_REPLY:
    m->tree_reply.status = read_status(r);
    m->tree_reply.hashes = read_packed(r, 8, PEER_TREE_NODES_MAX);
    break;
  case PEER_TREE_KEYS:
    m->tree_keys.ring_version = mpack_uint(r, UINT64_MAX);
    m->tree_keys.segments = read_packed(r, 4, PEER_TREE_SEGMENTS_MAX);
    break;
  case PEER_TREE_KEYS_REPLY:
    m->tree_keys_reply.status = read_status(r);
    m->tree_keys_reply.keys = read_bin(r, PEER_RECORD_MAX);
    break;
  case PEER_RANGE:
    m->range.ranges = read_packed(r, 16, PEER_RANGES_MAX);
    m->range.after = read_opt_bin(r, 8 + PEER_KEY_MAX);
    if (m->range.after.p && m->range.after.len <= 8) mpack_fail(r);
    m->range.max_bytes = (uint32_t)mpack_uint(r, UINT32_MAX);
    break;
  case PEER_RANGE_REPLY:
    m->range_reply.status = read_status(r);
    m->range_reply.batch = read_bin(r, PEER_BATCH_MAX);
    m->range_reply.done = mpack_bool(r);
    break;
  case PEER_HANDOFF:
    m->handoff.mode = (uint8_t)mpack_uint(r, PEER_HANDOFF_PUSH);
    if (m->handoff.mode < PEER_HANDOFF_OFFER) mpack_fail(r);
    m->handoff.batch = read_bin(r, PEER_BATCH_MAX);
    break;
  case PEER_HANDOFF_REPLY:
    m->handoff_reply.status = read_status(r);
    m->handoff_reply.covered = read_bin(r, PEER_COVERED_MAX);
    break;
  case PEER_KEYRING:
    m->keyring.op = (uint8_t)mpack_uint(r, PEER_KEYS_REMOVE);
    m->keyring.entry = read_opt_bin(r, SEAL_KEY_BYTES);
    if (!r->err && !keyring_entry_ok(m->keyring.op, m->keyring.entry)) mpack_fail(r);
    break;
  case PEER_KEYRING_REPLY:
    m->keyring_reply.status = read_status(r);
    m->keyring_reply.ids = read_bin(r, KEYRING_MAX * KEYRING_ID_BYTES);
    if (!r->err && !keyring_ids_ok(m->keyring_reply.status, m->keyring_reply.ids)) mpack_fail(r);
    break;
  default: break;
  }
}

static void read_msg(buf_reader_t *r, peer_msg_t *m) {
  if (buf_read_u8(r) != PEER_WIRE_VERSION) mpack_fail(r);
  mpack_array_of(r, MSG_FIELDS);
  uint64_t type = mpack_uint(r, PEER_TYPE_LAST);
  if (!type_valid(type)) mpack_fail(r);
  if (r->err) return;
  m->type = (peer_type_t)type;
  m->req_id = mpack_uint(r, UINT64_MAX);
  mpack_node_id(r, m->from, false);
  read_clock(r, &m->clock);
  read_body(r, m);
}

/* Frees what a decoded body owns (a forward reply's node lists). */
static void release_body(peer_msg_t *m) {
  if (m->type == PEER_FORWARD_REPLY && m->forward_reply.lists_owned) free(m->forward_reply.lists);
  if (m->type == PEER_FORWARD_REPLY && m->forward_reply.replaced_owned) free(m->forward_reply.replaced.d);
}

/* Zeroes every field but the clock, which is emptied and keeps its allocation. */
static void msg_reset(peer_msg_t *m) {
  release_body(m);
  vv_t clock = m->clock;
  vv_clear(&clock);
  memset(m, 0, sizeof(*m));
  m->clock = clock;
}

int peer_msg_decode(const void *p, size_t len, peer_msg_t *m) {
  buf_reader_t r;
  buf_reader_init(&r, p, len);
  msg_reset(m);
  read_msg(&r, m);
  if (!r.err && r.left) mpack_fail(&r);
  if (!r.err) return 0;
  msg_reset(m);
  return r.err;
}

void peer_msg_init(peer_msg_t *m) {
  memset(m, 0, sizeof(*m));
  vv_init(&m->clock);
}

void peer_msg_free(peer_msg_t *m) {
  release_body(m);
  vv_free(&m->clock);
  peer_msg_init(m);
}

/* ---- frames ---- */

int peer_frame_split(const void *p, size_t len, size_t max_payload, const uint8_t **payload,
                     size_t *payload_len, size_t *consumed) {
  *payload = NULL;
  *payload_len = 0;
  *consumed = 0;
  if (len < PEER_FRAME_PREFIX) return CHORUS_EAGAIN;
  buf_reader_t r;
  buf_reader_init(&r, p, len);
  uint32_t n = buf_read_u32be(&r);
  if (n > max_payload) return CHORUS_ETOOBIG;
  const uint8_t *body = buf_read_raw(&r, n);
  if (!body) return CHORUS_EAGAIN;
  *payload = body;
  *payload_len = n;
  *consumed = PEER_FRAME_PREFIX + (size_t)n;
  return 0;
}

size_t peer_frame_begin(buf_t *out) {
  size_t start = out->len;
  buf_put_u32be(out, 0);
  return start;
}

int peer_frame_finish(buf_t *out, size_t start, size_t max_payload) {
  if (start > out->len) return CHORUS_EINVAL;
  int rc = mpack_buf_end(out, start);
  if (rc) return rc;
  if (out->len - start < PEER_FRAME_PREFIX) return CHORUS_EINVAL;
  size_t n = out->len - start - PEER_FRAME_PREFIX;
  if (n > max_payload || n > UINT32_MAX) {
    out->len = start;
    return CHORUS_ETOOBIG;
  }
  for (size_t i = 0; i < PEER_FRAME_PREFIX; i++)
    out->data[start + i] = (uint8_t)(n >> (8 * (PEER_FRAME_PREFIX - 1 - i)));
  return 0;
}
