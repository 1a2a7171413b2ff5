import { describe, expect, it } from 'vitest';
import type { AntiEntropyStatus } from '../api/types';
import { repairIdle, waitRepairIdle } from './repairWait';

function st(running: boolean, queued: number): AntiEntropyStatus {
  return {
    enabled: true,
    interval_ms: 3600000,
    repair_rate: 2000,
    exchanges: 0,
    exchanges_failed: 0,
    keys_repaired: 0,
    keys_pushed: 0,
    keys_pulled: 0,
    bytes_sent: 0,
    bytes_received: 0,
    tombstones_reaped: 0,
    running,
    queued,
    last_exchange: {},
    tree: { enabled: true, keys: 0, segments: 1048576, root: '0000000000000000', memory_bytes: 0 },
  };
}

/** A fake clock: sleep advances it. */
function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

describe('waitRepairIdle', () => {
  it('is idle only when nothing runs and no peer is queued', () => {
    expect(repairIdle(st(false, 0))).toBe(true);
    expect(repairIdle(st(true, 0))).toBe(false);
    expect(repairIdle(st(false, 1))).toBe(false);
  });

  it('polls until the repair has visited every peer', async () => {
    const seq = [st(false, 2), st(true, 1), st(true, 0), st(false, 0)];
    let reads = 0;
    const c = clock();
    const r = await waitRepairIdle(async () => seq[Math.min(reads++, seq.length - 1)], { ...c, everyMs: 500 });
    expect(r.kind).toBe('done');
    expect(reads).toBe(4);
    expect(c.now()).toBe(1500);
  });

  it('gives up at the bound with the last status', async () => {
    const c = clock();
    let reads = 0;
    const r = await waitRepairIdle(async () => (reads++, st(true, 1)), { ...c, everyMs: 500, timeoutMs: 2000 });
    expect(r).toMatchObject({ kind: 'timeout', status: { running: true } });
    expect(reads).toBe(5);
    expect(c.now()).toBeLessThanOrEqual(2000);
  });

  it('retries a failed read, and throws only when no read succeeded', async () => {
    const c = clock();
    let reads = 0;
    const flaky = async () => {
      if (reads++ === 0) throw new Error('busy');
      return st(false, 0);
    };
    expect((await waitRepairIdle(flaky, c)).kind).toBe('done');
    await expect(waitRepairIdle(async () => Promise.reject(new Error('down')), { ...clock(), timeoutMs: 1000 })).rejects.toThrow('down');
  });

  it('stops when cancelled', async () => {
    let cancel = false;
    const r = await waitRepairIdle(
      async () => {
        cancel = true;
        return st(true, 1);
      },
      { ...clock(), cancelled: () => cancel },
    );
    expect(r.kind).toBe('cancelled');
  });
});
