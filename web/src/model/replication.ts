import type { ReplicationResult } from '../api/types';

export type ReplicaState = 'pending' | 'ok' | 'failed' | 'hinted';

export interface Flow {
  node: string;
  state: ReplicaState;
  /** true for a fallback outside the preference list (it holds a hint). */
  fallback: boolean;
}

/**
 * The replication flow of one write, from the coordinator to every replica.
 * Before the answer every flow is pending. The answer lists the nodes that
 * stored the write by then (ok), that failed (failed) and that hold a hint
 * (hinted: a fallback that stored one, or the coordinator keeping one for a
 * replica that was down). A replica the answer does not mention acknowledged
 * after W others did: it stays pending until its replicate event arrives
 * (`observed`: nodes whose event for this write was seen), then it is ok.
 * Nodes named only by the answer (fallbacks) come after the preference list.
 * The coordinator is the source of the arrows: it is listed only when it
 * holds a hint or failed.
 */
export function replicationFlows(
  preferenceList: readonly string[],
  coordinator: string,
  result: ReplicationResult | null,
  observed: ReadonlySet<string> = new Set(),
): Flow[] {
  const nodes = [...preferenceList];
  if (result) {
    for (const n of [...result.successful_nodes, ...result.hinted_nodes, ...result.failed_nodes, ...(result.pending_nodes ?? [])]) {
      if (!nodes.includes(n)) nodes.push(n);
    }
  }
  const flows: Flow[] = [];
  for (const node of nodes) {
    let state: ReplicaState = 'pending';
    if (result) {
      if (result.failed_nodes.includes(node)) state = 'failed';
      else if (result.hinted_nodes.includes(node)) state = 'hinted';
      else if (result.successful_nodes.includes(node)) state = 'ok';
    }
    if (state === 'pending' && observed.has(node)) state = 'ok';
    if (node === coordinator && (state === 'ok' || state === 'pending')) continue;
    flows.push({ node, state, fallback: !preferenceList.includes(node) });
  }
  return flows;
}

/** Ring position (0..1) -> angle in radians, 0 at the top, clockwise. */
export function positionToAngle(p: number): number {
  return p * 2 * Math.PI;
}

/** Point on a circle of radius r at ring position p, for an SVG (y down). */
export function ringPoint(p: number, r: number): [number, number] {
  const a = positionToAngle(p);
  return [Math.sin(a) * r, -Math.cos(a) * r];
}

/** The first vnode at or after `position`, wrapping around: the key's owner token. */
export function ownerIndex(positions: readonly number[], position: number): number {
  if (positions.length === 0) return -1;
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (positions[mid] < position) lo = mid + 1;
    else hi = mid;
  }
  return lo === positions.length ? 0 : lo;
}
