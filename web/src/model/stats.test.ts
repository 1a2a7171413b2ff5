import { describe, expect, it } from 'vitest';
import { emptyStats, ewma, formatMs, formatRate, parseTs, pushSample } from './stats';

const sample = (t: number, ops: number, source: 'ws' | 'rest' = 'ws') => ({ t, ops, latency: { p50: 1, p99: 2 }, requestsTotal: t, source, nodeId: 'n1' });

describe('stats smoothing', () => {
  it('ewma takes the first sample as is, then moves by alpha', () => {
    expect(ewma(null, 10, 0.5)).toBe(10);
    expect(ewma(10, 20, 0.5)).toBe(15);
    expect(ewma(10, 20, 0.25)).toBe(12.5);
  });

  it('smooths ops/s and keeps the last samples for the sparkline', () => {
    let s = emptyStats;
    for (let i = 0; i < 70; i++) s = pushSample(s, sample(i * 1000, i % 2 ? 100 : 0), 0.5, 60);
    expect(s.series).toHaveLength(60);
    expect(s.series[0].t).toBe(10000);
    expect(s.ops).toBe(100);
    expect(s.opsSmoothed).toBeGreaterThan(40);
    expect(s.opsSmoothed).toBeLessThan(80);
  });

  it('ignores samples older than the newest and bad values', () => {
    let s = pushSample(emptyStats, sample(2000, 10));
    s = pushSample(s, sample(1000, 99));
    expect(s.ops).toBe(10);
    s = pushSample(s, sample(3000, NaN));
    expect(s.ops).toBe(0);
  });

  it('does not blend two sources', () => {
    let s = pushSample(emptyStats, sample(1000, 100, 'ws'));
    s = pushSample(s, sample(2000, 10, 'rest'));
    expect(s.opsSmoothed).toBe(10);
    expect(s.source).toBe('rest');
  });

  it('keeps null latencies (idle)', () => {
    const s = pushSample(emptyStats, { ...sample(1, 0), latency: null });
    expect(s.latency).toEqual({ p50: null, p99: null });
  });
});

describe('formatting', () => {
  it('parses ISO and numeric timestamps', () => {
    expect(parseTs('2026-01-01T00:00:00.000Z', 0)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTs(1700000000, 0)).toBe(1700000000000);
    expect(parseTs(1700000000123, 0)).toBe(1700000000123);
    expect(parseTs(undefined, 7)).toBe(7);
  });
  it('formats latencies and rates', () => {
    expect(formatMs(null)).toBe('—');
    expect(formatMs(0.123)).toBe('0.12 ms');
    expect(formatMs(4.56)).toBe('4.6 ms');
    expect(formatMs(120.4)).toBe('120 ms');
    expect(formatRate(3.14)).toBe('3.1');
    expect(formatRate(1234)).toBe('1234');
    expect(formatRate(12345)).toBe('12.3k');
  });
});
