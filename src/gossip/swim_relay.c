/*
 * swim_relay.c - probes this node runs for others (PING_REQ).
 *
 * On PING_REQ(seq, target) from A: PING the target with a seq of our own;
 * its ACK is passed to A as ACK(seq), the number A is waiting for. With no
 * ACK by 80% of probe_timeout, NACK(seq) tells A that we are alive but the
 * target is silent (Lifeguard): the margin lets the NACK reach A before A
 * ends its probe, which ends probe_interval - probe_timeout after the
 * PING_REQ. The relay waits its configured, unscaled timeout: A's window
 * does not stretch with this node's health. A late ACK is still passed on
 * until the full probe_timeout.
 *
 * Invariant: at most SWIM_RELAY_MAX relays are pending, so a flood of
 * PING_REQs costs bounded memory; each is dropped at its expire_at.
 * Lookups by seq are O(pending relays), a handful in practice.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

#define NACK_PERCENT 80

void swim_relays_free(swim_relays_t *r) {
  free(r->r);
  memset(r, 0, sizeof(*r));
}

static int reserve(swim_relays_t *r) {
  if (r->n < r->cap) return 0;
  size_t cap = r->cap ? r->cap * 2 : 8;
  swim_relay_t *p = realloc(r->r, cap * sizeof(*p));
  if (!p) return CHORUS_ENOMEM;
  r->r = p;
  r->cap = cap;
  return 0;
}

int swim_relay_on_ping_req(swim_t *s, const swim_msg_t *m, uint64_t now, swim_out_t *out) {
  /* Asked about ourselves: we are the answer. */
  if (strcmp(m->target, s->self_id) == 0) return swim_send_reply(s, out, &m->from_addr, SWIM_MSG_ACK, m->seq);
  if (!m->target[0] || s->relays.n >= SWIM_RELAY_MAX) return 0;
  /* The requester's idea of the address first; ours if it sent none. */
  swim_addr_t known = {0};
  size_t ki = swim_members_find(&s->members, m->target);
  if (ki != SWIM_NONE) swim_rec_addr(&s->members.m[ki], &known);
  const swim_addr_t *to = m->target_addr.host[0] ? &m->target_addr : ki != SWIM_NONE ? &known : NULL;
  if (!to) return 0;
  int rc = reserve(&s->relays);
  if (!rc) rc = swim_out_reserve(out, 1, 0, 0);
  if (rc) return rc;
  swim_relay_t *r = &s->relays.r[s->relays.n++];
  r->seq = s->next_seq++;
  r->req_seq = m->seq;
  r->req_addr = m->from_addr;
  r->nack_at = now + (uint64_t)s->cfg.probe_timeout_ms * NACK_PERCENT / 100;
  r->expire_at = now + s->cfg.probe_timeout_ms;
  r->nacked = false;
  swim_msg_t *ping = swim_send_begin(s, out, to, SWIM_MSG_PING, r->seq);
  if (!ping) return CHORUS_ENOMEM; /* reserved above: cannot happen */
  memcpy(ping->target, m->target, sizeof(ping->target));
  swim_send_finish(s, ping, m->target);
  return 0;
}

int swim_relay_on_ack(swim_t *s, const swim_msg_t *m, swim_out_t *out) {
  swim_relays_t *rs = &s->relays;
  for (size_t i = 0; i < rs->n; i++) {
    if (rs->r[i].seq != m->seq) continue;
    int rc = swim_send_reply(s, out, &rs->r[i].req_addr, SWIM_MSG_ACK, rs->r[i].req_seq);
    if (rc) return rc;
    rs->r[i] = rs->r[--rs->n];
    return 0;
  }
  return 0;
}

int swim_relay_tick(swim_t *s, uint64_t now, swim_out_t *out) {
  swim_relays_t *rs = &s->relays;
  for (size_t i = 0; i < rs->n;) {
    swim_relay_t *r = &rs->r[i];
    if (!r->nacked && now >= r->nack_at) {
      int rc = swim_send_reply(s, out, &r->req_addr, SWIM_MSG_NACK, r->req_seq);
      if (rc) return rc;
      r->nacked = true;
    }
    if (now >= r->expire_at) {
      *r = rs->r[--rs->n];
      continue;
    }
    i++;
  }
  return 0;
}

uint64_t swim_relay_deadline(const swim_t *s) {
  uint64_t d = UINT64_MAX;
  for (size_t i = 0; i < s->relays.n; i++) {
    const swim_relay_t *r = &s->relays.r[i];
    uint64_t at = r->nacked ? r->expire_at : r->nack_at;
    if (at < d) d = at;
  }
  return d;
}
