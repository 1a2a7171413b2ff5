/**
 * useRepair.ts - "Repair now": POST /api/v1/repair, then GET /api/v1/repair
 * until the exchanges it queued are over (bounded), then onDone.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../api/client';
import type { AntiEntropyStatus } from '../api/types';
import { useDashboard } from '../context';
import { waitRepairIdle } from './repairWait';

export type RepairPhase =
  | { kind: 'idle' }
  | { kind: 'starting' }
  | { kind: 'running'; peers: number; since: number }
  | { kind: 'done'; peers: number; ms: number; status: AntiEntropyStatus }
  | { kind: 'timeout'; status: AntiEntropyStatus | null }
  | { kind: 'error'; message: string };

export const REPAIR_WAIT_MS = 30000;

export function useRepair(onDone: () => void): { phase: RepairPhase; start: () => Promise<void> } {
  const { api } = useDashboard();
  const [phase, setPhase] = useState<RepairPhase>({ kind: 'idle' });
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const start = useCallback(async () => {
    setPhase({ kind: 'starting' });
    try {
      const started = await api.repairNow();
      const since = Date.now();
      setPhase({ kind: 'running', peers: started.peers_queued, since });
      const r = await waitRepairIdle(() => api.repairStatus(), { timeoutMs: REPAIR_WAIT_MS, everyMs: 500, cancelled: () => !mounted.current });
      if (r.kind === 'cancelled') return;
      setPhase(r.kind === 'done' ? { kind: 'done', peers: started.peers_queued, ms: Date.now() - since, status: r.status } : { kind: 'timeout', status: r.status });
      onDone();
    } catch (e) {
      if (mounted.current) setPhase({ kind: 'error', message: errorText(e) });
    }
  }, [api, onDone]);

  return { phase, start };
}
