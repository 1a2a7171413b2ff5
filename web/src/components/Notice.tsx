import type { ReactNode } from 'react';

/** An error from the API, with its message. */
export function ErrorNote({ error, testId }: { error: string | null | undefined; testId?: string }) {
  if (!error) return null;
  return (
    <div className="note note-error" role="alert" data-testid={testId ?? 'error'}>
      {error}
    </div>
  );
}

/** What to do when there is nothing to show yet. */
export function Empty({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <div className="note note-empty" data-testid={testId ?? 'empty'}>
      {children}
    </div>
  );
}

export function StatusPill({ status }: { status: string }) {
  return <span className={`pill pill-${status}`}>{status}</span>;
}

/** A member's phase in an ownership change; nothing for `normal`. */
export function PhaseBadge({ phase, long }: { phase: string | undefined; long?: boolean }) {
  if (!phase || phase === 'normal') return null;
  const text = phase === 'leaving' ? (long ? 'leaving — handing off' : 'leaving') : phase;
  return (
    <span className={`phase-badge phase-badge-${phase}`} data-testid="phase-badge" data-phase={phase}>
      {text}
    </span>
  );
}

export function NodeChip({ id, color }: { id: string; color: string }) {
  return (
    <span className="node-chip">
      <span className="swatch" style={{ background: color }} aria-hidden="true" />
      {id}
    </span>
  );
}
