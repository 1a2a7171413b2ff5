/**
 * useTransfers.ts - GET /api/v1/transfers of one node ('' = the serving
 * node), every `everyMs` while the page is visible (at once when it shows
 * again), for as long as the component using it is mounted.
 */
import { useEffect, useState } from 'react';
import { ApiError, errorText } from '../api/client';
import type { TransfersResponse } from '../api/types';
import { useDashboard } from '../context';

export interface TransfersState {
  data: TransfersResponse | null;
  error: string | null;
  /** The node answered 404: a version from before ownership handoff. */
  unsupported: boolean;
  /** When `data` arrived (ms). */
  at: number | null;
}

const EMPTY: TransfersState = { data: null, error: null, unsupported: false, at: null };

export function useTransfers(base: string, everyMs = 1500): TransfersState {
  const { apiFor } = useDashboard();
  const [state, setState] = useState<TransfersState>(EMPTY);

  useEffect(() => {
    const api = apiFor(base);
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let inFlight = false;
    setState(EMPTY);

    const hidden = () => typeof document !== 'undefined' && document.hidden;
    const schedule = () => {
      if (stopped) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void read(), everyMs);
    };
    const read = async () => {
      if (stopped || inFlight) return;
      if (hidden()) return; // the visibilitychange listener reads again when the page shows
      inFlight = true;
      try {
        const data = await api.transfers();
        if (!stopped) setState({ data, error: null, unsupported: false, at: Date.now() });
      } catch (e) {
        if (stopped) return;
        if (e instanceof ApiError && e.status === 404) {
          setState({ data: null, error: null, unsupported: true, at: null });
          return; // nothing to poll on this node
        }
        setState((s) => ({ ...s, error: errorText(e) }));
      } finally {
        inFlight = false;
      }
      schedule();
    };
    const onVisible = () => {
      if (!hidden()) void read();
    };
    void read();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [apiFor, base, everyMs]);

  return state;
}
