/*
 * fuzz_treelog.c - the decoders of the tree's stored leaves (treelog.h) on
 * arbitrary bytes: the first byte picks a tree size, the rest is tried as
 * a journal entry and as a chunk.
 *
 * What decodes must name only segments inside the tree and re-encode to
 * exactly the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "storage/treelog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint32_t segments = 1u << (4 + data[0] % 21); /* 16 .. 2^24 */
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  buf_t out;
  buf_init(&out);
  treelog_entry_t e;
  if (treelog_entry_decode(p, n, segments, &e) == 0) {
    if (e.n == 0 || e.n > TREELOG_PAIRS_MAX) abort();
    size_t start = treelog_entry_begin(&out, e.keys);
    for (size_t i = 0; i < e.n; i++) {
      uint32_t s;
      uint64_t leaf;
      treelog_entry_pair(&e, i, &s, &leaf);
      if (s >= segments) abort();
      treelog_entry_add(&out, s, leaf);
    }
    treelog_entry_finish(&out, start, (uint32_t)e.n);
    if (out.err || out.len != n || memcmp(out.data, p, n) != 0) abort();
  }
  uint64_t leaves[TREELOG_CHUNK];
  size_t want = segments < TREELOG_CHUNK ? segments : TREELOG_CHUNK;
  if (treelog_chunk_decode(p, n, leaves, want) == 0) {
    buf_reset(&out);
    treelog_chunk_encode(&out, leaves, want);
    if (out.err || out.len != n || memcmp(out.data, p, n) != 0) abort();
  }
  buf_free(&out);
  return 0;
}
