import type { CausalSets } from '../model/causal';
import type { TEvent } from '../model/events';
import { formatClock } from '../model/vclock';

interface Props {
  event: TEvent | null;
  causal: CausalSets | null;
  total: number;
  onClear: () => void;
}

export function SelectionPanel({ event, causal, total, onClear }: Props) {
  return (
    <section className="box" aria-label="Selected event" data-testid="timeline-selection">
      <h2 className="box-title">Causality</h2>
      {event && causal ? (
        <div data-past={causal.past.size} data-future={causal.future.size} data-testid="selection-details">
          <p>
            <span className={`etype etype-${event.type}`}>{event.type}</span> <strong className="mono">{event.key}</strong> on {event.node_id} (id {event.id})
          </p>
          <p className="mono small">[{formatClock(event.vector_clock.clocks)}]</p>
          <ul className="plain small causal-counts">
            <li>
              <span className="legend-past" /> {causal.past.size} in its causal past
            </li>
            <li>
              <span className="legend-future" /> {causal.future.size} in its causal future
            </li>
            <li>
              <span className="legend-conc" /> {Math.max(0, total - 1 - causal.past.size - causal.future.size)} concurrent (faded)
            </li>
          </ul>
          <button type="button" className="btn btn-ghost" onClick={onClear} data-testid="selection-clear">
            Clear (Esc)
          </button>
        </div>
      ) : (
        <p className="muted small">Click an event to light up what happened before it (its clock is ≤) and after it (≥); concurrent events fade.</p>
      )}
    </section>
  );
}
