/*
 * fuzz_swim_state.c - swim_state_decode on arbitrary bytes.
 *
 * Whatever decodes must re-encode to exactly the input; nothing may leak,
 * whether decoding succeeds or fails part-way through the members.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "gossip/swim_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  swim_state_t s;
  if (swim_state_decode(data, size, &s) != 0) {
    if (s.members || s.n) abort();
    return 0;
  }
  buf_t out;
  buf_init(&out);
  if (swim_state_encode(&s, &out) != 0) abort();
  if (out.len != size || memcmp(out.data, data, size) != 0) abort();
  buf_free(&out);
  free(s.members);
  return 0;
}
