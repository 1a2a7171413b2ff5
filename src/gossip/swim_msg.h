/*
 * swim_msg.h - the messages of the SWIM membership protocol, as structs.
 *
 * A UDP packet carries one message: a probe (ping), an indirect probe
 * request (ping-req), an answer (ack / nack) or plain gossip, and in every
 * case a list of piggybacked membership updates. A TCP push-pull exchange
 * carries the full member table (swim_state_t). The wire form of both is in
 * swim_codec.h; the protocol core (swim.h) reads and writes these structs.
 *
 * Fixed-size arrays keep messages free of ownership questions: a message can
 * be copied, queued and dropped without freeing anything.
 */
#ifndef CHORUS_SWIM_MSG_H
#define CHORUS_SWIM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/node_id.h"

#define SWIM_HOST_MAX 63        /* an IPv4/IPv6 literal or a DNS name */
#define SWIM_MAX_UPDATES 32     /* piggybacked updates per packet, at most */
#define SWIM_PACKET_MAX 1400    /* bytes of a UDP packet on the wire, encryption included */
#define SWIM_STATE_MAX 4096     /* members in one push-pull exchange, at most */

typedef struct {
  char host[SWIM_HOST_MAX + 1]; /* NUL-terminated */
  uint16_t port;                /* HTTP API port = gossip UDP port */
  uint16_t peer_port;           /* peer transport (TCP) port */
} swim_addr_t;

typedef enum {
  SWIM_ALIVE = 1,
  SWIM_SUSPECT = 2,
  SWIM_DEAD = 3,
  SWIM_LEFT = 4,
} swim_status_t;

/* A member's part in ring ownership (DESIGN §9), set by the member itself
 * and carried with every update about it: for one (member, incarnation) it
 * never changes, so a member that changes it raises its incarnation.
 * JOINING: receives writes for what it will own, is streamed its ranges,
 * serves no reads yet; LEAVING: still owns its ranges while it hands them
 * to their next owners. */
typedef enum {
  SWIM_PHASE_NORMAL = 0,
  SWIM_PHASE_JOINING = 1,
  SWIM_PHASE_LEAVING = 2,
} swim_phase_t;
#define SWIM_PHASE_LAST SWIM_PHASE_LEAVING

/* One piggybacked membership update ("rumor"). */
typedef struct {
  swim_status_t status; /* the state the update asserts */
  swim_phase_t phase;   /* the member's phase at that incarnation */
  char id[NODE_ID_MAX + 1];
  uint64_t incarnation;
  swim_addr_t addr;            /* the member's address (meaningful for ALIVE) */
  char from[NODE_ID_MAX + 1];  /* who asserts it (SUSPECT, DEAD); "" otherwise */
} swim_update_t;

typedef enum {
  SWIM_MSG_PING = 1,     /* direct probe of target; expects an ACK */
  SWIM_MSG_PING_REQ = 2, /* "probe target for me": expects an ACK relayed, or a NACK */
  SWIM_MSG_ACK = 3,      /* answer to a PING (or relayed answer to a PING_REQ) */
  SWIM_MSG_NACK = 4,     /* the relay could not reach the target in time (Lifeguard) */
  SWIM_MSG_GOSSIP = 5,   /* updates only */
} swim_msg_type_t;

typedef struct {
  swim_msg_type_t type;
  uint32_t seq;                   /* PING/PING_REQ: chosen by the sender; ACK/NACK: echoes it */
  char from[NODE_ID_MAX + 1];     /* sender's id */
  swim_addr_t from_addr;          /* sender's advertised address */
  char target[NODE_ID_MAX + 1];   /* PING: whom the sender means to probe; PING_REQ: whom to probe */
  swim_addr_t target_addr;        /* PING_REQ: where the target is */
  size_t n_updates;
  swim_update_t updates[SWIM_MAX_UPDATES];
} swim_msg_t;

/* One member as exchanged by push-pull. */
typedef struct {
  char id[NODE_ID_MAX + 1];
  swim_addr_t addr;
  swim_status_t status;
  uint64_t incarnation;
  swim_phase_t phase;
} swim_member_info_t;

typedef struct {
  bool join; /* the sender is joining: the receiver answers with its own state */
  size_t n;
  swim_member_info_t *members; /* n entries; owner: whoever filled it (see swim_codec.h) */
} swim_state_t;

const char *swim_status_name(swim_status_t s); /* "alive", "suspected", "dead", "left" */
const char *swim_phase_name(swim_phase_t p);   /* "normal", "joining", "leaving" */

#endif
