/*
 * fuzz_event.c - event_decode on arbitrary bytes.
 *
 * Whatever decodes must re-encode and decode again to an equal event; a
 * version-2 input must re-encode to exactly the input (a version-1 one is
 * re-encoded as version 2, so only the event must survive). The input is tried as given, and again with its last four
 * bytes replaced by the correct checksum so that mutations reach the parser
 * behind the CRC.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "storage/event.h"

#include "sealed.h"

static bool same_event(const event_t *a, const event_t *b) {
  return a->id == b->id && a->type == b->type && a->ts_ms == b->ts_ms && strcmp(a->node, b->node) == 0 &&
         strcmp(a->peer, b->peer) == 0 &&
         a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len + 1) == 0 &&
         a->preview_len == b->preview_len && (a->preview == NULL) == (b->preview == NULL) &&
         (!a->preview || memcmp(a->preview, b->preview, a->preview_len + 1) == 0) &&
         vv_equal(&a->clock, &b->clock);
}

static void check(const uint8_t *data, size_t size) {
  event_t ev, again;
  buf_t out;
  event_init(&ev);
  event_init(&again);
  buf_init(&out);
  if (event_decode(data, size, &ev) == 0) {
    if (event_encode(&ev, &out) != 0) abort();
    bool current = data[2] == 2; /* it decoded, so the magic is there */
    if (current && (out.len != size || memcmp(out.data, data, size) != 0)) abort();
    if (!current && data[2] != 1) abort();
    if (event_decode(out.data, out.len, &again) != 0 || !same_event(&ev, &again)) abort();
    char hash[17];
    event_causal_hash(&ev, hash);
    if (strlen(hash) != 16) abort();
  }
  event_free(&ev);
  event_free(&again);
  buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_plain_and_sealed(data, size, check);
  return 0;
}
