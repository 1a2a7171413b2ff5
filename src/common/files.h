/*
 * files.h - small files of the data directory (node_id, incarnation,
 * transfers)
 * replaced so that a crash leaves the old content or the new one.
 */
#ifndef CHORUS_FILES_H
#define CHORUS_FILES_H

#include <stddef.h>

#include "buf.h"

/* Replaces path with text: written to path.tmp (mode 0600), synced, renamed
 * over path, and the directory synced, so the rename itself survives a
 * power cut.
 * Blocking: call it at start-up or from a worker thread, not the loop. */
int file_replace_durably(const char *path, const char *text);
/* The same with len bytes of any content. */
int file_replace_bytes(const char *path, const void *p, size_t len);
/* Appends the whole file to out: CHORUS_ENOTFOUND when it does not exist,
 * CHORUS_ETOOBIG past max bytes, CHORUS_EIO. */
int file_read_all(const char *path, size_t max, buf_t *out);

#endif
