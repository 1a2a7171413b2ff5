/*
 * files.h - small files of the data directory (node_id, incarnation)
 * replaced so that a crash leaves the old content or the new one.
 */
#ifndef CHORUS_FILES_H
#define CHORUS_FILES_H

/* Replaces path with text: written to path.tmp, synced, renamed over path,
 * and the directory synced, so the rename itself survives a power cut.
 * Blocking: call it at start-up or from a worker thread, not the loop. */
int file_replace_durably(const char *path, const char *text);

#endif
