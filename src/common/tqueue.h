/*
 * tqueue.h - the one way threads hand work to each other: a FIFO of
 * caller-owned items linked through a `next` pointer inside them, guarded
 * by one mutex (which guards the list and the closed flag, nothing else).
 *
 * Producers push from any thread; one consumer takes items, all at once or
 * a bounded group, and either sleeps on the queue's condition variable
 * (tqueue_wait: a thread of its own, like the storage writer) or is woken
 * by its own means (a libuv async for the loop: the producer sends it when
 * tqueue_push says so). Closing refuses later pushes and hands back what is
 * left, so nothing queued is lost at shutdown. Items are never copied or
 * freed here: ownership passes with the pointer.
 */
#ifndef CHORUS_TQUEUE_H
#define CHORUS_TQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cond; /* signalled when the queue goes from empty to not, and on close */
  void *head, *tail;
  size_t next_offset; /* offsetof(item type, next pointer) */
  bool closed;
} tqueue_t;

typedef enum { TQUEUE_ITEMS = 0, TQUEUE_TIMEOUT = 1, TQUEUE_CLOSED = 2 } tqueue_wait_t;

/* next_offset: offsetof(T, next) for items of type T whose `T *next` links them. */
int tqueue_init(tqueue_t *q, size_t next_offset);
void tqueue_destroy(tqueue_t *q);

/* Appends item. CHORUS_ESHUTDOWN once closed (the caller keeps the item).
 * *was_empty (may be NULL) says whether the consumer was idle. */
int tqueue_push(tqueue_t *q, void *item, bool *was_empty);
/* The same, and calls wake(arg) under the queue's lock when the item was
 * taken (a uv_async_send for a loop consumer): a consumer that closes the
 * queue before it closes its wake-up handle never sees a late wake. */
int tqueue_push_wake(tqueue_t *q, void *item, void (*wake)(void *arg), void *arg);

/* Takes every item, in push order, as a NULL-terminated list (NULL if none). */
void *tqueue_take_all(tqueue_t *q);

/* Takes up to max items in push order. An item for which alone() is true is
 * taken in a group of its own (alone may be NULL). *n is the count taken. */
void *tqueue_take(tqueue_t *q, size_t max, bool (*alone)(const void *item), size_t *n);

/* Sleeps until an item is queued, the queue is closed and empty, or
 * timeout_ms (UINT64_MAX: none) has passed. */
tqueue_wait_t tqueue_wait(tqueue_t *q, uint64_t timeout_ms);

/* Refuses later pushes and takes what is left (as tqueue_take_all). With
 * drain false the items stay for the consumer instead (NULL returned). */
void *tqueue_close(tqueue_t *q, bool drain);

/* The item after item in a list this queue returned. */
void *tqueue_next(const tqueue_t *q, const void *item);

#endif
