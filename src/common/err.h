/*
 * err.h - the one error convention of Chorus.
 *
 * Every function that can fail returns int: 0 on success or a negative
 * CHORUS_E* code. Human-readable detail is logged once, where the error is
 * handled, never at every level it passes through.
 */
#ifndef CHORUS_ERR_H
#define CHORUS_ERR_H

enum {
  CHORUS_OK = 0,
  CHORUS_ENOMEM = -1,   /* an allocation failed */
  CHORUS_EINVAL = -2,   /* a caller's argument or a client's input is invalid */
  CHORUS_ECORRUPT = -3, /* bytes failed validation: truncated, bad checksum, bad version */
  CHORUS_ETOOBIG = -4,  /* a size limit was exceeded */
  CHORUS_EIO = -5,      /* the operating system or LevelDB reported an error */
  CHORUS_ENOTFOUND = -6,
  CHORUS_EBUSY = -7,     /* the resource is held by someone else (data dir lock, full queue) */
  CHORUS_ESHUTDOWN = -8, /* the node is shutting down */
  CHORUS_EAGAIN = -9,    /* not yet: more input is needed (a partial frame) */
  CHORUS_ETIMEDOUT = -10, /* no answer in time */
  CHORUS_ENOTJOINED = -11, /* the node has seeds and has not joined their cluster yet */
  CHORUS_ETOOFEW = -12,    /* too few members would remain (a leave below N replicas) */
};

/* Static string naming the code; never NULL. */
const char *chorus_strerror(int err);

#endif
