/*
 * swim_codec.c - wire form of SWIM packets and push-pull states (layout in
 * swim_codec.h), and the status names of swim_msg.h.
 *
 * Encoding goes through msgpack-c's packer, which always picks the shortest
 * form of every integer, string and array header. Decoding does not use
 * msgpack-c's unpacker: it allocates an array's objects from the count in its
 * header before looking at the bytes that follow (five bytes of input make it
 * ask for 8 GiB), and it cannot tell a shortest form from a longer one.
 * Instead the bounded reader of common/mpack.h reads the subset this format
 * uses - positive integers, str, arrays, bool - each in its shortest form
 * only, so every accepted input is what the encoder would write:
 * decode(encode(m)) == m and encode(decode(b)) == b.
 *
 * Invariants:
 *  - the encoder refuses (CHORUS_EINVAL, out untouched) any message or state
 *    the decoder would refuse, so whatever is sent can be received;
 *  - the decoder reads only through buf_reader_t, so never past the input,
 *    compares every length and count from the wire with a limit before use,
 *    zero-fills its output so the result depends on the bytes alone, and
 *    frees what it allocated before returning an error;
 *  - the size functions mirror the packer's choices byte for byte.
 * The codec checks form, not meaning: which type needs a target, or which
 * status needs a from, is the protocol core's business.
 */
#include "swim_codec.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/mpack.h"

#define MSG_FIELDS 7
#define UPDATE_FIELDS 6
#define ADDR_FIELDS 3
#define STATE_FIELDS 2
#define MEMBER_FIELDS 5

/* Forms the size functions count. */
#define MP_FIXINT_MAX 0x7f
#define MP_FIXARRAY_MAX 15
#define MP_FIXSTR_MAX 31

/* Every string and count fits str8 and array16, so the longer forms (which
 * the reader takes only for values the shorter cannot hold) never appear. */
_Static_assert(NODE_ID_MAX <= UINT8_MAX && SWIM_HOST_MAX <= UINT8_MAX, "strings must fit str8");
_Static_assert(SWIM_MAX_UPDATES <= UINT16_MAX && SWIM_STATE_MAX <= UINT16_MAX, "counts must fit array16");
/* swim_msg_base_size counts the updates header as array16, its largest form. */
_Static_assert(SWIM_MAX_UPDATES > MP_FIXARRAY_MAX, "updates header bound assumes array16");

/* Smallest encoding of one member: fixarray, 1-byte id, [fixstr "", 0, 0], status, 0. */
#define MEMBER_MIN_BYTES (1 + 2 + 4 + 1 + 1 + 1)

const char *swim_status_name(swim_status_t s) {
  switch (s) {
  case SWIM_ALIVE: return "alive";
  case SWIM_SUSPECT: return "suspected";
  case SWIM_DEAD: return "dead";
  case SWIM_LEFT: return "left";
  default: return "unknown";
  }
}

const char *swim_phase_name(swim_phase_t p) {
  switch (p) {
  case SWIM_PHASE_NORMAL: return "normal";
  case SWIM_PHASE_JOINING: return "joining";
  case SWIM_PHASE_LEAVING: return "leaving";
  default: return "unknown";
  }
}

static bool phase_valid(uint64_t p) {
  return p <= SWIM_PHASE_LAST;
}

static bool status_valid(uint64_t s) {
  return s >= SWIM_ALIVE && s <= SWIM_LEFT;
}

static bool type_valid(uint64_t t) {
  return t >= SWIM_MSG_PING && t <= SWIM_MSG_GOSSIP;
}

/* ---- validation shared by the encoder ---- */

/* A NUL-terminated id within cap bytes; empty only if allowed. */
static bool id_field_valid(const char *s, size_t cap, bool may_be_empty) {
  size_t n = strnlen(s, cap);
  if (n == cap) return false;
  return n == 0 ? may_be_empty : node_id_valid(s, n);
}

static bool addr_valid(const swim_addr_t *a) {
  return strnlen(a->host, sizeof(a->host)) <= SWIM_HOST_MAX;
}

static bool update_valid(const swim_update_t *u) {
  return status_valid(u->status) && id_field_valid(u->id, sizeof(u->id), false) && addr_valid(&u->addr) &&
         id_field_valid(u->from, sizeof(u->from), true) && phase_valid(u->phase);
}

static bool msg_valid(const swim_msg_t *m) {
  if (!type_valid(m->type) || !id_field_valid(m->from, sizeof(m->from), false) ||
      !addr_valid(&m->from_addr) || !id_field_valid(m->target, sizeof(m->target), true) ||
      !addr_valid(&m->target_addr) || m->n_updates > SWIM_MAX_UPDATES)
    return false;
  for (size_t i = 0; i < m->n_updates; i++)
    if (!update_valid(&m->updates[i])) return false;
  return true;
}

static bool member_valid(const swim_member_info_t *mi) {
  return id_field_valid(mi->id, sizeof(mi->id), false) && addr_valid(&mi->addr) && status_valid(mi->status) &&
         phase_valid(mi->phase);
}

static bool state_valid(const swim_state_t *s) {
  if (s->n > SWIM_STATE_MAX || (s->n && !s->members)) return false;
  for (size_t i = 0; i < s->n; i++)
    if (!member_valid(&s->members[i])) return false;
  return true;
}

/* ---- exact sizes, mirroring msgpack-c's choice of forms ---- */

static size_t uint_size(uint64_t v) {
  if (v <= MP_FIXINT_MAX) return 1;
  if (v <= UINT8_MAX) return 2;
  if (v <= UINT16_MAX) return 3;
  if (v <= UINT32_MAX) return 5;
  return 9;
}

static size_t str_size(size_t n) {
  if (n <= MP_FIXSTR_MAX) return 1 + n;
  if (n <= UINT8_MAX) return 2 + n;
  if (n <= UINT16_MAX) return 3 + n;
  return 5 + n;
}

static size_t array_header_size(size_t n) {
  if (n <= MP_FIXARRAY_MAX) return 1;
  if (n <= UINT16_MAX) return 3;
  return 5;
}

static size_t cstr_size(const char *s, size_t cap) {
  return str_size(strnlen(s, cap));
}

static size_t addr_size(const swim_addr_t *a) {
  return array_header_size(ADDR_FIELDS) + cstr_size(a->host, sizeof(a->host)) + uint_size(a->port) +
         uint_size(a->peer_port);
}

size_t swim_update_encoded_size(const swim_update_t *u) {
  return array_header_size(UPDATE_FIELDS) + uint_size((uint64_t)u->status) + cstr_size(u->id, sizeof(u->id)) +
         uint_size(u->incarnation) + addr_size(&u->addr) + cstr_size(u->from, sizeof(u->from)) +
         uint_size((uint64_t)u->phase);
}

size_t swim_msg_base_size(const swim_msg_t *m) {
  return 1 + array_header_size(MSG_FIELDS) + uint_size((uint64_t)m->type) + uint_size(m->seq) +
         cstr_size(m->from, sizeof(m->from)) + addr_size(&m->from_addr) +
         cstr_size(m->target, sizeof(m->target)) + addr_size(&m->target_addr) +
         array_header_size(SWIM_MAX_UPDATES);
}

/* ---- encoder ---- */

static void pack_cstr(msgpack_packer *pk, const char *s, size_t cap) {
  size_t n = strnlen(s, cap);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

static void pack_addr(msgpack_packer *pk, const swim_addr_t *a) {
  msgpack_pack_array(pk, ADDR_FIELDS);
  pack_cstr(pk, a->host, sizeof(a->host));
  msgpack_pack_uint16(pk, a->port);
  msgpack_pack_uint16(pk, a->peer_port);
}

static void pack_update(msgpack_packer *pk, const swim_update_t *u) {
  msgpack_pack_array(pk, UPDATE_FIELDS);
  msgpack_pack_uint8(pk, (uint8_t)u->status);
  pack_cstr(pk, u->id, sizeof(u->id));
  msgpack_pack_uint64(pk, u->incarnation);
  pack_addr(pk, &u->addr);
  pack_cstr(pk, u->from, sizeof(u->from));
  msgpack_pack_uint8(pk, (uint8_t)u->phase);
}

static void pack_member(msgpack_packer *pk, const swim_member_info_t *mi) {
  msgpack_pack_array(pk, MEMBER_FIELDS);
  pack_cstr(pk, mi->id, sizeof(mi->id));
  pack_addr(pk, &mi->addr);
  msgpack_pack_uint8(pk, (uint8_t)mi->status);
  msgpack_pack_uint64(pk, mi->incarnation);
  msgpack_pack_uint8(pk, (uint8_t)mi->phase);
}

int swim_msg_encode(const swim_msg_t *m, buf_t *out) {
  if (out->err) return out->err;
  if (!msg_valid(m)) return CHORUS_EINVAL;
  size_t start = out->len;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, mpack_buf_write);
  buf_put_u8(out, SWIM_WIRE_VERSION);
  msgpack_pack_array(&pk, MSG_FIELDS);
  msgpack_pack_uint8(&pk, (uint8_t)m->type);
  msgpack_pack_uint32(&pk, m->seq);
  pack_cstr(&pk, m->from, sizeof(m->from));
  pack_addr(&pk, &m->from_addr);
  pack_cstr(&pk, m->target, sizeof(m->target));
  pack_addr(&pk, &m->target_addr);
  msgpack_pack_array(&pk, m->n_updates);
  for (size_t i = 0; i < m->n_updates; i++)
    pack_update(&pk, &m->updates[i]);
  return mpack_buf_end(out, start);
}

int swim_state_encode(const swim_state_t *s, buf_t *out) {
  if (out->err) return out->err;
  if (!state_valid(s)) return CHORUS_EINVAL;
  size_t start = out->len;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, mpack_buf_write);
  buf_put_u8(out, SWIM_WIRE_VERSION);
  msgpack_pack_array(&pk, STATE_FIELDS);
  if (s->join)
    msgpack_pack_true(&pk);
  else
    msgpack_pack_false(&pk);
  msgpack_pack_array(&pk, s->n);
  for (size_t i = 0; i < s->n; i++)
    pack_member(&pk, &s->members[i]);
  return mpack_buf_end(out, start);
}

/* ---- decoder ---- */

static void read_addr(buf_reader_t *r, swim_addr_t *a) {
  size_t n;
  mpack_array_of(r, ADDR_FIELDS);
  const uint8_t *host = mpack_str(r, SWIM_HOST_MAX, &n);
  if (!host) return;
  if (memchr(host, '\0', n)) {
    mpack_fail(r);
    return;
  }
  memcpy(a->host, host, n);
  a->host[n] = '\0';
  a->port = (uint16_t)mpack_uint(r, UINT16_MAX);
  a->peer_port = (uint16_t)mpack_uint(r, UINT16_MAX);
}

static swim_status_t read_status(buf_reader_t *r) {
  uint64_t s = mpack_uint(r, SWIM_LEFT);
  if (!status_valid(s)) mpack_fail(r);
  return (swim_status_t)s;
}

static swim_phase_t read_phase(buf_reader_t *r) {
  return (swim_phase_t)mpack_uint(r, SWIM_PHASE_LAST);
}

static void read_update(buf_reader_t *r, swim_update_t *u) {
  mpack_array_of(r, UPDATE_FIELDS);
  u->status = read_status(r);
  mpack_node_id(r, u->id, false);
  u->incarnation = mpack_uint(r, UINT64_MAX);
  read_addr(r, &u->addr);
  mpack_node_id(r, u->from, true);
  u->phase = read_phase(r);
}

static void read_msg(buf_reader_t *r, swim_msg_t *m) {
  if (buf_read_u8(r) != SWIM_WIRE_VERSION) mpack_fail(r);
  mpack_array_of(r, MSG_FIELDS);
  uint64_t type = mpack_uint(r, SWIM_MSG_GOSSIP);
  if (!type_valid(type)) mpack_fail(r);
  m->type = (swim_msg_type_t)type;
  m->seq = (uint32_t)mpack_uint(r, UINT32_MAX);
  mpack_node_id(r, m->from, false);
  read_addr(r, &m->from_addr);
  mpack_node_id(r, m->target, true);
  read_addr(r, &m->target_addr);
  m->n_updates = mpack_array(r, SWIM_MAX_UPDATES);
  for (size_t i = 0; i < m->n_updates && !r->err; i++)
    read_update(r, &m->updates[i]);
}

int swim_msg_decode(const void *p, size_t len, swim_msg_t *m) {
  buf_reader_t r;
  buf_reader_init(&r, p, len);
  memset(m, 0, sizeof(*m));
  read_msg(&r, m);
  if (!r.err && r.left == 0) return 0;
  memset(m, 0, sizeof(*m));
  return CHORUS_ECORRUPT;
}

static void read_member(buf_reader_t *r, swim_member_info_t *mi) {
  mpack_array_of(r, MEMBER_FIELDS);
  mpack_node_id(r, mi->id, false);
  read_addr(r, &mi->addr);
  mi->status = read_status(r);
  mi->incarnation = mpack_uint(r, UINT64_MAX);
  mi->phase = read_phase(r);
}

/* Reads the members header and allocates them; the count is first checked
 * against the bytes left, so a short input cannot claim a large table. */
static swim_member_info_t *read_members_header(buf_reader_t *r, size_t *n) {
  *n = mpack_array(r, SWIM_STATE_MAX);
  if (r->err || *n == 0) return NULL;
  if (*n > r->left / MEMBER_MIN_BYTES) {
    mpack_fail(r);
    return NULL;
  }
  swim_member_info_t *members = calloc(*n, sizeof(*members));
  if (!members) r->err = CHORUS_ENOMEM;
  return members;
}

int swim_state_decode(const void *p, size_t len, swim_state_t *s) {
  buf_reader_t r;
  size_t n = 0;
  buf_reader_init(&r, p, len);
  memset(s, 0, sizeof(*s));
  if (buf_read_u8(&r) != SWIM_WIRE_VERSION) mpack_fail(&r);
  mpack_array_of(&r, STATE_FIELDS);
  bool join = mpack_bool(&r);
  swim_member_info_t *members = read_members_header(&r, &n);
  for (size_t i = 0; i < n && !r.err; i++)
    read_member(&r, &members[i]);
  if (!r.err && r.left) mpack_fail(&r);
  if (r.err) {
    free(members);
    return r.err;
  }
  s->join = join;
  s->n = n;
  s->members = members;
  return 0;
}
