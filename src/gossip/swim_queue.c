/*
 * swim_queue.c - the dissemination queue: membership updates ("rumors")
 * waiting to be piggybacked on outgoing packets.
 *
 * Each rumor may be sent limit = retransmit_mult x ceil(log10(N + 1)) times
 * (computed when packets are filled, so the budget follows the cluster's
 * size); the rumors sent first are those sent the fewest times, newest
 * first among equals, so fresh news overtakes news most peers already have.
 * At most one rumor per member: a newer one replaces it with a fresh budget.
 *
 * Layout: a dense array of 24-byte entries (a reference to a name block,
 * the incarnation, the status and ports, the entry's heap position), a
 * binary min-heap of 16-byte (seq, transmits, entry) nodes and 8-byte
 * index cells by member id: about 50 bytes per rumor and no copy of an id
 * or a host. An ALIVE rumor shares its member's name block (id and host);
 * an accusation (SUSPECT, DEAD) holds its own "id\0accuser" block. While a cluster forms
 * a node queues a rumor about almost every member, so the arrays shrink
 * again once the queue drains (below a quarter full, to half size).
 * Queueing and taking one rumor cost O(log n); filling a packet with u
 * rumors costs O((u + skipped) log n), plus O(n) for a shrink, which only
 * follows the departure of as many rumors.
 *
 * Invariants: heap[e[i].pos].ei == i for every entry; the heap order
 * holds between filling calls; the index maps each queued id to its entry;
 * each entry holds one reference to its name; n <= SWIM_QUEUE_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "swim_codec.h"
#include "swim_internal.h"

/* Rumors too big for what is left of a packet are passed over, at most this
 * many per packet: rumors are of similar sizes, so once a few do not fit,
 * the packet is as good as full, and filling stays O(packet) however long
 * the queue is. */
#define FILL_MAX_SKIPPED 4
/* Rumors found over a budget that shrank with the cluster, dropped per fill. */
#define FILL_MAX_SPENT (2 * SWIM_MAX_UPDATES)
#define MIN_CAP 16

_Static_assert(sizeof(void *) != 8 || sizeof(swim_queue_entry_t) == 24, "a rumor entry is 24 bytes on LP64");

static const char *entry_key(const void *owner, uint32_t slot) {
  const swim_queue_t *q = owner;
  return q->e[slot].name->s;
}

/* The update an entry stands for, as it goes on the wire. */
static void entry_update(const swim_queue_entry_t *e, swim_update_t *u) {
  memset(u, 0, sizeof(*u));
  u->status = (swim_status_t)e->status;
  u->phase = (swim_phase_t)e->phase;
  strncpy(u->id, e->name->s, NODE_ID_MAX);
  u->incarnation = e->incarnation;
  if (e->status == SWIM_SUSPECT || e->status == SWIM_DEAD) {
    strncpy(u->from, swim_name_second(e->name), NODE_ID_MAX);
  } else if (e->status == SWIM_ALIVE) {
    strncpy(u->addr.host, swim_name_second(e->name), SWIM_HOST_MAX);
    u->addr.port = e->port;
    u->addr.peer_port = e->peer_port;
  }
}

uint32_t swim_transmit_limit(uint32_t retransmit_mult, size_t n_live) {
  /* ceil(log10(N + 1)) is the number of decimal digits of N (N >= 1). */
  uint32_t digits = 0;
  for (size_t n = n_live < 1 ? 1 : n_live; n; n /= 10)
    digits++;
  return retransmit_mult * digits;
}

void swim_queue_init(swim_queue_t *q) {
  memset(q, 0, sizeof(*q));
  swim_index_init(&q->ix, entry_key, q);
}

void swim_queue_free(swim_queue_t *q) {
  for (size_t i = 0; i < q->n; i++)
    swim_name_unref(q->e[i].name);
  free(q->e);
  free(q->heap);
  swim_index_free(&q->ix);
  swim_queue_init(q);
}

/* Both arrays to cap slots (cap >= n). An array that was resized is kept
 * when the other fails: it is merely larger or smaller than cap, and only
 * cap says how many slots may be used. */
static int resize(swim_queue_t *q, size_t cap) {
  swim_queue_entry_t *e = realloc(q->e, cap * sizeof(*e));
  if (!e) return CHORUS_ENOMEM;
  q->e = e;
  swim_queue_node_t *heap = realloc(q->heap, cap * sizeof(*heap));
  if (!heap) {
    q->cap = cap < q->cap ? cap : q->cap;
    return CHORUS_ENOMEM;
  }
  q->heap = heap;
  q->cap = cap;
  return 0;
}

/* Gives back most of the arrays once the queue has drained: a node that
 * queued a rumor about every member while the cluster formed keeps a
 * handful afterwards. */
static void shrink(swim_queue_t *q) {
  if (q->cap > MIN_CAP && q->n < q->cap / 4) {
    size_t cap = q->cap / 2 > MIN_CAP ? q->cap / 2 : MIN_CAP;
    resize(q, cap); /* out of memory: the larger arrays simply stay */
  }
  swim_index_shrink(&q->ix);
}

int swim_queue_reserve(swim_queue_t *q, size_t extra) {
  if (extra > SWIM_QUEUE_MAX - q->n) return CHORUS_ETOOBIG;
  size_t need = q->n + extra;
  int rc = swim_index_reserve(&q->ix, need);
  if (rc || need <= q->cap) return rc;
  size_t cap = q->cap ? q->cap + q->cap / 2 : MIN_CAP;
  if (cap < need) cap = need;
  return resize(q, cap);
}

/* a goes out before b. */
static bool before(const swim_queue_node_t *a, const swim_queue_node_t *b) {
  return a->transmits != b->transmits ? a->transmits < b->transmits : a->seq > b->seq;
}

static void heap_set(swim_queue_t *q, size_t pos, swim_queue_node_t node) {
  q->heap[pos] = node;
  q->e[node.ei].pos = pos & (SWIM_QUEUE_MAX - 1);
}

static void sift_up(swim_queue_t *q, size_t pos) {
  swim_queue_node_t node = q->heap[pos];
  while (pos > 0) {
    size_t parent = (pos - 1) / 2;
    if (!before(&node, &q->heap[parent])) break;
    heap_set(q, pos, q->heap[parent]);
    pos = parent;
  }
  heap_set(q, pos, node);
}

static void sift_down(swim_queue_t *q, size_t pos, size_t heap_n) {
  swim_queue_node_t node = q->heap[pos];
  for (;;) {
    size_t c = 2 * pos + 1;
    if (c >= heap_n) break;
    if (c + 1 < heap_n && before(&q->heap[c + 1], &q->heap[c])) c++;
    if (!before(&q->heap[c], &node)) break;
    heap_set(q, pos, q->heap[c]);
    pos = c;
  }
  heap_set(q, pos, node);
}

/* Takes the best node out of the heap (heap_n shrinks; its entry stays). */
static swim_queue_node_t heap_pop(swim_queue_t *q, size_t *heap_n) {
  swim_queue_node_t top = q->heap[0];
  (*heap_n)--;
  if (*heap_n > 0) {
    heap_set(q, 0, q->heap[*heap_n]);
    sift_down(q, 0, *heap_n);
  }
  return top;
}

static void heap_push(swim_queue_t *q, swim_queue_node_t node, size_t *heap_n) {
  heap_set(q, (*heap_n)++, node);
  sift_up(q, *heap_n - 1);
}

/* Removes entries that are out of the heap while every other entry is in
 * it. Each removal moves the last entry into the hole; going from the
 * highest index down, that last entry is never one still to be removed. */
static void drop_entries(swim_queue_t *q, size_t *idx, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && idx[j - 1] < idx[j]; j--) {
      size_t t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  for (size_t i = 0; i < n; i++) {
    size_t ei = idx[i], last = q->n - 1;
    swim_index_remove(&q->ix, q->e[ei].name->s, (uint32_t)ei);
    swim_name_unref(q->e[ei].name);
    if (ei != last) {
      swim_index_move(&q->ix, q->e[last].name->s, (uint32_t)last, (uint32_t)ei);
      q->e[ei] = q->e[last];
      q->heap[q->e[ei].pos].ei = (uint32_t)ei;
    }
    q->n--;
  }
}

void swim_queue_push(swim_queue_t *q, swim_name_t *name, swim_status_t st, const swim_rec_t *m) {
  swim_queue_node_t node = {.transmits = 0, .seq = q->next_seq++};
  size_t ei = swim_index_find(&q->ix, name->s);
  swim_queue_entry_t e = {.name = name, .incarnation = m->incarnation, .status = st & 7u, .phase = m->phase & 7u};
  if (st == SWIM_ALIVE) {
    e.port = m->port;
    e.peer_port = m->peer_port;
  }
  if (ei == SWIM_NONE) {
    ei = q->n++;
    q->e[ei] = e;
    node.ei = (uint32_t)ei;
    swim_index_insert(&q->ix, name->s, (uint32_t)ei);
    size_t heap_n = ei;
    heap_push(q, node, &heap_n);
    return;
  }
  /* The replacement is the newest and untransmitted: it can only rise. The
   * old name goes only after the index has matched on it. */
  node.ei = (uint32_t)ei;
  e.pos = q->e[ei].pos;
  swim_name_unref(q->e[ei].name);
  q->e[ei] = e;
  q->heap[e.pos] = node;
  sift_up(q, e.pos);
}

swim_status_t swim_queue_status(const swim_queue_t *q, const char *id) {
  size_t ei = swim_index_find(&q->ix, id);
  return ei == SWIM_NONE ? 0 : (swim_status_t)q->e[ei].status;
}

size_t swim_queue_fill(swim_queue_t *q, swim_update_t *dst, size_t max, size_t room, uint32_t limit,
                       const char *skip_id) {
  swim_queue_node_t taken[SWIM_MAX_UPDATES], skipped[FILL_MAX_SKIPPED];
  size_t spent[FILL_MAX_SPENT + SWIM_MAX_UPDATES];
  size_t n_taken = 0, n_skipped = 0, n_spent = 0;
  size_t heap_n = q->n;
  if (max > SWIM_MAX_UPDATES) max = SWIM_MAX_UPDATES;
  while (heap_n > 0 && n_taken < max && n_skipped < FILL_MAX_SKIPPED && n_spent < FILL_MAX_SPENT) {
    swim_queue_node_t node = heap_pop(q, &heap_n);
    const swim_queue_entry_t *e = &q->e[node.ei];
    if (node.transmits >= limit) {
      /* The cluster shrank and lowered the budget below what it already had. */
      spent[n_spent++] = node.ei;
      continue;
    }
    if (skip_id && strcmp(e->name->s, skip_id) == 0) {
      skipped[n_skipped++] = node;
      continue;
    }
    swim_update_t *u = &dst[n_taken];
    entry_update(e, u);
    size_t size = swim_update_encoded_size(u);
    if (size > room) {
      skipped[n_skipped++] = node;
      continue;
    }
    room -= size;
    taken[n_taken++] = node;
  }
  for (size_t i = 0; i < n_skipped; i++)
    heap_push(q, skipped[i], &heap_n);
  for (size_t i = 0; i < n_taken; i++) {
    if (++taken[i].transmits < limit)
      heap_push(q, taken[i], &heap_n);
    else
      spent[n_spent++] = taken[i].ei;
  }
  drop_entries(q, spent, n_spent);
  if (n_spent) shrink(q);
  return n_taken;
}

/* In heap order: the first entry is the next to go out. */
size_t swim_queue_list(const swim_queue_t *q, swim_rumor_t *out, size_t max, uint32_t limit) {
  size_t n = q->n < max ? q->n : max;
  for (size_t i = 0; i < n; i++) {
    const swim_queue_node_t *node = &q->heap[i];
    entry_update(&q->e[node->ei], &out[i].update);
    out[i].transmits_left = node->transmits < limit ? limit - node->transmits : 0;
  }
  return n;
}
