import { matchArrows, type Arrow } from '../model/arrows';
import type { TEvent } from '../model/events';
import { drawTimes, laneCounts } from '../model/lanes';

/** What the timeline draws, derived once per change of its events or perspective. */
export interface TimelineModel {
  /** The events of the shown lanes, in time order. */
  events: TEvent[];
  /** Drawing time of each event (same-millisecond events spread a little), sorted. */
  tx: Float64Array;
  /** Index of each event in `events`, by uid. */
  index: Map<string, number>;
  /** Per lane, the indices of its events in time order (for hit testing). */
  byLane: Map<string, number[]>;
  arrows: Arrow[];
  /** For each arrow, the index of its sender and receiver in `events`. */
  arrowIdx: Int32Array;
  counts: Map<string, number>;
}

/**
 * Keeps the events of the `shown` lanes (all when null) and matches the
 * arrows among them; an arrow from or to a hidden lane is left out.
 */
export function buildTimelineModel(all: readonly TEvent[], shown: ReadonlySet<string> | null): TimelineModel {
  const events = shown ? all.filter((e) => shown.has(e.node_id)) : all.slice();
  const tx = drawTimes(events);
  // drawTimes only moves an event by < 1 ms within its lane: keep tx sorted for binary search.
  let sorted = true;
  for (let i = 1; i < tx.length; i++) if (tx[i] < tx[i - 1]) sorted = false;
  let order: number[] | null = null;
  if (!sorted) {
    order = Array.from(tx.keys()).sort((a, b) => tx[a] - tx[b]);
  }
  const ev = order ? order.map((i) => events[i]) : events;
  const t = order ? Float64Array.from(order, (i) => tx[i]) : tx;
  const index = new Map<string, number>();
  const byLane = new Map<string, number[]>();
  for (let i = 0; i < ev.length; i++) {
    index.set(ev[i].uid, i);
    let l = byLane.get(ev[i].node_id);
    if (!l) byLane.set(ev[i].node_id, (l = []));
    l.push(i);
  }
  const arrows = matchArrows(ev);
  const arrowIdx = new Int32Array(arrows.length * 2);
  arrows.forEach((a, k) => {
    arrowIdx[2 * k] = index.get(a.from.uid) ?? -1;
    arrowIdx[2 * k + 1] = index.get(a.to.uid) ?? -1;
  });
  return { events: ev, tx: t, index, byLane, arrows, arrowIdx, counts: laneCounts(ev) };
}

/** The event nearest to (t, lane) within `maxDt` ms, or -1. */
export function nearestEvent(m: TimelineModel, lane: string | null, t: number, maxDt: number): number {
  if (!lane) return -1;
  const l = m.byLane.get(lane);
  if (!l || l.length === 0) return -1;
  let lo = 0;
  let hi = l.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (m.tx[l[mid]] < t) lo = mid + 1;
    else hi = mid;
  }
  let best = -1;
  let bestD = maxDt;
  for (const k of [lo - 1, lo, lo + 1]) {
    if (k < 0 || k >= l.length) continue;
    const d = Math.abs(m.tx[l[k]] - t);
    if (d <= bestD) {
      bestD = d;
      best = l[k];
    }
  }
  return best;
}
