/*
 * loop.c - task queues into and out of the node's libuv loop (see loop.h).
 *
 * Invariant: a task is in at most one queue at a time, and each queue is
 * FIFO, so tasks run in the order they were posted.
 */
#include "loop.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "../common/err.h"

typedef struct {
  pthread_mutex_t mu; /* guards head and tail */
  loop_task_t *head, *tail;
  uv_async_t async;
} queue_t;

struct loop {
  uv_loop_t uv;
  queue_t in, done;
  uv_signal_t sigint, sigterm;
  loop_signal_fn on_signal;
  void *state;
};

static loop_task_t *queue_take_all(queue_t *q) {
  pthread_mutex_lock(&q->mu);
  loop_task_t *t = q->head;
  q->head = q->tail = NULL;
  pthread_mutex_unlock(&q->mu);
  return t;
}

static void queue_push(queue_t *q, loop_task_t *t) {
  t->next = NULL;
  pthread_mutex_lock(&q->mu);
  if (q->tail)
    q->tail->next = t;
  else
    q->head = t;
  q->tail = t;
  pthread_mutex_unlock(&q->mu);
  uv_async_send(&q->async);
}

static void on_in(uv_async_t *a) {
  loop_t *l = a->data;
  for (loop_task_t *t = queue_take_all(&l->in); t;) {
    loop_task_t *next = t->next;
    t->run(t, l);
    t = next;
  }
}

static void on_done(uv_async_t *a) {
  loop_t *l = a->data;
  for (loop_task_t *t = queue_take_all(&l->done); t;) {
    loop_task_t *next = t->next;
    t->finish(t, l);
    t = next;
  }
}

static void on_signal(uv_signal_t *s, int signum) {
  loop_t *l = s->data;
  if (l->on_signal) l->on_signal(l, signum, l->state);
}

int loop_create(loop_t **out, loop_signal_fn sig, void *state) {
  loop_t *l = calloc(1, sizeof *l);
  if (!l) return CHORUS_ENOMEM;
  if (uv_loop_init(&l->uv) != 0) {
    free(l);
    return CHORUS_EIO;
  }
  l->on_signal = sig;
  l->state = state;
  pthread_mutex_init(&l->in.mu, NULL);
  pthread_mutex_init(&l->done.mu, NULL);
  uv_async_init(&l->uv, &l->in.async, on_in);
  uv_async_init(&l->uv, &l->done.async, on_done);
  l->in.async.data = l->done.async.data = l;
  uv_signal_init(&l->uv, &l->sigint);
  uv_signal_init(&l->uv, &l->sigterm);
  l->sigint.data = l->sigterm.data = l;
  uv_signal_start(&l->sigint, on_signal, SIGINT);
  uv_signal_start(&l->sigterm, on_signal, SIGTERM);
  *out = l;
  return 0;
}

uv_loop_t *loop_uv(loop_t *l) {
  return &l->uv;
}

int loop_run(loop_t *l) {
  return uv_run(&l->uv, UV_RUN_DEFAULT) < 0 ? CHORUS_EIO : 0;
}

void loop_stop(loop_t *l) {
  uv_stop(&l->uv);
}

void loop_post(loop_t *l, loop_task_t *t) {
  queue_push(&l->in, t);
}

void loop_complete(loop_t *l, loop_task_t *t) {
  queue_push(&l->done, t);
}

static void close_walk(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void loop_destroy(loop_t *l) {
  if (!l) return;
  uv_walk(&l->uv, close_walk, NULL);
  uv_run(&l->uv, UV_RUN_DEFAULT); /* let the close callbacks run */
  uv_loop_close(&l->uv);
  pthread_mutex_destroy(&l->in.mu);
  pthread_mutex_destroy(&l->done.mu);
  free(l);
}
