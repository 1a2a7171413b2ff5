import { Card } from '../components/Card';
import { Empty, ErrorNote, NodeChip } from '../components/Notice';
import { TableHead } from '../components/TableHead';
import { Sparkline } from '../components/Sparkline';
import { useDashState } from '../hooks/useDashState';
import { useNodeColors } from '../hooks/useNodeColors';
import { clockTime } from '../hooks/useNow';
import { countStatuses } from '../model/memberHistory';
import { colorOf } from '../model/colors';
import { formatMs, formatRate } from '../model/stats';
import { formatClock } from '../model/vclock';

function uptime(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function OverviewView({ onGo }: { onGo: (tab: string) => void }) {
  const members = useDashState((s) => s.members);
  const standalone = useDashState((s) => s.gossipDisabled);
  const status = useDashState((s) => s.status);
  const stats = useDashState((s) => s.stats);
  const conflicts = useDashState((s) => s.conflicts);
  const errors = useDashState((s) => s.errors);
  const loaded = useDashState((s) => s.loaded);
  const log = useDashState((s) => s.log);
  const ring = useDashState((s) => s.ring);
  const colors = useNodeColors();
  const counts = countStatuses(members?.cluster_members);
  const recent = log.events.slice(-8).reverse();

  return (
    <div className="overview">
      <ErrorNote error={errors.status ?? errors.members} testId="overview-error" />
      <div className="cards">
        <Card title="Members" testId="overview-members">
          <div className="counts" data-alive={counts.alive} data-suspected={counts.suspected} data-dead={counts.dead}>
            <div className="count count-alive">
              <span className="big">{loaded.members ? counts.alive : <span className="muted">—</span>}</span>alive
            </div>
            <div className="count count-suspected">
              <span className="big">{loaded.members ? counts.suspected : <span className="muted">—</span>}</span>suspected
            </div>
            <div className="count count-dead">
              <span className="big">{loaded.members ? counts.dead : <span className="muted">—</span>}</span>dead
            </div>
            {counts.left ? (
              <div className="count count-left">
                <span className="big">{counts.left}</span>left
              </div>
            ) : null}
          </div>
          <p className="muted small">{standalone ? 'a standalone node (--gossip=false)' : `as ${status?.node_id ?? 'this node'} sees the cluster`}</p>
        </Card>

        <Card title="Throughput" testId="overview-ops">
          <div className="big-row">
            <span className="big" data-testid="ops-value" data-ops={stats.ops.toFixed(2)}>
              {stats.source === 'none' ? '—' : formatRate(stats.opsSmoothed)}
            </span>
            <span className="unit">ops/s</span>
          </div>
          <Sparkline points={stats.series} label="data requests per second over the last minute" />
          <p className="muted small">
            data requests on {stats.nodeId ?? status?.node_id ?? 'this node'} ·{' '}
            {stats.source === 'ws' ? 'pushed every second' : stats.source === 'rest' ? 'from /metrics every 2 s' : 'waiting for the first sample'}
          </p>
        </Card>

        <Card title="Latency" testId="overview-latency">
          <dl className="kv">
            <dt>p50</dt>
            <dd data-testid="latency-p50">{stats.latency.p50 === null ? 'idle' : formatMs(stats.latency.p50)}</dd>
            <dt>p99</dt>
            <dd data-testid="latency-p99">{stats.latency.p99 === null ? 'idle' : formatMs(stats.latency.p99)}</dd>
            <dt>requests</dt>
            <dd>{stats.requestsTotal || '—'}</dd>
          </dl>
        </Card>

        <Card title="Storage" testId="overview-storage">
          {status ? (
            <dl className="kv">
              {status.storage.keys !== undefined ? (
                <>
                  <dt>keys</dt>
                  <dd data-testid="storage-keys">{status.storage.keys}</dd>
                </>
              ) : null}
              <dt>writes</dt>
              <dd data-testid="storage-writes">{status.storage.writes}</dd>
              <dt>events</dt>
              <dd>
                {status.storage.events} <span className="muted">/ keeps {status.storage.event_retention}</span>
              </dd>
              <dt>engine</dt>
              <dd>
                {status.storage.engine}, fsync {status.fsync}
                {status.storage.writable ? '' : ' · read-only (disk full)'}
              </dd>
            </dl>
          ) : (
            <p className="muted">loading…</p>
          )}
        </Card>

        <Card title="Hints pending" testId="overview-hints">
          <div className="big-row">
            <span className="big" data-testid="hints-total">
              {status ? status.hints.total : '—'}
            </span>
            <span className="unit">on {status?.node_id ?? 'this node'}</span>
          </div>
          {status && Object.keys(status.hints.by_owner).length ? (
            <ul className="plain small">
              {Object.entries(status.hints.by_owner).map(([owner, n]) => (
                <li key={owner}>
                  <NodeChip id={owner} color={colorOf(colors, owner)} /> {n} waiting
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted small">writes kept for replicas that were down</p>
          )}
        </Card>

        <Card title="Conflicts" testId="overview-conflicts">
          <div className="big-row">
            <span className={conflicts.length ? 'big warn' : 'big'} data-testid="conflicts-count">
              {conflicts.length}
            </span>
            <span className="unit">{conflicts.length === 1 ? 'key' : 'keys'} with siblings</span>
          </div>
          {conflicts.length ? (
            <p className="small">
              {conflicts
                .slice(0, 4)
                .map((c) => c.key)
                .join(', ')}
              {conflicts.length > 4 ? ' …' : ''} ·{' '}
              <button type="button" className="link" onClick={() => onGo('timeline')}>
                show in timeline
              </button>{' '}
              ·{' '}
              <button type="button" className="link" onClick={() => onGo('data')}>
                resolve
              </button>
            </p>
          ) : (
            <p className="muted small">concurrent writes show up here</p>
          )}
        </Card>

        <Card title="Ring" testId="overview-ring">
          {status ? (
            <dl className="kv">
              <dt>version</dt>
              <dd className="mono">{status.cluster.ring.version}</dd>
              <dt>N / R / W</dt>
              <dd>
                {status.cluster.ring.replicas} / {status.cluster.ring.read_quorum} / {status.cluster.ring.write_quorum}
              </dd>
              <dt>members</dt>
              <dd>
                {status.cluster.ring.members} × {status.cluster.ring.vnodes} vnodes
                {status.cluster.under_replicated ? <span className="warn"> · under-replicated</span> : null}
              </dd>
              {ring?.moving && ring.next ? (
                <>
                  <dt>ownership</dt>
                  <dd data-testid="overview-ring-moving">
                    <button type="button" className="link" onClick={() => onGo('ring')}>
                      moving
                    </button>{' '}
                    <span className="muted">
                      → <span className="mono">{ring.next.version}</span>
                    </span>
                  </dd>
                </>
              ) : null}
            </dl>
          ) : (
            <p className="muted">loading…</p>
          )}
        </Card>

        <Card title="This node" testId="overview-node">
          {status ? (
            <dl className="kv">
              <dt>node</dt>
              <dd>{status.node_id}</dd>
              <dt>version</dt>
              <dd>{status.version}</dd>
              <dt>uptime</dt>
              <dd>{uptime(status.uptime_seconds)}</dd>
              <dt>joined</dt>
              <dd>{status.cluster.joined ? 'yes' : 'still reaching a seed'}</dd>
            </dl>
          ) : (
            <p className="muted">loading…</p>
          )}
        </Card>

        <Card title="Recent events" testId="overview-recent" wide>
          <ErrorNote error={errors.events} />
          {recent.length === 0 ? (
            <Empty testId="overview-no-events">
              No events yet — write a key in the{' '}
              <button type="button" className="link" onClick={() => onGo('data')}>
                Data tab
              </button>{' '}
              and watch it replicate.
            </Empty>
          ) : (
            <table className="table compact">
              <TableHead columns={['time', 'node', 'type', 'key', 'peer', 'clock']} />
              <tbody>
                {recent.map((e) => (
                  <tr key={e.uid}>
                    <td className="mono">{clockTime(e.t)}</td>
                    <td>
                      <NodeChip id={e.node_id} color={colorOf(colors, e.node_id)} />
                    </td>
                    <td>
                      <span className={`etype etype-${e.type}`}>{e.type}</span>
                    </td>
                    <td className="ellipsis mono">{e.key}</td>
                    <td>{e.peer ? `${e.type === 'hint_stored' ? 'for' : 'from'} ${e.peer}` : ''}</td>
                    <td className="mono small">{formatClock(e.vector_clock.clocks)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </div>
  );
}
