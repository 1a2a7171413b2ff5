/** RepairFeed.tsx - the newest anti-entropy repairs and tombstone collections in the cluster, live from the event log (/ws push or polling). */
import { useMemo } from 'react';
import { NodeChip } from '../components/Notice';
import { useDashState } from '../hooks/useDashState';
import { useNodeColors } from '../hooks/useNodeColors';
import { clockTime } from '../hooks/useNow';
import { colorOf } from '../model/colors';
import { countFeed, repairFeed } from './feed';

export function RepairFeed() {
  const log = useDashState((s) => s.log);
  const colors = useNodeColors();
  const items = useMemo(() => repairFeed(log.events, 12), [log]);
  const total = useMemo(() => countFeed(log.events), [log]);
  return (
    <section className="box" aria-label="Repairs, live" data-testid="merkle-repair-feed" data-count={total}>
      <h2 className="box-title">Repairs, live</h2>
      {items.length ? (
        <>
          <p className="small muted">
            {total} anti-entropy {total === 1 ? 'event' : 'events'} in the log · newest first
          </p>
          <ul className="plain small mk-feed" aria-label="newest anti-entropy events">
            {items.map((e) => (
              <li key={e.uid} className="mk-feed-item" data-testid="merkle-feed-item" data-type={e.type} data-node={e.node_id} data-peer={e.peer ?? ''} data-key={e.key}>
                <div className="mk-feed-what">
                  <span className={`etype etype-${e.type}`}>{e.type}</span>
                  <span className="mono ellipsis" title={e.key}>
                    {e.key}
                  </span>
                </div>
                <div className="muted">
                  <span className="mono">{clockTime(e.t, false)}</span> · <NodeChip id={e.node_id} color={colorOf(colors, e.node_id)} />
                  {e.peer ? ` from ${e.peer}` : ''}
                </div>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="muted small">Repairs show up here as they happen: each key a node merged from a peer.</p>
      )}
    </section>
  );
}
