import type { ClusterEvent } from '../api/types';

/** A cluster event with its parsed time and its identity (node_id + id). */
export interface TEvent extends ClusterEvent {
  /** Milliseconds since the epoch. */
  t: number;
  /** `${node_id}#${id}`: unique across the cluster. */
  uid: string;
}

export function eventUid(e: { node_id: string; id: number }): string {
  return `${e.node_id}#${e.id}`;
}

export function toTEvent(e: ClusterEvent): TEvent {
  const t = Date.parse(e.timestamp);
  return { ...e, t: Number.isFinite(t) ? t : 0, uid: eventUid(e) };
}

/** The order of GET /api/v1/cluster/events: timestamp, then node, then id. */
export function compareEvents(a: TEvent, b: TEvent): number {
  if (a.t !== b.t) return a.t - b.t;
  if (a.node_id !== b.node_id) return a.node_id < b.node_id ? -1 : 1;
  return a.id - b.id;
}

export interface EventLog {
  /** Sorted by compareEvents, without duplicates. */
  events: TEvent[];
  byUid: Map<string, TEvent>;
}

export function emptyLog(): EventLog {
  return { events: [], byUid: new Map() };
}

export interface MergeResult {
  log: EventLog;
  /** Events that were not known before, in order. */
  added: TEvent[];
}

/**
 * Merges incoming events into a log: drops duplicates (same node_id and id),
 * keeps the log sorted and at most `max` events long (the oldest go first).
 * An event whose id is known with another causal_hash replaces the old one
 * (the node's log was wiped and its ids started again).
 * Returns the same log object when nothing changed.
 */
export function mergeEvents(log: EventLog, incoming: ClusterEvent[], max = 20000): MergeResult {
  const added: TEvent[] = [];
  let replaced = false;
  const byUid = new Map(log.byUid);
  for (const raw of incoming) {
    const uid = eventUid(raw);
    const old = byUid.get(uid);
    if (old) {
      if (old.causal_hash === raw.causal_hash) continue;
      replaced = true;
    }
    const e = toTEvent(raw);
    byUid.set(uid, e);
    added.push(e);
  }
  if (added.length === 0) return { log, added };
  let events: TEvent[];
  if (replaced) {
    events = Array.from(byUid.values());
    events.sort(compareEvents);
  } else {
    added.sort(compareEvents);
    const last = log.events[log.events.length - 1];
    if (!last || compareEvents(last, added[0]) <= 0) {
      events = log.events.concat(added);
    } else {
      events = mergeSorted(log.events, added);
    }
  }
  if (events.length > max) {
    const drop = events.length - max;
    for (let i = 0; i < drop; i++) byUid.delete(events[i].uid);
    events = events.slice(drop);
  }
  added.sort(compareEvents);
  return { log: { events, byUid }, added };
}

function mergeSorted(a: TEvent[], b: TEvent[]): TEvent[] {
  const out: TEvent[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = compareEvents(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** Per node, the highest event id the log holds. */
export function maxIdByNode(events: TEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) if ((m.get(e.node_id) ?? 0) < e.id) m.set(e.node_id, e.id);
  return m;
}

/**
 * The `since` to poll GET /api/v1/cluster/events with (0: no `since`, the
 * newest `limit` events of each member). `since` applies to every member, so
 * it is the lowest of the members' newest known ids, and the members' new
 * events all come back (duplicates are dropped by mergeEvents) as long as no
 * member is `limit` or more ids ahead of another; otherwise 0, so a member far
 * ahead is not answered with old events only.
 */
export function pollSince(events: TEvent[], nodes: string[], limit = 1000): number {
  if (nodes.length === 0) return 0;
  const m = maxIdByNode(events);
  let lo = Infinity;
  let hi = 0;
  for (const n of nodes) {
    const v = m.get(n) ?? 0;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo) || hi - lo >= limit) return 0;
  return lo;
}

/** How the timeline colours an event: client requests, anti-entropy repairs and tombstone collections each their own, the rest alike. */
export type EventKind = 'put' | 'get' | 'delete' | 'repair' | 'reap' | 'other';

export function eventKind(type: string): EventKind {
  if (type === 'put' || type === 'get' || type === 'delete' || type === 'repair' || type === 'reap') return type;
  return 'other';
}
