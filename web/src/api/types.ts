// Shapes of the chorusd HTTP API (docs/api.md) and of the /ws push messages.

export type Clock = Record<string, number>;

export interface VectorClock {
  clocks: Clock;
}

export type MemberStatus = 'alive' | 'suspected' | 'dead' | 'left';

export interface Member {
  node_id: string;
  address: string;
  peer_port?: number;
  status: MemberStatus;
  last_seen: string;
  incarnation: number;
}

export interface MembersResponse {
  cluster_members: Record<string, Member>;
  total_members: number;
  alive_members: number;
}

export interface RingMember {
  node_id: string;
  status: MemberStatus;
  address: string;
  vnodes: number;
  ownership: number;
}

export interface VNode {
  token: string;
  position: number;
  node_id: string;
}

export interface RingResponse {
  version: string;
  replicas: number;
  vnodes_per_member: number;
  total_vnodes: number;
  under_replicated: boolean;
  members: RingMember[];
  vnodes: VNode[];
}

export interface LookupResponse {
  key: string;
  token: string;
  position: number;
  preference_list: string[];
  statuses: Record<string, MemberStatus>;
  coordinator: string;
  fallbacks: string[];
  replicas: number;
  ring_version: string;
}

export interface StatusResponse {
  node_id: string;
  status: string;
  version: string;
  started_at: string;
  uptime_seconds: number;
  fsync: string;
  data_dir: string;
  storage: {
    events: number;
    event_retention: number;
    conflicts: number;
    writes: number;
    batches: number;
    engine: string;
    writable: boolean;
    keys?: number;
  };
  cluster: {
    size: number;
    alive: number;
    suspected: number;
    dead: number;
    left: number;
    gossip: boolean;
    joined: boolean;
    under_replicated: boolean;
    ring: {
      version: string;
      members: number;
      replicas: number;
      read_quorum: number;
      write_quorum: number;
      vnodes: number;
    };
  };
  hints: { total: number; by_owner: Record<string, number> };
}

export type EventType =
  | 'put'
  | 'get'
  | 'delete'
  | 'replicate'
  | 'read_repair'
  | 'hint_stored'
  | 'hint_delivered'
  | 'repair'
  | 'reap'
  | (string & {});

export interface ClusterEvent {
  node_id: string;
  id: number;
  type: EventType;
  key: string;
  value: string;
  peer?: string;
  vector_clock: VectorClock;
  causal_hash: string;
  timestamp: string;
}

export interface Conflict {
  key: string;
  siblings: number;
  nodes?: string[];
}

export interface ClusterEventsNode {
  node_id: string;
  ok: boolean;
  vector_clock?: VectorClock;
  total?: number;
  error?: string;
}

export interface ClusterEventsResponse {
  nodes: ClusterEventsNode[];
  count: number;
  events: ClusterEvent[];
  conflicts?: Conflict[];
}

export interface VectorClockResponse {
  node_id: string;
  vector_clock: VectorClock;
  event_log: { events: ClusterEvent[]; total: number; retention: number };
  conflicts: Conflict[];
}

export interface ReplicationResult {
  successful_nodes: string[];
  failed_nodes: string[];
  hinted_nodes: string[];
  quorum_achieved: boolean;
  required: number;
}

export interface ReadResult {
  successful_nodes: string[];
  failed_nodes: string[];
  repaired_nodes: string[];
  quorum_achieved: boolean;
}

export interface PutResponse {
  key: string;
  value: string;
  responsible_node: string;
  replication_nodes: string[];
  replication_result: ReplicationResult;
  vector_clock: VectorClock;
  context: string;
  conflict: boolean;
  siblings: number;
  event_count: number;
}

export interface Sibling {
  value: string | null;
  node: string;
  counter: number;
  timestamp: string;
  deleted: boolean;
}

export interface GetResponse {
  key: string;
  value: string | null;
  siblings: Sibling[];
  conflict: boolean;
  vector_clock: VectorClock;
  context: string;
  responsible_node: string;
  replication_nodes: string[];
  read_result: ReadResult;
}

export interface DeleteResponse {
  key: string;
  deleted: boolean;
  responsible_node: string;
  replication_nodes: string[];
  replication_result: ReplicationResult;
  vector_clock: VectorClock;
  context: string;
  event_count: number;
}

export interface ErrorBody {
  error: { code: string; message: string };
  key?: string;
  context?: string;
  vector_clock?: VectorClock;
  replication_result?: ReplicationResult;
  read_result?: ReadResult;
  responsible_node?: string;
  replication_nodes?: string[];
}

/** Latency percentiles in milliseconds; null when no request was answered. */
export interface Latency {
  p50: number | null;
  p99: number | null;
}

export interface StatsData {
  node_id: string;
  ts: string | number;
  status: StatusResponse;
  ops_per_sec: number;
  latency_ms: Latency | null;
  requests_total: number;
}

export type WsMessage =
  | { type: 'hello'; data: { node_id: string; version: string; interval_ms: number } }
  | { type: 'members'; data: MembersResponse }
  | { type: 'ring'; data: RingResponse }
  | { type: 'stats'; data: StatsData }
  | { type: 'events'; data: { events: ClusterEvent[] } }
  | { type: 'conflicts'; data: { conflicts: Conflict[] } };
