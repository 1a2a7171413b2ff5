import type { TEvent } from './events';

/** A message between nodes: `from` is the sender's event, `to` the event it caused. */
export interface Arrow {
  from: TEvent;
  to: TEvent;
}

/**
 * Events whose `peer` names the node the message came from. `hint_stored`
 * names the node the hint is for instead, so it draws no arrow.
 */
export function peerIsSender(type: string): boolean {
  return type !== 'hint_stored';
}

/** A node's own entry in an event's clock: the count of its own events so far. */
export function ownCounter(e: TEvent): number {
  return e.vector_clock.clocks[e.node_id] ?? 0;
}

/**
 * Matches every event caused by a message to the sender's event.
 *
 * Every message carries the sender's clock, and the receiving event's clock
 * includes it, so clock[peer] of the receiving event is the number of the
 * peer's own events the message had seen. The send is the latest event on the
 * peer's lane whose own entry equals it (the peer's event with that counter).
 * Events sorted by time in, arrows in the order of their receiving events out.
 * An event whose sender's event is not in the log (trimmed, or not loaded)
 * gets no arrow.
 */
export function matchArrows(events: readonly TEvent[]): Arrow[] {
  const byNode = new Map<string, Map<number, TEvent>>();
  for (const e of events) {
    let m = byNode.get(e.node_id);
    if (!m) byNode.set(e.node_id, (m = new Map()));
    const c = ownCounter(e);
    const prev = m.get(c);
    if (!prev || prev.t <= e.t) m.set(c, e);
  }
  const out: Arrow[] = [];
  for (const e of events) {
    const peer = e.peer;
    if (!peer || peer === e.node_id || !peerIsSender(e.type)) continue;
    const seen = e.vector_clock.clocks[peer];
    if (!seen) continue;
    const from = byNode.get(peer)?.get(seen);
    if (from) out.push({ from, to: e });
  }
  return out;
}
