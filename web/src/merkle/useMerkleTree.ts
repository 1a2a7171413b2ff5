/** useMerkleTree.ts - loads the tree nodes on the selected path from the serving node, again whenever `version` changes. */
import { useEffect, useState } from 'react';
import { ApiError, errorText } from '../api/client';
import type { MerkleTreeResponse } from '../api/types';
import { useDashboard } from '../context';
import { pathPrefixes } from './branches';

export interface TreeState {
  /** The loaded nodes by prefix ('' is the root, with the tree's figures). */
  nodes: Map<string, MerkleTreeResponse>;
  error: string | null;
  /** The node keeps no tree (404 no_tree): nothing to compare. */
  noTree: boolean;
}

export function useMerkleTree(path: string, version: number): TreeState {
  const { api } = useDashboard();
  const [state, setState] = useState<TreeState>({ nodes: new Map(), error: null, noTree: false });
  useEffect(() => {
    let stale = false;
    Promise.all(pathPrefixes(path).map((p) => api.merkleTree(p)))
      .then((rs) => {
        if (!stale) setState({ nodes: new Map(rs.map((r) => [r.prefix, r])), error: null, noTree: false });
      })
      .catch((e: unknown) => {
        if (stale) return;
        const noTree = e instanceof ApiError && e.code === 'no_tree';
        setState((s) => ({ nodes: noTree ? new Map() : s.nodes, error: errorText(e), noTree }));
      });
    return () => {
      stale = true;
    };
  }, [api, path, version]);
  return state;
}
