import { useEffect, useId, useState } from 'react';
import { useDashboard } from '../context';
import { useDashState } from '../hooks/useDashState';

/** The API token (for nodes started with --api-token), kept in localStorage. */
export function TokenControl() {
  const { token, setToken } = useDashboard();
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState(token());
  const unauthorized = useDashState((s) => s.rest.unauthorized);
  const id = useId();
  useEffect(() => {
    if (unauthorized) setOpen(true);
  }, [unauthorized]);
  const has = token() !== '';
  return (
    <div className="token">
      <button
        type="button"
        className={`btn btn-ghost${unauthorized ? ' btn-warn' : ''}`}
        aria-expanded={open}
        aria-controls={id}
        data-testid="token-toggle"
        onClick={() => setOpen((o) => !o)}
        title="API token for nodes started with --api-token"
      >
        {has ? 'Token ✓' : 'Token'}
      </button>
      {open ? (
        <form
          id={id}
          className="token-form"
          onSubmit={(e) => {
            e.preventDefault();
            setToken(draft);
            setOpen(false);
          }}
        >
          <label htmlFor={`${id}-in`}>{unauthorized ? 'The node wants a token' : 'API token'}</label>
          <input
            id={`${id}-in`}
            type="password"
            autoComplete="off"
            value={draft}
            placeholder="--api-token value"
            data-testid="token-input"
            onChange={(e) => setDraft(e.target.value)}
          />
          <button type="submit" className="btn" data-testid="token-save">
            Save
          </button>
        </form>
      ) : null}
    </div>
  );
}
