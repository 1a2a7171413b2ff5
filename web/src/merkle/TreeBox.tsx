/** TreeBox.tsx - the tree's box: where in the tree the rows go (breadcrumb), the chart, its legend and what the colours are based on. */
import type { DiffSegments } from './segments';
import type { Row } from './branches';
import { pathPrefixes } from './branches';
import { TreeChart } from './TreeChart';

interface Props {
  here: string;
  peer: string;
  rows: Row[];
  path: string;
  depth: number;
  diff: DiffSegments | null;
  onPath: (prefix: string) => void;
}

const LEGEND: Array<[string, string]> = [
  ['differs', 'differs'],
  ['in_sync', 'in sync'],
  ['empty', 'no keys here'],
  ['unknown', 'not known to differ'],
];

export function TreeBox({ here, peer, rows, path, depth, diff, onPath }: Props) {
  return (
    <section className="box" aria-label="Merkle tree">
      <div className="mk-box-head">
        <h2 className="box-title">
          Tree of {here} against {peer}
        </h2>
        <nav className="mk-crumbs small" aria-label="Position in the tree" data-testid="merkle-crumbs">
          {pathPrefixes(path).map((p, i) => (
            <span key={p}>
              {i ? <span className="muted"> › </span> : null}
              <button type="button" className="link" onClick={() => onPath(p)} aria-current={p === path ? 'location' : undefined} data-testid="merkle-crumb" data-prefix={p}>
                {p || 'root'}
              </button>
            </span>
          ))}
        </nav>
      </div>
      <TreeChart rows={rows} path={path} depth={depth} peer={peer} onSelect={onPath} />
      <ul className="type-legend mk-legend" aria-label="Cell colours">
        {LEGEND.map(([k, label]) => (
          <li key={k}>
            <span className={`mk-swatch mk-swatch-${k}`} aria-hidden="true" /> {k === 'differs' ? `differs from ${peer}` : label}
          </li>
        ))}
      </ul>
      <p className="muted small mk-help">
        Click a cell to see its 16 children. Hashes cover every token this node holds; the colours come from the compare over the ranges {here} shares with {peer}
        {diff?.source === 'keys' ? ', placing each differing key in its segment' : ''}.
      </p>
    </section>
  );
}
