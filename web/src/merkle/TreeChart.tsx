/**
 * TreeChart.tsx - the Merkle tree as rows of cells, laid out with D3 scales:
 * the root, then the 16 children of each node on the selected path. A cell
 * is coloured by its state (differs / in sync / no keys / not known); a
 * click on a cell above the leaves descends into it.
 */
import { scaleBand } from 'd3';
import { useMemo, useRef, type KeyboardEvent } from 'react';
import { useElementSize } from '../hooks/useElementSize';
import { HEX_DIGITS, type Cell, type CellState, type Row } from './branches';
import { shortHash } from './format';

interface Props {
  rows: Row[];
  path: string;
  /** The tree's depth: cells of this level are leaves. */
  depth: number;
  peer: string;
  onSelect: (prefix: string) => void;
}

const LABEL_W = 84;
const ROW_H = 44;
const GAP = 22;

const STATE_TEXT: Record<CellState, string> = {
  differs: 'differs',
  in_sync: 'in sync',
  empty: 'no keys here',
  unknown: 'not known to differ',
};

function cellTitle(c: Cell, peer: string): string {
  const name = c.prefix ? `branch ${c.prefix}` : 'root';
  const what = c.state === 'differs' ? `differs from ${peer}${c.differing ? ` (${c.differing} differing segment${c.differing === 1 ? '' : 's'} below)` : ''}` : STATE_TEXT[c.state];
  return `${name} · level ${c.level} · hash ${c.hash} · ${what}`;
}

export function TreeChart({ rows, path, depth, peer, onSelect }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const { width: boxWidth } = useElementSize(box);
  // Not measured yet (or hidden): draw at a minimal width rather than not at all.
  const width = Math.max(320, boxWidth);
  const x = useMemo(() => scaleBand<string>().domain(HEX_DIGITS.split('')).range([LABEL_W, width]).paddingInner(0.12), [width]);
  const y = (i: number) => i * (ROW_H + GAP) + 1;
  const height = rows.length ? y(rows.length - 1) + ROW_H + 2 : 0;

  const geom = (c: Cell) => (c.level === 0 ? { x0: LABEL_W, w: width - LABEL_W } : { x0: x(c.prefix.slice(-1)) ?? 0, w: x.bandwidth() });
  const selectedIn = (r: Row) => r.cells.find((c) => c.level > 0 && path.length >= c.level && path.slice(0, c.level) === c.prefix) ?? null;

  const key = (c: Cell) => (e: KeyboardEvent) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    onSelect(c.prefix);
  };

  return (
    <div className="mk-chart" ref={box} data-testid="merkle-tree" data-path={path} data-rows={rows.length}>
      {rows.length ? (
        <svg width={width} height={height} role="group" aria-label={`Merkle tree rows down to ${path ? `branch ${path}` : 'the root'}`}>
          {rows.map((r, i) => {
            const sel = selectedIn(r);
            if (!sel || i + 1 >= rows.length) return null;
            const g = geom(sel);
            const y0 = y(i) + ROW_H;
            const y1 = y(i + 1);
            return <polygon key={`f${r.level}`} className={`mk-funnel mk-funnel-${sel.state}`} points={`${g.x0},${y0} ${g.x0 + g.w},${y0} ${width},${y1} ${LABEL_W},${y1}`} />;
          })}
          {rows.map((r, i) => (
            <g key={r.level} transform={`translate(0,${y(i)})`} data-testid="merkle-row" data-level={r.level}>
              <text className="mk-row-label" x={0} y={18}>
                {r.level === 0 ? 'root' : `level ${r.level}`}
              </text>
              <text className="mk-row-sub" x={0} y={34}>
                {r.level === 0 ? 'every token' : `under ${r.parent || 'root'}`}
              </text>
              {r.cells.map((c) => {
                const g = geom(c);
                const leaf = c.level >= depth;
                const selected = c.level === 0 || (path.length >= c.level && path.slice(0, c.level) === c.prefix);
                const wide = g.w >= 34;
                return (
                  <g
                    key={c.prefix}
                    className={`mk-cell mk-cell-${c.state}${selected ? ' mk-selected' : ''}${leaf ? ' mk-leaf' : ''}`}
                    transform={`translate(${g.x0},0)`}
                    data-testid="merkle-cell"
                    data-prefix={c.prefix}
                    data-level={c.level}
                    data-state={c.state}
                    role={leaf ? undefined : 'button'}
                    tabIndex={leaf ? undefined : 0}
                    aria-label={cellTitle(c, peer)}
                    aria-pressed={leaf ? undefined : selected}
                    onClick={leaf ? undefined : () => onSelect(c.prefix)}
                    onKeyDown={leaf ? undefined : key(c)}
                  >
                    <title>{cellTitle(c, peer)}</title>
                    <rect width={g.w} height={ROW_H} rx={5} />
                    {c.level === 0 ? (
                      <text className="mk-cell-text" x={g.w / 2} y={27} textAnchor="middle">
                        <tspan className="mono">{c.hash}</tspan>
                        <tspan dx={10}>{c.state === 'differs' ? `differs from ${peer}` : c.state === 'in_sync' ? `in sync with ${peer}` : c.state === 'unknown' ? 'not compared' : STATE_TEXT[c.state]}</tspan>
                      </text>
                    ) : (
                      <>
                        <text className="mk-cell-digit" x={g.w / 2} y={wide ? 19 : 27} textAnchor="middle">
                          {c.prefix.slice(-1)}
                        </text>
                        {wide ? (
                          <text className="mk-cell-hash" x={g.w / 2} y={35} textAnchor="middle">
                            {shortHash(c.hash)}
                          </text>
                        ) : null}
                      </>
                    )}
                  </g>
                );
              })}
            </g>
          ))}
        </svg>
      ) : null}
    </div>
  );
}
