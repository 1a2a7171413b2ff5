/*
 * swim_index.c - open-addressing hash index from node id to a slot of its
 * owner's array (the member table, the rumor queue), so that lookups by id
 * stay O(1) with tens of thousands of members.
 *
 * The index stores slots, not ids: it reads an id through the owner's key
 * function only to confirm a match. Linear probing with backward-shift
 * deletion (no tombstones), so a lookup never scans more than the run of
 * occupied cells around its home cell.
 *
 * Cells are 8 bytes and at most 3/4 full (linear probing then costs 2.5
 * cells per hit and 8.5 per miss on average, all in one or two cache
 * lines): with N tables of N members, a looser bound would cost more
 * memory than the probes it saves. swim_index_shrink gives cells back
 * when an index empties (the rumor queue drains after a cluster forms).
 *
 * Invariants: cap is 0 or a power of two; n <= 3/4 cap (reserve grows
 * before an insert could break it); every cell's entry is reachable from
 * its home cell (hash & (cap - 1)) without crossing an empty cell.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "swim_internal.h"

#define INDEX_MIN_CAP 16

/* FNV-1a, then a murmur3 finaliser so the low bits used as the home cell
 * depend on every byte of the id. */
static uint32_t hash_id(const char *id) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)id; *p; p++)
    h = (h ^ *p) * 16777619u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

void swim_index_init(swim_index_t *ix, swim_index_key_fn key, const void *owner) {
  memset(ix, 0, sizeof(*ix));
  ix->key = key;
  ix->owner = owner;
}

void swim_index_free(swim_index_t *ix) {
  free(ix->cells);
  ix->cells = NULL;
  ix->cap = ix->n = 0;
}

static void place(swim_index_cell_t *cells, size_t cap, swim_index_cell_t c) {
  size_t mask = cap - 1;
  size_t i = c.hash & mask;
  while (cells[i].slot1)
    i = (i + 1) & mask;
  cells[i] = c;
}

static bool fits(size_t n, size_t cap) {
  return n <= cap / 4 * 3;
}

/* Moves every entry to a new array of cap cells. */
static int rehash(swim_index_t *ix, size_t cap) {
  swim_index_cell_t *cells = calloc(cap, sizeof(*cells));
  if (!cells) return CHORUS_ENOMEM;
  for (size_t i = 0; i < ix->cap; i++)
    if (ix->cells[i].slot1) place(cells, cap, ix->cells[i]);
  free(ix->cells);
  ix->cells = cells;
  ix->cap = cap;
  return 0;
}

int swim_index_reserve(swim_index_t *ix, size_t n) {
  if (ix->cap && fits(n, ix->cap)) return 0;
  size_t cap = ix->cap ? ix->cap : INDEX_MIN_CAP;
  while (!fits(n, cap)) {
    if (cap > SIZE_MAX / 2 / sizeof(swim_index_cell_t)) return CHORUS_ENOMEM;
    cap *= 2;
  }
  return rehash(ix, cap);
}

void swim_index_shrink(swim_index_t *ix) {
  /* Below 1/8 full, halve (to at most 1/4 full): far from the growth bound,
   * so an index hovering at one size is not rebuilt again and again. */
  if (ix->cap <= INDEX_MIN_CAP || ix->n >= ix->cap / 8) return;
  size_t cap = ix->cap / 2;
  while (cap > INDEX_MIN_CAP && ix->n < cap / 8)
    cap /= 2;
  rehash(ix, cap); /* out of memory: the larger array simply stays */
}

/* The cell holding id, or SWIM_NONE. */
static size_t cell_of(const swim_index_t *ix, const char *id, uint32_t h) {
  if (!ix->cap) return SWIM_NONE;
  size_t mask = ix->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const swim_index_cell_t *c = &ix->cells[i];
    if (!c->slot1) return SWIM_NONE;
    if (c->hash == h && strcmp(ix->key(ix->owner, c->slot1 - 1), id) == 0) return i;
  }
}

/* The cell of id's entry known to point at slot: no key comparison, so it
 * works while the owner's array is being rearranged. */
static size_t cell_of_slot(const swim_index_t *ix, const char *id, uint32_t slot) {
  if (!ix->cap) return SWIM_NONE;
  size_t mask = ix->cap - 1;
  uint32_t h = hash_id(id);
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const swim_index_cell_t *c = &ix->cells[i];
    if (!c->slot1) return SWIM_NONE;
    if (c->slot1 == slot + 1) return i;
  }
}

size_t swim_index_find(const swim_index_t *ix, const char *id) {
  size_t i = cell_of(ix, id, hash_id(id));
  return i == SWIM_NONE ? SWIM_NONE : ix->cells[i].slot1 - 1;
}

void swim_index_insert(swim_index_t *ix, const char *id, uint32_t slot) {
  place(ix->cells, ix->cap, (swim_index_cell_t){.hash = hash_id(id), .slot1 = slot + 1});
  ix->n++;
}

void swim_index_remove(swim_index_t *ix, const char *id, uint32_t slot) {
  size_t hole = cell_of_slot(ix, id, slot);
  if (hole == SWIM_NONE) return;
  size_t mask = ix->cap - 1;
  /* Backward shift: pull later cells of the run into the hole unless their
   * home lies cyclically in (hole, j], where they must stay reachable. */
  for (size_t j = (hole + 1) & mask; ix->cells[j].slot1; j = (j + 1) & mask) {
    size_t home = ix->cells[j].hash & mask;
    bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (stays) continue;
    ix->cells[hole] = ix->cells[j];
    hole = j;
  }
  ix->cells[hole] = (swim_index_cell_t){0};
  ix->n--;
}

void swim_index_move(swim_index_t *ix, const char *id, uint32_t from, uint32_t to) {
  size_t i = cell_of_slot(ix, id, from);
  if (i != SWIM_NONE) ix->cells[i].slot1 = to + 1;
}

void swim_index_clear(swim_index_t *ix) {
  if (ix->cap) memset(ix->cells, 0, ix->cap * sizeof(*ix->cells));
  ix->n = 0;
}
