/*
 * swim_internal.h - the pieces of the SWIM core (swim.h) and how they fit.
 *
 * Each swim_*.c file owns one concern:
 *   swim_name.c       reference-counted name blocks: an id and one more string
 *   swim_index.c      open-addressing hash index: node id -> array slot
 *   swim_members.c    member table: array in probe order + index + counters
 *   swim_suspicion.c  Lifeguard suspicion timeout and its confirmations
 *   swim_awareness.c  Lifeguard local health
 *   swim_queue.c      dissemination queue (rumors and their transmit budget)
 *   swim_timers.c     per-member deadlines (suspicion expiry, reaping)
 *   swim_out.c        the caller's output arrays
 *   swim_send.c       composing outgoing messages within the packet budget
 *   swim_update.c     applying updates: precedence, refutation, transitions
 *   swim_probe.c      this node's probe cycle (PING, PING_REQ, verdict)
 *   swim_relay.c      probes run for others (PING_REQ -> ACK relay or NACK)
 *   swim_rounds.c     periodic gossip, push-pull and reconnect
 *   swim.c            public API, message dispatch, tick and deadline
 *
 * Failure discipline shared by all of them: a step first reserves every
 * allocation it may need (output slots, table, queue and timer capacity, a
 * suspicion, name blocks), and only then changes state, so a CHORUS_ENOMEM
 * leaves the core exactly as it was before that step. Giving memory back
 * (the drained queue, an emptied index) is best effort: when the smaller
 * array cannot be had, the larger one stays.
 *
 * Memory (LP64), per member of the table: a 48-byte swim_rec_t, its name
 * block (id and host, 32 bytes of heap for "node-123" and an IPv4 host)
 * and about 11 bytes of index; per queued rumor a 24-byte entry, a 16-byte
 * heap node and about 11 bytes of index, the name shared with the member.
 */
#ifndef CHORUS_SWIM_INTERNAL_H
#define CHORUS_SWIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/rng.h"
#include "swim.h"

#define SWIM_NONE SIZE_MAX

/* Lifeguard: the suspicion timeout starts at this multiple of its minimum. */
#define SWIM_SUSPICION_MAX_MULT 6
/* Probes run for others at once, at most; more PING_REQs are dropped. */
#define SWIM_RELAY_MAX 1024

/* ---- swim_name.c ---- */

/* An id and a second string in one block, shared by reference: a member
 * holds "id\0host" and each rumor about it holds the same block, so a
 * rumor costs no copy of either string; an accusation (SUSPECT, DEAD)
 * holds its own "id\0accuser". Immutable once made: a member whose address
 * changes gets a new block. */
typedef struct {
  uint16_t refs;  /* at most 2: a member and the rumor queued about it */
  uint8_t second; /* s + second is the second string */
  char s[];       /* id, NUL, second string, NUL */
} swim_name_t;

/* NULL when out of memory; refs = 1. */
swim_name_t *swim_name_new(const char *id, const char *second);
swim_name_t *swim_name_ref(swim_name_t *n);
void swim_name_unref(swim_name_t *n); /* NULL is ignored */
static inline const char *swim_name_second(const swim_name_t *n) {
  return n->s + n->second;
}

/* ---- swim_index.c ---- */

/* The id stored at a slot of the owner's array. */
typedef const char *(*swim_index_key_fn)(const void *owner, uint32_t slot);

typedef struct {
  uint32_t hash;
  uint32_t slot1; /* slot + 1; 0 marks an empty cell */
} swim_index_cell_t;

typedef struct {
  swim_index_cell_t *cells;
  size_t cap; /* 0 or a power of two */
  size_t n;
  swim_index_key_fn key;
  const void *owner;
} swim_index_t;

void swim_index_init(swim_index_t *ix, swim_index_key_fn key, const void *owner);
void swim_index_free(swim_index_t *ix);
/* Room for n ids in total. */
int swim_index_reserve(swim_index_t *ix, size_t n);
/* Gives back cells when few are used; never fails (keeps the array then). */
void swim_index_shrink(swim_index_t *ix);
size_t swim_index_find(const swim_index_t *ix, const char *id);
/* id must be absent and room reserved. */
void swim_index_insert(swim_index_t *ix, const char *id, uint32_t slot);
void swim_index_remove(swim_index_t *ix, const char *id, uint32_t slot);
void swim_index_move(swim_index_t *ix, const char *id, uint32_t from, uint32_t to);
void swim_index_clear(swim_index_t *ix);

/* ---- swim_suspicion.c ---- */

typedef struct swim_suspicion {
  uint64_t start_ms, min_ms, max_ms, deadline_ms;
  uint32_t k;                   /* confirmations that bring the timeout down to min */
  uint32_t n;                   /* confirmations so far, the first suspector not counted */
  char from[][NODE_ID_MAX + 1]; /* the first suspector, then each confirmer: k + 1 slots */
} swim_suspicion_t;

uint64_t swim_suspicion_min_ms(uint32_t suspicion_mult, size_t n_live, uint32_t probe_interval_ms);
uint64_t swim_suspicion_timeout_ms(uint64_t min_ms, uint64_t max_ms, uint32_t k, uint32_t c);
/* NULL when out of memory. */
swim_suspicion_t *swim_suspicion_new(const swim_config_t *cfg, size_t n_live, const char *from,
                                     uint64_t now_ms);
/* True when from is a new confirmer: the deadline moved earlier. */
bool swim_suspicion_confirm(swim_suspicion_t *s, const char *from);

/* ---- swim_awareness.c ---- */

typedef struct {
  int score; /* 0 .. max - 1 */
  int max;
} swim_awareness_t;

void swim_awareness_init(swim_awareness_t *a, uint32_t awareness_max);
void swim_awareness_apply(swim_awareness_t *a, int delta);
uint64_t swim_awareness_scale(const swim_awareness_t *a, uint64_t ms);

/* ---- swim_members.c ---- */

/* A member as the core keeps it (48 bytes on LP64; the id and host are
 * in the name block): swim_member_t is only what the API hands out. */
typedef struct {
  uint64_t incarnation;
  uint64_t state_change_ms, last_seen_ms;
  swim_name_t *name;      /* id and host; owned (one reference) */
  swim_suspicion_t *susp; /* set exactly when status is SUSPECT; owned */
  uint16_t port, peer_port;
  uint8_t status; /* swim_status_t */
  uint8_t phase;  /* swim_phase_t */
} swim_rec_t;

static inline const char *swim_rec_id(const swim_rec_t *m) {
  return m->name->s;
}

void swim_rec_addr(const swim_rec_t *m, swim_addr_t *a);
void swim_rec_export(const swim_rec_t *m, swim_member_t *out);

typedef struct {
  swim_rec_t *m; /* the table, in probe order */
  size_t n, cap;
  size_t n_live; /* ALIVE or SUSPECT, self included */
  size_t n_dead; /* DEAD (LEFT not counted) */
  swim_index_t ix;
} swim_members_t;

typedef bool (*swim_member_filter_fn)(const swim_rec_t *m, const void *ctx);

void swim_members_init(swim_members_t *t);
void swim_members_free(swim_members_t *t);
int swim_members_reserve(swim_members_t *t, size_t extra);
size_t swim_members_find(const swim_members_t *t, const char *id);
/* Room reserved; pos <= n. The member at pos moves to the end. Returns pos.
 * The table takes over m's name reference; m->susp must be NULL. */
size_t swim_members_add(swim_members_t *t, const swim_rec_t *m, size_t pos);
/* Drops member i (and its suspicion); the last member takes its slot. */
void swim_members_remove(swim_members_t *t, size_t i);
/* Sets status and incarnation, keeps the counters, and replaces the
 * suspicion (susp must be non-NULL exactly when st is SUSPECT). */
void swim_members_set(swim_members_t *t, size_t i, swim_status_t st, uint64_t inc, swim_suspicion_t *susp);
void swim_members_shuffle(swim_members_t *t, rng_t *r);
/* Up to k distinct random members accepted by ok, indexes into out. */
size_t swim_members_pick(const swim_members_t *t, rng_t *r, size_t k, swim_member_filter_fn ok,
                         const void *ctx, size_t *out);

/* ---- swim_queue.c ---- */

/* A heap node carries its entry's sort key, so ordering reads only the
 * (small, contiguous) heap and not the entries. */
typedef struct {
  uint64_t seq; /* queueing order: higher is newer */
  uint32_t transmits;
  uint32_t ei; /* the entry */
} swim_queue_node_t;

/* Rumors one queue holds at most: the heap position shares a word with
 * the status. */
#define SWIM_QUEUE_MAX (1u << 26)

/* A queued rumor (24 bytes on LP64). An ALIVE rumor's host is in the name
 * it shares with its member, its ports here. */
typedef struct {
  swim_name_t *name; /* the member's (ALIVE, LEFT) or the rumor's own "id\0accuser" (SUSPECT, DEAD); owned */
  uint64_t incarnation;
  uint32_t pos : 26;   /* where the entry sits in heap (kept here: heap moves touch only it) */
  uint32_t status : 3; /* swim_status_t */
  uint32_t phase : 3;  /* swim_phase_t */
  uint16_t port, peer_port; /* ALIVE: the member's, when queued */
} swim_queue_entry_t;

typedef struct {
  swim_queue_entry_t *e;   /* dense entries */
  swim_queue_node_t *heap; /* min-heap: fewest transmits, then newest */
  size_t n, cap;
  uint64_t next_seq;
  swim_index_t ix; /* member id -> entry */
} swim_queue_t;

uint32_t swim_transmit_limit(uint32_t retransmit_mult, size_t n_live);
void swim_queue_init(swim_queue_t *q);
void swim_queue_free(swim_queue_t *q);
int swim_queue_reserve(swim_queue_t *q, size_t extra);
/* Queues a rumor with a fresh budget, replacing what was queued about its
 * id (room reserved when the id is new); the queue takes over the name
 * reference. m gives the incarnation and (ALIVE) the ports. */
void swim_queue_push(swim_queue_t *q, swim_name_t *name, swim_status_t st, const swim_rec_t *m);
/* The status of the rumor queued about id, or 0. */
swim_status_t swim_queue_status(const swim_queue_t *q, const char *id);
/* Copies into dst (at most max) the best rumors that fit in room bytes,
 * skipping any about skip_id, and charges each one transmit; rumors that
 * reach limit leave the queue. Returns how many were copied. */
size_t swim_queue_fill(swim_queue_t *q, swim_update_t *dst, size_t max, size_t room, uint32_t limit,
                       const char *skip_id);
size_t swim_queue_list(const swim_queue_t *q, swim_rumor_t *out, size_t max, uint32_t limit);

/* ---- swim_timers.c ---- */

typedef enum {
  SWIM_TIMER_SUSPECT = 1, /* a suspicion may expire */
  SWIM_TIMER_REAP = 2,    /* a DEAD/LEFT member may be removed */
} swim_timer_kind_t;

/* Entries are never cancelled: whoever pops one checks it still holds
 * (the member's suspicion deadline or death time equals at). */
typedef struct {
  uint64_t at;
  swim_timer_kind_t kind;
  char id[NODE_ID_MAX + 1];
} swim_timer_t;

typedef struct {
  swim_timer_t *h;
  size_t n, cap;
} swim_timers_t;

void swim_timers_init(swim_timers_t *t);
void swim_timers_free(swim_timers_t *t);
int swim_timers_reserve(swim_timers_t *t, size_t extra);
void swim_timers_push(swim_timers_t *t, uint64_t at, swim_timer_kind_t kind, const char *id);
const swim_timer_t *swim_timers_peek(const swim_timers_t *t);
void swim_timers_pop(swim_timers_t *t, swim_timer_t *out);

/* ---- swim_out.c ---- */

int swim_out_reserve(swim_out_t *o, size_t sends, size_t push_pulls, size_t events);
/* A zeroed slot at the end; NULL when out of memory. */
swim_send_t *swim_out_add_send(swim_out_t *o);
swim_push_pull_t *swim_out_add_push_pull(swim_out_t *o);
swim_event_t *swim_out_add_event(swim_out_t *o);

/* ---- the core ---- */

/* This node's probe in flight (one at a time). */
typedef struct {
  char id[NODE_ID_MAX + 1];
  bool nacked;
} swim_probe_relay_t;

typedef struct {
  bool active;   /* no ACK yet, no verdict yet */
  bool indirect; /* the PING_REQ round went out */
  char target[NODE_ID_MAX + 1];
  uint64_t target_inc; /* incarnation when probed: a refutation since makes the verdict stale */
  uint32_t seq;
  uint64_t timeout_at, end_at;
  size_t n_relays, n_nacks;
  swim_probe_relay_t *relays; /* cfg.indirect_checks slots */
  size_t *picks;              /* scratch for choosing relays, as many slots */
} swim_probe_t;

/* A probe run for another node's PING_REQ. */
typedef struct {
  uint32_t seq;     /* our PING to the target */
  uint32_t req_seq; /* the requester's probe */
  swim_addr_t req_addr;
  uint64_t nack_at, expire_at;
  bool nacked;
} swim_relay_t;

typedef struct {
  swim_relay_t *r;
  size_t n, cap;
} swim_relays_t;

struct swim {
  swim_config_t cfg;
  char self_id[NODE_ID_MAX + 1];
  swim_addr_t self_addr;
  rng_t rng;
  swim_members_t members;
  swim_queue_t queue;
  swim_timers_t timers;
  swim_awareness_t aw;
  swim_probe_t probe;
  swim_relays_t relays;
  size_t probe_cursor;  /* next slot of the round-robin */
  size_t *gossip_picks; /* scratch, cfg.gossip_nodes slots */
  uint32_t next_seq;
  uint64_t next_probe_at, next_gossip_at, next_push_pull_at, next_reconnect_at;
  uint64_t last_gossip_at; /* when the last gossip round ran */
  bool gossip_hastened;    /* the next gossip round was brought forward */
  bool gossip_eager_spent; /* the last round was brought forward: the next one is not */
  bool left;            /* swim_leave ran */
  bool leave_done;      /* its LEFT rumor is out: gossip stops */
  uint64_t leave_until; /* gossip stops by then in any case */
  bool stopped;         /* swim_shutdown ran */
  swim_stats_t stats;
};

/* swim.c */
swim_rec_t *swim_self_mut(swim_t *s);
size_t swim_n_live(const swim_t *s); /* N of the formulas: at least 1 */
bool swim_is_live(swim_status_t st);

/* swim_send.c */
/* Appends a message to `to` with its header filled (room reserved by the
 * caller); finish it with swim_send_finish once its own fields are set. */
swim_msg_t *swim_send_begin(swim_t *s, swim_out_t *out, const swim_addr_t *to, swim_msg_type_t type,
                            uint32_t seq);
/* Piggybacks updates: first SUSPECT about buddy_id if this node suspects
 * it (buddy_id may be NULL), then queued rumors, within the byte budget. */
void swim_send_finish(swim_t *s, swim_msg_t *m, const char *buddy_id);
/* A message with no fields of its own (ACK, NACK) plus piggybacked rumors. */
int swim_send_reply(swim_t *s, swim_out_t *out, const swim_addr_t *to, swim_msg_type_t type, uint32_t seq);
/* Takes back the message just begun. */
void swim_send_cancel(swim_t *s, swim_out_t *out);

/* swim_update.c */
typedef enum {
  SWIM_VIA_GOSSIP, /* piggybacked on a message */
  SWIM_VIA_STATE,  /* an entry of a push-pull table */
  SWIM_VIA_LOCAL,  /* this node's own verdict (probe failure, suspicion expiry) */
} swim_via_t;

int swim_apply(swim_t *s, const swim_update_t *u, swim_via_t via, uint64_t now, swim_out_t *out);
/* Self moves to st (LEFT on leave, DEAD on shutdown) at its incarnation. */
int swim_self_depart(swim_t *s, swim_status_t st, uint64_t now, swim_out_t *out);
/* This node takes phase at a raised incarnation, disseminated. */
int swim_self_rephase(swim_t *s, swim_phase_t phase, uint64_t now, swim_out_t *out);
/* Removes member i (DEAD or LEFT) with its SWIM_EV_REMOVED. */
int swim_forget(swim_t *s, size_t i, swim_out_t *out);
/* Handles every member timer due at now. */
int swim_timers_run(swim_t *s, uint64_t now, swim_out_t *out);

/* swim_probe.c */
int swim_probe_init(swim_probe_t *p, uint32_t indirect_checks);
void swim_probe_free(swim_probe_t *p);
int swim_probe_tick(swim_t *s, uint64_t now, swim_out_t *out);
/* True when m answered this node's probe in flight. */
bool swim_probe_on_ack(swim_t *s, const swim_msg_t *m, uint64_t now);
void swim_probe_on_nack(swim_t *s, const swim_msg_t *m);
uint64_t swim_probe_deadline(const swim_t *s);

/* swim_rounds.c */
int swim_rounds_tick(swim_t *s, uint64_t now, swim_out_t *out);
/* A fresh rumor was queued: bring the next gossip round forward. */
void swim_rounds_hasten(swim_t *s);

/* swim_relay.c */
void swim_relays_free(swim_relays_t *r);
int swim_relay_on_ping_req(swim_t *s, const swim_msg_t *m, uint64_t now, swim_out_t *out);
/* Passes on an ACK that answers one of the relayed probes; ignores others. */
int swim_relay_on_ack(swim_t *s, const swim_msg_t *m, swim_out_t *out);
int swim_relay_tick(swim_t *s, uint64_t now, swim_out_t *out);
uint64_t swim_relay_deadline(const swim_t *s);

#endif
