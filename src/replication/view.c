/*
 * view.c - published cluster views (see view.h).
 *
 * Invariants: h->cur is never NULL; a view's members are sorted by id and
 * unique; a view's ring was built from exactly its owners and its next ring
 * from exactly its next owners (view.h); a ring is freed when the last view
 * (or view half) sharing it is released.
 */
#include "view.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

struct view_holder {
  pthread_mutex_t mu; /* guards cur */
  view_t *cur;
  uint32_t vnodes, replicas;
  char self[NODE_ID_MAX + 1];
  uint64_t seq;
};

static int cmp_member(const void *a, const void *b) {
  return strcmp(((const view_member_t *)a)->id, ((const view_member_t *)b)->id);
}

static void ring_unref(ring_t *r, atomic_int *refs) {
  if (refs && atomic_fetch_sub(refs, 1) == 1) {
    ring_destroy(r);
    free(refs);
  }
}

static void view_free(view_t *v) {
  if (!v) return;
  ring_unref(v->ring, v->ring_refs);
  ring_unref(v->next, v->next_refs);
  free(v->members);
  free(v);
}

void view_release(view_t *v) {
  if (v && atomic_fetch_sub(&v->refs, 1) == 1) view_free(v);
}

view_t *view_acquire(view_holder_t *h) {
  pthread_mutex_lock(&h->mu);
  view_t *v = h->cur;
  atomic_fetch_add(&v->refs, 1);
  pthread_mutex_unlock(&h->mu);
  return v;
}

const view_member_t *view_find(const view_t *v, const char *id) {
  view_member_t key = {0};
  size_t len = strlen(id);
  if (len > NODE_ID_MAX) return NULL;
  memcpy(key.id, id, len + 1);
  return bsearch(&key, v->members, v->n, sizeof *v->members, cmp_member);
}

bool view_is_up(const view_t *v, const char *id) {
  if (strcmp(id, v->self) == 0) return true;
  const view_member_t *m = view_find(v, id);
  return m && (m->status == SWIM_ALIVE || m->status == SWIM_SUSPECT);
}

size_t view_ring_members(const view_t *v) {
  return ring_member_count(v->ring);
}

bool view_moving(const view_t *v) {
  return v->next != v->ring;
}

/* Which members a ring holds: the owners (RING_OWNERS) or the next owners. */
typedef enum { RING_OWNERS, RING_NEXT } ring_kind_t;

static bool on_ring(const view_member_t *m, ring_kind_t kind) {
  if (m->status == SWIM_LEFT) return false;
  return kind == RING_OWNERS ? m->phase != SWIM_PHASE_JOINING : m->phase != SWIM_PHASE_LEAVING;
}

/* The owners; when no member is an owner yet (a cluster whose every member
 * is joining: a new one), the next owners are. */
static ring_kind_t owners_kind(const view_member_t *m, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (on_ring(&m[i], RING_OWNERS)) return RING_OWNERS;
  return RING_NEXT;
}

/* Whether ring r has exactly the members of m[0..n) of kind. */
static bool same_set(const ring_t *r, const view_member_t *m, size_t n, ring_kind_t kind) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!on_ring(&m[i], kind)) continue;
    const char *id = ring_member_id(r, k++);
    if (!id || strcmp(id, m[i].id) != 0) return false;
  }
  return k == ring_member_count(r);
}

static int build_ring(const view_t *v, ring_kind_t kind, uint32_t vnodes, ring_t **ring, atomic_int **refs) {
  const char **ids = malloc((v->n ? v->n : 1) * sizeof *ids);
  *refs = malloc(sizeof **refs);
  if (!ids || !*refs) {
    free(ids);
    free(*refs);
    *refs = NULL;
    return CHORUS_ENOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < v->n; i++)
    if (on_ring(&v->members[i], kind)) ids[k++] = v->members[i].id;
  int rc = ring_build(ids, k, vnodes, ring);
  free(ids);
  if (rc) {
    free(*refs);
    *refs = NULL;
    return rc;
  }
  atomic_init(*refs, 1);
  return 0;
}

static void share(ring_t *from, atomic_int *from_refs, ring_t **ring, atomic_int **refs) {
  *ring = from;
  *refs = from_refs;
  atomic_fetch_add(from_refs, 1);
}

/* Sets v's ring of kind (as_kind: the members it is built from), sharing a
 * ring of old's (or v's owners) when the set is the same. */
static int set_ring(view_holder_t *h, const view_t *old, view_t *v, ring_kind_t kind, ring_kind_t as_kind) {
  ring_t **ring = kind == RING_OWNERS ? &v->ring : &v->next;
  atomic_int **refs = kind == RING_OWNERS ? &v->ring_refs : &v->next_refs;
  if (kind == RING_NEXT && same_set(v->ring, v->members, v->n, as_kind)) {
    share(v->ring, v->ring_refs, ring, refs);
    return 0;
  }
  if (old && same_set(old->ring, v->members, v->n, as_kind)) {
    share(old->ring, old->ring_refs, ring, refs);
    return 0;
  }
  if (old && same_set(old->next, v->members, v->n, as_kind)) {
    share(old->next, old->next_refs, ring, refs);
    return 0;
  }
  return build_ring(v, as_kind, h->vnodes, ring, refs);
}

/* A new view of members m[0..n) (sorted, unique), sharing old's ring when
 * the ring set is the same. Takes ownership of m. */
static int make_view(view_holder_t *h, const view_t *old, view_member_t *m, size_t n, view_t **out) {
  view_t *v = calloc(1, sizeof *v);
  if (!v) {
    free(m);
    return CHORUS_ENOMEM;
  }
  atomic_init(&v->refs, 1);
  v->members = m;
  v->n = n;
  v->replicas = h->replicas;
  memcpy(v->self, h->self, sizeof v->self);
  int rc = set_ring(h, old, v, RING_OWNERS, owners_kind(m, n));
  if (!rc) rc = set_ring(h, old, v, RING_NEXT, RING_NEXT);
  if (rc) {
    view_free(v);
    return rc;
  }
  v->seq = ++h->seq;
  *out = v;
  return 0;
}

static void install(view_holder_t *h, view_t *v) {
  pthread_mutex_lock(&h->mu);
  view_t *old = h->cur;
  h->cur = v;
  pthread_mutex_unlock(&h->mu);
  view_release(old);
}

int view_holder_publish(view_holder_t *h, const swim_member_t *members, size_t n) {
  view_member_t *m = calloc(n + 1, sizeof *m);
  if (!m) return CHORUS_ENOMEM;
  size_t k = 0;
  bool has_self = false;
  for (size_t i = 0; i < n; i++) {
    memcpy(m[k].id, members[i].id, sizeof m[k].id);
    m[k].status = members[i].status;
    m[k].addr = members[i].addr;
    m[k].incarnation = members[i].incarnation;
    m[k].phase = members[i].phase;
    has_self |= strcmp(m[k].id, h->self) == 0;
    k++;
  }
  if (!has_self) {
    /* Self is always a member of its own view, alive at its last address. */
    view_t *cur = view_acquire(h);
    const view_member_t *s = view_find(cur, h->self);
    memset(&m[k], 0, sizeof m[k]);
    if (s) m[k] = *s;
    memcpy(m[k].id, h->self, sizeof m[k].id);
    m[k].status = SWIM_ALIVE;
    view_release(cur);
    k++;
  }
  qsort(m, k, sizeof *m, cmp_member);
  size_t u = 0; /* drop repeated ids: the first of each stays */
  for (size_t i = 0; i < k; i++)
    if (u == 0 || strcmp(m[u - 1].id, m[i].id) != 0) m[u++] = m[i];
  view_t *cur = view_acquire(h);
  view_t *v = NULL;
  int rc = make_view(h, cur, m, u, &v);
  view_release(cur);
  if (rc) return rc;
  install(h, v);
  return 0;
}

int view_holder_create(const char *self, const swim_addr_t *self_addr, uint32_t vnodes, uint32_t replicas,
                       view_holder_t **out) {
  size_t len = self ? strlen(self) : 0;
  if (!self || !self_addr || !out || !node_id_valid(self, len) || vnodes < 1 || vnodes > RING_VNODES_MAX ||
      replicas < 1)
    return CHORUS_EINVAL;
  view_holder_t *h = calloc(1, sizeof *h);
  view_member_t *m = calloc(1, sizeof *m);
  if (!h || !m) {
    free(h);
    free(m);
    return CHORUS_ENOMEM;
  }
  pthread_mutex_init(&h->mu, NULL);
  h->vnodes = vnodes;
  h->replicas = replicas;
  memcpy(h->self, self, len + 1);
  memcpy(m->id, self, len + 1);
  m->addr = *self_addr;
  m->status = SWIM_ALIVE;
  int rc = make_view(h, NULL, m, 1, &h->cur);
  if (rc) {
    pthread_mutex_destroy(&h->mu);
    free(h);
    return rc;
  }
  *out = h;
  return 0;
}

void view_holder_destroy(view_holder_t *h) {
  if (!h) return;
  view_release(h->cur);
  pthread_mutex_destroy(&h->mu);
  free(h);
}
