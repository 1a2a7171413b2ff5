/**
 * MerkleView.tsx - the Merkle tab: this node's anti-entropy tree against a
 * peer's (compare), what differs (branches, keys), the last exchanges, a
 * "Repair now" that waits for the exchanges and compares again, and the
 * repairs arriving live.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Empty, ErrorNote } from '../components/Notice';
import { useDashState } from '../hooks/useDashState';
import { useNow } from '../hooks/useNow';
import { buildRows, clampPath } from '../merkle/branches';
import { DiffKeys } from '../merkle/DiffKeys';
import { ExchangesTable } from '../merkle/ExchangesTable';
import { PeerToolbar } from '../merkle/PeerToolbar';
import { defaultPeer, peerChoices } from '../merkle/peers';
import { RepairFeed } from '../merkle/RepairFeed';
import { differingSegments } from '../merkle/segments';
import { SummaryCards } from '../merkle/SummaryCards';
import { TreeBox } from '../merkle/TreeBox';
import { useCompare } from '../merkle/useCompare';
import { useMerkleTree } from '../merkle/useMerkleTree';
import { useRepair } from '../merkle/useRepair';

export function MerkleView() {
  const self = useDashState((s) => s.status?.node_id ?? s.hello?.node_id ?? null);
  const members = useDashState((s) => s.members);
  const standalone = useDashState((s) => s.gossipDisabled);
  const ae = useDashState((s) => s.status?.anti_entropy);
  const now = useNow(1000);
  const choices = useMemo(() => peerChoices(members?.cluster_members, self), [members, self]);
  const [picked, setPicked] = useState<string | null>(null);
  const [path, setPath] = useState('');
  const [version, setVersion] = useState(0);

  // The first other alive member, chosen once this node's id is known; the user's choice after that.
  useEffect(() => {
    if (!picked && self) setPicked(defaultPeer(choices));
  }, [choices, picked, self]);
  const peer = picked && picked !== self ? picked : null;

  const tree = useMerkleTree(path, version);
  const root = tree.nodes.get('') ?? null;
  const peerStatus = choices.find((m) => m.node_id === peer)?.status;
  const compare = useCompare(tree.noTree ? null : peer, root?.segments ?? null, peerStatus === 'alive');
  const rerun = compare.run;
  // Each compare reloads the tree's hashes, so both show the same moment.
  useEffect(() => {
    if (compare.at) setVersion((v) => v + 1);
  }, [compare.at]);
  const onRepaired = useCallback(() => void rerun(), [rerun]);
  const repair = useRepair(onRepaired);

  const diff = useMemo(() => (compare.result ? differingSegments(compare.result, compare.keySegments) : null), [compare.result, compare.keySegments]);
  const rows = useMemo(() => buildRows(path, tree.nodes, diff), [path, tree.nodes, diff]);
  const depth = root?.depth ?? 5;

  if (standalone) {
    return <Empty testId="merkle-standalone">{self ?? 'This node'} runs without gossip (--gossip=false): there is no peer to compare its tree with.</Empty>;
  }

  const here = self ?? 'this node';
  const ready = !tree.noTree && peer !== null;
  return (
    <div className="merkle-view">
      <PeerToolbar
        choices={choices}
        peer={peer}
        onPeer={setPicked}
        comparing={compare.running}
        phase={repair.phase}
        disabled={tree.noTree}
        onCompare={() => void rerun()}
        onRepair={() => void repair.start()}
      />
      <ErrorNote error={tree.error} testId="merkle-tree-error" />
      {peer && peerStatus && peerStatus !== 'alive' && !tree.noTree ? (
        <p className="note note-warn small" data-testid="merkle-peer-down">
          {peer} is {peerStatus}: a compare exchanges with it now, so it has to be alive.
        </p>
      ) : null}
      <ErrorNote error={tree.noTree ? null : compare.error} testId="merkle-compare-error" />
      <ErrorNote error={repair.phase.kind === 'error' ? repair.phase.message : null} testId="merkle-repair-error" />
      {!peer && !tree.noTree ? <Empty testId="merkle-no-peer">No other member yet: start a node with --seed-node pointing at this one.</Empty> : null}
      {ready ? <SummaryCards peer={peer} tree={root} compare={compare} ae={ae} now={now} /> : null}
      {ready && diff && !diff.complete && compare.result ? (
        <p className="note note-warn small" data-testid="merkle-partial">
          The compare listed {compare.result.segments.length} of {compare.result.segments_differing} segments and {compare.result.keys.length} of {compare.result.keys_differing} keys: some differing branches
          may be drawn as not known to differ.
        </p>
      ) : null}
      <div className="mk-grid">
        <div className="mk-main">
          {ready ? (
            <>
              <TreeBox here={here} peer={peer} rows={rows} path={path} depth={depth} diff={diff} onPath={(p) => setPath(clampPath(p, depth))} />
              <ExchangesTable exchanges={ae?.last_exchange} current={ae?.running ? ae.current : undefined} peer={peer} now={now} />
            </>
          ) : null}
        </div>
        <aside className="side">
          {ready ? <DiffKeys result={compare.result} here={here} peer={peer} /> : null}
          <RepairFeed />
        </aside>
      </div>
    </div>
  );
}
