import type { WsMessage } from '../api/types';
import { backoffDelay, defaultBackoff, type BackoffConfig } from './backoff';

/** The part of the browser's WebSocket that the client uses (a fake in tests). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnState =
  | { kind: 'idle' }
  | { kind: 'connecting'; attempt: number }
  | { kind: 'open'; since: number }
  | { kind: 'waiting'; attempt: number; retryAt: number }
  | { kind: 'stopped' };

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
  random(): number;
}

export interface LiveSocketOptions {
  url: () => string;
  factory: SocketFactory;
  onMessage: (msg: WsMessage) => void;
  onState: (s: ConnState) => void;
  backoff?: BackoffConfig;
  /** An open connection counts as stable after this long: the backoff starts over. */
  stableMs?: number;
  /** No message for this long on an open connection: close it and reconnect (stats come every second). */
  idleMs?: number;
  timers?: TimerApi;
}

const realTimers: TimerApi = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
  random: () => Math.random(),
};

/**
 * A WebSocket that reconnects with exponential backoff and jitter.
 *
 * idle -start-> connecting -open-> open -close/error/idle-> waiting -timer-> connecting ...
 * The attempt counter grows with each failed or short-lived connection and
 * goes back to 0 once a connection has stayed open for `stableMs`.
 * stop() closes everything and cancels timers for good.
 */
export class LiveSocket {
  private readonly o: Required<Omit<LiveSocketOptions, 'timers' | 'backoff'>> & { backoff: BackoffConfig; timers: TimerApi };
  private ws: SocketLike | null = null;
  private state: ConnState = { kind: 'idle' };
  private attempt = 0;
  private retryTimer: unknown = null;
  private stableTimer: unknown = null;
  private idleTimer: unknown = null;

  constructor(opts: LiveSocketOptions) {
    this.o = {
      stableMs: 5000,
      idleMs: 10000,
      ...opts,
      backoff: opts.backoff ?? defaultBackoff,
      timers: opts.timers ?? realTimers,
    };
  }

  get current(): ConnState {
    return this.state;
  }

  /** The attempt count the next retry will use. */
  get attempts(): number {
    return this.attempt;
  }

  start(): void {
    if (this.state.kind !== 'idle' && this.state.kind !== 'stopped') return;
    this.connect();
  }

  stop(): void {
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
      try {
        ws.close(1000, 'stopped');
      } catch {
        /* already closed */
      }
    }
    this.setState({ kind: 'stopped' });
  }

  /** Reconnect now (for a "retry now" button, or after the token changed). */
  reconnectNow(): void {
    if (this.state.kind === 'stopped') return;
    this.clearTimers();
    this.dropSocket();
    this.connect();
  }

  private connect(): void {
    this.setState({ kind: 'connecting', attempt: this.attempt });
    let ws: SocketLike;
    try {
      ws = this.o.factory(this.o.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.setState({ kind: 'open', since: this.o.timers.now() });
      this.stableTimer = this.o.timers.setTimeout(() => {
        this.stableTimer = null;
        this.attempt = 0;
      }, this.o.stableMs);
      this.armIdle();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.armIdle();
      const msg = parseMessage(ev.data);
      if (msg) this.o.onMessage(msg);
    };
    ws.onerror = () => {
      /* onclose follows and schedules the retry */
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.scheduleRetry();
    };
  }

  private armIdle(): void {
    if (this.idleTimer !== null) this.o.timers.clearTimeout(this.idleTimer);
    this.idleTimer = this.o.timers.setTimeout(() => {
      this.idleTimer = null;
      this.dropSocket();
      this.scheduleRetry();
    }, this.o.idleMs);
  }

  private dropSocket(): void {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
    try {
      ws.close();
    } catch {
      /* ignore */
    }
  }

  private scheduleRetry(): void {
    this.clearTimers();
    const delay = backoffDelay(this.attempt, this.o.backoff, this.o.timers.random);
    this.attempt++;
    const retryAt = this.o.timers.now() + delay;
    this.setState({ kind: 'waiting', attempt: this.attempt, retryAt });
    this.retryTimer = this.o.timers.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private clearTimers(): void {
    for (const h of [this.retryTimer, this.stableTimer, this.idleTimer]) if (h !== null) this.o.timers.clearTimeout(h);
    this.retryTimer = this.stableTimer = this.idleTimer = null;
  }

  private setState(s: ConnState): void {
    this.state = s;
    this.o.onState(s);
  }
}

const TYPES = new Set(['hello', 'members', 'ring', 'stats', 'events', 'conflicts']);

/** A push message, or null for anything that is not one (unknown types are ignored). */
export function parseMessage(data: unknown): WsMessage | null {
  if (typeof data !== 'string') return null;
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const m = v as { type?: unknown; data?: unknown };
  if (typeof m.type !== 'string' || !TYPES.has(m.type) || !m.data || typeof m.data !== 'object') return null;
  return m as WsMessage;
}
