/*
 * ring.c - the consistent-hash ring (see ring.h).
 *
 * Owns a ring's three arrays: the member ids (one pool, sorted, unique), the
 * vnodes sorted by (token, member index), and each member's owned token
 * count. All three, and the version, are computed once in ring_build and
 * never change, so readers need no lock. Members are deduplicated and sorted
 * before any token is derived: that ordering is what makes the ring depend on
 * the member set alone.
 */
#include "ring.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../common/node_id.h"
#include "../common/sha256.h"

#define RING_FORMAT 1 /* bump when the token derivation changes: versions must differ */
#define NO_MEMBER UINT32_MAX

struct ring {
  uint32_t vnodes_per_member;
  size_t n_members;
  char *id_pool;    /* owned: every id, NUL-terminated, in member order */
  const char **ids; /* owned array of pointers into id_pool */
  size_t n_vnodes;  /* n_members * vnodes_per_member */
  ring_vnode_t *vn; /* owned, sorted by (token, member) */
  uint64_t *owned;  /* owned, per member; see ring_member_owned */
  uint32_t whole;   /* the member owning all 2^64 tokens, or NO_MEMBER */
  uint64_t version;
};

/* First 8 bytes of SHA-256(p[0..n)), big-endian. */
static uint64_t sha256_u64(const void *p, size_t n) {
  uint8_t md[SHA256_BYTES];
  sha256_digest(p, n, md);
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++)
    v = v << 8 | md[i];
  return v;
}

static uint64_t member_token(const char *id, size_t len, uint32_t j) {
  unsigned char enc[1 + NODE_ID_MAX + 4];
  enc[0] = (unsigned char)len;
  memcpy(enc + 1, id, len);
  for (size_t i = 0; i < 4; i++)
    enc[1 + len + i] = (unsigned char)(j >> (8 * (3 - i)));
  return sha256_u64(enc, 1 + len + 4);
}

static int cmp_id_ptr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_vnode(const void *pa, const void *pb) {
  const ring_vnode_t *a = pa, *b = pb;
  if (a->token != b->token) return a->token < b->token ? -1 : 1;
  return (a->member > b->member) - (a->member < b->member);
}

/* Sizes of the vnodes' ranges summed per member. A range size is the token
 * difference to the previous vnode, modulo 2^64 for vnode 0's wrap-around
 * range; that difference is 0 for vnode 0 only when every token is equal, and
 * then vnode 0 owns the whole space. A member's running sum passes UINT64_MAX
 * only when its total is exactly 2^64, since all ranges together are 2^64. */
static void compute_ownership(ring_t *r) {
  r->whole = NO_MEMBER;
  for (size_t i = 0; i < r->n_vnodes; i++) {
    const ring_vnode_t *v = &r->vn[i];
    uint64_t size = v->token - r->vn[i ? i - 1 : r->n_vnodes - 1].token;
    uint64_t *sum = &r->owned[v->member];
    if ((i == 0 && size == 0) || size > UINT64_MAX - *sum) {
      r->whole = v->member;
      *sum = UINT64_MAX;
    } else {
      *sum += size;
    }
  }
}

static int compute_version(ring_t *r) {
  buf_t b;
  buf_init(&b);
  buf_put_u8(&b, RING_FORMAT);
  buf_put_u32be(&b, r->vnodes_per_member);
  buf_put_u32be(&b, (uint32_t)r->n_members);
  for (size_t i = 0; i < r->n_members; i++) {
    size_t len = strlen(r->ids[i]);
    buf_put_u8(&b, (uint8_t)len);
    buf_put(&b, r->ids[i], len);
  }
  int rc = b.err;
  if (!rc) r->version = sha256_u64(b.data, b.len);
  buf_free(&b);
  return rc;
}

/* Copies the distinct ids among sorted[0..n) into r's pool, in order. */
static int store_members(ring_t *r, const char **sorted, size_t n) {
  size_t distinct = 0, pool = 0;
  for (size_t i = 0; i < n; i++) {
    if (i && strcmp(sorted[i - 1], sorted[i]) == 0) continue;
    sorted[distinct++] = sorted[i];
    pool += strlen(sorted[i]) + 1;
  }
  if (distinct > RING_MEMBERS_MAX) return CHORUS_ETOOBIG;
  r->n_members = distinct;
  if (!distinct) return 0;
  r->id_pool = malloc(pool);
  r->ids = malloc(distinct * sizeof(*r->ids));
  r->owned = calloc(distinct, sizeof(*r->owned));
  if (!r->id_pool || !r->ids || !r->owned) return CHORUS_ENOMEM;
  char *p = r->id_pool;
  for (size_t i = 0; i < distinct; i++) {
    size_t len = strlen(sorted[i]) + 1;
    memcpy(p, sorted[i], len);
    r->ids[i] = p;
    p += len;
  }
  return 0;
}

static int place_vnodes(ring_t *r) {
  r->n_vnodes = r->n_members * r->vnodes_per_member;
  if (!r->n_vnodes) return 0;
  r->vn = calloc(r->n_vnodes, sizeof(*r->vn));
  if (!r->vn) return CHORUS_ENOMEM;
  ring_vnode_t *v = r->vn;
  for (size_t m = 0; m < r->n_members; m++) {
    size_t len = strlen(r->ids[m]);
    for (uint32_t j = 0; j < r->vnodes_per_member; j++, v++) {
      /* Field by field into zeroed memory: the padding stays zero, so equal
       * rings are equal byte for byte. */
      v->token = member_token(r->ids[m], len, j);
      v->member = (uint32_t)m;
    }
  }
  qsort(r->vn, r->n_vnodes, sizeof(*r->vn), cmp_vnode);
  return 0;
}

int ring_build(const char *const *ids, size_t n, uint32_t vnodes, ring_t **out) {
  if (!out) return CHORUS_EINVAL;
  *out = NULL;
  if ((n && !ids) || vnodes == 0 || vnodes > RING_VNODES_MAX) return CHORUS_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!ids[i] || !node_id_valid(ids[i], strnlen(ids[i], NODE_ID_MAX + 1))) return CHORUS_EINVAL;
  const char **sorted = NULL;
  if (n) {
    if (n > SIZE_MAX / sizeof(*sorted)) return CHORUS_ETOOBIG;
    sorted = malloc(n * sizeof(*sorted));
    if (!sorted) return CHORUS_ENOMEM;
    memcpy(sorted, ids, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_id_ptr);
  }
  ring_t *r = calloc(1, sizeof(*r));
  int rc = r ? 0 : CHORUS_ENOMEM;
  if (!rc) {
    r->vnodes_per_member = vnodes;
    rc = store_members(r, sorted, n);
  }
  free(sorted);
  if (!rc) rc = place_vnodes(r);
  if (!rc) rc = compute_version(r);
  if (rc) {
    ring_destroy(r);
    return rc;
  }
  compute_ownership(r);
  *out = r;
  return 0;
}

void ring_destroy(ring_t *r) {
  if (!r) return;
  free(r->id_pool);
  free(r->ids);
  free(r->vn);
  free(r->owned);
  free(r);
}

uint32_t ring_vnodes_per_member(const ring_t *r) {
  return r->vnodes_per_member;
}

size_t ring_member_count(const ring_t *r) {
  return r->n_members;
}

const char *ring_member_id(const ring_t *r, size_t i) {
  return i < r->n_members ? r->ids[i] : NULL;
}

static int cmp_key_id(const void *key, const void *elem) {
  return strcmp(key, *(const char *const *)elem);
}

int ring_member_find(const ring_t *r, const char *id, uint32_t *index) {
  if (!id || !r->n_members) return CHORUS_ENOTFOUND;
  const char **hit = bsearch(id, r->ids, r->n_members, sizeof(*r->ids), cmp_key_id);
  if (!hit) return CHORUS_ENOTFOUND;
  if (index) *index = (uint32_t)(hit - r->ids);
  return 0;
}

size_t ring_vnode_count(const ring_t *r) {
  return r->n_vnodes;
}

const ring_vnode_t *ring_vnode(const ring_t *r, size_t i) {
  return i < r->n_vnodes ? &r->vn[i] : NULL;
}

uint64_t ring_key_token(const void *key, size_t len) {
  return sha256_u64(key, len);
}

size_t ring_vnode_for(const ring_t *r, uint64_t token) {
  size_t lo = 0, hi = r->n_vnodes; /* answer in [lo, hi]; hi == n_vnodes wraps to 0 */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->vn[mid].token < token)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == r->n_vnodes ? 0 : lo;
}

size_t ring_preference(const ring_t *r, uint64_t token, uint32_t *out, size_t max) {
  size_t want = max < r->n_members ? max : r->n_members;
  if (!want) return 0;
  /* One bit per member makes each step O(1) whatever max is; every member has
   * a vnode, so one full turn always finds want members. */
  uint8_t seen[RING_MEMBERS_MAX / 8] = {0};
  size_t got = 0;
  size_t i = ring_vnode_for(r, token);
  for (size_t walked = 0; got < want && walked < r->n_vnodes; walked++) {
    uint32_t m = r->vn[i].member;
    uint8_t bit = (uint8_t)(1u << (m % 8));
    if (!(seen[m / 8] & bit)) {
      seen[m / 8] |= bit;
      out[got++] = m;
    }
    if (++i == r->n_vnodes) i = 0;
  }
  return got;
}

uint64_t ring_version(const ring_t *r) {
  return r->version;
}

void ring_version_hex(uint64_t version, char out[RING_VERSION_HEX_LEN + 1]) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < RING_VERSION_HEX_LEN; i++)
    out[i] = hex[(version >> (4 * (RING_VERSION_HEX_LEN - 1 - i))) & 0xf];
  out[RING_VERSION_HEX_LEN] = '\0';
}

uint64_t ring_member_owned(const ring_t *r, size_t i) {
  return i < r->n_members ? r->owned[i] : 0;
}

double ring_member_share(const ring_t *r, size_t i) {
  if (i >= r->n_members) return 0.0;
  if (r->whole == i) return 1.0;
  return (double)r->owned[i] / 18446744073709551616.0; /* 2^64 */
}
