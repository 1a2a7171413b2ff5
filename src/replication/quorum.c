/*
 * quorum.c - the verdict of one coordinated request (see quorum.h).
 *
 * Invariants: ok_counting counts counting targets in state OK;
 * pending_counting counts counting targets still WAITING; the verdict is
 * PENDING exactly while ok_counting < need and ok_counting +
 * pending_counting >= need and the deadline has not been seen to pass.
 */
#include "quorum.h"

#include <stdio.h>
#include <string.h>

#include "../common/err.h"

void quorum_init(quorum_t *q, uint32_t need, uint64_t deadline_ms) {
  memset(q, 0, sizeof(*q));
  q->need = need ? need : 1;
  q->deadline_ms = deadline_ms;
}

size_t quorum_find(const quorum_t *q, const char *node) {
  for (size_t i = 0; i < q->n; i++)
    if (strcmp(q->t[i].node, node) == 0) return i;
  return SIZE_MAX;
}

/* Re-derives the verdict after a change; it moves at most once. */
static quorum_verdict_t settle(quorum_t *q) {
  if (q->verdict != QUORUM_PENDING) return q->verdict;
  if (q->ok_counting >= q->need)
    q->verdict = QUORUM_MET;
  else if (q->ok_counting + q->pending_counting < q->need)
    q->verdict = QUORUM_FAILED;
  return q->verdict;
}

quorum_verdict_t quorum_check(quorum_t *q) {
  return settle(q);
}

int quorum_add(quorum_t *q, const char *node, const char *hint_for, bool counts, size_t *idx) {
  size_t len = node ? strlen(node) : 0;
  if (!node_id_valid(node, len) || quorum_find(q, node) != SIZE_MAX) return CHORUS_EINVAL;
  if (hint_for && hint_for[0] && !node_id_valid(hint_for, strlen(hint_for))) return CHORUS_EINVAL;
  if (q->n == QUORUM_MAX_TARGETS) return CHORUS_ETOOBIG;
  quorum_target_t *t = &q->t[q->n];
  memset(t, 0, sizeof(*t));
  memcpy(t->node, node, len + 1);
  if (hint_for) snprintf(t->hint_for, sizeof(t->hint_for), "%s", hint_for);
  t->counts = counts;
  t->state = QUORUM_WAITING;
  if (counts) q->pending_counting++;
  if (idx) *idx = q->n;
  q->n++;
  return 0;
}

quorum_verdict_t quorum_reply(quorum_t *q, size_t idx, bool ok) {
  if (idx >= q->n || q->t[idx].state != QUORUM_WAITING) return q->verdict;
  quorum_target_t *t = &q->t[idx];
  t->state = ok ? QUORUM_OK : QUORUM_ERROR;
  t->late = q->verdict != QUORUM_PENDING;
  if (t->counts) {
    q->pending_counting--;
    if (ok) q->ok_counting++;
  }
  return settle(q);
}

quorum_verdict_t quorum_tick(quorum_t *q, uint64_t now_ms) {
  if (now_ms < q->deadline_ms) return q->verdict;
  for (size_t i = 0; i < q->n; i++) {
    if (q->t[i].state != QUORUM_WAITING) continue;
    q->t[i].state = QUORUM_TIMEOUT;
    if (q->t[i].counts) q->pending_counting--;
  }
  if (q->verdict == QUORUM_PENDING) q->verdict = q->ok_counting >= q->need ? QUORUM_MET : QUORUM_FAILED;
  return q->verdict;
}

uint64_t quorum_deadline(const quorum_t *q) {
  return q->verdict == QUORUM_PENDING ? q->deadline_ms : UINT64_MAX;
}

size_t quorum_waiting(const quorum_t *q) {
  size_t n = 0;
  for (size_t i = 0; i < q->n; i++)
    n += q->t[i].state == QUORUM_WAITING;
  return n;
}
