/*
 * swim_send.c - composing outgoing messages: the header, the buddy SUSPECT
 * and the piggybacked rumors, within the packet's byte budget.
 *
 * Budget: SWIM_PACKET_MAX - cfg.packet_overhead bytes on the wire. The codec
 * bounds the encoding by swim_msg_base_size (header, with the largest
 * updates-array header) plus the exact size of each update, so adding
 * updates while their sizes fit in what the base leaves keeps every packet
 * within the budget, whatever the ids and hosts.
 *
 * A message begun here lives inside the caller's swim_out_t: it must be
 * finished before the next one is begun (which may move the array).
 */
#include <string.h>

#include "../common/err.h"
#include "swim_codec.h"
#include "swim_internal.h"

swim_msg_t *swim_send_begin(swim_t *s, swim_out_t *out, const swim_addr_t *to, swim_msg_type_t type,
                            uint32_t seq) {
  swim_send_t *snd = swim_out_add_send(out);
  if (!snd) return NULL;
  snd->to = *to;
  swim_msg_t *m = &snd->msg;
  m->type = type;
  m->seq = seq;
  memcpy(m->from, s->self_id, sizeof(m->from));
  m->from_addr = s->self_addr;
  s->stats.msgs_out++;
  return m;
}

void swim_send_cancel(swim_t *s, swim_out_t *out) {
  out->n_sends--;
  s->stats.msgs_out--;
}

static size_t packet_room(const swim_t *s, const swim_msg_t *m) {
  size_t budget = SWIM_PACKET_MAX > s->cfg.packet_overhead ? SWIM_PACKET_MAX - s->cfg.packet_overhead : 0;
  size_t base = swim_msg_base_size(m);
  return budget > base ? budget - base : 0;
}

/* Buddy system: a suspect learns of the suspicion from the very probe that
 * tests it, and can refute at once instead of waiting for gossip. */
static bool add_buddy(swim_t *s, swim_msg_t *m, const char *id, size_t *room) {
  size_t i = swim_members_find(&s->members, id);
  if (i == SWIM_NONE || s->members.m[i].status != SWIM_SUSPECT || m->n_updates >= SWIM_MAX_UPDATES)
    return false;
  swim_update_t *u = &m->updates[m->n_updates];
  memset(u, 0, sizeof(*u));
  u->status = SWIM_SUSPECT;
  strncpy(u->id, swim_rec_id(&s->members.m[i]), NODE_ID_MAX);
  u->incarnation = s->members.m[i].incarnation;
  u->phase = (swim_phase_t)s->members.m[i].phase;
  memcpy(u->from, s->self_id, sizeof(u->from));
  size_t size = swim_update_encoded_size(u);
  if (size > *room) return false;
  *room -= size;
  m->n_updates++;
  return true;
}

void swim_send_finish(swim_t *s, swim_msg_t *m, const char *buddy_id) {
  size_t room = packet_room(s, m);
  const char *skip = buddy_id && add_buddy(s, m, buddy_id, &room) ? buddy_id : NULL;
  uint32_t limit = swim_transmit_limit(s->cfg.retransmit_mult, swim_n_live(s));
  m->n_updates += swim_queue_fill(&s->queue, m->updates + m->n_updates, SWIM_MAX_UPDATES - m->n_updates, room,
                                  limit, skip);
}

int swim_send_reply(swim_t *s, swim_out_t *out, const swim_addr_t *to, swim_msg_type_t type, uint32_t seq) {
  swim_msg_t *m = swim_send_begin(s, out, to, type, seq);
  if (!m) return CHORUS_ENOMEM;
  swim_send_finish(s, m, NULL);
  return 0;
}
