import type { Latency } from '../api/types';

export interface StatPoint {
  /** ms since the epoch */
  t: number;
  ops: number;
}

export interface LiveStats {
  /** Last reported ops/s. */
  ops: number;
  /** Exponentially smoothed ops/s, for the headline number. */
  opsSmoothed: number;
  latency: Latency;
  requestsTotal: number;
  /** The last `capacity` samples, oldest first, for the sparkline. */
  series: StatPoint[];
  source: 'ws' | 'rest' | 'none';
  nodeId: string | null;
}

export const emptyStats: LiveStats = {
  ops: 0,
  opsSmoothed: 0,
  latency: { p50: null, p99: null },
  requestsTotal: 0,
  series: [],
  source: 'none',
  nodeId: null,
};

/** Exponential moving average; the first sample is taken as is. */
export function ewma(prev: number | null, sample: number, alpha: number): number {
  if (prev === null || !Number.isFinite(prev)) return sample;
  return prev + alpha * (sample - prev);
}

export interface StatSample {
  t: number;
  ops: number;
  latency: Latency | null;
  requestsTotal: number;
  source: 'ws' | 'rest';
  nodeId: string | null;
}

/**
 * Adds one sample: smooths ops/s with `alpha`, keeps the last `capacity`
 * points. Samples older than the newest point are ignored.
 */
export function pushSample(s: LiveStats, x: StatSample, alpha = 0.4, capacity = 60): LiveStats {
  const last = s.series[s.series.length - 1];
  if (last && x.t < last.t) return s;
  const ops = Number.isFinite(x.ops) && x.ops >= 0 ? x.ops : 0;
  const series = s.series.length >= capacity ? s.series.slice(s.series.length - capacity + 1) : s.series.slice();
  series.push({ t: x.t, ops });
  // The source changed (ws back, or fell back to REST): do not blend two meters.
  const prev = s.source === x.source && s.series.length > 0 ? s.opsSmoothed : null;
  return {
    ops,
    opsSmoothed: ewma(prev, ops, alpha),
    latency: x.latency ?? { p50: null, p99: null },
    requestsTotal: x.requestsTotal,
    series,
    source: x.source,
    nodeId: x.nodeId,
  };
}

/** Stats timestamps come as ISO strings or as ms numbers. */
export function parseTs(ts: string | number | undefined, fallback: number): number {
  if (typeof ts === 'number' && Number.isFinite(ts)) return ts < 1e11 ? ts * 1000 : ts;
  if (typeof ts === 'string') {
    const v = Date.parse(ts);
    if (Number.isFinite(v)) return v;
  }
  return fallback;
}

export function formatMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 10) return `${v.toFixed(1)} ms`;
  return `${Math.round(v)} ms`;
}

export function formatRate(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v < 10) return v.toFixed(1);
  if (v < 10000) return String(Math.round(v));
  return `${(v / 1000).toFixed(1)}k`;
}
