/*
 * kv_store.h - one simulated node's store: the engine's job semantics
 * (src/storage/engine.h is the contract) over memory, for the key-value
 * simulator (kv_sim).
 *
 * What it keeps: each key's versions (a dvv_t), the hints held for other
 * nodes (one per owner and key, merged), the node clock and the event
 * count; the anti-entropy tree is computed from the records when asked.
 * What it leaves out: request ids (the simulated clients never send one),
 * the event log itself (only its ids and clock move), hint limits.
 * Hints expire (kv_store_set_hint_ttl) and tombstones are collected
 * (ENGINE_REAP), as in the engine.
 *
 * kv_store_apply runs one job to completion at once, as the writer thread
 * does when the job's group commits with --fsync=always: whatever it
 * applied survives a crash of the node, because the store outlives the
 * node's coordinator. When and in which order jobs are applied is the
 * caller's business (kv_node.c: submission order, a simulated latency
 * later).
 *
 * Sabotage (tests of the checker only): with probability sabotage, a put,
 * delete or merge answers as if applied but the store keeps its old state:
 * a store that acknowledges writes it then loses.
 */
#ifndef CHORUS_KV_STORE_H
#define CHORUS_KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"
#include "storage/engine.h"

typedef struct kv_store kv_store_t;

/* A store for node_id (copied); sabotage in 0..1, drawn from seed. */
int kv_store_create(const char *node_id, double sabotage, uint64_t seed, kv_store_t **out);
void kv_store_destroy(kv_store_t *s);

/* Runs job (engine.h semantics) at time now_ms and fills its outputs. A
 * failure of the simulator itself (out of memory) is job->err. */
void kv_store_apply(kv_store_t *s, engine_job_t *job, uint64_t now_ms);

/* As engine_clock, engine_hints and engine_hint_counts. */
int kv_store_clock(const kv_store_t *s, vv_t *out);
int kv_store_hints(const kv_store_t *s, const char *owner, size_t limit, engine_hint_t **out, size_t *n);
int kv_store_hint_counts(const kv_store_t *s, engine_hint_count_t **out, size_t *n);

/* For the checker: key's versions (NULL when the store never held it),
 * and the number of hints held. */
const dvv_t *kv_store_find(const kv_store_t *s, const char *key, size_t key_len);
size_t kv_store_hint_total(const kv_store_t *s);
/* Puts and merges the sabotage threw away. */
uint64_t kv_store_sabotaged(const kv_store_t *s);

/* Hints stored this long ago are dropped by ENGINE_HINT_EXPIRE (0: never). */
void kv_store_set_hint_ttl(kv_store_t *s, uint64_t ms);
/* As engine_tombstones: keys holding only tombstones, the newest older than before_ms. */
int kv_store_tombstones(const kv_store_t *s, uint64_t before_ms, size_t limit, engine_tombstone_t **out,
                        size_t *n);
/* Every record a reap dropped, with the tombstones it held (for the checker:
 * a collected delete is not a lost one). */
typedef struct {
  char *key;
  size_t key_len;
  dvv_t state;
} kv_reaped_t;
const kv_reaped_t *kv_store_reaped(const kv_store_t *s, size_t *n);

/* The disk is lost: every record, hint and the clock are gone, and the
 * store writes under a new actor "<node id>.<epoch>" from now on (a new
 * store never reuses a dot, DESIGN §9). */
void kv_store_wipe(kv_store_t *s, uint32_t epoch);
/* Whether the store holds nothing: no record, no hint (a new store). */
bool kv_store_empty(const kv_store_t *s);

/* The anti-entropy tree (engine.h's engine_tree_*, engine_record_read),
 * computed from the records each time: KV_TREE_BITS segments. */
#define KV_TREE_BITS 8
void kv_store_tree_info(const kv_store_t *s, engine_tree_info_t *out);
int kv_store_tree_hashes(const kv_store_t *s, const merkle_range_t *r, size_t nr, unsigned level,
                         const uint64_t *idx, size_t n, uint64_t *out);
int kv_store_tree_keys(const kv_store_t *s, const merkle_range_t *r, size_t nr, const uint32_t *segs,
                       size_t n, buf_t *out);
int kv_store_record_read(const kv_store_t *s, const char *key, size_t key_len, dvv_t *out);
/* engine_records_in over the store's records: in (token, key) order, each
 * record encoded (record.h) for the call. */
int kv_store_records_in(const kv_store_t *s, const merkle_range_t *r, size_t nr, const engine_cursor_t *from,
                        engine_range_fn fn, void *arg);

#endif
