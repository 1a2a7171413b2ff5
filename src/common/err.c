/* err.c - names of the CHORUS_E* codes (see err.h). */
#include "err.h"

const char *chorus_strerror(int err) {
  switch (err) {
  case CHORUS_OK: return "ok";
  case CHORUS_ENOMEM: return "out of memory";
  case CHORUS_EINVAL: return "invalid argument";
  case CHORUS_ECORRUPT: return "corrupt data";
  case CHORUS_ETOOBIG: return "too big";
  case CHORUS_EIO: return "i/o error";
  case CHORUS_ENOTFOUND: return "not found";
  case CHORUS_EBUSY: return "busy";
  case CHORUS_ESHUTDOWN: return "shutting down";
  case CHORUS_EAGAIN: return "more input needed";
  case CHORUS_ETIMEDOUT: return "timed out";
  case CHORUS_ENOTJOINED: return "not joined";
  case CHORUS_ETOOFEW: return "too few members would remain";
  default: return "unknown error";
  }
}
