// Shapes of the chorusd HTTP API (docs/api.md) and of the /ws push messages.

export type Clock = Record<string, number>;

export interface VectorClock {
  clocks: Clock;
}

export type MemberStatus = 'alive' | 'suspected' | 'dead' | 'left';

/**
 * Where a member is in an ownership change: `joining` streams the ranges it
 * takes over (and does not serve reads yet), `leaving` hands its records to
 * their next owners, then becomes `left`. Older nodes do not send it.
 */
export type MemberPhase = 'normal' | 'joining' | 'leaving';

export interface Member {
  node_id: string;
  address: string;
  peer_port?: number;
  status: MemberStatus;
  phase?: MemberPhase;
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
  phase?: MemberPhase;
  address: string;
  vnodes: number;
  /** The fraction of the token space it owns as primary, 0..1. */
  ownership: number;
}

/** While a member joins or leaves: the ring ownership is moving to (no vnodes). */
export interface NextRing {
  version: string;
  members: RingMember[];
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
  /** Ownership is moving to `next` (a member joins or leaves). */
  moving?: boolean;
  next?: NextRing | null;
}

export interface LookupResponse {
  key: string;
  token: string;
  position: number;
  preference_list: string[];
  statuses: Record<string, MemberStatus>;
  coordinator: string;
  fallbacks: string[];
  /** While ownership moves: next owners that are not owners yet (writes reach them too). */
  pending?: string[];
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
  transfers?: TransfersResponse;
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

export type TransferKind = 'join' | 'remove' | (string & {});
export type TransferState = 'waiting' | 'running' | 'retrying' | 'done';

/** One range stream of an ownership transfer, as the node pulling it reports it. */
export interface TransferStream {
  id: number;
  kind: TransferKind;
  state: TransferState;
  /** The member the ranges come from. */
  peer: string;
  ranges: number;
  /** 0..1 */
  progress: number;
  keys: number;
  bytes: number;
  rate_bytes_per_s: number;
  /** Seconds left; null while there is nothing to estimate from. */
  eta_s: number | null;
  started_at_ms: number;
  /** 0 until done. */
  finished_at_ms: number;
  failures: number;
}

/** GET /api/v1/transfers, and `transfers` in GET /api/v1/status: this node's ownership transfers. */
export interface TransfersResponse {
  node_id: string;
  phase: MemberPhase;
  refusing_writes: boolean;
  streams_running: number;
  streams: TransferStream[];
  /** Records this node sends to their next owners (a leave) and drops once acknowledged. */
  handoff: { running: boolean; passes: number; keys_sent: number; bytes_sent: number; keys_dropped: number };
  totals: { keys_received: number; bytes_received: number; keys_sent: number; failures: number };
}
