export interface BackoffConfig {
  /** First retry delay. */
  initialMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
  factor: number;
  /** The delay is drawn from [d * (1 - jitter), d * (1 + jitter)], capped at maxMs. */
  jitter: number;
}

export const defaultBackoff: BackoffConfig = { initialMs: 500, maxMs: 10000, factor: 2, jitter: 0.2 };

/** Delay before retry number `attempt` (0 for the first retry). `random` returns [0, 1). */
export function backoffDelay(attempt: number, cfg: BackoffConfig = defaultBackoff, random: () => number = Math.random): number {
  const base = Math.min(cfg.maxMs, cfg.initialMs * Math.pow(cfg.factor, Math.max(0, attempt)));
  const j = 1 + cfg.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(cfg.maxMs, Math.round(base * j)));
}
