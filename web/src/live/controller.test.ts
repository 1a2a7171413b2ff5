import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fixture from '../test-fixtures/cluster-events.json';
import { Api, ApiError } from '../api/client';
import type { ClusterEvent, ClusterEventsResponse, MembersResponse, RingResponse, StatusResponse } from '../api/types';
import { LiveController } from './controller';
import type { SocketLike } from './socket';
import { DashStore } from './store';

const events = fixture.events as ClusterEvent[];
const members: MembersResponse = {
  cluster_members: {
    'node-1': { node_id: 'node-1', address: '127.0.0.1:9201', peer_port: 10201, status: 'alive', last_seen: '', incarnation: 1 },
    'node-2': { node_id: 'node-2', address: '127.0.0.1:9202', peer_port: 10202, status: 'alive', last_seen: '', incarnation: 1 },
  },
  total_members: 2,
  alive_members: 2,
};
const status = { node_id: 'node-1', cluster: { ring: { version: 'v1' } }, hints: { total: 0, by_owner: {} } } as unknown as StatusResponse;
const ring = { version: 'v1', members: [], vnodes: [] } as unknown as RingResponse;

function fakeApi(overrides: Partial<Record<keyof Api, unknown>> = {}) {
  const calls: string[] = [];
  const api = {
    members: vi.fn(async () => (calls.push('members'), members)),
    ring: vi.fn(async () => (calls.push('ring'), ring)),
    status: vi.fn(async () => (calls.push('status'), status)),
    clusterEvents: vi.fn(async (limit: number, since?: number): Promise<ClusterEventsResponse> => {
      calls.push(`events:${limit}:${since ?? 0}`);
      return { nodes: [], count: 2, events: events.slice(0, 2), conflicts: [{ key: 'k1', siblings: 2 }] };
    }),
    vectorClock: vi.fn(async () => ({ conflicts: [] })),
    metrics: vi.fn(async () => 'chorus_http_requests_total{route="data",method="GET",status="200"} 5\n'),
    ...overrides,
  };
  return { api: api as unknown as Api, calls };
}

class FakeWs implements SocketLike {
  static last: FakeWs | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code?: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor() {
    FakeWs.last = this;
  }
  close() {}
  push(type: string, data: unknown) {
    this.onmessage?.({ data: JSON.stringify({ type, data }) });
  }
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function flush() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('LiveController', () => {
  it('loads REST state, then applies pushed messages with events deduped', async () => {
    const store = new DashStore();
    const { api, calls } = fakeApi();
    const c = new LiveController({ api, store, wsUrl: () => 'ws://x/ws', factory: () => new FakeWs() });
    await c.start();
    expect(calls).toContain('events:1000:0');
    expect(store.state.log.events).toHaveLength(2);
    expect(store.state.conflicts.map((x) => x.key)).toEqual(['k1']);
    const ws = FakeWs.last!;
    ws.onopen?.({});
    expect(store.state.conn.kind).toBe('open');
    ws.push('events', { events: events.slice(0, 5) });
    expect(store.state.log.events).toHaveLength(5);
    ws.push('stats', { node_id: 'node-1', ts: 1795323965167, status, ops_per_sec: 12, latency_ms: { p50: 0.4, p99: 2 }, requests_total: 99 });
    expect(store.state.stats.ops).toBe(12);
    expect(store.state.stats.source).toBe('ws');
    expect(store.state.stats.series[0].t).toBe(1795323965167);
    ws.push('members', { ...members, cluster_members: { ...members.cluster_members, 'node-2': { ...members.cluster_members['node-2'], status: 'suspected' } } });
    expect(store.state.memberHistory['node-2'].map((t) => t.to)).toEqual(['alive', 'suspected']);
    ws.push('conflicts', { conflicts: [{ key: 'k9', siblings: 3, nodes: ['node-1', 'node-2'] }] });
    expect(store.state.conflicts.map((x) => [x.key, x.siblings])).toEqual([['k9', 3]]);
    ws.push('conflicts', { conflicts: [] });
    expect(store.state.conflicts).toEqual([]);
    c.stop();
  });

  it('polls REST every 2 s while the socket is down, and not while it is up', async () => {
    const store = new DashStore();
    const { api, calls } = fakeApi();
    const c = new LiveController({ api, store, wsUrl: () => 'ws://x/ws', factory: () => new FakeWs() });
    await c.start();
    FakeWs.last!.onclose?.({ code: 1006 });
    calls.length = 0;
    await vi.advanceTimersByTimeAsync(2000);
    await flush();
    expect(calls).toContain('members');
    expect(calls.some((x) => x.startsWith('events:1000:'))).toBe(true);
    // the socket comes back (retry after 0.5 s) and polling stops
    await vi.advanceTimersByTimeAsync(600);
    FakeWs.last!.onopen?.({});
    await flush();
    calls.length = 0;
    await vi.advanceTimersByTimeAsync(4000);
    expect(calls.filter((x) => x === 'members')).toEqual([]);
    c.stop();
  });

  it('re-reads a ring of the same version while ownership moves, and not once it settled', async () => {
    const store = new DashStore();
    let current: RingResponse = { ...ring, moving: true, next: { version: 'v2', members: [] } };
    const { api, calls } = fakeApi({ ring: vi.fn(async () => (calls.push('ring'), current)) });
    const c = new LiveController({ api, store, wsUrl: () => 'ws://x/ws', factory: () => new FakeWs() });
    await c.start();
    FakeWs.last!.onclose?.({ code: 1006 });
    calls.length = 0;
    current = { ...ring, moving: false, next: null };
    await vi.advanceTimersByTimeAsync(2000);
    await flush();
    expect(calls.filter((x) => x === 'ring')).toEqual(['ring']);
    expect(store.state.ring?.moving).toBe(false);
    calls.length = 0;
    await vi.advanceTimersByTimeAsync(2000);
    await flush();
    expect(calls).toContain('status');
    expect(calls.filter((x) => x === 'ring')).toEqual([]);
    c.stop();
  });

  it('flags a refused token and a node without gossip', async () => {
    const store = new DashStore();
    const { api } = fakeApi({
      status: vi.fn(async () => {
        throw new ApiError(401, 'unauthorized', 'a valid token is required', null);
      }),
      members: vi.fn(async () => {
        throw new ApiError(503, 'gossip_disabled', 'this node runs with --gossip=false', null);
      }),
    });
    const c = new LiveController({ api, store, wsUrl: () => 'ws://x/ws', factory: () => new FakeWs() });
    await c.start();
    expect(store.state.rest.unauthorized).toBe(true);
    expect(store.state.rest.ok).toBe(false);
    expect(store.state.gossipDisabled).toBe(true);
    expect(store.state.errors.members).toBeUndefined();
    expect(store.state.errors.status).toContain('401');
    c.stop();
  });
});
