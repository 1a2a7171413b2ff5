import type { ClusterEvent, Clock } from '../api/types';

export interface SyntheticOptions {
  count: number;
  nodes?: number;
  /** First event time, ms since the epoch. */
  start?: number;
  /** Mean gap between client requests, ms. */
  gapMs?: number;
  seed?: number;
}

/** A small deterministic PRNG (mulberry32), so synthetic runs are repeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Synthetic cluster events shaped like GET /api/v1/cluster/events, with
 * consistent Fidge/Mattern clocks: a coordinator's put or delete followed by
 * replicate events on two replicas (each message carries the sender's clock),
 * and reads that ask two replicas. Used to measure the timeline with many
 * events (#timeline?synthetic=10000).
 */
export function syntheticEvents(o: SyntheticOptions): ClusterEvent[] {
  const rnd = prng(o.seed ?? 42);
  const n = Math.max(2, o.nodes ?? 5);
  const ids = Array.from({ length: n }, (_, i) => `node-${i + 1}`);
  const clocks: Clock[] = ids.map(() => ({}));
  const out: ClusterEvent[] = [];
  let t = o.start ?? Date.now() - o.count * (o.gapMs ?? 20);
  const keys = Array.from({ length: 200 }, (_, i) => `key:${i}`);

  const record = (node: number, type: string, key: string, ts: number, peer?: number, carried?: Clock): Clock => {
    const c = clocks[node];
    if (carried) for (const k in carried) c[k] = Math.max(c[k] ?? 0, carried[k]);
    c[ids[node]] = (c[ids[node]] ?? 0) + 1;
    const id = c[ids[node]];
    out.push({
      node_id: ids[node],
      id,
      type,
      key,
      value: type === 'get' || type === 'delete' ? '' : `v${id}`,
      ...(peer !== undefined ? { peer: ids[peer] } : {}),
      vector_clock: { clocks: { ...c } },
      causal_hash: (id * 2654435761 + node).toString(16).padStart(16, '0').slice(-16),
      timestamp: new Date(Math.round(ts)).toISOString(),
    });
    return { ...c };
  };

  while (out.length < o.count) {
    t += (o.gapMs ?? 20) * (0.2 + rnd() * 1.6);
    const coord = Math.floor(rnd() * n);
    const key = keys[Math.floor(rnd() * keys.length)];
    const r = rnd();
    const replicas = [(coord + 1) % n, (coord + 2) % n];
    if (r < 0.5 || r >= 0.9) {
      const type = r < 0.5 ? 'put' : 'delete';
      const sent = record(coord, type, key, t);
      for (const rep of replicas) record(rep, 'replicate', key, t + 1 + rnd() * 3, coord, sent);
    } else {
      // a read: the request carries the coordinator's clock before its own get event
      const sent = { ...clocks[coord] };
      for (const rep of replicas) record(rep, 'get', key, t + rnd() * 2, coord, sent);
      record(coord, 'get', key, t + 2);
    }
  }
  out.length = o.count;
  out.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : a.id - b.id));
  return out;
}
