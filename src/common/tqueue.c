/* tqueue.c - the thread-to-thread FIFO (see tqueue.h). */
#include "tqueue.h"

#include <errno.h>
#include <time.h>

#include "err.h"

static void **link_of(const tqueue_t *q, const void *item) {
  return (void **)((char *)item + q->next_offset);
}

void *tqueue_next(const tqueue_t *q, const void *item) {
  return *link_of(q, item);
}

int tqueue_init(tqueue_t *q, size_t next_offset) {
  q->head = q->tail = NULL;
  q->next_offset = next_offset;
  q->closed = false;
  if (pthread_mutex_init(&q->mu, NULL) != 0) return CHORUS_ENOMEM;
  pthread_condattr_t ca;
  int rc = pthread_condattr_init(&ca);
  if (!rc) rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (!rc) rc = pthread_cond_init(&q->cond, &ca);
  pthread_condattr_destroy(&ca);
  if (rc) {
    pthread_mutex_destroy(&q->mu);
    return CHORUS_ENOMEM;
  }
  return 0;
}

void tqueue_destroy(tqueue_t *q) {
  pthread_cond_destroy(&q->cond);
  pthread_mutex_destroy(&q->mu);
}

static int push(tqueue_t *q, void *item, bool *was_empty, void (*wake)(void *arg), void *arg) {
  *link_of(q, item) = NULL;
  pthread_mutex_lock(&q->mu);
  if (q->closed) {
    pthread_mutex_unlock(&q->mu);
    return CHORUS_ESHUTDOWN;
  }
  bool empty = q->head == NULL;
  if (empty)
    q->head = item;
  else
    *link_of(q, q->tail) = item;
  q->tail = item;
  if (empty) pthread_cond_signal(&q->cond);
  if (wake) wake(arg);
  pthread_mutex_unlock(&q->mu);
  if (was_empty) *was_empty = empty;
  return 0;
}

int tqueue_push(tqueue_t *q, void *item, bool *was_empty) {
  return push(q, item, was_empty, NULL, NULL);
}

int tqueue_push_wake(tqueue_t *q, void *item, void (*wake)(void *arg), void *arg) {
  return push(q, item, NULL, wake, arg);
}

static void *take_all_locked(tqueue_t *q) {
  void *list = q->head;
  q->head = q->tail = NULL;
  return list;
}

void *tqueue_take_all(tqueue_t *q) {
  pthread_mutex_lock(&q->mu);
  void *list = take_all_locked(q);
  pthread_mutex_unlock(&q->mu);
  return list;
}

void *tqueue_take(tqueue_t *q, size_t max, bool (*alone)(const void *item), size_t *n) {
  *n = 0;
  pthread_mutex_lock(&q->mu);
  void *first = q->head, *last = first;
  if (first && max) {
    *n = 1;
    if (!alone || !alone(first)) {
      for (void *next = *link_of(q, last); next && *n < max && !(alone && alone(next));
           next = *link_of(q, last)) {
        last = next;
        (*n)++;
      }
    }
    q->head = *link_of(q, last);
    if (!q->head) q->tail = NULL;
    *link_of(q, last) = NULL;
  } else {
    first = NULL;
  }
  pthread_mutex_unlock(&q->mu);
  return first;
}

static void deadline_in(struct timespec *ts, uint64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += (time_t)(ms / 1000);
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

tqueue_wait_t tqueue_wait(tqueue_t *q, uint64_t timeout_ms) {
  struct timespec dl;
  if (timeout_ms != UINT64_MAX) deadline_in(&dl, timeout_ms);
  tqueue_wait_t out = TQUEUE_ITEMS;
  pthread_mutex_lock(&q->mu);
  while (!q->head && !q->closed) {
    if (timeout_ms == UINT64_MAX) {
      pthread_cond_wait(&q->cond, &q->mu);
    } else if (pthread_cond_timedwait(&q->cond, &q->mu, &dl) == ETIMEDOUT) {
      break;
    }
  }
  if (!q->head) out = q->closed ? TQUEUE_CLOSED : TQUEUE_TIMEOUT;
  pthread_mutex_unlock(&q->mu);
  return out;
}

void *tqueue_close(tqueue_t *q, bool drain) {
  pthread_mutex_lock(&q->mu);
  q->closed = true;
  void *list = drain ? take_all_locked(q) : NULL;
  pthread_cond_broadcast(&q->cond);
  pthread_mutex_unlock(&q->mu);
  return list;
}
