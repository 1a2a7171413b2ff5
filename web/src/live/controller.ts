import { Api, ApiError, errorText } from '../api/client';
import type { WsMessage } from '../api/types';
import { pollSince } from '../model/events';
import { dataMetrics, parsePrometheus, statsBetween, type DataMetrics } from '../model/metrics';
import { parseTs } from '../model/stats';
import { LiveSocket, type SocketFactory, type SocketLike } from './socket';
import type { DashStore } from './store';

export interface ControllerOptions {
  api: Api;
  store: DashStore;
  wsUrl: () => string;
  factory?: SocketFactory;
  /** REST polling period while the WebSocket is down. */
  pollMs?: number;
  /** Conflicts are not pushed: they are fetched this often while the WebSocket is up. */
  conflictsMs?: number;
  initialEventLimit?: number;
}

/**
 * Keeps the store live: loads everything over REST, then applies /ws pushes;
 * while the WebSocket is down it polls REST every pollMs so the page stays live.
 */
export class LiveController {
  private readonly o: Required<Omit<ControllerOptions, 'factory'>> & { factory?: SocketFactory };
  private socket: LiveSocket | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private conflictsTimer: ReturnType<typeof setInterval> | null = null;
  private polling = false;
  private stopped = false;
  private generation = 0;
  private lastScrape: { at: number; m: DataMetrics } | null = null;

  constructor(opts: ControllerOptions) {
    this.o = { pollMs: 2000, conflictsMs: 15000, initialEventLimit: 1000, ...opts };
  }

  private get api(): Api {
    return this.o.api;
  }
  private get store(): DashStore {
    return this.o.store;
  }

  async start(): Promise<void> {
    this.stop();
    this.stopped = false;
    const gen = ++this.generation;
    await this.loadAll();
    // stop() or another start() ran while loading: that one owns the timers.
    if (this.stopped || gen !== this.generation) return;
    const factory: SocketFactory | undefined =
      this.o.factory ?? (typeof WebSocket !== 'undefined' ? (url) => new WebSocket(url) as unknown as SocketLike : undefined);
    if (factory) {
      this.socket = new LiveSocket({
        url: this.o.wsUrl,
        factory,
        onMessage: (m) => this.onMessage(m),
        onState: (s) => {
          this.store.setConn(s);
          // Back online: fetch what happened while the socket was down.
          if (s.kind === 'open') void this.catchUpEvents();
        },
      });
      this.socket.start();
    }
    this.schedulePoll();
    // Conflicts are pushed when they change; this slow re-read is a safety net.
    this.conflictsTimer = setInterval(() => {
      if (this.store.state.conn.kind === 'open') void this.refreshConflicts();
    }, this.o.conflictsMs);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.socket?.stop();
    this.socket = null;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.conflictsTimer) clearInterval(this.conflictsTimer);
    this.pollTimer = this.conflictsTimer = null;
  }

  /** After the token changed: reload and reconnect at once. */
  refreshNow(): void {
    void this.loadAll();
    this.socket?.reconnectNow();
  }

  private async loadAll(): Promise<void> {
    const results = await Promise.allSettled([
      this.loadMembers(),
      this.api.ring().then((r) => this.store.setRing(r)),
      this.api.status().then((s) => this.store.setStatus(s)),
      this.api.clusterEvents(this.o.initialEventLimit).then((r) => {
        this.store.addEvents(r.events, r.nodes);
        if (r.conflicts) this.store.setConflicts(r.conflicts);
      }),
    ]);
    const sections = ['members', 'ring', 'status', 'events'] as const;
    const rejected: unknown[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        rejected.push(r.reason);
        this.store.setError(sections[i], errorText(r.reason));
      }
    });
    this.noteRest(rejected.length < results.length, rejected);
    void this.scrapeMetrics();
  }

  /** A node started with --gossip=false answers 503 gossip_disabled: it has no member table, which is not an error. */
  private async loadMembers(): Promise<void> {
    try {
      this.store.setMembers(await this.api.members());
      this.store.setGossipDisabled(false);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'gossip_disabled') this.store.setGossipDisabled(true);
      else throw e;
    }
  }

  private noteRest(ok: boolean, failures: unknown[]): void {
    const error = failures.length ? errorText(failures[0]) : null;
    const unauthorized = failures.some((f) => f instanceof ApiError && f.status === 401);
    this.store.setRest(ok && !unauthorized ? { ok: true, error, lastOk: Date.now(), unauthorized } : { ok: false, error, unauthorized });
  }

  private onMessage(m: WsMessage): void {
    switch (m.type) {
      case 'hello':
        this.store.setHello(m.data);
        break;
      case 'members':
        this.store.setMembers(m.data);
        break;
      case 'ring':
        this.store.setRing(m.data);
        break;
      case 'events':
        if (Array.isArray(m.data.events)) this.store.addEvents(m.data.events);
        break;
      case 'conflicts':
        if (Array.isArray(m.data.conflicts)) this.store.setConflicts(m.data.conflicts);
        break;
      case 'stats': {
        const d = m.data;
        if (d.status) this.store.setStatus(d.status);
        this.store.addStats({
          t: parseTs(d.ts, Date.now()),
          ops: Number(d.ops_per_sec) || 0,
          latency: d.latency_ms ?? null,
          requestsTotal: Number(d.requests_total) || 0,
          source: 'ws',
          nodeId: d.node_id ?? null,
        });
        this.store.setRest({ ok: true, error: null, lastOk: Date.now(), unauthorized: false });
        break;
      }
    }
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(async () => {
      if (this.store.state.conn.kind !== 'open') await this.pollOnce();
      this.schedulePoll();
    }, this.o.pollMs);
  }

  /** One REST round: what the WebSocket would have pushed. */
  async pollOnce(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    this.store.setRest({ polling: true });
    try {
      const st = this.store.state;
      const nodes = st.members
        ? Object.values(st.members.cluster_members)
            .filter((m) => m.status !== 'left')
            .map((m) => m.node_id)
        : st.status
          ? [st.status.node_id]
          : [];
      const since = pollSince(st.log.events, nodes);
      const results = await Promise.allSettled([
        this.store.state.gossipDisabled ? Promise.resolve() : this.loadMembers(),
        this.api.status().then(async (s) => {
          this.store.setStatus(s);
          // The version stays the same while ownership moves: a ring that moves, or a member
          // joining or leaving, is read again until it settles.
          const ring = this.store.state.ring;
          const changing = Object.values(this.store.state.members?.cluster_members ?? {}).some((m) => m.status !== 'left' && m.phase !== undefined && m.phase !== 'normal');
          if (ring?.version !== s.cluster.ring.version || ring?.moving || changing) this.store.setRing(await this.api.ring());
        }),
        this.api.clusterEvents(1000, since).then((r) => {
          this.store.addEvents(r.events, r.nodes);
          if (r.conflicts) this.store.setConflicts(r.conflicts);
        }),
        this.scrapeMetrics(),
      ]);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
      this.noteRest(rejected.length < results.length, rejected);
    } finally {
      this.polling = false;
      this.store.setRest({ polling: false });
    }
  }

  private async scrapeMetrics(): Promise<void> {
    const text = await this.api.metrics();
    const m = dataMetrics(parsePrometheus(text));
    const at = Date.now();
    const prev = this.lastScrape;
    this.lastScrape = { at, m };
    // While the socket is up, its stats are the source.
    if (!prev || this.store.state.conn.kind === 'open') return;
    const s = statsBetween(prev.m, m, at - prev.at);
    this.store.addStats({
      t: at,
      ops: s.ops_per_sec,
      latency: s.latency_ms,
      requestsTotal: s.requests_total,
      source: 'rest',
      nodeId: this.store.state.status?.node_id ?? null,
    });
  }

  private async catchUpEvents(): Promise<void> {
    try {
      const st = this.store.state;
      const nodes = st.members ? Object.keys(st.members.cluster_members) : [];
      const r = await this.api.clusterEvents(1000, pollSince(st.log.events, nodes));
      this.store.addEvents(r.events, r.nodes);
      if (r.conflicts) this.store.setConflicts(r.conflicts);
    } catch {
      /* the next poll or push brings them */
    }
  }

  private async refreshConflicts(): Promise<void> {
    try {
      const r = await this.api.vectorClock(1);
      this.store.setConflicts(r.conflicts ?? []);
    } catch {
      /* shown by the next REST round */
    }
  }
}
