/*
 * fuzz_peer_frame.c - arbitrary bytes as a received peer stream: cut into
 * frames by peer_frame_split, each payload given to peer_msg_decode.
 *
 * Splitting must report exactly the prefix and payload it consumed and stop
 * cleanly at a partial or oversized frame. Whatever decodes must re-encode
 * to exactly its payload (the encoding is canonical), and that re-encoding
 * must decode to the same message again.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "replication/peer_codec.h"

/* Far below PEER_FRAME_MAX, so that oversized prefixes are reached too. */
#define FUZZ_MAX_PAYLOAD (64u * 1024)

static void check_payload(const uint8_t *payload, size_t len) {
  static peer_msg_t m, again;
  static bool ready;
  if (!ready) {
    peer_msg_init(&m);
    peer_msg_init(&again);
    ready = true;
  }
  if (peer_msg_decode(payload, len, &m) != 0) return;
  buf_t out;
  buf_init(&out);
  if (peer_msg_encode(&m, &out) != 0 || out.len != len || memcmp(out.data, payload, len) != 0) abort();
  if (peer_msg_decode(out.data, out.len, &again) != 0 || again.type != m.type || again.req_id != m.req_id ||
      strcmp(again.from, m.from) != 0 || !vv_equal(&again.clock, &m.clock))
    abort();
  buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t off = 0;
  for (;;) {
    const uint8_t *payload;
    size_t len, consumed;
    int rc = peer_frame_split(data + off, size - off, FUZZ_MAX_PAYLOAD, &payload, &len, &consumed);
    if (rc == CHORUS_EAGAIN || rc == CHORUS_ETOOBIG) break;
    if (rc != 0 || payload != data + off + PEER_FRAME_PREFIX || consumed != PEER_FRAME_PREFIX + len ||
        consumed > size - off)
      abort();
    off += consumed;
    check_payload(payload, len);
  }
  return 0;
}
