/*
 * loop.h - the node's event loop: one libuv loop that owns node state.
 *
 * Other threads never touch loop-owned state; they hand it tasks. An HTTP
 * thread posts a task with loop_post(); the loop runs it (task->run) on its
 * own thread. Work the loop hands off (the storage writer) comes back with
 * loop_complete() and is finished (task->finish) on the loop thread. Both
 * queues are mutex-guarded lists woken by a uv_async, which libuv coalesces:
 * under load one wake-up drains many tasks.
 */
#ifndef CHORUS_LOOP_H
#define CHORUS_LOOP_H

#include <stdbool.h>
#include <uv.h>

typedef struct loop loop_t;
typedef struct loop_task loop_task_t;

struct loop_task {
  void (*run)(loop_task_t *t, loop_t *l);    /* on the loop thread */
  void (*finish)(loop_task_t *t, loop_t *l); /* on the loop thread, after loop_complete */
  loop_task_t *next;
};

/* Called on the loop thread when SIGINT or SIGTERM arrives. */
typedef void (*loop_signal_fn)(loop_t *l, int signum, void *state);

int loop_create(loop_t **out, loop_signal_fn on_signal, void *state);
void loop_destroy(loop_t *l);
uv_loop_t *loop_uv(loop_t *l);
/* Runs the loop on the calling thread until loop_stop. */
int loop_run(loop_t *l);
void loop_stop(loop_t *l); /* loop thread only */
/* Any thread. */
void loop_post(loop_t *l, loop_task_t *t);
void loop_complete(loop_t *l, loop_task_t *t);

#endif
