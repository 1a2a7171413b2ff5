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
 * Layout: a dense entry array, a binary min-heap of (transmits, seq, entry)
 * nodes, each entry's heap position, and a hash index by member id.
 * Queueing and taking one rumor cost O(log n); filling a packet with u
 * rumors costs O((u + skipped) log n).
 *
 * Invariants: heap[pos[i]].ei == i for every entry; the heap order
 * holds between filling calls; the index maps each queued id to its entry.
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

static const char *entry_key(const void *owner, uint32_t slot) {
  const swim_queue_t *q = owner;
  return q->e[slot].id;
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
  free(q->e);
  free(q->pos);
  free(q->heap);
  swim_index_free(&q->ix);
  swim_queue_init(q);
}

int swim_queue_reserve(swim_queue_t *q, size_t extra) {
  if (extra > UINT32_MAX - q->n) return CHORUS_ETOOBIG;
  size_t need = q->n + extra;
  int rc = swim_index_reserve(&q->ix, need);
  if (rc || need <= q->cap) return rc;
  size_t cap = q->cap ? q->cap * 2 : 16;
  if (cap < need) cap = need;
  /* Each array that grows is kept: a later failure leaves them merely larger than cap. */
  swim_update_t *e = realloc(q->e, cap * sizeof(*e));
  if (!e) return CHORUS_ENOMEM;
  q->e = e;
  size_t *pos = realloc(q->pos, cap * sizeof(*pos));
  if (!pos) return CHORUS_ENOMEM;
  q->pos = pos;
  swim_queue_node_t *heap = realloc(q->heap, cap * sizeof(*heap));
  if (!heap) return CHORUS_ENOMEM;
  q->heap = heap;
  q->cap = cap;
  return 0;
}

/* a goes out before b. */
static bool before(const swim_queue_node_t *a, const swim_queue_node_t *b) {
  return a->transmits != b->transmits ? a->transmits < b->transmits : a->seq > b->seq;
}

static void heap_set(swim_queue_t *q, size_t pos, swim_queue_node_t node) {
  q->heap[pos] = node;
  q->pos[node.ei] = pos;
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
    swim_index_remove(&q->ix, q->e[ei].id, (uint32_t)ei);
    if (ei != last) {
      swim_index_move(&q->ix, q->e[last].id, (uint32_t)last, (uint32_t)ei);
      q->e[ei] = q->e[last];
      q->pos[ei] = q->pos[last];
      q->heap[q->pos[ei]].ei = ei;
    }
    q->n--;
  }
}

void swim_queue_push(swim_queue_t *q, const swim_update_t *u) {
  swim_queue_node_t node = {.transmits = 0, .seq = q->next_seq++};
  node.ei = swim_index_find(&q->ix, u->id);
  if (node.ei == SWIM_NONE) {
    node.ei = q->n++;
    q->e[node.ei] = *u;
    swim_index_insert(&q->ix, u->id, (uint32_t)node.ei);
    size_t heap_n = node.ei;
    heap_push(q, node, &heap_n);
    return;
  }
  /* The replacement is the newest and untransmitted: it can only rise. */
  q->e[node.ei] = *u;
  size_t pos = q->pos[node.ei];
  q->heap[pos] = node;
  sift_up(q, pos);
}

const swim_update_t *swim_queue_find(const swim_queue_t *q, const char *id) {
  size_t ei = swim_index_find(&q->ix, id);
  return ei == SWIM_NONE ? NULL : &q->e[ei];
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
    const swim_update_t *u = &q->e[node.ei];
    if (node.transmits >= limit) {
      /* The cluster shrank and lowered the budget below what it already had. */
      spent[n_spent++] = node.ei;
      continue;
    }
    size_t size = swim_update_encoded_size(u);
    if (size > room || (skip_id && strcmp(u->id, skip_id) == 0)) {
      skipped[n_skipped++] = node;
      continue;
    }
    room -= size;
    dst[n_taken] = *u;
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
  return n_taken;
}

/* In heap order: the first entry is the next to go out. */
size_t swim_queue_list(const swim_queue_t *q, swim_rumor_t *out, size_t max, uint32_t limit) {
  size_t n = q->n < max ? q->n : max;
  for (size_t i = 0; i < n; i++) {
    const swim_queue_node_t *node = &q->heap[i];
    out[i].update = q->e[node->ei];
    out[i].transmits_left = node->transmits < limit ? limit - node->transmits : 0;
  }
  return n;
}
