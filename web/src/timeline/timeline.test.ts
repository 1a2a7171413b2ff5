import { describe, expect, it } from 'vitest';
import { matchArrows } from '../model/arrows';
import { causalSets } from '../model/causal';
import { compareEvents, emptyLog, mergeEvents, toTEvent } from '../model/events';
import { buildTimelineModel, nearestEvent } from './model';
import { syntheticEvents } from './synthetic';

describe('syntheticEvents', () => {
  const raw = syntheticEvents({ count: 2000, nodes: 4, start: Date.UTC(2026, 0, 1), seed: 7 });
  const events = raw.map(toTEvent);

  it('makes exactly count events in cluster order, with unique ids', () => {
    expect(raw).toHaveLength(2000);
    for (let i = 1; i < events.length; i++) expect(compareEvents(events[i - 1], events[i])).toBeLessThanOrEqual(0);
    expect(new Set(events.map((e) => e.uid)).size).toBe(2000);
  });

  it("keeps each node's own clock entry equal to its event id", () => {
    for (const e of events) expect(e.vector_clock.clocks[e.node_id]).toBe(e.id);
  });

  it('gives every received message a sender event in the log', () => {
    const withPeer = events.filter((e) => e.peer);
    const arrows = matchArrows(events);
    // the last few messages may come from events cut off by `count`
    expect(arrows.length).toBeGreaterThan(withPeer.length * 0.99);
    for (const a of arrows) expect(causalSets([a.from], a.to).past.has(a.from.uid)).toBe(true);
  });

  it('is deterministic for a seed', () => {
    expect(syntheticEvents({ count: 50, seed: 1, start: 0 })).toEqual(syntheticEvents({ count: 50, seed: 1, start: 0 }));
  });
});

describe('buildTimelineModel', () => {
  const log = mergeEvents(emptyLog(), syntheticEvents({ count: 10000, nodes: 5, start: Date.UTC(2026, 0, 1), seed: 3 }), 20000).log;

  it('derives 10,000 events quickly, sorted by drawing time', () => {
    const t0 = performance.now();
    const m = buildTimelineModel(log.events, null);
    const ms = performance.now() - t0;
    expect(m.events).toHaveLength(10000);
    for (let i = 1; i < m.tx.length; i++) expect(m.tx[i]).toBeGreaterThanOrEqual(m.tx[i - 1]);
    expect(m.arrows.length).toBeGreaterThan(5000);
    expect(ms).toBeLessThan(500);
  });

  it('keeps only the perspective lanes and the arrows among them', () => {
    const m = buildTimelineModel(log.events, new Set(['node-1', 'node-2']));
    expect(new Set(m.events.map((e) => e.node_id))).toEqual(new Set(['node-1', 'node-2']));
    for (const a of m.arrows) {
      expect(['node-1', 'node-2']).toContain(a.from.node_id);
      expect(['node-1', 'node-2']).toContain(a.to.node_id);
    }
    expect([...m.counts.values()].reduce((a, b) => a + b, 0)).toBe(m.events.length);
  });

  it('finds the nearest event of a lane within the tolerance', () => {
    const m = buildTimelineModel(log.events, null);
    const i = m.byLane.get('node-3')![10];
    expect(nearestEvent(m, 'node-3', m.tx[i] + 0.01, 5)).toBe(i);
    expect(nearestEvent(m, 'node-3', m.tx[i] - 1e9, 5)).toBe(-1);
    expect(nearestEvent(m, null, m.tx[i], 5)).toBe(-1);
    expect(nearestEvent(m, 'nope', m.tx[i], 5)).toBe(-1);
  });
});
