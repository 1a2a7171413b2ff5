/*
 * quorum.h - tracking one coordinated request until its quorum is met or
 * cannot be (pure: no I/O, time passed in).
 *
 * A coordinator asks a set of targets (the replicas of the preference list,
 * and fallback nodes holding hints for replicas that are down) and needs
 * `need` successes (W for writes, R for reads) from targets that COUNT:
 * preference-list members, and fallbacks outside the preference list (a hint
 * counts toward W only there, as in Dynamo's sloppy quorum; a hint the
 * coordinator keeps for lack of such a node does not count).
 *
 * The verdict moves once, from PENDING to MET or FAILED:
 *   MET     as soon as `need` counting targets succeeded;
 *   FAILED  as soon as the counting targets still pending cannot make up the
 *           difference (failures arrived), or when the deadline passes.
 * Replies after the verdict (late replies) still update their target, so
 * the caller can report them and repair what it needs; they never change
 * the verdict. A target answers at most once: repeated replies are ignored.
 */
#ifndef CHORUS_QUORUM_H
#define CHORUS_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/node_id.h"

#define QUORUM_MAX_TARGETS 16

typedef enum { QUORUM_PENDING = 0, QUORUM_MET = 1, QUORUM_FAILED = 2 } quorum_verdict_t;

typedef enum {
  QUORUM_WAITING = 0, /* asked, no reply yet */
  QUORUM_OK = 1,      /* applied durably / answered */
  QUORUM_ERROR = 2,   /* answered with an error, or the connection failed */
  QUORUM_TIMEOUT = 3, /* no reply by the deadline */
} quorum_state_t;

typedef struct {
  char node[NODE_ID_MAX + 1];
  char hint_for[NODE_ID_MAX + 1]; /* "" or the replica this target holds a hint for */
  bool counts;                    /* toward need (see the top of this file) */
  bool late;                      /* replied after the verdict */
  quorum_state_t state;
} quorum_target_t;

typedef struct {
  quorum_target_t t[QUORUM_MAX_TARGETS];
  size_t n;
  uint32_t need;
  uint32_t ok_counting, pending_counting;
  uint64_t deadline_ms;
  quorum_verdict_t verdict;
} quorum_t;

/* need >= 1. */
void quorum_init(quorum_t *q, uint32_t need, uint64_t deadline_ms);
/* Adds a target before any reply; hint_for NULL or "" when it is a replica
 * itself. *idx receives its index. CHORUS_EINVAL for a bad or repeated node
 * id, CHORUS_ETOOBIG past QUORUM_MAX_TARGETS. */
int quorum_add(quorum_t *q, const char *node, const char *hint_for, bool counts, size_t *idx);
/* The verdict now; call it once the targets are added, so that a quorum
 * that cannot be met (fewer counting targets than need) fails at once. */
quorum_verdict_t quorum_check(quorum_t *q);
/* Finds a target by node id; SIZE_MAX if absent. */
size_t quorum_find(const quorum_t *q, const char *node);
/* A reply from target idx (ok or not). Returns the verdict after it. */
quorum_verdict_t quorum_reply(quorum_t *q, size_t idx, bool ok);
/* The clock moved: at or past the deadline, a PENDING quorum fails and every
 * target still waiting is marked TIMEOUT. Returns the verdict. */
quorum_verdict_t quorum_tick(quorum_t *q, uint64_t now_ms);
/* When a verdict can only come from the clock now: the deadline while
 * PENDING, UINT64_MAX otherwise. */
uint64_t quorum_deadline(const quorum_t *q);
/* Targets with no reply yet (whatever the verdict). */
size_t quorum_waiting(const quorum_t *q);

#endif
