/*
 * view.h - the cluster as the data path sees it: the ring of the current
 * member set and each member's status and addresses, published as one
 * immutable, reference-counted snapshot.
 *
 * The loop thread (membership's owner) publishes a new view when the member
 * table changes; any thread takes the current one with view_acquire and
 * gives it back with view_release, so a request works against one
 * consistent ring and member list from start to end, and a swap never waits
 * for readers. The ring is rebuilt only when the SET of ring members
 * changes (a status change keeps the ring and its version): members that
 * left are not on the ring; alive, suspected and dead ones are (DESIGN §5:
 * failure is not departure).
 *
 * Ownership moves (DESIGN §9) through two rings. `ring` holds the owners:
 * every member not LEFT and not joining (a joiner serves no reads until
 * its ranges are streamed to it); reads and the quorum go by it. `next`
 * holds the next owners: every member not LEFT and not leaving. Writes go
 * to a key's owners and also to its next owners that are not owners yet
 * (the pending ones, as Cassandra's pending ranges), so a range being
 * streamed to a joiner, or handed off by a leaver, misses no write. When
 * no member is an owner (every member is joining: a new cluster), the next
 * owners are the owners. `next == ring` when nothing moves.
 *
 * One mutex guards the holder's current-view pointer; the reference count
 * of a view is atomic.
 */
#ifndef CHORUS_VIEW_H
#define CHORUS_VIEW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gossip/swim.h"
#include "../ring/ring.h"

typedef struct {
  char id[NODE_ID_MAX + 1];
  swim_status_t status;
  swim_addr_t addr;
  uint64_t incarnation;
  swim_phase_t phase;
} view_member_t;

typedef struct {
  atomic_int refs;
  ring_t *ring;          /* the owners' ring; shared by views with the same owners */
  atomic_int *ring_refs; /* count of views sharing ring */
  ring_t *next;          /* the next owners' ring: == ring unless ownership is moving */
  atomic_int *next_refs;
  view_member_t *members; /* sorted by id */
  size_t n;
  char self[NODE_ID_MAX + 1];
  uint32_t replicas; /* N as configured */
  uint64_t seq;      /* publication number, 1, 2, ... */
} view_t;

typedef struct view_holder view_holder_t;

/* A holder whose first view has only self (status alive, at self_addr). */
int view_holder_create(const char *self, const swim_addr_t *self_addr, uint32_t vnodes, uint32_t replicas,
                       view_holder_t **out);
/* Waits for nothing: views still held stay valid until released. */
void view_holder_destroy(view_holder_t *h);
/* Publishes the member table members[0..n) (any order; self must be in it
 * or is added as alive). Rebuilds the ring only when the ring's member set
 * changed. On error the previous view stays current. */
int view_holder_publish(view_holder_t *h, const swim_member_t *members, size_t n);

/* Any thread: the current view, held until view_release. Never NULL. */
view_t *view_acquire(view_holder_t *h);
void view_release(view_t *v);

/* NULL when id is not a member. */
const view_member_t *view_find(const view_t *v, const char *id);
/* Alive or suspected (self always counts as up). */
bool view_is_up(const view_t *v, const char *id);
/* Members on the owners' ring. */
size_t view_ring_members(const view_t *v);
/* Whether ownership is moving (some member joining or leaving). */
bool view_moving(const view_t *v);

#endif
