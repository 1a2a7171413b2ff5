/**
 * useCompare.ts - runs GET /api/v1/merkle-tree/compare against the chosen
 * peer (on choosing it, and on demand), then places the differing keys it
 * lists in their segments through the ring lookup of each key.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Api, ApiError, errorText } from '../api/client';
import type { CompareResponse } from '../api/types';
import { useDashboard } from '../context';
import { formatDuration } from './format';
import { segmentOfToken } from './segments';

export interface CompareState {
  result: CompareResponse | null;
  /** Segment prefix of each listed differing key that could be placed. */
  keySegments: Map<string, string>;
  error: string | null;
  running: boolean;
  /** When the shown result arrived (ms). */
  at: number | null;
}

const RETRIES = 3; // a compare still running on the node answers 503 for a moment
const RETRY_MS = 700;
const LOOKUPS_IN_FLIGHT = 4;
const KEY_SHOWN_BYTES = 128; // the compare cuts longer keys: their token is not theirs

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function placeKeys(api: Api, cmp: CompareResponse, segments: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const keys = cmp.keys.map((k) => k.key).filter((k) => new TextEncoder().encode(k).length < KEY_SHOWN_BYTES);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      try {
        const p = segmentOfToken((await api.lookup(key)).token, segments);
        if (p) out.set(key, p);
      } catch {
        /* that key stays unplaced: the listed segments still count */
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUPS_IN_FLIGHT, keys.length) }, worker));
  return out;
}

/** `peerAlive`: the member table shows the peer alive (a 503 for a peer that is not is not retried). */
export function useCompare(peer: string | null, segments: number | null, peerAlive: boolean): CompareState & { run: () => Promise<CompareResponse | null> } {
  const { api } = useDashboard();
  const [state, setState] = useState<CompareState>({ result: null, keySegments: new Map(), error: null, running: false, at: null });
  const seq = useRef(0);
  const segRef = useRef(segments);
  segRef.current = segments;
  const aliveRef = useRef(peerAlive);
  aliveRef.current = peerAlive;

  const run = useCallback(async (): Promise<CompareResponse | null> => {
    if (!peer) return null;
    const my = ++seq.current;
    setState((s) => ({ ...s, running: true, error: null }));
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await api.compare(peer);
        // the tree's leaf count; before the tree is loaded, the listed segments' digits tell it
        const leaves = segRef.current ?? (r.segments[0] ? 16 ** r.segments[0].prefix.length : null);
        const placed = r.keys.length && leaves ? await placeKeys(api, r, leaves) : new Map<string, string>();
        if (my === seq.current) setState({ result: r, keySegments: placed, error: null, running: false, at: Date.now() });
        return r;
      } catch (e) {
        const busy = e instanceof ApiError && e.status === 503 && e.code === 'compare_running' && aliveRef.current;
        if (busy && attempt < RETRIES && my === seq.current) {
          await pause(RETRY_MS);
          continue;
        }
        // A compare that failed on the way (503 compare_failed) says how far it got.
        const x = e instanceof ApiError ? e.body?.exchange : undefined;
        const text = x ? `${errorText(e)} (the exchange with ${x.peer} gave up after ${formatDuration(x.duration_ms)})` : errorText(e);
        if (my === seq.current) setState((s) => ({ ...s, error: text, running: false }));
        return null;
      }
    }
  }, [api, peer]);

  useEffect(() => {
    setState({ result: null, keySegments: new Map(), error: null, running: false, at: null });
    void run();
  }, [run]);

  return { ...state, run };
}
