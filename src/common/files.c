/* files.c - durable replacement of small files (see files.h). */
#include "files.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"

/* fsync of the directory holding path: makes a rename in it durable. */
static int sync_parent(const char *path) {
  char dir[4300];
  snprintf(dir, sizeof dir, "%s", path);
  int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return CHORUS_EIO;
  int rc = fsync(fd) == 0 ? 0 : CHORUS_EIO;
  close(fd);
  return rc;
}

int file_replace_durably(const char *path, const char *text) {
  return file_replace_bytes(path, text, strlen(text));
}

int file_replace_bytes(const char *path, const void *p, size_t len) {
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  /* 0600: the data dir's files are the node's alone (the keyring holds keys) */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (!f && fd >= 0) close(fd);
  if (!f || (len && fwrite(p, 1, len, f) != len) || fflush(f) != 0 || fsync(fileno(f)) != 0) {
    if (f) fclose(f);
    log_error("cannot write %s: %s", tmp, strerror(errno));
    return CHORUS_EIO;
  }
  fclose(f);
  if (rename(tmp, path) != 0 || sync_parent(path) != 0) {
    log_error("cannot write %s: %s", path, strerror(errno));
    return CHORUS_EIO;
  }
  return 0;
}

int file_read_all(const char *path, size_t max, buf_t *out) {
  FILE *f = fopen(path, "rb");
  if (!f) return errno == ENOENT ? CHORUS_ENOTFOUND : CHORUS_EIO;
  uint8_t chunk[4096];
  size_t n, total = 0;
  int rc = 0;
  while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    total += n;
    if (total > max)
      rc = CHORUS_ETOOBIG;
    else
      buf_put(out, chunk, n);
  }
  if (!rc && ferror(f)) rc = CHORUS_EIO;
  fclose(f);
  return rc ? rc : out->err;
}
