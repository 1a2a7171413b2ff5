import { describe, expect, it } from 'vitest';
import { clockLeq, clocksEqual, compareClocks, formatClock, happensBefore, isConcurrent, mergeClocks } from './vclock';

describe('compareClocks', () => {
  it('orders a clock before one that dominates it', () => {
    expect(compareClocks({ a: 1 }, { a: 1, b: 1 })).toBe('before');
    expect(compareClocks({ a: 1, b: 1 }, { a: 1 })).toBe('after');
    expect(happensBefore({ a: 1 }, { a: 2 })).toBe(true);
    expect(happensBefore({ a: 2 }, { a: 1 })).toBe(false);
  });

  it('treats missing entries as zero', () => {
    expect(compareClocks({ a: 1, b: 0 }, { a: 1 })).toBe('equal');
    expect(clocksEqual({}, { x: 0 })).toBe(true);
    expect(compareClocks({}, { x: 1 })).toBe('before');
  });

  it('finds concurrent clocks', () => {
    expect(compareClocks({ a: 2, b: 1 }, { a: 1, b: 2 })).toBe('concurrent');
    expect(isConcurrent({ a: 1 }, { b: 1 })).toBe(true);
    expect(isConcurrent({ a: 1 }, { a: 1 })).toBe(false);
  });

  it('is equal only for identical entries', () => {
    expect(compareClocks({ a: 3, b: 4 }, { b: 4, a: 3 })).toBe('equal');
    expect(happensBefore({ a: 1 }, { a: 1 })).toBe(false);
  });
});

describe('clockLeq, mergeClocks, formatClock', () => {
  it('compares entry by entry', () => {
    expect(clockLeq({ a: 1 }, { a: 1, b: 5 })).toBe(true);
    expect(clockLeq({ a: 2 }, { a: 1, b: 5 })).toBe(false);
    expect(clockLeq({}, {})).toBe(true);
  });
  it('merges with the maximum', () => {
    expect(mergeClocks({ a: 1, b: 4 }, { a: 3, c: 1 })).toEqual({ a: 3, b: 4, c: 1 });
  });
  it('formats sorted by node', () => {
    expect(formatClock({ 'node-2': 1, 'node-1': 3 })).toBe('node-1:3 node-2:1');
  });
});
