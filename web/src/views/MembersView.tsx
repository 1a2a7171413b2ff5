import { useEffect, useState } from 'react';
import type { MemberPhase } from '../api/types';
import { Empty, ErrorNote, NodeChip, PhaseBadge, StatusPill } from '../components/Notice';
import { TableHead } from '../components/TableHead';
import { useDashboard } from '../context';
import { useDashState } from '../hooks/useDashState';
import { useNodeColors } from '../hooks/useNodeColors';
import { ago, clockTime, useNow } from '../hooks/useNow';
import { colorOf } from '../model/colors';
import { compareNodeIds } from '../model/lanes';
import { countStatuses, lastChange } from '../model/memberHistory';
import { countPhases, displayPhase } from '../model/ownership';

/** The SWIM member table as the serving node sees it, with status changes seen by this page. */
export function MembersView() {
  const members = useDashState((s) => s.members);
  const history = useDashState((s) => s.memberHistory);
  const error = useDashState((s) => s.errors.members);
  const standalone = useDashState((s) => s.gossipDisabled);
  const self = useDashState((s) => s.status?.node_id ?? null);
  const ring = useDashState((s) => s.ring);
  const colors = useNodeColors();
  const now = useNow(1000);
  const { seen, phases } = useFreshLastSeen(standalone);
  const rows = members ? Object.values(members.cluster_members).sort((a, b) => compareNodeIds(a.node_id, b.node_id)) : [];
  const c = countStatuses(members?.cluster_members);
  // The members push does not come when only a phase changes: the re-read table has it sooner, the ring sooner still.
  const phaseOf = (id: string, status: typeof rows[number]['status'], pushed: MemberPhase | undefined) => displayPhase(id, status, phases[id] ?? pushed, ring);
  const p = countPhases(members?.cluster_members, (m) => phaseOf(m.node_id, m.status, m.phase));

  if (standalone) {
    return (
      <div className="members">
        <Empty testId="members-standalone">
          {self ?? 'This node'} runs without gossip (--gossip=false): a standalone node, with no membership to show. Start nodes with --seed-node to form a cluster.
        </Empty>
      </div>
    );
  }

  return (
    <div className="members">
      <ErrorNote error={error} testId="members-error" />
      <div className="members-summary">
        <span>
          <strong>{rows.length}</strong> members
        </span>
        <span className="dot-alive">{c.alive} alive</span>
        <span className="dot-suspected">{c.suspected} suspected</span>
        <span className="dot-dead">{c.dead} dead</span>
        {c.left ? <span className="dot-left">{c.left} left</span> : null}
        {p.joining ? <span className="dot-joining">{p.joining} joining</span> : null}
        {p.leaving ? <span className="dot-leaving">{p.leaving} leaving</span> : null}
        <span className="muted">· membership as {self ?? 'the serving node'} sees it (SWIM)</span>
      </div>
      {rows.length === 0 ? (
        members ? (
          <Empty>No members — start a node with --seed-node pointing at this one.</Empty>
        ) : error ? null : (
          <Empty>Loading members…</Empty>
        )
      ) : (
        <table className="table members-table" data-testid="members-table">
          <TableHead columns={['node', 'status', 'incarnation', 'last seen', 'last change', 'address', 'peer port', 'history (seen by this page)']} />
          <tbody>
            {rows.map((m) => {
              const h = history[m.node_id] ?? [];
              const changed = lastChange(history, m.node_id);
              const lastSeen = Math.max(Date.parse(m.last_seen) || 0, Date.parse(seen[m.node_id] ?? '') || 0);
              const phase = phaseOf(m.node_id, m.status, m.phase);
              return (
                <tr
                  key={m.node_id}
                  // A new key on each change restarts the row's flash animation.
                  data-testid="member-row"
                  data-member-id={m.node_id}
                  data-status={m.status}
                  data-phase={phase}
                  className={`member-row status-${m.status} phase-${phase}`}
                >
                  <td>
                    <NodeChip id={m.node_id} color={colorOf(colors, m.node_id)} />
                    {m.node_id === self ? <span className="muted small"> (this node)</span> : null}
                  </td>
                  <td>
                    <span key={`${m.status}-${changed ?? 0}`} className={h.length > 1 ? 'flash' : undefined}>
                      <StatusPill status={m.status} />
                    </span>
                    {phase !== 'normal' ? (
                      <>
                        {' '}
                        <PhaseBadge phase={phase} long />
                      </>
                    ) : null}
                  </td>
                  <td className="num">{m.incarnation}</td>
                  <td title={lastSeen ? new Date(lastSeen).toISOString() : undefined}>{m.node_id === self ? <span className="muted">itself</span> : lastSeen ? ago(lastSeen, now) : '—'}</td>
                  <td>{changed && h.length > 1 ? ago(changed, now) : <span className="muted">—</span>}</td>
                  <td className="mono">{m.address}</td>
                  <td className="mono">{m.peer_port ?? '—'}</td>
                  <td>
                    <ol className="history" aria-label={`status history of ${m.node_id}`}>
                      {h.map((t) => (
                        <li key={`${t.at}-${t.to}`}>
                          <span className="mono small">{clockTime(t.at, false)}</span> {t.from ? `${t.from} → ` : 'seen '}
                          <span className={`txt-${t.to}`}>{t.to}</span>
                          <span className="muted small"> inc {t.incarnation}</span>
                        </li>
                      ))}
                    </ol>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * last_seen and phase per member, re-read every 2 s while the WebSocket is
 * up: its members pushes come only when a status, incarnation or address
 * changes, so the last_seen they carry ages between pushes, and a phase that
 * changes alone (joining → normal, normal → leaving) is not pushed. (While
 * the socket is down the REST polling brings the whole table every 2 s.)
 */
function useFreshLastSeen(standalone: boolean): { seen: Record<string, string>; phases: Record<string, MemberPhase> } {
  const { api } = useDashboard();
  const live = useDashState((s) => s.conn.kind === 'open');
  const [seen, setSeen] = useState<{ seen: Record<string, string>; phases: Record<string, MemberPhase> }>({ seen: {}, phases: {} });
  useEffect(() => {
    if (!live || standalone) {
      // the REST polling brings whole tables: phases kept from here would only be older
      setSeen((s) => (Object.keys(s.phases).length ? { ...s, phases: {} } : s));
      return;
    }
    let stopped = false;
    const read = async () => {
      try {
        const m = await api.members();
        const ms = Object.values(m.cluster_members);
        if (!stopped)
          setSeen({
            seen: Object.fromEntries(ms.map((x) => [x.node_id, x.last_seen])),
            // and the phases, which a members push does not follow
            phases: Object.fromEntries(ms.filter((x) => x.phase).map((x) => [x.node_id, x.phase as MemberPhase])),
          });
      } catch {
        /* the next read, or the push, brings it */
      }
    };
    void read();
    const timer = setInterval(() => void read(), 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, live, standalone]);
  return seen;
}
