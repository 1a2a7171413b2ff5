import { useDashboard } from '../context';
import { useDashState } from '../hooks/useDashState';
import { useNow } from '../hooks/useNow';

export type ConnectionLabel = 'connected' | 'reconnecting' | 'offline' | 'connecting';

/**
 * The state of the live connection: connected (WebSocket open), reconnecting
 * in Ns (WebSocket down, REST polling keeps the page live), offline (the
 * node does not answer REST either).
 */
export function ConnectionBadge() {
  const { controller } = useDashboard();
  const conn = useDashState((s) => s.conn);
  const rest = useDashState((s) => s.rest);
  const now = useNow(250);
  let state: ConnectionLabel;
  let text: string;
  let detail: string;
  if (conn.kind === 'open') {
    state = 'connected';
    text = 'live';
    detail = 'WebSocket connected: updates are pushed';
  } else if (rest.unauthorized) {
    state = 'offline';
    text = 'token needed';
    detail = rest.error ?? 'the node wants an API token';
  } else if (!rest.ok) {
    state = 'offline';
    const secs = conn.kind === 'waiting' ? Math.max(0, Math.ceil((conn.retryAt - now) / 1000)) : null;
    text = secs !== null ? `offline · retry in ${secs}s` : 'offline';
    detail = rest.error ?? 'the node does not answer';
  } else if (conn.kind === 'waiting') {
    state = 'reconnecting';
    const secs = Math.max(0, Math.ceil((conn.retryAt - now) / 1000));
    text = `reconnecting in ${secs}s`;
    detail = 'WebSocket down: polling REST every 2 s';
  } else {
    state = 'connecting';
    text = 'connecting…';
    detail = 'opening the WebSocket';
  }
  return (
    <button
      type="button"
      className={`conn conn-${state}`}
      data-testid="connection-state"
      data-state={state}
      data-reason={rest.unauthorized ? 'unauthorized' : undefined}
      title={`${detail} — click to reconnect now`}
      aria-live="polite"
      onClick={() => controller.refreshNow()}
    >
      <span className="conn-dot" aria-hidden="true" />
      {text}
      {state === 'reconnecting' ? <span className="conn-sub"> · polling</span> : null}
    </button>
  );
}
