/* loop.c - the node's libuv loop and its signal handling (see loop.h). */
#include "loop.h"

#include <signal.h>
#include <stdlib.h>

#include "../common/err.h"

struct loop {
  uv_loop_t uv;
  uv_signal_t sigint, sigterm;
  loop_signal_fn on_signal;
  void *state;
};

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

static void close_walk(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void loop_destroy(loop_t *l) {
  if (!l) return;
  uv_walk(&l->uv, close_walk, NULL);
  uv_run(&l->uv, UV_RUN_DEFAULT); /* let the close callbacks run */
  uv_loop_close(&l->uv);
  free(l);
}
