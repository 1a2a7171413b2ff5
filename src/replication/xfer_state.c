/*
 * xfer_state.c - the codec of a node's transfer state (xfer_state.h).
 * Pure: no I/O. The encoder refuses what the decoder would refuse, so
 * whatever is written can be read back.
 */
#include "xfer_state.h"

#include <stdlib.h>
#include <string.h>

#include "../common/be.h"
#include "../common/crc32c.h"
#include "../common/err.h"

static const uint8_t MAGIC[3] = {'X', 'S', 1};
#define PULL_MIN 69 /* a stream's fixed fields with no sources and one range */

void xfer_state_free(xfer_state_t *s) {
  for (size_t i = 0; s->pulls && i < s->n; i++)
    free(s->pulls[i].ranges);
  free(s->pulls);
  memset(s, 0, sizeof *s);
}

static bool ranges_ok(const merkle_range_t *r, size_t n) {
  if (n < 1 || n > XFER_STATE_MAX_RANGES) return false;
  for (size_t i = 0; i < n; i++) {
    if (r[i].lo > r[i].hi) return false;
    if (i && (r[i - 1].hi == UINT64_MAX || r[i].lo <= r[i - 1].hi + 1)) return false;
  }
  return true;
}

static bool pull_ok(const xfer_pull_t *p) {
  if ((p->reason != XFER_JOIN && p->reason != XFER_REMOVE) || p->n_sources > PLAN_MAX_REPLICAS) return false;
  for (size_t i = 0; i < p->n_sources; i++)
    if (!node_id_valid(p->sources[i], strnlen(p->sources[i], NODE_ID_MAX + 1))) return false;
  const engine_cursor_t *c = &p->cursor;
  if (c->started ? c->key_len < 1 || c->key_len > ENGINE_KEY_MAX : c->key_len || c->token) return false;
  return ranges_ok(p->ranges, p->nr);
}

int xfer_state_encode(const xfer_state_t *s, buf_t *out) {
  if (s->phase > 2 || s->n > XFER_STATE_MAX_PULLS) return CHORUS_EINVAL;
  for (size_t i = 0; i < s->n; i++)
    if (!pull_ok(&s->pulls[i])) return CHORUS_EINVAL;
  size_t start = out->len;
  buf_put(out, MAGIC, sizeof MAGIC);
  buf_put_u8(out, s->phase);
  buf_put_u8(out, s->forced ? 1 : 0);
  buf_put_u64be(out, s->next_id);
  buf_put_u32be(out, (uint32_t)s->n);
  for (size_t i = 0; i < s->n; i++) {
    const xfer_pull_t *p = &s->pulls[i];
    buf_put_u64be(out, p->id);
    buf_put_u8(out, (uint8_t)p->reason);
    buf_put_u8(out, p->done ? 1 : 0);
    buf_put_u8(out, (uint8_t)p->n_sources);
    for (size_t k = 0; k < p->n_sources; k++) {
      size_t len = strlen(p->sources[k]);
      buf_put_u8(out, (uint8_t)len);
      buf_put(out, p->sources[k], len);
    }
    buf_put_u32be(out, (uint32_t)p->nr);
    for (size_t k = 0; k < p->nr; k++) {
      buf_put_u64be(out, p->ranges[k].lo);
      buf_put_u64be(out, p->ranges[k].hi);
    }
    buf_put_u8(out, p->cursor.started ? 1 : 0);
    buf_put_u64be(out, p->cursor.token);
    buf_put_u16be(out, (uint16_t)p->cursor.key_len);
    buf_put(out, p->cursor.key, p->cursor.key_len);
    buf_put_u64be(out, p->keys);
    buf_put_u64be(out, p->bytes);
    buf_put_u64be(out, p->started_ms);
    buf_put_u64be(out, p->finished_ms);
  }
  if (!out->err) buf_put_u32be(out, crc32c(0, out->data + start, out->len - start));
  return out->err;
}

static bool read_bool(buf_reader_t *r) {
  uint8_t b = buf_read_u8(r);
  if (b > 1) r->err = CHORUS_ECORRUPT;
  return b == 1;
}

static void read_pull(buf_reader_t *r, xfer_pull_t *p) {
  p->id = buf_read_u64be(r);
  p->reason = (xfer_reason_t)buf_read_u8(r);
  p->done = read_bool(r);
  p->n_sources = buf_read_u8(r);
  if (p->n_sources > PLAN_MAX_REPLICAS) r->err = CHORUS_ECORRUPT;
  for (size_t k = 0; k < p->n_sources && !r->err; k++) {
    uint8_t len = buf_read_u8(r);
    const uint8_t *id = len <= NODE_ID_MAX ? buf_read_raw(r, len) : NULL;
    if (!id || !node_id_valid((const char *)id, len)) {
      r->err = CHORUS_ECORRUPT;
      break;
    }
    memcpy(p->sources[k], id, len);
    p->sources[k][len] = '\0';
  }
  uint32_t nr = buf_read_u32be(r);
  if (r->err || nr < 1 || nr > XFER_STATE_MAX_RANGES || nr > r->left / 16) {
    r->err = CHORUS_ECORRUPT;
    return;
  }
  if (!(p->ranges = malloc(nr * sizeof *p->ranges))) {
    r->err = CHORUS_ENOMEM;
    return;
  }
  p->nr = nr;
  for (size_t k = 0; k < nr; k++) {
    p->ranges[k].lo = buf_read_u64be(r);
    p->ranges[k].hi = buf_read_u64be(r);
  }
  p->cursor.started = read_bool(r);
  p->cursor.token = buf_read_u64be(r);
  uint16_t klen = buf_read_u16be(r);
  const uint8_t *key = klen <= ENGINE_KEY_MAX ? buf_read_raw(r, klen) : NULL;
  if (klen > ENGINE_KEY_MAX || (klen && !key)) {
    r->err = CHORUS_ECORRUPT;
    return;
  }
  if (klen) memcpy(p->cursor.key, key, klen);
  p->cursor.key_len = klen;
  p->keys = buf_read_u64be(r);
  p->bytes = buf_read_u64be(r);
  p->started_ms = buf_read_u64be(r);
  p->finished_ms = buf_read_u64be(r);
  if (!r->err && !pull_ok(p)) r->err = CHORUS_ECORRUPT;
}

int xfer_state_decode(const void *p, size_t len, xfer_state_t *s) {
  memset(s, 0, sizeof *s);
  if (len < sizeof MAGIC + 4 || be_get_u32((const uint8_t *)p + len - 4) != crc32c(0, p, len - 4))
    return CHORUS_ECORRUPT;
  buf_reader_t r;
  buf_reader_init(&r, p, len - 4);
  const uint8_t *m = buf_read_raw(&r, sizeof MAGIC);
  if (!m || memcmp(m, MAGIC, sizeof MAGIC) != 0) return CHORUS_ECORRUPT;
  s->phase = buf_read_u8(&r);
  uint8_t flags = buf_read_u8(&r);
  s->forced = flags & 1;
  s->next_id = buf_read_u64be(&r);
  uint32_t n = buf_read_u32be(&r);
  if (r.err || s->phase > 2 || flags > 1 || n > XFER_STATE_MAX_PULLS || n > r.left / PULL_MIN)
    return CHORUS_ECORRUPT;
  if (n && !(s->pulls = calloc(n, sizeof *s->pulls))) return CHORUS_ENOMEM;
  for (size_t i = 0; i < n && !r.err; i++) {
    s->n = i + 1;
    read_pull(&r, &s->pulls[i]);
  }
  if (!r.err && r.left) r.err = CHORUS_ECORRUPT;
  if (r.err) {
    int rc = r.err == CHORUS_ENOMEM ? CHORUS_ENOMEM : CHORUS_ECORRUPT;
    xfer_state_free(s);
    return rc;
  }
  return 0;
}
