/*
 * fuzz_swim_packet.c - swim_msg_decode on arbitrary bytes.
 *
 * Whatever decodes must re-encode to exactly the input (the encoding is
 * canonical), and its length must stay within the budget the size functions
 * promise the protocol core: base size plus the size of every update.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "gossip/swim_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static swim_msg_t m;
  if (swim_msg_decode(data, size, &m) != 0) return 0;
  buf_t out;
  buf_init(&out);
  if (swim_msg_encode(&m, &out) != 0) abort();
  if (out.len != size || memcmp(out.data, data, size) != 0) abort();
  size_t bound = swim_msg_base_size(&m);
  for (size_t i = 0; i < m.n_updates; i++)
    bound += swim_update_encoded_size(&m.updates[i]);
  if (out.len > bound) abort();
  buf_free(&out);
  return 0;
}
