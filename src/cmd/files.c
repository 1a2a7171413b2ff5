/* files.c - durable replacement of small files (see files.h). */
#include "files.h"

#include <errno.h>
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
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
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
