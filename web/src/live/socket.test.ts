import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WsMessage } from '../api/types';
import { LiveSocket, parseMessage, type ConnState, type SocketLike } from './socket';

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code?: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  close(): void {
    this.closed = true;
  }
  open() {
    this.onopen?.({});
  }
  fail() {
    this.onerror?.({});
    this.onclose?.({ code: 1006 });
  }
  send(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  static last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
}

function setup(opts: { stableMs?: number; idleMs?: number } = {}) {
  const states: ConnState[] = [];
  const messages: WsMessage[] = [];
  const sock = new LiveSocket({
    url: () => 'ws://node/ws',
    factory: (u) => new FakeSocket(u),
    onMessage: (m) => messages.push(m),
    onState: (s) => states.push(s),
    stableMs: opts.stableMs ?? 5000,
    idleMs: opts.idleMs ?? 10000,
    timers: {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      now: () => Date.now(),
      random: () => 0.5, // no jitter
    },
  });
  return { sock, states, messages };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LiveSocket', () => {
  it('connects, opens and delivers messages', () => {
    const { sock, states, messages } = setup();
    sock.start();
    expect(sock.current.kind).toBe('connecting');
    expect(FakeSocket.last().url).toBe('ws://node/ws');
    FakeSocket.last().open();
    expect(sock.current.kind).toBe('open');
    FakeSocket.last().send({ type: 'hello', data: { node_id: 'node-1', version: '0.1.0', interval_ms: 1000 } });
    FakeSocket.last().send({ type: 'nonsense', data: {} });
    FakeSocket.last().onmessage?.({ data: 'not json' });
    expect(messages).toHaveLength(1);
    expect(messages[0].type).toBe('hello');
    expect(states.map((s) => s.kind)).toEqual(['connecting', 'open']);
  });

  it('retries with doubling delays capped at 10 s', () => {
    const { sock } = setup();
    sock.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = FakeSocket.all.length;
      FakeSocket.last().fail();
      const st = sock.current;
      expect(st.kind).toBe('waiting');
      const delay = st.kind === 'waiting' ? st.retryAt - Date.now() : -1;
      delays.push(delay);
      vi.advanceTimersByTime(delay - 1);
      expect(FakeSocket.all.length).toBe(before);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.all.length).toBe(before + 1);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
  });

  it('starts the backoff over after a stable connection, not after a short one', () => {
    const { sock } = setup({ stableMs: 5000 });
    sock.start();
    FakeSocket.last().fail(); // attempt 0 -> 500
    vi.advanceTimersByTime(500);
    FakeSocket.last().fail(); // attempt 1 -> 1000
    vi.advanceTimersByTime(1000);
    FakeSocket.last().open();
    vi.advanceTimersByTime(1000); // short-lived
    FakeSocket.last().fail();
    let st = sock.current;
    expect(st.kind === 'waiting' && st.retryAt - Date.now()).toBe(2000);
    vi.advanceTimersByTime(2000);
    FakeSocket.last().open();
    vi.advanceTimersByTime(4000);
    FakeSocket.last().send({ type: 'stats', data: {} });
    vi.advanceTimersByTime(1000); // stable for 5 s
    FakeSocket.last().fail();
    st = sock.current;
    expect(st.kind === 'waiting' && st.retryAt - Date.now()).toBe(500);
  });

  it('reconnects when an open socket goes silent', () => {
    const { sock } = setup({ idleMs: 3000 });
    sock.start();
    FakeSocket.last().open();
    vi.advanceTimersByTime(2000);
    FakeSocket.last().send({ type: 'stats', data: {} });
    vi.advanceTimersByTime(2999);
    expect(sock.current.kind).toBe('open');
    vi.advanceTimersByTime(1);
    expect(sock.current.kind).toBe('waiting');
    expect(FakeSocket.all[0].closed).toBe(true);
  });

  it('stop() closes the socket and cancels the retry', () => {
    const { sock } = setup();
    sock.start();
    FakeSocket.last().fail();
    sock.stop();
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(sock.current.kind).toBe('stopped');
  });

  it('ignores events of a socket it has replaced', () => {
    const { sock, messages } = setup();
    sock.start();
    const first = FakeSocket.last();
    sock.reconnectNow();
    expect(first.closed).toBe(true);
    first.send({ type: 'hello', data: { node_id: 'x', version: '', interval_ms: 1 } });
    first.onclose?.({});
    expect(messages).toHaveLength(0);
    expect(sock.current.kind).toBe('connecting');
  });

  it('retries when the constructor throws', () => {
    let calls = 0;
    const sock = new LiveSocket({
      url: () => 'bad',
      factory: () => {
        calls++;
        throw new Error('SyntaxError');
      },
      onMessage: () => {},
      onState: () => {},
    });
    sock.start();
    expect(sock.current.kind).toBe('waiting');
    vi.advanceTimersByTime(700);
    expect(calls).toBe(2);
    sock.stop();
  });
});

describe('parseMessage', () => {
  it('accepts the push types only', () => {
    expect(parseMessage('{"type":"events","data":{"events":[]}}')?.type).toBe('events');
    expect(parseMessage('{"type":"events"}')).toBeNull();
    expect(parseMessage('[1]')).toBeNull();
    expect(parseMessage(42)).toBeNull();
  });
});
