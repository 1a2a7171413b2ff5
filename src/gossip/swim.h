/*
 * swim.h - the SWIM membership protocol with the Lifeguard extensions, as a
 * pure state machine.
 *
 * The core does no I/O and reads no clock: the caller passes the time in
 * (milliseconds, any monotonic origin) and every input (a received message,
 * a push-pull state, a timer tick, an operator command) appends its outputs
 * to a caller-owned swim_out_t: messages to send, push-pull exchanges to
 * start, events about members. Randomness comes from a generator seeded at
 * creation, so the same seed and the same inputs give the same outputs, byte
 * for byte: chorusd drives it with libuv, the simulator (tests/sim) with a
 * virtual clock and network.
 *
 * Protocol (memberlist is the model):
 *  - Probing: every probe interval (scaled by local health), the next member
 *    in a randomized round-robin order gets a PING; no ACK within the probe
 *    timeout (scaled too) -> PING_REQ to indirect_checks random members, who
 *    probe it and relay the ACK or answer NACK; no ACK by the end of the
 *    probe interval -> the member is suspected.
 *  - Suspicion: SUSPECT(id, incarnation) is disseminated; the suspect
 *    refutes by raising its incarnation (ALIVE with the new number). The
 *    suspicion timeout starts at max = 6 x min and shrinks toward
 *    min = suspicion_mult x log10(max(N, 1) + 1) x probe_interval as independent
 *    confirmations (SUSPECT from other members) arrive, following
 *    timeout = max - (max - min) x log(c + 1) / log(k + 1), k = suspicion_mult - 2.
 *    At its expiry the member is DEAD (disseminated as DEAD).
 *  - Local health (Lifeguard): 0..awareness_max-1; +1 on a probe that got no
 *    ACK, +1 for each NACK expected but missing, +1 when this node must refute
 *    a suspicion of itself, -1 on a successful probe. Probe interval and
 *    timeout are multiplied by (health + 1).
 *  - Buddy system: a PING to a member this node suspects carries that SUSPECT
 *    update first, so the suspect learns of it at once.
 *  - Dissemination: each update is queued with a transmit budget of
 *    retransmit_mult x ceil(log10(N + 1)); pings, acks and the periodic
 *    GOSSIP to gossip_nodes random members every gossip_interval take the
 *    least-transmitted (then newest) updates that fit in the packet
 *    (SWIM_PACKET_MAX minus the caller's overhead, e.g. encryption). An
 *    update about a member supersedes older queued ones about it.
 *  - Incarnations: an update is applied only if it is newer: for the same
 *    member, higher incarnation wins; at equal incarnation SUSPECT beats
 *    ALIVE and DEAD/LEFT beat both. Stale news is ignored.
 *  - Dead members stay in the table (status DEAD) and keep receiving gossip
 *    for dead_gossip_ms; every reconnect_interval_ms the core asks for a
 *    push-pull with a random dead member, so a healed partition re-merges.
 *    Dead members are removed after reap_after_ms or by swim_remove.
 *  - Push-pull: every push_pull_interval_ms with a random live member, and
 *    with a member that announced itself (a joiner: swim_join sends ALIVE
 *    about this node to each seed); the shell carries it over TCP and hands
 *    the remote table to swim_on_state, which merges it as updates.
 *  - Graceful shutdown (swim_shutdown): DEAD about itself, sent directly to
 *    every live member (peers mark it dead at once; it stays in the table).
 *    Permanent departure (swim_leave): LEFT about itself, disseminated.
 */
#ifndef CHORUS_SWIM_H
#define CHORUS_SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swim_msg.h"

typedef struct {
  uint32_t probe_interval_ms;    /* 1000 */
  uint32_t probe_timeout_ms;     /* 500 */
  uint32_t suspicion_mult;       /* 4 */
  uint32_t indirect_checks;      /* 3 */
  uint32_t retransmit_mult;      /* 4 */
  uint32_t gossip_interval_ms;   /* 200 */
  uint32_t gossip_nodes;         /* 3 */
  uint32_t push_pull_interval_ms; /* 30000 */
  uint32_t awareness_max;        /* 8 */
  uint64_t dead_gossip_ms;       /* 30000: dead members still get gossip this long */
  uint64_t reconnect_interval_ms; /* 10000: push-pull with a random dead member */
  uint64_t reap_after_ms;        /* 24 h */
  size_t packet_overhead;        /* bytes the transport adds (encryption); packets are kept to SWIM_PACKET_MAX - this */
} swim_config_t;

void swim_config_default(swim_config_t *c);

typedef struct {
  char id[NODE_ID_MAX + 1];
  swim_addr_t addr;
  swim_status_t status;
  swim_phase_t phase;
  uint64_t incarnation;
  uint64_t state_change_ms; /* when status or incarnation last changed (caller's clock) */
  uint64_t last_seen_ms;    /* its last sign of life: a message or ack from it, or an alive update about
                               it; suspect and dead updates leave it (a member first learned of through
                               one has the time it was learned of) */
} swim_member_t;

typedef enum {
  SWIM_EV_MEMBER = 1,      /* a member appeared or its status/incarnation/address changed */
  SWIM_EV_REMOVED = 2,     /* a member was reaped or removed */
  SWIM_EV_INCARNATION = 3, /* this node's incarnation rose (refutation): persist it */
} swim_event_type_t;

typedef struct {
  swim_event_type_t type;
  swim_member_t member; /* the member after the change (self for SWIM_EV_INCARNATION) */
  swim_status_t old_status; /* 0 for a new member */
} swim_event_t;

typedef struct {
  swim_addr_t to;
  swim_msg_t msg;
} swim_send_t;

typedef struct {
  swim_addr_t to;
} swim_push_pull_t;

/* Outputs of one call, appended; the caller empties them (swim_out_clear)
 * after acting on them. Owned by the caller (swim_out_init / swim_out_free). */
typedef struct {
  swim_send_t *sends;
  size_t n_sends, cap_sends;
  swim_push_pull_t *push_pulls;
  size_t n_push_pulls, cap_push_pulls;
  swim_event_t *events;
  size_t n_events, cap_events;
} swim_out_t;

void swim_out_init(swim_out_t *o);
void swim_out_clear(swim_out_t *o);
void swim_out_free(swim_out_t *o);

typedef struct {
  uint64_t probes, acks, nacks, ping_reqs, suspects, refutes, deads, msgs_in, msgs_out, updates_in;
} swim_stats_t;

/* One entry of the dissemination queue, for /gossip/rumors. */
typedef struct {
  swim_update_t update;
  uint32_t transmits_left;
} swim_rumor_t;

typedef struct swim swim_t;

/* incarnation: the persisted one from the last run (0 on first start); the
 * node announces itself with incarnation + 1, in phase (swim_msg.h). */
int swim_create(const swim_config_t *cfg, const char *self_id, const swim_addr_t *self_addr, uint64_t incarnation,
                swim_phase_t phase, uint64_t seed, uint64_t now_ms, swim_t **out);
void swim_destroy(swim_t *s);

/* Starts joining through seeds: announces this node (GOSSIP with ALIVE
 * about itself) to each seed but itself; a seed answers with a push-pull.
 * Call again (with backoff) until one completes. */
int swim_join(swim_t *s, const swim_addr_t *seeds, size_t n, uint64_t now_ms, swim_out_t *out);
/* Runs every timer due at now_ms. */
int swim_tick(swim_t *s, uint64_t now_ms, swim_out_t *out);
/* The earliest time swim_tick has something to do. */
uint64_t swim_next_deadline(const swim_t *s);
/* A decoded packet (its sender is m->from at m->from_addr). */
int swim_on_message(swim_t *s, const swim_msg_t *m, uint64_t now_ms, swim_out_t *out);
/* A remote member table from a push-pull (as initiator or responder). */
int swim_on_state(swim_t *s, const swim_state_t *st, uint64_t now_ms, swim_out_t *out);
/* This node's table for a push-pull; st->members is malloc'd (caller frees). */
int swim_local_state(const swim_t *s, bool join, swim_state_t *st);

int swim_shutdown(swim_t *s, uint64_t now_ms, swim_out_t *out); /* graceful stop: DEAD(self) to all live members */
int swim_leave(swim_t *s, uint64_t now_ms, swim_out_t *out);    /* LEFT(self), disseminated */
/* This node's phase: a change raises its incarnation (SWIM_EV_INCARNATION)
 * and is disseminated as ALIVE; the same phase again does nothing.
 * CHORUS_EINVAL after leave or shutdown. */
int swim_set_phase(swim_t *s, swim_phase_t phase, uint64_t now_ms, swim_out_t *out);
/* Operator removal of a DEAD or LEFT member, for good: a DEAD one becomes
 * LEFT at its incarnation, disseminated (every member drops it from the
 * ring; DESIGN §5), a LEFT one is forgotten here. CHORUS_ENOTFOUND, or
 * CHORUS_EINVAL if it is alive or suspected or is this node. */
int swim_remove(swim_t *s, const char *id, uint64_t now_ms, swim_out_t *out);

/* Read-only views. Members are copied out: the core keeps them in a
 * compact form (ids and hosts sized to their strings, see swim_members.c),
 * not as swim_member_t. */
size_t swim_member_count(const swim_t *s); /* self included */
/* Member i (0 <= i < count, probe order) into *out; false past the end. */
bool swim_member_at(const swim_t *s, size_t i, swim_member_t *out);
/* The member with this id into *out (unless out is NULL); false if unknown. */
bool swim_find(const swim_t *s, const char *id, swim_member_t *out);
void swim_self(const swim_t *s, swim_member_t *out);
int swim_health(const swim_t *s); /* 0 = healthy .. awareness_max - 1 */
const swim_stats_t *swim_stats(const swim_t *s);
size_t swim_rumors(const swim_t *s, swim_rumor_t *out, size_t max);

#endif
