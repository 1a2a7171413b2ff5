/*
 * sim_heap.h - the event queue: a binary min-heap of events keyed by
 * (delivery time, sequence number).
 *
 * The sequence number is assigned at push and strictly increases, so events
 * due at the same virtual millisecond run in the order they were scheduled:
 * the order, and with it the whole run, is a function of the seed alone.
 * Push and pop are O(log n). A queued event owns its data; sim_heap_free
 * releases the data of the events still queued.
 */
#ifndef CHORUS_SIM_HEAP_H
#define CHORUS_SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  SIM_EV_TIMER = 1,       /* node's swim_tick is due; valid only if gen matches the node's */
  SIM_EV_PACKET = 2,      /* UDP packet from peer to node; data = wire bytes */
  SIM_EV_PP_REQUEST = 3,  /* push-pull: initiator peer's state reaches responder node */
  SIM_EV_PP_RESPONSE = 4, /* push-pull: responder peer's state reaches initiator node */
  SIM_EV_EXT = 5,         /* a layer above SWIM (sim_cluster_set_ext); data = that layer's payload */
} sim_event_kind_t;

typedef struct {
  uint64_t at;  /* virtual ms */
  uint64_t seq; /* set by sim_heap_push */
  sim_event_kind_t kind;
  uint32_t node; /* the node the event happens at */
  uint32_t peer; /* the other end (sender, initiator or responder) */
  uint64_t gen;  /* TIMER: timer generation; PP_REQUEST: 1 for a join exchange */
  uint8_t *data; /* malloc'd, owned by the event */
  size_t len;
} sim_event_t;

typedef struct {
  sim_event_t *v;
  size_t n, cap;
  uint64_t next_seq;
} sim_heap_t;

void sim_heap_init(sim_heap_t *h);
void sim_heap_free(sim_heap_t *h);
/* Takes ownership of ev->data on success only. */
int sim_heap_push(sim_heap_t *h, const sim_event_t *ev);
/* The earliest event, or NULL when empty. */
const sim_event_t *sim_heap_peek(const sim_heap_t *h);
/* Moves the earliest event to *ev (the caller then owns ev->data). */
bool sim_heap_pop(sim_heap_t *h, sim_event_t *ev);

#endif
