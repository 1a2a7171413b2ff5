/*
 * transfers.c - GET /api/v1/transfers: this node's ownership transfers
 * (DESIGN §9), as `riak-admin transfers` shows them: its phase, each range
 * stream in progress or done (the ranges, the peer, keys and bytes moved,
 * the rate, an ETA), and what it handed off. The same object is the
 * "transfers" part of /api/v1/status.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *reason_name(xfer_reason_t r) {
  return r == XFER_JOIN ? "join" : r == XFER_REMOVE ? "remove" : "unknown";
}

static json_t *entry_json(const xfer_entry_t *e) {
  /* the ETA assumes the rest of the ranges hold keys as densely as the part done */
  json_t *eta = json_null();
  if (!e->done && e->rate > 0 && e->tokens_done > 0 && e->tokens > e->tokens_done) {
    double left = (double)e->bytes * (double)(e->tokens - e->tokens_done) / (double)e->tokens_done;
    eta = json_real(left / e->rate);
  }
  double progress = e->tokens ? (double)e->tokens_done / (double)e->tokens : 1.0;
  return json_pack("{s:I,s:s,s:s,s:s,s:I,s:f,s:I,s:I,s:f,s:o,s:I,s:I,s:I}", "id", (json_int_t)e->id, "kind",
                   reason_name(e->reason), "state",
                   e->done       ? "done"
                   : e->running  ? "running"
                   : e->failures ? "retrying"
                                 : "waiting",
                   "peer", e->peer, "ranges", (json_int_t)e->ranges, "progress", progress, "keys",
                   (json_int_t)e->keys, "bytes", (json_int_t)e->bytes, "rate_bytes_per_s",
                   e->done ? 0.0 : e->rate, "eta_s", eta, "started_at_ms", (json_int_t)e->started_ms,
                   "finished_at_ms", (json_int_t)e->finished_ms, "failures", (json_int_t)e->failures);
}

json_t *api_transfers_json(api_server_t *s) {
  if (!s->coord) return NULL;
  xfer_status_t *st = malloc(sizeof *st);
  if (!st) return NULL;
  coord_xfer_status(s->coord, st);
  json_t *in = json_array();
  size_t running = 0;
  for (size_t i = 0; in && i < st->n; i++) {
    json_array_append_new(in, entry_json(&st->entries[i]));
    running += !st->entries[i].done;
  }
  const xfer_counters_t *k = &st->counters;
  json_t *o = json_pack(
      "{s:s,s:s,s:b,s:I,s:o*,s:{s:b,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I}}", "node_id", s->node_id, "phase",
      swim_phase_name((swim_phase_t)st->phase), "refusing_writes", st->refusing, "streams_running",
      (json_int_t)running, "streams", in, "handoff", "running", st->sweeping, "passes", (json_int_t)k->passes,
      "keys_sent", (json_int_t)k->keys_out, "bytes_sent", (json_int_t)k->bytes_out, "keys_dropped",
      (json_int_t)k->keys_dropped, "totals", "keys_received", (json_int_t)k->keys_in, "bytes_received",
      (json_int_t)k->bytes_in, "keys_sent", (json_int_t)k->keys_out, "failures", (json_int_t)k->failures);
  free(st);
  return o;
}

enum MHD_Result api_transfers(api_req_t *r) {
  if (r->method != METHOD_GET && r->method != METHOD_HEAD) {
    r->allow = "GET";
    return api_send_error3(r, 405, "method_not_allowed", "this route does not accept that method");
  }
  if (!r->srv->coord) return api_send_error3(r, 503, "unavailable", "the replication service is not running");
  json_t *o = api_transfers_json(r->srv);
  return o ? api_send_json(r, 200, o) : api_send_error3(r, 500, "internal", "out of memory");
}
