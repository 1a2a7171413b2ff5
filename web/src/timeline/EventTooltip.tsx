import type { TEvent } from '../model/events';
import { formatClock } from '../model/vclock';

/** What hovering an event shows: its type, key, value, id and vector clock. */
interface Props {
  event: TEvent;
  x: number;
  y: number;
  width: number;
  height: number;
  conflict: boolean;
}

export function EventTooltip({ event: e, x, y, width, height, conflict }: Props) {
  const left = x > width - 280 ? x - 272 : x + 14;
  const top = y > height - 140 ? Math.max(4, y - 132) : y + 12;
  return (
    <div className="tl-tooltip" style={{ left, top }} role="tooltip" data-testid="timeline-tooltip" data-uid={e.uid}>
      <div>
        <span className={`etype etype-${e.type}`}>{e.type}</span> <strong className="mono">{e.key}</strong>
        {conflict ? <span className="warn"> · in conflict</span> : null}
      </div>
      {e.value ? <div className="mono small ellipsis">value {e.value}</div> : null}
      <div className="small">
        {e.node_id} · id {e.id}
        {e.peer ? ` · ${e.type === 'hint_stored' ? 'hint for' : 'from'} ${e.peer}` : ''}
      </div>
      <div className="mono small">[{formatClock(e.vector_clock.clocks)}]</div>
      <div className="mono small muted">
        {e.timestamp} · {e.causal_hash}
      </div>
    </div>
  );
}
