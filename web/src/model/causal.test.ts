import { describe, expect, it } from 'vitest';
import fixture from '../test-fixtures/cluster-events.json';
import type { ClusterEvent } from '../api/types';
import { causalSets, relationOf } from './causal';
import { toTEvent, type TEvent } from './events';

function ev(node: string, id: number, clocks: Record<string, number>): TEvent {
  return toTEvent({ node_id: node, id, type: 'put', key: 'k', value: '', vector_clock: { clocks }, causal_hash: `${node}${id}`, timestamp: '2026-01-01T00:00:00.000Z' });
}

describe('causalSets', () => {
  // a1 -> b1 (message), a2 concurrent with b1, b2 after a2 (message)
  const a1 = ev('a', 1, { a: 1 });
  const b1 = ev('b', 1, { a: 1, b: 1 });
  const a2 = ev('a', 2, { a: 2 });
  const b2 = ev('b', 2, { a: 2, b: 2 });
  const all = [a1, b1, a2, b2];

  it('puts dominated clocks in the past and dominating ones in the future', () => {
    const s = causalSets(all, b1);
    expect([...s.past]).toEqual([a1.uid]);
    expect([...s.future]).toEqual([b2.uid]);
    expect(relationOf(s, b1.uid, a2.uid)).toBe('concurrent');
    expect(relationOf(s, b1.uid, b1.uid)).toBe('self');
  });

  it('has an empty past for a first event', () => {
    const s = causalSets(all, a1);
    expect(s.past.size).toBe(0);
    expect(new Set(s.future)).toEqual(new Set([b1.uid, a2.uid, b2.uid]));
  });

  it('returns null relations without a selection', () => {
    expect(relationOf(null, null, a1.uid)).toBeNull();
  });

  it('on real cluster data, a replicate has the coordinator put in its past', () => {
    const events = (fixture.events as ClusterEvent[]).map(toTEvent);
    const put = events.find((e) => e.node_id === 'node-1' && e.id === 1)!;
    const rep = events.find((e) => e.node_id === 'node-2' && e.id === 1)!;
    expect(rep.type).toBe('replicate');
    expect(causalSets(events, rep).past.has(put.uid)).toBe(true);
    expect(causalSets(events, put).future.has(rep.uid)).toBe(true);
  });
});
