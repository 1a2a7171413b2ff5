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
  anti_entropy?: AntiEntropyStatus;
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
  pending_nodes?: string[]; /* asked, not answered when the reply went out */
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
  /** A compare that failed (503 compare_failed): the exchange as far as it got. */
  exchange?: Exchange;
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

/** The root of this node's tree over the token ranges it shares with one member ("self": what it replicates). */
export interface MerkleShared {
  ranges: number;
  /** Fraction of the token space, 0..1. */
  share: number;
  root: string;
}

/** GET /api/v1/merkle-tree[?prefix=HEX]: the tree's figures, one node (hashes over every token) and its children. */
export interface MerkleTreeResponse {
  node_id: string;
  depth: number;
  fanout: number;
  segments: number;
  keys: number;
  root: string;
  memory_bytes: number;
  shared: Record<string, MerkleShared>;
  /** One lowercase hex digit per level below the root ("" is the root). */
  prefix: string;
  level: number;
  hash: string;
  /** The fanout children's hashes; empty at the leaves. */
  children?: string[];
}

/** One anti-entropy exchange with a peer (a compare, or a round that repairs). */
export interface Exchange {
  peer: string;
  started_at: string;
  result: 'ok' | 'failed';
  error?: string | null;
  duration_ms: number;
  shared_ranges: number;
  tree_nodes_compared: number;
  segments_differing: number;
  keys_compared: number;
  keys_differing: number;
  keys_pushed: number;
  keys_pulled: number;
  record_bytes: number;
  bytes_sent: number;
  bytes_received: number;
  in_sync: boolean;
}

export type KeyWhere = 'local_only' | 'peer_only' | 'both_differ';

/** GET /api/v1/merkle-tree/compare?node=ID: an exchange without repairs, with samples of what differs. */
export interface CompareResponse extends Exchange {
  node_id: string;
  /** The first differing segments; prefix has one hex digit per level. */
  segments: { segment: number; prefix: string }[];
  keys: { key: string; where: KeyWhere }[];
}

/** GET /api/v1/repair, and `anti_entropy` in GET /api/v1/status. */
export interface AntiEntropyStatus {
  enabled: boolean;
  interval_ms: number;
  repair_rate: number;
  exchanges: number;
  exchanges_failed: number;
  keys_repaired: number;
  keys_pushed: number;
  keys_pulled: number;
  bytes_sent: number;
  bytes_received: number;
  tombstones_reaped: number;
  running: boolean;
  queued: number;
  current?: Exchange;
  last_exchange: Record<string, Exchange>;
  tree: { enabled: boolean; keys: number; segments: number; root: string; memory_bytes: number };
}

/** POST /api/v1/repair (202). */
export interface RepairStarted extends AntiEntropyStatus {
  status: string;
  peers_queued: number;
}
