/**
 * OwnershipBox.tsx - each member's share of the token space: a legend while
 * the ring is settled; while ownership moves, each member's share now → in
 * the ring it moves to, with the change, joiners and leavers marked.
 */
import type { RingResponse } from '../api/types';
import { NodeChip, PhaseBadge, StatusPill } from '../components/Notice';
import { TableHead } from '../components/TableHead';
import { formatShare } from '../merkle/format';
import { colorOf } from '../model/colors';
import { compareNodeIds } from '../model/lanes';
import { formatDelta, shareMoving, type OwnershipRow } from '../model/ownership';
import type { NextRanges } from '../model/ringTokens';

interface Props {
  ring: RingResponse | null;
  rows: OwnershipRow[];
  moves: NextRanges | null;
  statusOf: (id: string, fallback: string) => string;
  colors: Map<string, string>;
}

const pct = (x: number) => `${Math.min(100, Math.max(0, x * 100))}%`;

function Settled({ ring, statusOf, colors }: Omit<Props, 'rows' | 'moves'> & { ring: RingResponse }) {
  const members = [...ring.members].sort((a, b) => compareNodeIds(a.node_id, b.node_id));
  return (
    <ul className="legend" data-testid="ring-legend">
      {members.map((m) => (
        <li key={m.node_id} data-node={m.node_id} data-ownership={m.ownership}>
          <NodeChip id={m.node_id} color={colorOf(colors, m.node_id)} />
          <span className="share-bar" aria-hidden="true">
            <span style={{ width: pct(m.ownership), background: colorOf(colors, m.node_id) }} />
          </span>
          <span className="num">{(m.ownership * 100).toFixed(1)}%</span>
          <StatusPill status={statusOf(m.node_id, m.status)} />
        </li>
      ))}
    </ul>
  );
}

function Moving({ rows, moves, statusOf, colors }: Omit<Props, 'ring'>) {
  const moved = shareMoving(rows);
  return (
    <>
      <p className="note note-warn small moving-note" data-testid="ring-moving">
        <strong>Ownership is moving:</strong> {formatShare(moved)} of the token space changes primary owner.
        {rows.some((r) => r.phase === 'joining') ? ' A joining member streams its ranges before it serves reads.' : ''}
        {rows.some((r) => r.phase === 'leaving') ? ' A leaving member hands its records to their next owners, then goes.' : ''}
      </p>
      <table className="table compact moves-table" data-testid="ring-moves">
        <TableHead columns={['member', 'share now → next', 'change']} />
        <tbody>
          {rows.map((r) => {
            const color = colorOf(colors, r.node_id);
            const status = statusOf(r.node_id, r.status);
            return (
              <tr key={r.node_id} data-testid="ring-move-row" data-node={r.node_id} data-phase={r.phase} data-now={r.now} data-next={r.next} className={`move-row move-${r.phase}`}>
                <td>
                  <NodeChip id={r.node_id} color={color} /> <PhaseBadge phase={r.phase} />
                  {status !== 'alive' ? (
                    <>
                      {' '}
                      <StatusPill status={status} />
                    </>
                  ) : null}
                </td>
                <td className="move-share">
                  <span className="move-bars" aria-hidden="true" title={`now ${formatShare(r.now)}, next ${formatShare(r.next)}`}>
                    <span className="move-bar move-bar-now">
                      <span style={{ width: pct(r.now), background: color }} />
                    </span>
                    <span className="move-bar move-bar-next">
                      <span style={{ width: pct(r.next), background: color }} />
                    </span>
                  </span>
                  <span className="num small">
                    {r.inNow ? formatShare(r.now) : <span className="muted">—</span>} → {r.inNext ? formatShare(r.next) : <span className="muted">gone</span>}
                  </span>
                </td>
                <td className={`num move-delta ${r.delta > 0.0005 ? 'delta-up' : r.delta < -0.0005 ? 'delta-down' : 'muted'}`}>{formatDelta(r.delta)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted small moves-key">
        {moves?.kind === 'moving' ? (
          <>
            On the ring, <span className="key-hatch" aria-hidden="true" /> hatched ranges change owner; the outer band is drawn in the colour of the member taking them.
          </>
        ) : (
          <>On the ring, a leaving member's ranges are hatched and a joining member is drawn dashed.</>
        )}{' '}
        Top bar: now; bottom bar: next.
      </p>
    </>
  );
}

export function OwnershipBox(props: Props) {
  const { ring } = props;
  const moving = !!ring?.moving && !!ring.next;
  return (
    <section className={moving ? 'box box-moving' : 'box'} aria-label="Ownership" data-testid="ring-ownership" data-moving={String(moving)}>
      <h2 className="box-title">Ownership{moving ? ' — moving' : ''}</h2>
      {ring ? (
        <p className="muted small ring-meta">
          {ring.total_vnodes} vnodes · N={ring.replicas} · ring <span className="mono">{ring.version}</span>
          {moving ? (
            <>
              {' '}
              → <span className="mono">{ring.next!.version}</span>
            </>
          ) : null}
        </p>
      ) : null}
      {ring ? moving ? <Moving rows={props.rows} moves={props.moves} statusOf={props.statusOf} colors={props.colors} /> : <Settled ring={ring} statusOf={props.statusOf} colors={props.colors} /> : null}
      {ring?.under_replicated ? <p className="warn small">Fewer members than N: every key is on every member.</p> : null}
    </section>
  );
}
