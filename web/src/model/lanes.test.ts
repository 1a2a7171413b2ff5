import { describe, expect, it } from 'vitest';
import { toTEvent } from './events';
import { compareNodeIds, drawTimes, followWindow, laneAt, laneCounts, laneNodes, layoutLanes, lowerBound, timeExtent, visibleRange, xScale } from './lanes';

const ev = (node: string, id: number, ms: number) =>
  toTEvent({ node_id: node, id, type: 'get', key: 'k', value: '', vector_clock: { clocks: {} }, causal_hash: '', timestamp: new Date(ms).toISOString() });

describe('lanes', () => {
  it('sorts node ids naturally', () => {
    expect(['node-10', 'node-2', 'node-1'].sort(compareNodeIds)).toEqual(['node-1', 'node-2', 'node-10']);
  });

  it('has a lane per member and per node seen only in events', () => {
    expect(laneNodes(['node-2', 'node-1'], [ev('node-3', 1, 0)])).toEqual(['node-1', 'node-2', 'node-3']);
  });

  it('stacks lanes evenly within the height, clamped', () => {
    const l = layoutLanes(['a', 'b'], 20, 200);
    expect(l.laneHeight).toBe(100);
    expect(l.y.get('a')).toBe(70);
    expect(l.y.get('b')).toBe(170);
    expect(laneAt(l, 21)).toBe('a');
    expect(laneAt(l, 219)).toBe('b');
    expect(laneAt(l, 221)).toBeNull();
    expect(layoutLanes(['a'], 0, 1000).laneHeight).toBe(110);
    expect(layoutLanes(Array.from({ length: 100 }, (_, i) => `n${i}`), 0, 500).laneHeight).toBe(22);
  });

  it('spreads events of one lane that share a millisecond', () => {
    const t = drawTimes([ev('a', 1, 1000), ev('b', 1, 1000), ev('a', 2, 1000), ev('a', 3, 1001)]);
    expect(Array.from(t)).toEqual([1000, 1000, 1000.1, 1001]);
  });

  it('finds the visible window by binary search', () => {
    const times = [1, 2, 3, 5, 8, 13];
    expect(lowerBound(times, 4)).toBe(3);
    expect(visibleRange(times, 2, 8)).toEqual([1, 5]);
    expect(visibleRange(times, 20, 30)).toEqual([6, 6]);
  });

  it('maps time to x linearly', () => {
    const x = xScale([1000, 2000], [0, 500]);
    expect(x(new Date(1500))).toBe(250);
    expect(x.invert(500).getTime()).toBe(2000);
  });

  it('pads the extent and widens a tiny one', () => {
    const [t0, t1] = timeExtent([ev('a', 1, 10000), ev('a', 2, 10010)], 0, 1000);
    expect(t1 - t0).toBe(1000);
    expect((t0 + t1) / 2).toBe(10005);
  });

  it('follows the live end keeping the span', () => {
    expect(followWindow([0, 100], 1000, 0)).toEqual([900, 1000]);
  });

  it('counts events per lane', () => {
    expect(Object.fromEntries(laneCounts([ev('a', 1, 0), ev('a', 2, 0), ev('b', 1, 0)]))).toEqual({ a: 2, b: 1 });
  });
});
