import { scaleTime, type ScaleTime } from 'd3';
import type { TEvent } from './events';

/** Orders node ids naturally: node-2 before node-10. */
export function compareNodeIds(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
}

/** One lane per node: the members, plus any node that only appears in events. */
export function laneNodes(members: readonly string[], events: readonly TEvent[]): string[] {
  const s = new Set(members);
  for (const e of events) s.add(e.node_id);
  return Array.from(s).sort(compareNodeIds);
}

export interface LaneLayout {
  nodes: string[];
  /** Centre line of each node's lane. */
  y: Map<string, number>;
  laneHeight: number;
  top: number;
  bottom: number;
}

/**
 * Stacks lanes from `top` down within `height`; a lane is at most `maxLane`
 * and at least `minLane` pixels tall (so many nodes overflow rather than shrink
 * to nothing).
 */
export function layoutLanes(nodes: readonly string[], top: number, height: number, maxLane = 110, minLane = 22): LaneLayout {
  const n = Math.max(1, nodes.length);
  const laneHeight = Math.max(minLane, Math.min(maxLane, height / n));
  const y = new Map<string, number>();
  nodes.forEach((node, i) => y.set(node, top + laneHeight * (i + 0.5)));
  return { nodes: [...nodes], y, laneHeight, top, bottom: top + laneHeight * nodes.length };
}

/** The lane whose band contains pixel row `py`, or null. */
export function laneAt(layout: LaneLayout, py: number): string | null {
  const i = Math.floor((py - layout.top) / layout.laneHeight);
  return i >= 0 && i < layout.nodes.length ? layout.nodes[i] : null;
}

/**
 * Drawing times: the event's time, nudged by a tenth of a millisecond for
 * each earlier event of the same lane in the same millisecond, so events that
 * share a timestamp separate when zoomed in and keep their order.
 */
export function drawTimes(events: readonly TEvent[]): Float64Array {
  const tx = new Float64Array(events.length);
  const last = new Map<string, { t: number; n: number }>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const l = last.get(e.node_id);
    if (l && l.t === e.t) {
      l.n++;
      tx[i] = e.t + Math.min(l.n, 9) * 0.1;
    } else {
      last.set(e.node_id, { t: e.t, n: 0 });
      tx[i] = e.t;
    }
  }
  return tx;
}

/** Index of the first element of a sorted array that is >= v. */
export function lowerBound(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** [start, end) indices of the times that fall within [t0, t1]. */
export function visibleRange(sortedTimes: ArrayLike<number>, t0: number, t1: number): [number, number] {
  return [lowerBound(sortedTimes, t0), lowerBound(sortedTimes, t1 + 1e-9)];
}

/** The time span of the events, padded so single events are not on the edge. */
export function timeExtent(events: readonly TEvent[], padFraction = 0.04, minSpanMs = 1000): [number, number] {
  if (events.length === 0) {
    const now = Date.now();
    return [now - 60000, now];
  }
  let t0 = events[0].t;
  let t1 = events[events.length - 1].t;
  if (t1 - t0 < minSpanMs) {
    const mid = (t0 + t1) / 2;
    t0 = mid - minSpanMs / 2;
    t1 = mid + minSpanMs / 2;
  }
  const pad = (t1 - t0) * padFraction;
  return [t0 - pad, t1 + pad];
}

/** Time (ms) -> x pixel. */
export function xScale(domain: [number, number], range: [number, number]): ScaleTime<number, number> {
  return scaleTime().domain([new Date(domain[0]), new Date(domain[1])]).range(range);
}

/** A window of the same span that ends at `end` (follow-live mode). */
export function followWindow(current: [number, number], end: number, rightPadFraction = 0.03): [number, number] {
  const span = current[1] - current[0];
  const t1 = end + span * rightPadFraction;
  return [t1 - span, t1];
}

/** Events per lane. */
export function laneCounts(events: readonly TEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) m.set(e.node_id, (m.get(e.node_id) ?? 0) + 1);
  return m;
}
