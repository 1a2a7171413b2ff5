import { describe, expect, it } from 'vitest';
import type { TransferStream, TransfersResponse } from '../api/types';
import { formatEta, formatProgress, formatRate, plural, sortStreams, streamCounts, summarizeTransfers } from './transfers';

const stream = (id: number, state: TransferStream['state'], extra: Partial<TransferStream> = {}): TransferStream => ({
  id,
  kind: 'join',
  state,
  peer: `n${id}`,
  ranges: 40,
  progress: state === 'done' ? 1 : 0,
  keys: 0,
  bytes: 0,
  rate_bytes_per_s: 0,
  eta_s: null,
  started_at_ms: 1000,
  finished_at_ms: 0,
  failures: 0,
  ...extra,
});

const transfers = (streams: TransferStream[], handoffRunning = false): TransfersResponse => ({
  node_id: 'n4',
  phase: 'joining',
  refusing_writes: false,
  streams_running: streams.filter((s) => s.state !== 'done').length,
  streams,
  handoff: { running: handoffRunning, passes: 2, keys_sent: 213, bytes_sent: 7314, keys_dropped: 71 },
  totals: { keys_received: 216, bytes_received: 7428, keys_sent: 0, failures: 0 },
});

describe('sortStreams', () => {
  it('puts the streams in progress first, then the finished ones, latest first', () => {
    const s = [
      stream(1, 'done', { finished_at_ms: 5000 }),
      stream(2, 'waiting'),
      stream(3, 'running'),
      stream(4, 'done', { finished_at_ms: 9000 }),
      stream(5, 'retrying', { failures: 1 }),
      stream(6, 'running'),
    ];
    expect(sortStreams(s).map((x) => x.id)).toEqual([3, 6, 5, 2, 4, 1]);
    expect(s.map((x) => x.id)).toEqual([1, 2, 3, 4, 5, 6]); // not in place
  });
});

describe('summarizeTransfers', () => {
  it('adds up the streams: progress weighted by ranges, rate and ETA of those in progress', () => {
    const t = transfers([
      stream(1, 'done', { ranges: 30, keys: 500, bytes: 500000 }),
      stream(2, 'running', { ranges: 10, progress: 0.5, keys: 40, bytes: 40000, rate_bytes_per_s: 1048576, eta_s: 3.2 }),
      stream(3, 'running', { ranges: 60, progress: 0.25, keys: 10, bytes: 10000, rate_bytes_per_s: 524288, eta_s: 9 }),
    ]);
    const s = summarizeTransfers(t);
    expect(s).toMatchObject({ active: 2, done: 1, total: 3, keys: 550, bytes: 550000, rate: 1572864, eta: 9, busy: true });
    expect(s.progress).toBeCloseTo((30 + 5 + 15) / 100, 9);
  });

  it('has no ETA while one stream in progress has none, and is idle with everything done', () => {
    expect(summarizeTransfers(transfers([stream(1, 'running', { eta_s: 4 }), stream(2, 'waiting')])).eta).toBeNull();
    const idle = summarizeTransfers(transfers([stream(1, 'done'), stream(2, 'done')]));
    expect(idle).toMatchObject({ active: 0, done: 2, progress: 1, eta: null, busy: false, rate: 0 });
    expect(summarizeTransfers(transfers([], true)).busy).toBe(true);
    expect(summarizeTransfers(null)).toMatchObject({ total: 0, progress: null, busy: false });
  });
});

describe('formatting', () => {
  it('writes rates, ETAs and progress', () => {
    expect(formatRate(1048576)).toBe('1.0 MiB/s');
    expect(formatRate(1536)).toBe('1.5 KiB/s');
    expect(formatRate(0)).toBe('—');
    expect(formatRate(null)).toBe('—');
    expect(formatEta(null)).toBe('—');
    expect(formatEta(0.4)).toBe('<1 s');
    expect(formatEta(3.2)).toBe('3.2 s');
    expect(formatEta(42.4)).toBe('42 s');
    expect(formatEta(125)).toBe('2 min 05 s');
    expect(formatEta(4200)).toBe('1 h 10 min');
    expect(formatProgress(0.42)).toBe('42%');
    expect(formatProgress(0.999)).toBe('99%');
    expect(formatProgress(1, true)).toBe('100%');
    expect(formatProgress(Number.NaN)).toBe('0%');
    expect(plural(1, 'stream')).toBe('1 stream');
    expect(plural(6, 'stream')).toBe('6 streams');
    expect(plural(2, 'pass', 'passes')).toBe('2 passes');
    expect(plural(7295, 'key')).toBe('7,295 keys');
    expect(streamCounts([stream(1, 'done'), stream(2, 'waiting'), stream(3, 'running'), stream(4, 'waiting')])).toBe('4 streams: 1 running, 2 waiting, 1 done');
    expect(streamCounts([stream(1, 'retrying')])).toBe('1 stream: 1 retrying');
    expect(streamCounts([])).toBe('0 streams');
  });
});
