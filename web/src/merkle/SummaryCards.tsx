/** SummaryCards.tsx - the Merkle view's figures: sync with the peer, this node's tree, what the two share, anti-entropy on this node. */
import type { ReactNode } from 'react';
import type { AntiEntropyStatus, MerkleTreeResponse } from '../api/types';
import { Card } from '../components/Card';
import { ago } from '../hooks/useNow';
import { formatBytes, formatDuration, formatShare } from './format';
import type { CompareState } from './useCompare';

interface Props {
  peer: string;
  tree: MerkleTreeResponse | null;
  compare: CompareState;
  ae: AntiEntropyStatus | undefined;
  now: number;
}

/** A card of figures (a definition list) once `ready`, else a line saying why there are none yet. */
function FigureCard({ title, testId, ready, fallback, top, children }: { title: string; testId: string; ready: boolean; fallback: string; top?: ReactNode; children: ReactNode }) {
  return (
    <Card title={title} testId={testId}>
      {top}
      {ready ? <dl className="kv">{children}</dl> : <p className="muted small">{fallback}</p>}
    </Card>
  );
}

function SyncCard({ peer, compare, now }: Pick<Props, 'peer' | 'compare' | 'now'>) {
  const r = compare.result;
  const verdict = r ? (r.in_sync ? 'in sync' : 'out of sync') : compare.running ? 'comparing…' : '—';
  const top = (
    <div className="big-row" data-in-sync={r ? String(r.in_sync) : ''} data-keys-differing={r ? r.keys_differing : ''} data-testid="merkle-verdict">
      <span className={r ? (r.in_sync ? 'big ok' : 'big warn') : 'big muted'}>{verdict}</span>
    </div>
  );
  return (
    <FigureCard title={`Sync with ${peer}`} testId="merkle-sync" ready={r !== null} fallback="compares the ranges the two nodes share, without repairing" top={top}>
      {r ? (
        <>
          <dt>keys differing</dt>
          <dd data-testid="merkle-keys-differing">
            <strong>{r.keys_differing}</strong> <span className="muted">of {r.keys_compared} compared</span>
          </dd>
          <dt>segments</dt>
          <dd>{r.segments_differing} compared by key</dd>
          <dt>tree nodes</dt>
          <dd>
            {r.tree_nodes_compared} <span className="muted">in {formatDuration(r.duration_ms)}</span>
          </dd>
          <dt>compared</dt>
          <dd>{compare.at ? ago(compare.at, now) : '—'}</dd>
        </>
      ) : null}
    </FigureCard>
  );
}

function TreeCard({ tree }: { tree: MerkleTreeResponse | null }) {
  return (
    <FigureCard title="This node's tree" testId="merkle-tree-card" ready={tree !== null} fallback="loading…">
      {tree ? (
        <>
          <dt>keys</dt>
          <dd data-testid="merkle-tree-keys">{tree.keys.toLocaleString()}</dd>
          <dt>segments</dt>
          <dd>
            {tree.segments.toLocaleString()} <span className="muted">· {tree.depth} levels × {tree.fanout}</span>
          </dd>
          <dt>memory</dt>
          <dd>{formatBytes(tree.memory_bytes)}</dd>
          <dt>root</dt>
          <dd className="mono" title={tree.root}>
            {tree.root}
          </dd>
        </>
      ) : null}
    </FigureCard>
  );
}

function SharedCard({ peer, tree }: Pick<Props, 'peer' | 'tree'>) {
  const sh = tree?.shared[peer];
  const self = tree?.shared.self;
  return (
    <FigureCard title={`Shared with ${peer}`} testId="merkle-shared" ready={!!sh} fallback={tree ? `${peer} is not in this node's ring` : 'loading…'}>
      {sh ? (
        <>
          <dt>ranges</dt>
          <dd data-testid="merkle-shared-ranges">{sh.ranges}</dd>
          <dt>share</dt>
          <dd>{formatShare(sh.share)} of the tokens</dd>
          <dt>root here</dt>
          <dd className="mono" title={`this node's root over the ranges it shares with ${peer}`}>
            {sh.root}
          </dd>
          {self ? (
            <>
              <dt>replicates</dt>
              <dd>{formatShare(self.share)} of the tokens</dd>
            </>
          ) : null}
        </>
      ) : null}
    </FigureCard>
  );
}

function AntiEntropyCard({ ae }: { ae: AntiEntropyStatus | undefined }) {
  return (
    <FigureCard title="Anti-entropy here" testId="merkle-ae" ready={!!ae} fallback="loading…">
      {ae ? (
        <>
          <dt>rounds</dt>
          <dd>{ae.enabled ? `every ${formatDuration(ae.interval_ms)}` : 'off'}</dd>
          <dt>exchanges</dt>
          <dd>
            {ae.exchanges}
            {ae.exchanges_failed ? <span className="err"> · {ae.exchanges_failed} failed</span> : null}
            {ae.running ? <span className="warn"> · running{ae.current ? ` with ${ae.current.peer}` : ''}</span> : null}
            {ae.queued ? <span className="muted"> · {ae.queued} queued</span> : null}
          </dd>
          <dt>repaired</dt>
          <dd data-testid="merkle-ae-repaired">
            {ae.keys_repaired} keys <span className="muted">(↑{ae.keys_pushed} ↓{ae.keys_pulled})</span>
          </dd>
          <dt>traffic</dt>
          <dd>
            ↑{formatBytes(ae.bytes_sent)} ↓{formatBytes(ae.bytes_received)}
          </dd>
          <dt>reaped</dt>
          <dd>{ae.tombstones_reaped} tombstones</dd>
        </>
      ) : null}
    </FigureCard>
  );
}

export function SummaryCards({ peer, tree, compare, ae, now }: Props) {
  return (
    <div className="cards mk-cards">
      <SyncCard peer={peer} compare={compare} now={now} />
      <TreeCard tree={tree} />
      <SharedCard peer={peer} tree={tree} />
      <AntiEntropyCard ae={ae} />
    </div>
  );
}
