/**
 * transfers.ts - a node's ownership transfers (GET /api/v1/transfers) as the
 * ring view shows them: streams in progress first, overall progress, and
 * bytes, rates and ETAs in words.
 */
import type { TransferStream, TransfersResponse } from '../api/types';
import { formatBytes } from '../merkle/format';

const STATE_ORDER: Record<string, number> = { running: 0, retrying: 1, waiting: 2, done: 3 };

/** Streams in progress first (running, retrying, waiting, by id), then the finished ones, latest first. */
export function sortStreams(streams: readonly TransferStream[]): TransferStream[] {
  return [...streams].sort((a, b) => {
    const d = (STATE_ORDER[a.state] ?? 2) - (STATE_ORDER[b.state] ?? 2);
    if (d) return d;
    if (a.state === 'done') return b.finished_at_ms - a.finished_at_ms || b.id - a.id;
    return a.id - b.id;
  });
}

export interface TransferSummary {
  /** Streams not done yet. */
  active: number;
  done: number;
  total: number;
  /** Over every listed stream, weighted by its ranges, 0..1; null without streams. */
  progress: number | null;
  keys: number;
  bytes: number;
  /** Bytes per second of the streams in progress. */
  rate: number;
  /** Seconds until the last stream in progress ends (the slowest); null when unknown or nothing runs. */
  eta: number | null;
  /** Something is in progress: a stream not done, or a hand-off pass running. */
  busy: boolean;
}

export function summarizeTransfers(t: TransfersResponse | null | undefined): TransferSummary {
  const streams = t?.streams ?? [];
  let ranges = 0;
  let doneRanges = 0;
  let keys = 0;
  let bytes = 0;
  let rate = 0;
  let eta: number | null = null;
  let etaKnown = true;
  let active = 0;
  for (const s of streams) {
    const p = Math.min(1, Math.max(0, s.state === 'done' ? 1 : s.progress));
    ranges += s.ranges;
    doneRanges += p * s.ranges;
    keys += s.keys;
    bytes += s.bytes;
    if (s.state !== 'done') {
      active++;
      rate += s.rate_bytes_per_s || 0;
      if (s.eta_s === null || !Number.isFinite(s.eta_s)) etaKnown = false;
      else eta = Math.max(eta ?? 0, s.eta_s);
    }
  }
  return {
    active,
    done: streams.length - active,
    total: streams.length,
    progress: streams.length ? (ranges ? doneRanges / ranges : active ? 0 : 1) : null,
    keys,
    bytes,
    rate,
    eta: active && etaKnown ? eta : null,
    busy: active > 0 || !!t?.handoff?.running,
  };
}

/** "1.0 MiB/s"; "—" for nothing moving. */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '—';
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Seconds left in words: "<1 s", "3.2 s", "42 s", "2 min 05 s", "1 h 10 min"; "—" when unknown. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 1) return '<1 s';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A 0..1 progress as a whole percentage, never 100% before it is done. */
export function formatProgress(p: number, done = false): string {
  if (done) return '100%';
  const v = Math.min(1, Math.max(0, Number.isFinite(p) ? p : 0)) * 100;
  return `${Math.min(99, Math.floor(v))}%`;
}

/** "1 stream", "3 streams". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** "6 streams: 1 running, 3 waiting, 2 done". */
export function streamCounts(streams: readonly Pick<TransferStream, 'state'>[]): string {
  const n = (st: string) => streams.filter((x) => x.state === st).length;
  const parts = (['running', 'retrying', 'waiting', 'done'] as const).filter((st) => n(st) > 0).map((st) => `${n(st)} ${st}`);
  return `${plural(streams.length, 'stream')}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
