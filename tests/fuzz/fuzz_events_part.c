/*
 * fuzz_events_part.c - events_part_decode (a member's part of a
 * cluster-events gather, as a peer sends it) on arbitrary bytes.
 *
 * Whatever decodes must re-encode to exactly the input (a part has one
 * encoding: version-2 events only, ids and keys in order) and decode again.
 * The input is tried as given, and again with its last four bytes replaced
 * by the correct checksum so that mutations reach the parser behind the CRC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "replication/events_part.h"

#include "sealed.h"

static void check(const uint8_t *data, size_t size) {
  events_part_t p, again;
  buf_t out;
  events_part_init(&p);
  events_part_init(&again);
  buf_init(&out);
  if (events_part_decode(data, size, &p) == 0) {
    if (events_part_encode(&p, &out) != 0) abort();
    if (out.len != size || memcmp(out.data, data, size) != 0) abort();
    if (events_part_decode(out.data, out.len, &again) != 0) abort();
    if (again.n_events != p.n_events || again.n_conflicts != p.n_conflicts || again.total != p.total ||
        strcmp(again.node, p.node) != 0 || !vv_equal(&again.clock, &p.clock))
      abort();
  }
  events_part_free(&p);
  events_part_free(&again);
  buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_plain_and_sealed(data, size, check);
  return 0;
}
