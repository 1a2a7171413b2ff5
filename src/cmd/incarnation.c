/* incarnation.c - the stored SWIM incarnation (see incarnation.h). */
#include "incarnation.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/files.h"

struct incarnation {
  uv_work_t work;
  uv_loop_t *loop;
  char path[4200];
  uint64_t written;   /* the value on disk (or being written) */
  uint64_t wanted;    /* the highest value asked for */
  uint64_t writing;   /* the value the worker writes (worker thread reads it) */
  int rc;             /* the worker's result */
  bool busy, closing; /* a write is in flight; close was called */
};

static int write_value(const char *path, uint64_t inc) {
  char text[32];
  snprintf(text, sizeof text, "%llu\n", (unsigned long long)inc);
  return file_replace_durably(path, text);
}

static void work_write(uv_work_t *w) {
  incarnation_t *f = w->data;
  f->rc = write_value(f->path, f->writing);
}

static void start_write(incarnation_t *f);

static void work_done(uv_work_t *w, int status) {
  incarnation_t *f = w->data;
  f->busy = false;
  if (status != 0 || f->rc != 0)
    log_warn("gossip: cannot store incarnation %llu", (unsigned long long)f->writing);
  else
    f->written = f->writing;
  if (f->closing) {
    if (f->wanted > f->written) (void)write_value(f->path, f->wanted);
    free(f);
    return;
  }
  if (f->wanted > f->written) start_write(f);
}

static void start_write(incarnation_t *f) {
  f->writing = f->wanted;
  f->busy = true;
  if (uv_queue_work(f->loop, &f->work, work_write, work_done) != 0) {
    f->busy = false;
    log_warn("gossip: cannot queue the store of incarnation %llu", (unsigned long long)f->wanted);
  }
}

int incarnation_open(uv_loop_t *loop, const char *data_dir, uint64_t *last, incarnation_t **out) {
  incarnation_t *f = calloc(1, sizeof *f);
  if (!f) return CHORUS_ENOMEM;
  snprintf(f->path, sizeof f->path, "%s/incarnation", data_dir);
  unsigned long long v = 0;
  FILE *in = fopen(f->path, "r");
  if (in) {
    if (fscanf(in, "%llu", &v) != 1) v = 0;
    fclose(in);
  }
  int rc = write_value(f->path, v + 1); /* the core announces v + 1 */
  if (rc) {
    free(f);
    return rc;
  }
  f->written = f->wanted = v + 1;
  f->work.data = f;
  f->loop = loop;
  *last = v;
  *out = f;
  return 0;
}

void incarnation_store(incarnation_t *f, uint64_t inc) {
  if (!f || inc <= f->wanted) return;
  f->wanted = inc;
  if (!f->busy) start_write(f);
}

void incarnation_close(incarnation_t *f) {
  if (!f) return;
  if (f->busy) {
    f->closing = true; /* work_done finishes and frees */
    return;
  }
  if (f->wanted > f->written) (void)write_value(f->path, f->wanted);
  free(f);
}
