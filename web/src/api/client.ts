import type {
  AntiEntropyStatus,
  ClusterEventsResponse,
  CompareResponse,
  DeleteResponse,
  ErrorBody,
  GetResponse,
  LookupResponse,
  MembersResponse,
  MerkleTreeResponse,
  PutResponse,
  RepairStarted,
  RingResponse,
  StatusResponse,
  TransfersResponse,
  VectorClockResponse,
} from './types';
import { authHeaders } from './token';

/** An HTTP error with the API's error code and message, and the body it came with. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: ErrorBody | null;

  constructor(status: number, code: string, message: string, body: ErrorBody | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export interface ApiOptions {
  /** '' for the node that served the page, else e.g. 'http://127.0.0.1:9202'. */
  base: string;
  token: () => string;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
}

export function keyPath(key: string): string {
  return encodeURIComponent(key);
}

export class Api {
  private readonly opts: ApiOptions;

  constructor(opts: ApiOptions) {
    this.opts = opts;
  }

  get base(): string {
    return this.opts.base;
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs?: number): Promise<T> {
    const f = this.opts.fetchImpl ?? fetch;
    const ctrl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    const timer = ctrl ? setTimeout(() => ctrl.abort(), timeoutMs ?? this.opts.timeoutMs ?? 10000) : null;
    const h: Record<string, string> = { ...authHeaders(this.opts.token()), ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await f(this.opts.base + path, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl?.signal,
      });
    } catch (e) {
      const aborted = e instanceof Error && e.name === 'AbortError';
      const where = this.opts.base || 'the node';
      throw new ApiError(
        0,
        aborted ? 'timeout' : 'network',
        aborted ? `${where} did not answer in time` : `cannot reach ${where} (${e instanceof Error ? e.message : String(e)})`,
        null,
      );
    } finally {
      if (timer) clearTimeout(timer);
    }
    const text = await res.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!res.ok) {
      const eb = parsed as ErrorBody | null;
      const code = eb?.error?.code ?? `http_${res.status}`;
      const msg = eb?.error?.message ?? (text.slice(0, 200) || res.statusText || `HTTP ${res.status}`);
      throw new ApiError(res.status, code, msg, eb && typeof eb === 'object' && 'error' in eb ? eb : null);
    }
    if (parsed === null && text) throw new ApiError(res.status, 'bad_json', `${path} did not answer JSON`, null);
    return parsed as T;
  }

  async text(path: string): Promise<string> {
    const f = this.opts.fetchImpl ?? fetch;
    const res = await f(this.opts.base + path, { headers: authHeaders(this.opts.token()) });
    if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, `${path}: HTTP ${res.status}`, null);
    return res.text();
  }

  status() {
    return this.request<StatusResponse>('GET', '/api/v1/status');
  }
  members() {
    return this.request<MembersResponse>('GET', '/gossip/members');
  }
  ring() {
    return this.request<RingResponse>('GET', '/api/v1/ring');
  }
  lookup(key: string) {
    return this.request<LookupResponse>('GET', `/api/v1/ring/lookup/${keyPath(key)}`);
  }
  clusterEvents(limit: number, since?: number) {
    const q = since && since > 0 ? `&since=${since}` : '';
    return this.request<ClusterEventsResponse>('GET', `/api/v1/cluster/events?limit=${limit}${q}`);
  }
  vectorClock(limit = 1) {
    return this.request<VectorClockResponse>('GET', `/api/v1/vector-clock?limit=${limit}`);
  }
  merkleTree(prefix = '') {
    return this.request<MerkleTreeResponse>('GET', `/api/v1/merkle-tree${prefix ? `?prefix=${prefix}` : ''}`);
  }
  /** An exchange with a live peer, without repairs. A peer that stops answering ends it after 30 s on the node. */
  compare(node: string) {
    return this.request<CompareResponse>('GET', `/api/v1/merkle-tree/compare?node=${encodeURIComponent(node)}`, undefined, {}, 40000);
  }
  /** This node's ownership transfers (404 on a node older than ownership handoff). */
  transfers() {
    return this.request<TransfersResponse>('GET', '/api/v1/transfers');
  }
  repairStatus() {
    return this.request<AntiEntropyStatus>('GET', '/api/v1/repair');
  }
  repairNow() {
    return this.request<RepairStarted>('POST', '/api/v1/repair');
  }
  metrics() {
    return this.text('/metrics');
  }
  health() {
    return this.request<{ status: string; node_id: string }>('GET', '/health', undefined, {
      // A non-simple header makes a cross-origin probe go through a CORS
      // preflight, exactly like the data requests will.
      'Content-Type': 'application/json',
    });
  }
  put(key: string, value: string, context?: string | null) {
    const body: { value: string; context?: string } = { value };
    if (context) body.context = context;
    return this.request<PutResponse>('PUT', `/api/v1/data/${keyPath(key)}`, body);
  }
  get(key: string) {
    return this.request<GetResponse>('GET', `/api/v1/data/${keyPath(key)}`);
  }
  del(key: string, context?: string | null) {
    return this.request<DeleteResponse>(
      'DELETE',
      `/api/v1/data/${keyPath(key)}`,
      undefined,
      context ? { 'X-Chorus-Context': context } : {},
    );
  }
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return `${e.status} ${e.code}: ${e.message} — set the API token (Token button in the header)`;
    return e.status ? `${e.status} ${e.code}: ${e.message}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
