import { describe, expect, it } from 'vitest';
import { toTEvent } from '../model/events';
import { countFeed, repairFeed } from './feed';

describe('repairFeed', () => {
  const ev = (id: number, type: string) =>
    toTEvent({ node_id: 'node-3', id, type, key: `k${id}`, value: '', peer: 'node-1', vector_clock: { clocks: {} }, causal_hash: `${id}`, timestamp: new Date(id * 1000).toISOString() });
  const log = [ev(1, 'put'), ev(2, 'repair'), ev(3, 'reap'), ev(4, 'read_repair'), ev(5, 'repair')];
  it('keeps anti-entropy repairs and reaps, newest first', () => {
    expect(repairFeed(log).map((e) => e.id)).toEqual([5, 3, 2]);
    expect(repairFeed(log, 2).map((e) => e.id)).toEqual([5, 3]);
    expect(countFeed(log)).toBe(3);
  });
});
