import type { Conflict } from '../api/types';
import { Empty } from '../components/Notice';

interface Props {
  conflicts: Conflict[];
  focusKey: string | null;
  onFocus: (key: string | null) => void;
}

/** Keys whose replicas hold concurrent siblings; picking one fades every other key's events. */
export function ConflictsPanel({ conflicts, focusKey, onFocus }: Props) {
  return (
    <section className="box" aria-label="Conflicts" data-testid="conflicts-panel">
      <h2 className="box-title">
        Conflicts{' '}
        <span className={conflicts.length ? 'badge badge-warn' : 'badge'} data-testid="conflict-count-badge" data-count={conflicts.length}>
          {conflicts.length}
        </span>
      </h2>
      {conflicts.length === 0 ? (
        <Empty testId="conflicts-empty">No conflicting siblings. Two writes with the same context make some (Data tab → Make siblings).</Empty>
      ) : (
        <ul className="plain conflict-list">
          {conflicts.map((c) => (
            <li key={c.key}>
              <button
                type="button"
                className={focusKey === c.key ? 'conflict-item active' : 'conflict-item'}
                aria-pressed={focusKey === c.key}
                onClick={() => onFocus(focusKey === c.key ? null : c.key)}
                data-testid="conflict-item"
                data-key={c.key}
              >
                <span className="mono ellipsis">{c.key}</span>
                <span className="muted small" title={c.nodes?.length ? `held by ${c.nodes.join(', ')}` : undefined}>
                  {c.siblings} siblings{c.nodes?.length ? ` · ${c.nodes.length} nodes` : ''}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {focusKey ? (
        <button type="button" className="link small" onClick={() => onFocus(null)}>
          show every key again
        </button>
      ) : null}
    </section>
  );
}
