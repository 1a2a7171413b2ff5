import { describe, expect, it } from 'vitest';
import fixture from '../test-fixtures/cluster-events.json';
import type { ClusterEvent } from '../api/types';
import { matchArrows, ownCounter } from './arrows';
import { compareEvents, toTEvent } from './events';

const events = (fixture.events as ClusterEvent[]).map(toTEvent).sort(compareEvents);
const find = (node: string, id: number) => events.find((e) => e.node_id === node && e.id === id)!;

describe('real cluster data', () => {
  it("has each event's own clock entry equal to its id", () => {
    for (const e of events) expect(ownCounter(e)).toBe(e.id);
  });
});

describe('matchArrows', () => {
  const arrows = matchArrows(events);
  const arrowTo = (node: string, id: number) => arrows.find((a) => a.to.node_id === node && a.to.id === id);

  it('links a replicate to the put that sent it', () => {
    // node-2's replicate has clocks {node-1: 1, node-2: 1}; node-1's put has {node-1: 1}
    const a = arrowTo('node-2', 1)!;
    expect(a.from.uid).toBe(find('node-1', 1).uid);
    expect(a.from.type).toBe('put');
    expect(arrowTo('node-3', 1)!.from.uid).toBe('node-1#1');
  });

  it('links every event with a sending peer, except hint_stored', () => {
    for (const e of events) {
      const a = arrowTo(e.node_id, e.id);
      if (!e.peer || e.type === 'hint_stored') expect(a).toBeUndefined();
      else {
        expect(a, `${e.uid} ${e.type}`).toBeDefined();
        expect(a!.from.node_id).toBe(e.peer);
        expect(a!.from.vector_clock.clocks[e.peer]).toBe(e.vector_clock.clocks[e.peer]);
        expect(a!.from.t).toBeLessThanOrEqual(e.t);
      }
    }
  });

  it('links a delivered hint to the node that kept it', () => {
    const delivered = events.find((e) => e.type === 'hint_delivered');
    expect(delivered).toBeDefined();
    const a = arrowTo(delivered!.node_id, delivered!.id)!;
    expect(a.from.node_id).toBe(delivered!.peer);
  });

  it('draws no arrow when the sending event is not in the log', () => {
    const lone = toTEvent({ node_id: 'b', id: 7, type: 'replicate', key: 'k', value: '', peer: 'a', vector_clock: { clocks: { a: 40, b: 7 } }, causal_hash: 'x', timestamp: '2026-01-01T00:00:00Z' });
    expect(matchArrows([lone])).toEqual([]);
  });

  it('picks the latest event with that counter when a lane repeats one', () => {
    const mk = (node: string, id: number, clocks: Record<string, number>, ts: string, peer?: string) =>
      toTEvent({ node_id: node, id, type: peer ? 'replicate' : 'put', key: 'k', value: '', peer, vector_clock: { clocks }, causal_hash: `${node}${id}${ts}`, timestamp: ts });
    const old = mk('a', 1, { a: 1 }, '2026-01-01T00:00:00.000Z');
    const newer = mk('a', 9, { a: 1 }, '2026-01-01T00:00:01.000Z');
    const recv = mk('b', 1, { a: 1, b: 1 }, '2026-01-01T00:00:02.000Z', 'a');
    expect(matchArrows([old, newer, recv])[0].from).toBe(newer);
  });
});
