/*
 * sim_wire.c - encode, verify and decode at the simulated network's edge
 * (see sim_wire.h).
 *
 * Equality is field by field on the meaningful bytes (strings up to their
 * NUL), so padding and bytes after a terminator never cause a false alarm.
 */
#include "sim_wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "gossip/swim_codec.h"

static bool addr_eq(const swim_addr_t *a, const swim_addr_t *b) {
  return strcmp(a->host, b->host) == 0 && a->port == b->port && a->peer_port == b->peer_port;
}

static bool update_eq(const swim_update_t *a, const swim_update_t *b) {
  return a->status == b->status && strcmp(a->id, b->id) == 0 && a->incarnation == b->incarnation &&
         addr_eq(&a->addr, &b->addr) && strcmp(a->from, b->from) == 0;
}

static bool msg_eq(const swim_msg_t *a, const swim_msg_t *b) {
  if (a->type != b->type || a->seq != b->seq || strcmp(a->from, b->from) != 0 ||
      !addr_eq(&a->from_addr, &b->from_addr) || strcmp(a->target, b->target) != 0 ||
      !addr_eq(&a->target_addr, &b->target_addr) || a->n_updates != b->n_updates)
    return false;
  for (size_t i = 0; i < a->n_updates; i++)
    if (!update_eq(&a->updates[i], &b->updates[i])) return false;
  return true;
}

static bool member_eq(const swim_member_info_t *a, const swim_member_info_t *b) {
  return strcmp(a->id, b->id) == 0 && addr_eq(&a->addr, &b->addr) && a->status == b->status &&
         a->incarnation == b->incarnation;
}

static bool state_eq(const swim_state_t *a, const swim_state_t *b) {
  if (a->join != b->join || a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (!member_eq(&a->members[i], &b->members[i])) return false;
  return true;
}

/* Copies the encoded bytes out of w->buf. */
static int take_bytes(sim_wire_t *w, uint8_t **data, size_t *len) {
  uint8_t *p = malloc(w->buf.len ? w->buf.len : 1);
  if (!p) return CHORUS_ENOMEM;
  memcpy(p, w->buf.data, w->buf.len);
  *data = p;
  *len = w->buf.len;
  return 0;
}

void sim_wire_init(sim_wire_t *w, size_t overhead) {
  buf_init(&w->buf);
  w->overhead = overhead;
  memset(&w->faults, 0, sizeof(w->faults));
}

void sim_wire_free(sim_wire_t *w) {
  buf_free(&w->buf);
}

int sim_wire_pack_msg(sim_wire_t *w, const swim_msg_t *m, uint8_t **data, size_t *len) {
  buf_reset(&w->buf);
  int rc = swim_msg_encode(m, &w->buf);
  if (rc == CHORUS_ENOMEM || w->buf.err == CHORUS_ENOMEM) return CHORUS_ENOMEM;
  if (rc < 0 || w->buf.err) {
    w->faults.encode_errors++;
    return CHORUS_ECORRUPT;
  }
  if (swim_msg_decode(w->buf.data, w->buf.len, &w->scratch) < 0) {
    w->faults.decode_errors++;
    return CHORUS_ECORRUPT;
  }
  if (!msg_eq(m, &w->scratch)) {
    w->faults.mismatches++;
    return CHORUS_ECORRUPT;
  }
  if (w->buf.len + w->overhead > SWIM_PACKET_MAX) w->faults.oversize++;
  return take_bytes(w, data, len);
}

int sim_wire_unpack_msg(sim_wire_t *w, const uint8_t *data, size_t len, swim_msg_t *m) {
  if (swim_msg_decode(data, len, m) < 0) {
    w->faults.decode_errors++;
    return CHORUS_ECORRUPT;
  }
  return 0;
}

int sim_wire_pack_state(sim_wire_t *w, const swim_state_t *st, uint8_t **data, size_t *len) {
  buf_reset(&w->buf);
  int rc = swim_state_encode(st, &w->buf);
  if (rc == CHORUS_ENOMEM || w->buf.err == CHORUS_ENOMEM) return CHORUS_ENOMEM;
  if (rc < 0 || w->buf.err) {
    w->faults.encode_errors++;
    return CHORUS_ECORRUPT;
  }
  swim_state_t back;
  if (swim_state_decode(w->buf.data, w->buf.len, &back) < 0) {
    w->faults.decode_errors++;
    return CHORUS_ECORRUPT;
  }
  bool same = state_eq(st, &back);
  free(back.members);
  if (!same) {
    w->faults.mismatches++;
    return CHORUS_ECORRUPT;
  }
  return take_bytes(w, data, len);
}

int sim_wire_unpack_state(sim_wire_t *w, const uint8_t *data, size_t len, swim_state_t *st) {
  if (swim_state_decode(data, len, st) < 0) {
    w->faults.decode_errors++;
    return CHORUS_ECORRUPT;
  }
  return 0;
}
