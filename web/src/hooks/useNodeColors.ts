import { useMemo } from 'react';
import { nodeColors } from '../model/colors';
import { useDashState } from './useDashState';

/** One colour per node, the same in every view. */
export function useNodeColors(extra: readonly string[] = []): Map<string, string> {
  const members = useDashState((s) => s.members);
  const ring = useDashState((s) => s.ring);
  const log = useDashState((s) => s.log);
  const key = useMemo(() => {
    const ids = new Set<string>(extra);
    if (members) for (const id of Object.keys(members.cluster_members)) ids.add(id);
    if (ring) for (const m of ring.members) ids.add(m.node_id);
    // Nodes seen only in events: the last few hundred events are enough.
    const ev = log.events;
    for (let i = Math.max(0, ev.length - 500); i < ev.length; i++) ids.add(ev[i].node_id);
    return Array.from(ids).sort().join('\u0000');
  }, [members, ring, log, extra]);
  return useMemo(() => nodeColors(key ? key.split('\u0000') : []), [key]);
}
