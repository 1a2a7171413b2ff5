/*
 * fuzz_xfer_state.c - xfer_state_decode (a node's transfer state on disk,
 * xfer_state.h) on arbitrary bytes.
 *
 * Whatever decodes must encode back to exactly the input: the format has
 * one encoding per state, and the checksum covers every byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "replication/xfer_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  xfer_state_t s;
  if (xfer_state_decode(data, size, &s) != 0) {
    if (s.pulls || s.n) abort(); /* a refusal leaves nothing behind */
    return 0;
  }
  buf_t out;
  buf_init(&out);
  if (xfer_state_encode(&s, &out) != 0 || out.len != size || memcmp(out.data, data, size) != 0) abort();
  buf_free(&out);
  xfer_state_free(&s);
  return 0;
}
