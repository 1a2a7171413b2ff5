// Reading chorusd's Prometheus text (GET /metrics) for the live stats the
// dashboard shows when the WebSocket is down.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(LABEL)) labels[lm[1]] = lm[2].replace(/\\(.)/g, '$1');
    }
    const v = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    if (!Number.isNaN(v)) out.push({ name: m[1], labels, value: v });
  }
  return out;
}

export interface Bucket {
  le: number;
  count: number;
}

/** What the dashboard needs from one scrape: client data requests and their latency histogram. */
export interface DataMetrics {
  requests: number;
  buckets: Bucket[];
}

export function dataMetrics(samples: Sample[]): DataMetrics {
  let requests = 0;
  const buckets: Bucket[] = [];
  for (const s of samples) {
    if (s.name === 'chorus_http_requests_total' && s.labels.route === 'data') requests += s.value;
    else if (s.name === 'chorus_http_request_duration_seconds_bucket' && s.labels.route === 'data') {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      buckets.push({ le, count: s.value });
    }
  }
  buckets.sort((a, b) => a.le - b.le);
  return { requests, buckets };
}

/**
 * The q-quantile of a cumulative histogram, interpolating linearly within the
 * bucket (as Prometheus' histogram_quantile does). null when it is empty.
 */
export function histogramQuantile(q: number, buckets: Bucket[]): number | null {
  if (buckets.length === 0) return null;
  const total = buckets[buckets.length - 1].count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      if (inBucket <= 0) return b.le;
      return prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** The histogram of what happened between two scrapes. */
export function bucketDelta(prev: Bucket[], cur: Bucket[]): Bucket[] {
  const before = new Map(prev.map((b) => [b.le, b.count]));
  return cur.map((b) => ({ le: b.le, count: Math.max(0, b.count - (before.get(b.le) ?? 0)) }));
}

export interface ScrapeStats {
  ops_per_sec: number;
  latency_ms: { p50: number | null; p99: number | null };
  requests_total: number;
}

/** Rates between two scrapes `dtMs` apart (a counter that went down means a restart: count from zero). */
export function statsBetween(prev: DataMetrics, cur: DataMetrics, dtMs: number): ScrapeStats {
  const restarted = cur.requests < prev.requests;
  const base = restarted ? { requests: 0, buckets: [] } : prev;
  const n = cur.requests - base.requests;
  const delta = bucketDelta(base.buckets, cur.buckets);
  const toMs = (v: number | null) => (v === null ? null : v * 1000);
  return {
    ops_per_sec: dtMs > 0 ? (n * 1000) / dtMs : 0,
    latency_ms: { p50: toMs(histogramQuantile(0.5, delta)), p99: toMs(histogramQuantile(0.99, delta)) },
    requests_total: cur.requests,
  };
}
