import { useSyncExternalStore } from 'react';
import type {
  ClusterEvent,
  ClusterEventsNode,
  Conflict,
  MembersResponse,
  RingResponse,
  StatusResponse,
} from '../api/types';
import { emptyLog, mergeEvents, type EventLog, type TEvent } from '../model/events';
import { recordTransitions, type MemberHistory } from '../model/memberHistory';
import { emptyStats, pushSample, type LiveStats, type StatSample } from '../model/stats';
import type { ConnState } from './socket';

export type Section = 'members' | 'ring' | 'status' | 'events';

export interface RestState {
  /** The last REST round reached the node. */
  ok: boolean;
  error: string | null;
  lastOk: number | null;
  polling: boolean;
  /** The node refused the token (401): the header's token field opens. */
  unauthorized: boolean;
}

export interface DashState {
  members: MembersResponse | null;
  memberHistory: MemberHistory;
  ring: RingResponse | null;
  status: StatusResponse | null;
  log: EventLog;
  /** Per member: did its part of the last cluster/events answer come back. */
  eventNodes: ClusterEventsNode[];
  conflicts: Conflict[];
  stats: LiveStats;
  conn: ConnState;
  rest: RestState;
  hello: { node_id: string; version: string; interval_ms: number } | null;
  loaded: Record<Section, boolean>;
  errors: Partial<Record<Section, string>>;
  /** Bumped for every batch of new events (the timeline's "something arrived"). */
  eventsVersion: number;
  /** The node runs with --gossip=false: there is no member table to poll. */
  gossipDisabled: boolean;
}

export function initialState(): DashState {
  return {
    members: null,
    memberHistory: {},
    ring: null,
    status: null,
    log: emptyLog(),
    eventNodes: [],
    conflicts: [],
    stats: emptyStats,
    conn: { kind: 'idle' },
    rest: { ok: true, error: null, lastOk: null, polling: false, unauthorized: false },
    hello: null,
    loaded: { members: false, ring: false, status: false, events: false },
    errors: {},
    eventsVersion: 0,
    gossipDisabled: false,
  };
}

type Listener = () => void;
export type EventListener = (added: TEvent[]) => void;

/** The dashboard's live state: one immutable snapshot, replaced on every change. */
export class DashStore {
  private s: DashState = initialState();
  private listeners = new Set<Listener>();
  private eventListeners = new Set<EventListener>();
  private scheduled = false;
  readonly maxEvents: number;

  constructor(maxEvents = 20000) {
    this.maxEvents = maxEvents;
  }

  get state(): DashState {
    return this.s;
  }

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  /** Called with each batch of events that were new to the dashboard. */
  onEvents(l: EventListener): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  getSnapshot = (): DashState => this.s;

  private set(patch: Partial<DashState>): void {
    this.s = { ...this.s, ...patch };
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      for (const l of this.listeners) l();
    };
    if (typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && !document.hidden) {
      requestAnimationFrame(run);
    } else {
      setTimeout(run, 16);
    }
  }

  setMembers(m: MembersResponse, now = Date.now()): void {
    const memberHistory = recordTransitions(this.s.memberHistory, this.s.members?.cluster_members ?? null, m.cluster_members, now);
    this.set({ members: m, memberHistory, loaded: { ...this.s.loaded, members: true }, errors: { ...this.s.errors, members: undefined } });
  }

  setRing(r: RingResponse): void {
    this.set({ ring: r, loaded: { ...this.s.loaded, ring: true }, errors: { ...this.s.errors, ring: undefined } });
  }

  setStatus(st: StatusResponse): void {
    this.set({ status: st, loaded: { ...this.s.loaded, status: true }, errors: { ...this.s.errors, status: undefined } });
  }

  addEvents(events: ClusterEvent[], nodes?: ClusterEventsNode[]): TEvent[] {
    const { log, added } = mergeEvents(this.s.log, events, this.maxEvents);
    const patch: Partial<DashState> = { loaded: { ...this.s.loaded, events: true }, errors: { ...this.s.errors, events: undefined } };
    if (nodes) patch.eventNodes = nodes;
    if (added.length) {
      patch.log = log;
      patch.eventsVersion = this.s.eventsVersion + 1;
    }
    this.set(patch);
    if (added.length) for (const l of this.eventListeners) l(added);
    return added;
  }

  setConflicts(c: Conflict[]): void {
    const same =
      c.length === this.s.conflicts.length &&
      c.every((x, i) => x.key === this.s.conflicts[i].key && x.siblings === this.s.conflicts[i].siblings);
    if (!same) this.set({ conflicts: c });
  }

  addStats(x: StatSample): void {
    this.set({ stats: pushSample(this.s.stats, x) });
  }

  setConn(conn: ConnState): void {
    this.set({ conn });
  }

  setRest(rest: Partial<RestState>): void {
    this.set({ rest: { ...this.s.rest, ...rest } });
  }

  setHello(hello: DashState['hello']): void {
    this.set({ hello });
  }

  setGossipDisabled(v: boolean): void {
    if (this.s.gossipDisabled !== v) this.set({ gossipDisabled: v, errors: { ...this.s.errors, members: undefined } });
  }

  setError(section: Section, message: string): void {
    this.set({ errors: { ...this.s.errors, [section]: message } });
  }
}

export function useDash<T>(store: DashStore, select: (s: DashState) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.getSnapshot()));
}
