import { useMemo } from 'react';
import { arc } from 'd3';
import type { LookupResponse, MemberPhase, RingResponse } from '../api/types';
import { colorOf } from '../model/colors';
import { compareNodeIds } from '../model/lanes';
import type { OwnershipRow } from '../model/ownership';
import type { MovingRange, NextRanges } from '../model/ringTokens';
import { ownerIndex, ringPoint, type Flow } from '../model/replication';

interface Props {
  ring: RingResponse;
  /** The member table, for current statuses (the ring's own may be older). */
  statuses: Record<string, { status: string }> | null;
  colors: Map<string, string>;
  size: number;
  lookup: LookupResponse | null;
  flows: Flow[];
  coordinator: string | null;
  /** Per node, how many replication events for the looked-up key arrived (each one pulses the node). */
  pulses: Record<string, number>;
  /** While ownership moves: every member of the ring and of the next ring, with its phase. */
  moveRows: OwnershipRow[] | null;
  /** While ownership moves: the ranges that change owner, when the next ring could be placed. */
  moves: NextRanges | null;
}

interface Run {
  node: string;
  start: number;
  end: number;
}

/** Contiguous token ranges owned by one member: the range ending at each token belongs to its member. */
function ownerRuns(ring: RingResponse): Run[] {
  const v = ring.vnodes;
  if (v.length === 0) return [];
  const runs: Run[] = [];
  let start = v[v.length - 1].position - 1; // the first range wraps from the last token
  for (let i = 0; i < v.length; i++) {
    const last = runs[runs.length - 1];
    if (last && last.node === v[i].node_id) last.end = v[i].position;
    else runs.push({ node: v[i].node_id, start, end: v[i].position });
    start = v[i].position;
  }
  return runs;
}

/** The vnodes that make the preference list: walking clockwise from the key, the first token of each new member. */
function preferenceTokens(ring: RingResponse, position: number, n: number): { node: string; position: number }[] {
  const v = ring.vnodes;
  const out: { node: string; position: number }[] = [];
  const seen = new Set<string>();
  const first = ownerIndex(
    v.map((x) => x.position),
    position,
  );
  for (let k = 0; k < v.length && out.length < n && first >= 0; k++) {
    const t = v[(first + k) % v.length];
    if (seen.has(t.node_id)) continue;
    seen.add(t.node_id);
    out.push({ node: t.node_id, position: t.position });
  }
  return out;
}

export function RingChart({ ring, statuses, colors, size, lookup, flows, coordinator, pulses, moveRows, moves }: Props) {
  const c = size / 2;
  const R = Math.max(60, size / 2 - 46);
  const band = Math.max(10, R * 0.07);
  const inner = R * 0.52;
  const runs = useMemo(() => ownerRuns(ring), [ring]);
  const arcGen = useMemo(() => arc<Run>().innerRadius(R - band).outerRadius(R).startAngle((r) => r.start * 2 * Math.PI).endAngle((r) => r.end * 2 * Math.PI), [R, band]);
  const members = useMemo(() => [...ring.members].sort((a, b) => compareNodeIds(a.node_id, b.node_id)), [ring]);
  // While ownership moves, a joining member (in the next ring only) gets a badge too.
  const badgeIds = useMemo(() => (moveRows ? moveRows.map((r) => r.node_id) : members.map((m) => m.node_id)), [moveRows, members]);
  const phaseOf = useMemo(() => new Map<string, MemberPhase>((moveRows ?? []).map((r) => [r.node_id, r.phase])), [moveRows]);
  const moving: MovingRange[] = moves?.kind === 'moving' ? moves.ranges : [];
  // Without the next ring's ranges, a leaving member's ranges are the ones known to move.
  const leavingRuns = useMemo(() => (moves?.kind === 'moving' ? [] : runs.filter((r) => phaseOf.get(r.node) === 'leaving')), [moves, runs, phaseOf]);
  const outerArc = useMemo(() => arc<MovingRange>().innerRadius(R + 3).outerRadius(R + 9).startAngle((r) => r.start * 2 * Math.PI).endAngle((r) => r.end * 2 * Math.PI), [R]);
  const hatchArc = useMemo(() => arc<{ start: number; end: number }>().innerRadius(R - band).outerRadius(R).startAngle((r) => r.start * 2 * Math.PI).endAngle((r) => r.end * 2 * Math.PI), [R, band]);
  const badge = useMemo(() => {
    const m = new Map<string, [number, number]>();
    badgeIds.forEach((id, i) => m.set(id, ringPoint(i / Math.max(1, badgeIds.length), inner)));
    for (const f of flows) if (!m.has(f.node)) m.set(f.node, ringPoint(0.5, inner * 0.2));
    return m;
  }, [badgeIds, flows, inner]);
  const pref = useMemo(() => (lookup ? preferenceTokens(ring, lookup.position, lookup.preference_list.length) : []), [ring, lookup]);
  const coord = coordinator ? badge.get(coordinator) : undefined;
  const hintedSelf = flows.some((f) => f.node === coordinator && f.state === 'hinted');
  const br = Math.max(14, Math.min(26, size / 26));

  return (
    <svg className="ring-chart" width={size} height={size} viewBox={`0 0 ${size} ${size}`} role="img" aria-label={`Hash ring: ${ring.total_vnodes} virtual nodes of ${ring.members.length} members`} data-testid="ring-chart" data-vnodes={ring.vnodes.length}>
      <defs>
        <pattern id="ring-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">
          <rect width="2.6" height="6" className="hatch-stripe" />
        </pattern>
        {(['pending', 'ok', 'failed', 'hinted'] as const).map((s) => (
          <marker key={s} id={`arrow-${s}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" className={`arrowhead-${s}`} />
          </marker>
        ))}
      </defs>
      <g transform={`translate(${c},${c})`}>
        <circle r={R - band / 2} className="ring-track" />
        {runs.map((r, i) => (
          <path key={i} d={arcGen(r) ?? ''} fill={colorOf(colors, r.node)} className="ring-arc">
            <title>{`${r.node}: ${(r.start < 0 ? r.start + 1 : r.start).toFixed(4)} – ${r.end.toFixed(4)}`}</title>
          </path>
        ))}
        {ring.vnodes.map((v) => {
          const [x1, y1] = ringPoint(v.position, R - band);
          const [x2, y2] = ringPoint(v.position, R + 3);
          return <line key={v.token} x1={x1} y1={y1} x2={x2} y2={y2} className="vnode-tick" />;
        })}
        {moving.length || leavingRuns.length ? (
          <g data-testid="ring-moving-ranges" data-ranges={moving.length || leavingRuns.length}>
            {moving.map((r, i) => (
              <g key={`m${i}`} data-from={r.from} data-to={r.to}>
                <path d={hatchArc(r) ?? ''} fill="url(#ring-hatch)" className="moving-hatch" />
                <path d={outerArc(r) ?? ''} fill={colorOf(colors, r.to)} className="moving-next">
                  <title>{`${r.start.toFixed(4)} – ${r.end.toFixed(4)}: ${r.from} → ${r.to}`}</title>
                </path>
              </g>
            ))}
            {leavingRuns.map((r, i) => (
              <path key={`l${i}`} d={hatchArc(r) ?? ''} fill="url(#ring-hatch)" className="moving-hatch">
                <title>{`${r.node} is leaving: ${(r.start < 0 ? r.start + 1 : r.start).toFixed(4)} – ${r.end.toFixed(4)} moves`}</title>
              </path>
            ))}
          </g>
        ) : null}
        {[0, 0.25, 0.5, 0.75].map((p) => {
          const [x, y] = ringPoint(p, R + 16);
          return (
            <text key={p} x={x} y={y} className="ring-scale" textAnchor="middle" dominantBaseline="middle">
              {p.toFixed(2)}
            </text>
          );
        })}
        {lookup ? (
          <g data-testid="ring-key-mark" data-position={lookup.position}>
            {pref.map((p, i) => {
              const [x, y] = ringPoint(p.position, R - band / 2);
              const [lx, ly] = ringPoint(p.position, R - band - 12 - i * 12);
              return (
                <g key={p.node}>
                  <circle cx={x} cy={y} r={band * 0.55} fill={colorOf(colors, p.node)} className="pref-token" />
                  <text x={lx} y={ly} className="pref-label" textAnchor="middle" dominantBaseline="middle">
                    {i + 1}
                  </text>
                </g>
              );
            })}
            {(() => {
              const [x0, y0] = ringPoint(lookup.position, R - band / 2);
              const [x1, y1] = ringPoint(lookup.position, R + 30);
              const [tx, ty] = ringPoint(lookup.position, R + 40);
              const anchor = tx > 4 ? 'start' : tx < -4 ? 'end' : 'middle';
              return (
                <>
                  <line x1={x0} y1={y0} x2={x1} y2={y1} className="key-line" />
                  <circle cx={x0} cy={y0} r={4} className="key-dot" />
                  <text x={tx} y={ty} textAnchor={anchor} dominantBaseline="middle" className="key-label">
                    {lookup.key.length > 18 ? `${lookup.key.slice(0, 17)}…` : lookup.key}
                  </text>
                </>
              );
            })()}
          </g>
        ) : null}
        {coord
          ? flows
              .filter((f) => f.node !== coordinator)
              .map((f) => {
                const to = badge.get(f.node);
                if (!to) return null;
                const [x0, y0] = coord;
                const [x1, y1] = to;
                const len = Math.hypot(x1 - x0, y1 - y0) || 1;
                const ux = (x1 - x0) / len;
                const uy = (y1 - y0) / len;
                // bend the arrow a little so two opposite flows do not overlap
                const mx = (x0 + x1) / 2 - uy * len * 0.12;
                const my = (y0 + y1) / 2 + ux * len * 0.12;
                const sx = x0 + ux * (br + 2);
                const sy = y0 + uy * (br + 2);
                const ex = x1 - ux * (br + 4);
                const ey = y1 - uy * (br + 4);
                return (
                  <path
                    key={`${f.node}-${f.state}`}
                    d={`M${sx},${sy} Q${mx},${my} ${ex},${ey}`}
                    className={`flow flow-${f.state}`}
                    markerEnd={`url(#arrow-${f.state})`}
                    data-testid="flow-arrow"
                    data-node={f.node}
                    data-state={f.state}
                  />
                );
              })
          : null}
        {Array.from(badge.entries()).map(([id, [x, y]]) => {
          const m = members.find((mm) => mm.node_id === id);
          const nextOnly = !m && phaseOf.has(id);
          const status = statuses?.[id]?.status ?? m?.status ?? moveRows?.find((r) => r.node_id === id)?.status ?? 'alive';
          const phase = phaseOf.get(id) ?? 'normal';
          const isCoord = id === coordinator;
          // below the dashed halo of a member joining or leaving
          const [lx, ly] = [x * 1.0, y + br + (phase !== 'normal' ? 19 : 13)];
          return (
            <g key={id} className={`badge status-${status} phase-${phase}`} data-testid="ring-member" data-node={id} data-status={status} data-phase={phase}>
              {phase !== 'normal' ? <circle cx={x} cy={y} r={br + 5} className={`phase-halo phase-halo-${phase}`} /> : null}
              {isCoord && hintedSelf ? <circle cx={x} cy={y} r={br + 6} className="hint-halo" /> : null}
              {pulses[id] ? <circle key={`p${pulses[id]}`} cx={x} cy={y} r={br} className="pulse" stroke={colorOf(colors, id)} /> : null}
              <circle cx={x} cy={y} r={br} fill={colorOf(colors, id)} className={isCoord ? 'badge-circle coordinator' : 'badge-circle'} />
              <text x={x} y={y} textAnchor="middle" dominantBaseline="central" className="badge-text">
                {id.replace(/^node-/, '').slice(0, 4)}
              </text>
              <text x={lx} y={ly} textAnchor="middle" className="badge-label">
                {id.length > 14 ? `${id.slice(0, 13)}…` : id}
                {isCoord ? ' · coord' : ''}
              </text>
              {phase !== 'normal' ? (
                <text x={lx} y={ly + 14} textAnchor="middle" className={`badge-phase badge-phase-${phase}`}>
                  {phase === 'leaving' ? 'leaving · handing off' : 'joining · streaming'}
                </text>
              ) : null}
              <title>{`${id} (${m ? status : nextOnly ? `${phase}: in the next ring` : 'not a ring member'}${m && phase !== 'normal' ? `, ${phase}` : ''})`}</title>
            </g>
          );
        })}
      </g>
    </svg>
  );
}
