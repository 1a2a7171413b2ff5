import { useCallback, useMemo, useState } from 'react';
import { useDashboard } from '../context';
import { useDashState } from '../hooks/useDashState';
import { compareNodeIds } from '../model/lanes';

export type Reach = 'self' | 'unknown' | 'checking' | 'ok' | 'blocked';

export interface NodeTarget {
  nodeId: string;
  address: string;
  status: string;
  /** '' for the node serving the page; else http://address */
  base: string;
  reach: Reach;
}

/**
 * The nodes the Data tab can send requests to. The serving node always works.
 * Another node answers this page's cross-origin requests (members allow the
 * pages of members); that is checked when the user picks it, with a request
 * that needs a preflight, exactly like the PUT that follows, so a node the
 * browser cannot reach falls back to the serving node.
 */
export function useNodeTargets(): { targets: NodeTarget[]; check: (t: NodeTarget) => Promise<boolean> } {
  const { apiFor } = useDashboard();
  const members = useDashState((s) => s.members);
  const self = useDashState((s) => s.status?.node_id ?? null);
  const [reach, setReach] = useState<Record<string, Reach>>({});

  const targets = useMemo(() => {
    const ms = members ? Object.values(members.cluster_members).sort((a, b) => compareNodeIds(a.node_id, b.node_id)) : [];
    const out: NodeTarget[] = [];
    if (!self || !ms.some((m) => m.node_id === self)) out.push({ nodeId: self ?? '', address: '', status: 'alive', base: '', reach: 'self' });
    for (const m of ms) {
      if (m.node_id === self) out.push({ nodeId: m.node_id, address: m.address, status: m.status, base: '', reach: 'self' });
      else {
        const base = `http://${m.address}`;
        out.push({ nodeId: m.node_id, address: m.address, status: m.status, base, reach: reach[base] ?? 'unknown' });
      }
    }
    return out;
  }, [members, self, reach]);

  const check = useCallback(
    async (t: NodeTarget): Promise<boolean> => {
      if (t.base === '' || reach[t.base] === 'ok') return true;
      setReach((r) => ({ ...r, [t.base]: 'checking' }));
      try {
        await apiFor(t.base).health();
        setReach((r) => ({ ...r, [t.base]: 'ok' }));
        return true;
      } catch {
        setReach((r) => ({ ...r, [t.base]: 'blocked' }));
        return false;
      }
    },
    [apiFor, reach],
  );

  return { targets, check };
}
