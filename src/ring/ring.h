/*
 * ring.h - the consistent-hash ring: which members hold a key (DESIGN §5).
 *
 * Pure module: no I/O, no clock, no global state. A ring is a pure function
 * of the SET of member ids and the number of tokens per member, so every node
 * that has converged on the same membership builds a byte-identical ring and
 * the same ring_version, whatever order or duplicates its view held.
 *
 * Tokens (64-bit token space, all derivations SHA-256):
 *  - token j of member id (0 <= j < vnodes) is the first 8 bytes, read
 *    big-endian, of SHA-256 over
 *        u8 len(id) || id bytes || u32be j
 *    (ids are at most NODE_ID_MAX = 64 bytes, so the length prefix makes the
 *    encoding unambiguous);
 *  - the token of a key is the first 8 bytes, big-endian, of SHA-256 over
 *    the key's bytes.
 *
 * Invariants of a ring_t (immutable once built):
 *  - members sorted by id (strcmp order), unique, valid node ids; a member's
 *    index is its rank in that order;
 *  - vnodes sorted by (token, member index), i.e. by (token, member id);
 *    equal tokens, astronomically rare, therefore still order the same way
 *    everywhere (two vnodes of one member with one token are
 *    indistinguishable, so the j tie-break needs no storage);
 *  - vnode i owns the token range (token of vnode i-1, token of vnode i];
 *    vnode 0 owns the wrap-around range (last token, 2^64) and [0, token 0].
 *
 * Cost: building is O(M·V log(M·V)) for M members and V vnodes per member
 * (M·V SHA-256 computations, one sort); memory is 16 bytes per vnode plus the
 * ids, each stored once. Lookups are a binary search, then a walk over the
 * vnodes that follow until enough distinct members are found.
 *
 * A ring is never modified after ring_build, so any number of threads may
 * read one ring concurrently.
 */
#ifndef CHORUS_RING_H
#define CHORUS_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_VNODES_DEFAULT 150
#define RING_VNODES_MAX 1024
#define RING_MEMBERS_MAX 4096 /* distinct members of one ring */
#define RING_VERSION_HEX_LEN 16

typedef struct ring ring_t;

typedef struct {
  uint64_t token;
  uint32_t member; /* index into the ring's members */
} ring_vnode_t;

/* Builds the ring of the member set {ids[0..n)} with vnodes tokens per
 * member. ids may repeat and come in any order; each must be a valid node id
 * (node_id.h), NUL-terminated. n may be 0 (ids may then be NULL): the ring is
 * empty and every lookup finds no member.
 * Errors: CHORUS_EINVAL (NULL out, NULL ids with n > 0, a NULL or invalid id,
 * vnodes 0 or > RING_VNODES_MAX), CHORUS_ETOOBIG (more than RING_MEMBERS_MAX
 * distinct ids), CHORUS_ENOMEM. On success *out is a new ring the caller owns
 * (ring_destroy); on error *out is NULL. The ring keeps no pointer to ids. */
int ring_build(const char *const *ids, size_t n, uint32_t vnodes, ring_t **out);
void ring_destroy(ring_t *r); /* NULL is a no-op */

/* Accessors: r must not be NULL. Returned pointers are borrowed from r and
 * valid until ring_destroy(r). */
uint32_t ring_vnodes_per_member(const ring_t *r);
size_t ring_member_count(const ring_t *r);
/* The id of member i (NUL-terminated), or NULL when i is out of range. */
const char *ring_member_id(const ring_t *r, size_t i);
/* The index of member id: 0 and *index set, or CHORUS_ENOTFOUND (also for a
 * NULL id). index may be NULL to test membership only. */
int ring_member_find(const ring_t *r, const char *id, uint32_t *index);
size_t ring_vnode_count(const ring_t *r); /* members × vnodes per member */
/* Vnode i in ring order, or NULL when i is out of range. */
const ring_vnode_t *ring_vnode(const ring_t *r, size_t i);

/* The token of a key (see the top of this file). key may be NULL when len is 0. */
uint64_t ring_key_token(const void *key, size_t len);

/* The index of the vnode that owns token: the first vnode whose token is
 * >= token, wrapping to vnode 0 past the last one. Always < ring_vnode_count
 * except for an empty ring, where it is 0. */
size_t ring_vnode_for(const ring_t *r, uint64_t token);

/* Writes into out[0..max) the indices of distinct members, in clockwise
 * order from the vnode that owns token (ring_vnode_for), and returns how
 * many it wrote: min(max, ring_member_count(r)). The first N are the key's
 * preference list; the ones after are, in order, its fallbacks for a sloppy
 * quorum. A ring with fewer than N members yields all of them (callers cap
 * N); an empty ring yields 0. out may be NULL when max is 0. */
size_t ring_preference(const ring_t *r, uint64_t token, uint32_t *out, size_t max);

/* Identifies the ring: the first 8 bytes, big-endian, of SHA-256 over
 *     u8 1 (format of the token derivation) || u32be vnodes per member ||
 *     u32be member count || for each member in id order: u8 len(id) || id
 * Nodes with equal versions have identical rings. */
uint64_t ring_version(const ring_t *r);
/* version as RING_VERSION_HEX_LEN lowercase hex chars and a NUL. */
void ring_version_hex(uint64_t version, char out[RING_VERSION_HEX_LEN + 1]);

/* How much of the 2^64-token space member i owns: the sum of the sizes of its
 * vnodes' ranges, exact. A member that owns the whole space (the only member,
 * or - astronomically rare - when every other member's ranges are empty) owns
 * 2^64 tokens, which does not fit: ring_member_owned saturates to UINT64_MAX
 * for it, and ring_member_share is 1.0. Out of range i: 0. */
uint64_t ring_member_owned(const ring_t *r, size_t i);
/* The same as a fraction of the token space, in [0, 1]. */
double ring_member_share(const ring_t *r, size_t i);

#endif
