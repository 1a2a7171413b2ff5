/**
 * repairWait.ts - waits, with a bound, for the repair POST /api/v1/repair
 * started to finish: anti-entropy is idle (not running) and no peer is
 * queued any more.
 */
import type { AntiEntropyStatus } from '../api/types';

export function repairIdle(s: Pick<AntiEntropyStatus, 'running' | 'queued'>): boolean {
  return !s.running && s.queued === 0;
}

export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** Time between two reads of the status (ms). */
  everyMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Stop early (the view went away). */
  cancelled?: () => boolean;
}

export type WaitResult =
  | { kind: 'done'; status: AntiEntropyStatus }
  | { kind: 'timeout'; status: AntiEntropyStatus | null }
  | { kind: 'cancelled' };

/**
 * Reads the status until it is idle or the time is up. A failed read is
 * retried until the bound (a node busy repairing may answer late); the
 * error of the last read is thrown only if no read ever succeeded.
 */
export async function waitRepairIdle(read: () => Promise<AntiEntropyStatus>, opts: WaitOptions = {}): Promise<WaitResult> {
  const { timeoutMs = 30000, everyMs = 500, now = Date.now, cancelled = () => false } = opts;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + timeoutMs;
  let last: AntiEntropyStatus | null = null;
  let lastError: unknown = null;
  for (;;) {
    if (cancelled()) return { kind: 'cancelled' };
    try {
      last = await read();
      lastError = null;
      if (repairIdle(last)) return { kind: 'done', status: last };
    } catch (e) {
      lastError = e;
    }
    if (cancelled()) return { kind: 'cancelled' };
    if (now() + everyMs > deadline) {
      if (!last && lastError) throw lastError;
      return { kind: 'timeout', status: last };
    }
    await sleep(everyMs);
  }
}
