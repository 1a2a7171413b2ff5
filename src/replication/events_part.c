/*
 * events_part.c - the codec of a member's part of a cluster-events gather
 * (layout and invariants in events_part.h).
 *
 * Same framing as records, events and request-log entries: magic and
 * version, fields, a CRC-32C trailer checked before anything is parsed. The
 * encoder and the decoder check the same invariants (valid_conflict,
 * ids_ordered), so every part written can be read back. The decoder never
 * allocates more entries than the bytes left could hold (read_count).
 */
#include "events_part.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/utf8.h"
#include "../storage/record.h"

static const uint8_t part_magic[3] = {'C', 'G', EVENTS_PART_VERSION};

void events_part_init(events_part_t *p) {
  memset(p, 0, sizeof *p);
  vv_init(&p->clock);
}

void events_part_free(events_part_t *p) {
  for (size_t i = 0; i < p->n_events; i++)
    event_free(&p->events[i]);
  free(p->events);
  for (size_t i = 0; i < p->n_conflicts; i++)
    free(p->conflicts[i].key);
  free(p->conflicts);
  vv_free(&p->clock);
  events_part_init(p);
}

/* LevelDB's default order: bytewise, a prefix before its extensions. */
static int key_cmp(const char *a, size_t a_len, const char *b, size_t b_len) {
  int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
  return c ? c : (a_len > b_len) - (a_len < b_len);
}

/* Conflict i, given that every one before it is valid. */
static bool valid_conflict(const events_part_conflict_t *cs, size_t i) {
  const events_part_conflict_t *c = &cs[i];
  if (!c->key || c->key_len < 1 || c->key_len > EVENT_KEY_MAX || memchr(c->key, 0, c->key_len) ||
      !utf8_valid(c->key, c->key_len) || c->siblings > RECORD_MAX_SIBLINGS)
    return false;
  return i == 0 || key_cmp(cs[i - 1].key, cs[i - 1].key_len, c->key, c->key_len) < 0;
}

static bool ids_ordered(const event_t *evs, size_t i) {
  return i == 0 || evs[i - 1].id < evs[i].id;
}

/* What event_encode writes now ('C' 'E' EVENT_VERSION ...): a version-1
 * event would re-encode to other bytes. */
static bool current_event(const uint8_t *b, size_t len) {
  return b && len >= 3 && b[2] == EVENT_VERSION;
}

static int encode_events(const events_part_t *p, buf_t *out) {
  buf_t ev;
  buf_init(&ev);
  int rc = 0;
  buf_put_varint(out, p->n_events);
  for (size_t i = 0; i < p->n_events && !rc; i++) {
    buf_reset(&ev);
    rc = ids_ordered(p->events, i) ? event_encode(&p->events[i], &ev) : CHORUS_EINVAL;
    if (!rc && ev.len > EVENTS_PART_EVENT_MAX) rc = CHORUS_ETOOBIG;
    if (!rc) buf_put_lbytes(out, ev.data, ev.len);
  }
  buf_free(&ev);
  return rc;
}

int events_part_encode(const events_part_t *p, buf_t *out) {
  if (!vv_node_valid(p->node, strnlen(p->node, sizeof p->node)) || p->clock.n > VV_MAX_ENTRIES ||
      p->n_events > EVENTS_PART_MAX_EVENTS || (p->n_events && !p->events) ||
      p->n_conflicts > EVENTS_PART_MAX_CONFLICTS || (p->n_conflicts && !p->conflicts))
    return CHORUS_EINVAL;
  for (size_t i = 0; i < p->n_conflicts; i++)
    if (!valid_conflict(p->conflicts, i)) return CHORUS_EINVAL;
  size_t start = out->len;
  buf_put(out, part_magic, sizeof part_magic);
  vv_encode_node(p->node, out);
  vv_encode(&p->clock, out);
  buf_put_varint(out, p->total);
  int rc = encode_events(p, out);
  buf_put_varint(out, p->n_conflicts);
  for (size_t i = 0; i < p->n_conflicts; i++) {
    buf_put_lbytes(out, p->conflicts[i].key, p->conflicts[i].key_len);
    buf_put_varint(out, p->conflicts[i].siblings);
  }
  buf_put_crc32c(out, start);
  if (!rc) rc = out->err;
  if (!rc && out->len - start > EVENTS_PART_MAX_BYTES) rc = CHORUS_ETOOBIG;
  if (rc) out->len = start;
  return rc;
}

/* A count of entries: at most max, and at most the bytes left (each entry
 * takes one at least), so what is allocated for it is bounded by the input. */
static int read_count(buf_reader_t *r, size_t max, size_t *n) {
  uint64_t v = buf_read_varint(r);
  if (r->err || v > max || v > r->left) return CHORUS_ECORRUPT;
  *n = (size_t)v;
  return 0;
}

/* Fills out->events; out->n_events counts the entries initialised so far,
 * so events_part_free releases exactly those on any error. */
static int decode_events(buf_reader_t *r, events_part_t *out) {
  size_t n;
  int rc = read_count(r, EVENTS_PART_MAX_EVENTS, &n);
  if (rc || n == 0) return rc;
  if (!(out->events = calloc(n, sizeof *out->events))) return CHORUS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    const uint8_t *b = buf_read_lbytes(r, EVENTS_PART_EVENT_MAX, &len);
    if (!current_event(b, len)) return CHORUS_ECORRUPT;
    event_init(&out->events[i]);
    out->n_events = i + 1;
    rc = event_decode(b, len, &out->events[i]);
    if (rc) return rc;
    if (!ids_ordered(out->events, i)) return CHORUS_ECORRUPT;
  }
  return 0;
}

/* Fills out->conflicts, counted in out->n_conflicts as for decode_events. */
static int decode_conflicts(buf_reader_t *r, events_part_t *out) {
  size_t n;
  int rc = read_count(r, EVENTS_PART_MAX_CONFLICTS, &n);
  if (rc || n == 0) return rc;
  if (!(out->conflicts = calloc(n, sizeof *out->conflicts))) return CHORUS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    events_part_conflict_t *c = &out->conflicts[i];
    size_t len = 0;
    const uint8_t *key = buf_read_lbytes(r, EVENT_KEY_MAX, &len);
    uint64_t siblings = buf_read_varint(r);
    if (r->err || siblings > RECORD_MAX_SIBLINGS) return CHORUS_ECORRUPT;
    c->key = malloc(len + 1);
    if (!c->key) return CHORUS_ENOMEM;
    out->n_conflicts = i + 1;
    memcpy(c->key, key, len);
    c->key[len] = '\0';
    c->key_len = len;
    c->siblings = (uint32_t)siblings;
    if (!valid_conflict(out->conflicts, i)) return CHORUS_ECORRUPT;
  }
  return 0;
}

int events_part_decode(const void *p, size_t len, events_part_t *out) {
  events_part_free(out);
  size_t body_len;
  if (len > EVENTS_PART_MAX_BYTES || buf_check_crc32c(p, len, &body_len)) return CHORUS_ECORRUPT;
  buf_reader_t r;
  buf_reader_init(&r, p, body_len);
  const uint8_t *magic = buf_read_raw(&r, sizeof part_magic);
  int rc = !magic || memcmp(magic, part_magic, sizeof part_magic) != 0 ? CHORUS_ECORRUPT : 0;
  if (!rc) rc = vv_decode_node(&r, out->node);
  if (!rc) rc = vv_decode(&r, &out->clock);
  if (!rc) {
    out->total = buf_read_varint(&r);
    rc = r.err;
  }
  if (!rc) rc = decode_events(&r, out);
  if (!rc) rc = decode_conflicts(&r, out);
  if (!rc && (r.err || r.left)) rc = CHORUS_ECORRUPT;
  if (rc) events_part_free(out);
  return rc;
}
