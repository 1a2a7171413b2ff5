import { useState } from 'react';
import type { Sibling } from '../api/types';

interface Props {
  siblings: Sibling[];
  busy: boolean;
  /** Writes the chosen value with the read's context, which covers every sibling listed. */
  onResolve: (value: string) => void;
}

export function ResolvePanel({ siblings, busy, onResolve }: Props) {
  const live = siblings.filter((s) => !s.deleted);
  const [picked, setPicked] = useState<string | null>(null);
  const [text, setText] = useState(live.map((s) => s.value ?? '').join(' + '));
  return (
    <form
      className="resolve"
      data-testid="resolve-panel"
      onSubmit={(e) => {
        e.preventDefault();
        onResolve(text);
      }}
    >
      <h3 className="small-title">Resolve</h3>
      <fieldset>
        <legend className="sr-only">Keep one sibling</legend>
        {live.map((s) => {
          const id = `${s.node}:${s.counter}`;
          return (
            <label key={id} className="pick">
              <input
                type="radio"
                name="pick"
                value={id}
                checked={picked === id}
                data-testid="resolve-pick"
                data-dot={id}
                onChange={() => {
                  setPicked(id);
                  setText(s.value ?? '');
                }}
              />{' '}
              keep <code>{s.value}</code> <span className="muted small">({id})</span>
            </label>
          );
        })}
      </fieldset>
      <label htmlFor="resolve-text" className="small">
        Value to write (edit to merge)
      </label>
      <textarea id="resolve-text" rows={2} value={text} onChange={(e) => setText(e.target.value)} data-testid="resolve-value" />
      <button type="submit" className="btn btn-primary" disabled={busy} data-testid="resolve-btn">
        Write resolution
      </button>
      <p className="hint">Sent with the context of this read, so it replaces every sibling shown.</p>
    </form>
  );
}
