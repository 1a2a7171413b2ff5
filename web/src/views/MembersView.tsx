import { useEffect, useState } from 'react';
import { Empty, ErrorNote, NodeChip, StatusPill } from '../components/Notice';
import { TableHead } from '../components/TableHead';
import { useDashboard } from '../context';
import { useDashState } from '../hooks/useDashState';
import { useNodeColors } from '../hooks/useNodeColors';
import { ago, clockTime, useNow } from '../hooks/useNow';
import { colorOf } from '../model/colors';
import { compareNodeIds } from '../model/lanes';
import { countStatuses, lastChange } from '../model/memberHistory';

/** The SWIM member table as the serving node sees it, with status changes seen by this page. */
export function MembersView() {
  const members = useDashState((s) => s.members);
  const history = useDashState((s) => s.memberHistory);
  const error = useDashState((s) => s.errors.members);
  const standalone = useDashState((s) => s.gossipDisabled);
  const self = useDashState((s) => s.status?.node_id ?? null);
  const colors = useNodeColors();
  const now = useNow(1000);
  const seen = useFreshLastSeen(standalone);
  const rows = members ? Object.values(members.cluster_members).sort((a, b) => compareNodeIds(a.node_id, b.node_id)) : [];
  const c = countStatuses(members?.cluster_members);

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
              return (
                <tr
                  key={m.node_id}
                  // A new key on each change restarts the row's flash animation.
                  data-testid="member-row"
                  data-member-id={m.node_id}
                  data-status={m.status}
                  className={`member-row status-${m.status}`}
                >
                  <td>
                    <NodeChip id={m.node_id} color={colorOf(colors, m.node_id)} />
                    {m.node_id === self ? <span className="muted small"> (this node)</span> : null}
                  </td>
                  <td>
                    <span key={`${m.status}-${changed ?? 0}`} className={h.length > 1 ? 'flash' : undefined}>
                      <StatusPill status={m.status} />
                    </span>
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
 * last_seen per member, re-read every 2 s while the WebSocket is up: its
 * members pushes come only when a status, incarnation or address changes, so
 * the last_seen they carry ages between pushes. (While the socket is down the
 * REST polling brings the whole table every 2 s.)
 */
function useFreshLastSeen(standalone: boolean): Record<string, string> {
  const { api } = useDashboard();
  const live = useDashState((s) => s.conn.kind === 'open');
  const [seen, setSeen] = useState<Record<string, string>>({});
  useEffect(() => {
    if (!live || standalone) return;
    let stopped = false;
    const read = async () => {
      try {
        const m = await api.members();
        if (!stopped) setSeen(Object.fromEntries(Object.values(m.cluster_members).map((x) => [x.node_id, x.last_seen])));
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
