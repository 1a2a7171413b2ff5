/*
 * ws_events.c - the "events" and "conflicts" messages of /ws, rendered from
 * the parts of one events gather (ws_push.c starts it) on a libuv worker.
 *
 * Decoding up to a thousand events per member, building their JSON,
 * sorting and serialising them take milliseconds; on the loop that would
 * delay SWIM's probe timeouts. So ws_push.c moves the pusher's memory (the
 * cursors, the last conflicts pushed) into a ws_render_t, a worker renders
 * here, and the loop takes the memory back with the finished frames and
 * only queues them. Nothing here reads server or loop state.
 *
 * Cursors: a member's cursor is the highest event id seen from it. A member
 * without one (every member at the pusher's start, a member that joins
 * later, a member whose log restarted: its count fell below the cursor) is
 * asked for its newest events, and only those stamped since the pusher
 * started are pushed. The events are listed and ordered exactly as GET
 * /api/v1/cluster/events lists them (events_json.c builds both).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "internal.h"
#include "ws_internal.h"

void ws_render_init(ws_render_t *r) {
  memset(r, 0, sizeof *r);
  buf_init(&r->events_frame);
  buf_init(&r->conflicts_frame);
}

void ws_render_free(ws_render_t *r) {
  free(r->cursors);
  free(r->conflicts_sig);
  buf_free(&r->events_frame);
  buf_free(&r->conflicts_frame);
  ws_render_init(r);
}

static ws_cursor_t *cursor_of(ws_render_t *r, const char *node) {
  for (size_t i = 0; i < r->n_cursors; i++)
    if (strcmp(r->cursors[i].node, node) == 0) return &r->cursors[i];
  if (r->n_cursors == r->cap_cursors) {
    size_t cap = r->cap_cursors ? 2 * r->cap_cursors : 8;
    ws_cursor_t *grown = realloc(r->cursors, cap * sizeof *grown);
    if (!grown) return NULL;
    r->cursors = grown;
    r->cap_cursors = cap;
  }
  ws_cursor_t *c = &r->cursors[r->n_cursors++];
  memset(c, 0, sizeof *c);
  snprintf(c->node, sizeof c->node, "%s", node);
  return c;
}

/* One member's part: its events past the cursor go to fresh, the cursor
 * moves. An event whose JSON cannot be built is left out, as the REST
 * route leaves it out. */
static int take_part(ws_render_t *r, const api_part_t *p, json_t *fresh) {
  ws_cursor_t *cur = cursor_of(r, p->node);
  if (!cur) return CHORUS_ENOMEM;
  const events_part_t *part = &p->part;
  if (cur->known && part->total < cur->last) { /* the member's log restarted: start over by time */
    cur->known = false;
    cur->last = 0;
  } else {
    uint64_t last = cur->last;
    for (size_t i = 0; i < part->n_events; i++) {
      const event_t *ev = &part->events[i];
      bool is_new = cur->known ? ev->id > cur->last : ev->ts_ms >= r->started_wall;
      if (is_new) json_array_append_new(fresh, api_event_json(ev));
      if (ev->id > last) last = ev->id;
    }
    cur->last = last;
    cur->known = true;
  }
  cur->total = part->total;
  return 0;
}

/* The cluster's conflicts (cl, borrowed): a message only when they differ
 * from the last pushed. */
static int render_conflicts(ws_render_t *r, json_t *cl) {
  char *sig = cl ? json_dumps(cl, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (!sig) return CHORUS_ENOMEM;
  if (r->conflicts_sig && strcmp(sig, r->conflicts_sig) == 0) {
    free(sig);
    return 0;
  }
  int rc = ws_message_frame("conflicts", json_pack("{s:O}", "conflicts", cl), &r->conflicts_frame);
  if (rc) {
    free(sig);
    return rc;
  }
  free(r->conflicts_sig);
  r->conflicts_sig = sig;
  return 0;
}

int ws_render_events(const coord_result_t *res, ws_render_t *r) {
  api_part_t *parts = api_parts_decode(res);
  json_t *fresh = json_array(), *by_key = json_object();
  int rc = parts && fresh && by_key ? 0 : CHORUS_ENOMEM;
  for (size_t i = 0; !rc && i < res->n_parts; i++) {
    if (parts[i].error) continue;
    rc = take_part(r, &parts[i], fresh);
    api_conflicts_add(by_key, &parts[i].part, parts[i].node);
  }
  api_parts_free(parts, res->n_parts);
  if (!rc && json_array_size(fresh)) {
    json_t *ordered = api_events_ordered(fresh);
    rc = ws_message_frame("events", ordered ? json_pack("{s:o}", "events", ordered) : NULL, &r->events_frame);
  }
  json_decref(fresh);
  json_t *cl = by_key ? api_conflicts_list(by_key) : NULL;
  if (!rc) rc = render_conflicts(r, cl);
  json_decref(cl);
  return rc;
}
