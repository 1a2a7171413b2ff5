import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../api/types';
import { emptyLog, eventKind, mergeEvents, pollSince } from './events';

let n = 0;
function raw(node: string, id: number, ms: number, hash?: string): ClusterEvent {
  n++;
  return {
    node_id: node,
    id,
    type: 'put',
    key: `k${n}`,
    value: '',
    vector_clock: { clocks: { [node]: id } },
    causal_hash: hash ?? `${node}-${id}`,
    timestamp: new Date(ms).toISOString(),
  };
}

describe('mergeEvents', () => {
  it('dedupes by node_id and id', () => {
    const a = mergeEvents(emptyLog(), [raw('n1', 1, 1000), raw('n2', 1, 1000)]);
    expect(a.added).toHaveLength(2);
    const b = mergeEvents(a.log, [raw('n1', 1, 1000), raw('n1', 2, 2000)]);
    expect(b.added.map((e) => e.uid)).toEqual(['n1#2']);
    expect(b.log.events.map((e) => e.uid)).toEqual(['n1#1', 'n2#1', 'n1#2']);
  });

  it('returns the same log when nothing is new', () => {
    const a = mergeEvents(emptyLog(), [raw('n1', 1, 1000)]);
    const b = mergeEvents(a.log, [raw('n1', 1, 1000)]);
    expect(b.log).toBe(a.log);
    expect(b.added).toEqual([]);
  });

  it('keeps time order when late events arrive', () => {
    const a = mergeEvents(emptyLog(), [raw('n1', 1, 1000), raw('n1', 3, 3000)]);
    const b = mergeEvents(a.log, [raw('n2', 1, 2000), raw('n2', 2, 500)]);
    expect(b.log.events.map((e) => e.t)).toEqual([500, 1000, 2000, 3000]);
  });

  it('orders equal timestamps by node then id', () => {
    const a = mergeEvents(emptyLog(), [raw('n2', 1, 1000), raw('n1', 2, 1000), raw('n1', 1, 1000)]);
    expect(a.log.events.map((e) => e.uid)).toEqual(['n1#1', 'n1#2', 'n2#1']);
  });

  it('keeps at most max events, dropping the oldest', () => {
    const a = mergeEvents(emptyLog(), [1, 2, 3, 4, 5].map((i) => raw('n1', i, i * 1000)), 3);
    expect(a.log.events.map((e) => e.id)).toEqual([3, 4, 5]);
    expect(a.log.byUid.has('n1#1')).toBe(false);
    // a dropped event may come back as new; that is fine, it is older than what is kept
    expect(a.log.byUid.size).toBe(3);
  });

  it('replaces an event whose id comes back with another causal_hash', () => {
    const a = mergeEvents(emptyLog(), [raw('n1', 1, 1000, 'old')]);
    const b = mergeEvents(a.log, [raw('n1', 1, 5000, 'new')]);
    expect(b.log.events).toHaveLength(1);
    expect(b.log.events[0].causal_hash).toBe('new');
  });
});

describe('pollSince', () => {
  const log = mergeEvents(emptyLog(), [raw('a', 5, 1), raw('b', 9, 2), raw('a', 7, 3)]).log;
  it('is the lowest newest-id of the members', () => {
    expect(pollSince(log.events, ['a', 'b'])).toBe(7);
  });
  it('is 0 for a member without events, or no members', () => {
    expect(pollSince(log.events, ['a', 'b', 'c'])).toBe(0);
    expect(pollSince(log.events, [])).toBe(0);
  });
  it('is 0 when a member is a whole page ahead of another', () => {
    expect(pollSince(log.events, ['a', 'b'], 2)).toBe(0);
  });
});

describe('eventKind', () => {
  it('keeps client requests and groups the rest', () => {
    expect(eventKind('put')).toBe('put');
    expect(eventKind('delete')).toBe('delete');
    expect(eventKind('hint_stored')).toBe('other');
    expect(eventKind('replicate')).toBe('other');
  });
  it('tells anti-entropy repairs and tombstone collections apart from read repairs', () => {
    expect(eventKind('repair')).toBe('repair');
    expect(eventKind('reap')).toBe('reap');
    expect(eventKind('read_repair')).toBe('other');
  });
});
