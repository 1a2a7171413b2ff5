import { describe, expect, it } from 'vitest';
import { dataMetrics, histogramQuantile, parsePrometheus, statsBetween } from './metrics';

const scrape = (puts: number, b1: number, b5: number, inf: number) => `# HELP chorus_http_requests_total x
# TYPE chorus_http_requests_total counter
chorus_http_requests_total{route="data",method="PUT",status="200"} ${puts}
chorus_http_requests_total{route="data",method="GET",status="404"} 1
chorus_http_requests_total{route="status",method="GET",status="200"} 50
chorus_http_request_duration_seconds_bucket{route="data",le="0.001"} ${b1}
chorus_http_request_duration_seconds_bucket{route="data",le="0.005"} ${b5}
chorus_http_request_duration_seconds_bucket{route="data",le="+Inf"} ${inf}
chorus_http_request_duration_seconds_bucket{route="status",le="0.001"} 50
chorus_hints 0
`;

describe('parsePrometheus', () => {
  it('reads names, labels and values', () => {
    const s = parsePrometheus('a_total{x="1",y="q\\"uote"} 3\nplain 4.5\n# comment\nbad line\n');
    expect(s).toEqual([
      { name: 'a_total', labels: { x: '1', y: 'q"uote' }, value: 3 },
      { name: 'plain', labels: {}, value: 4.5 },
    ]);
  });
  it('keeps the data route only', () => {
    const m = dataMetrics(parsePrometheus(scrape(9, 5, 9, 10)));
    expect(m.requests).toBe(10);
    expect(m.buckets.map((b) => b.le)).toEqual([0.001, 0.005, Infinity]);
  });
});

describe('histogramQuantile', () => {
  it('interpolates within the bucket', () => {
    const b = [{ le: 0.001, count: 50 }, { le: 0.005, count: 100 }, { le: Infinity, count: 100 }];
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.001);
    expect(histogramQuantile(0.75, b)).toBeCloseTo(0.003);
    expect(histogramQuantile(0.25, b)).toBeCloseTo(0.0005);
  });
  it('is null without samples and the last bound in +Inf', () => {
    expect(histogramQuantile(0.5, [])).toBeNull();
    expect(histogramQuantile(0.5, [{ le: Infinity, count: 0 }])).toBeNull();
    expect(histogramQuantile(0.99, [{ le: 0.1, count: 1 }, { le: Infinity, count: 10 }])).toBe(0.1);
  });
});

describe('statsBetween', () => {
  it('computes rate and latency of the interval', () => {
    const a = dataMetrics(parsePrometheus(scrape(9, 5, 9, 10)));
    const b = dataMetrics(parsePrometheus(scrape(29, 25, 29, 30)));
    const s = statsBetween(a, b, 2000);
    expect(s.ops_per_sec).toBe(10);
    expect(s.requests_total).toBe(30);
    expect(s.latency_ms.p50).toBeCloseTo(0.5);
  });
  it('is idle with null latency when nothing happened', () => {
    const a = dataMetrics(parsePrometheus(scrape(9, 5, 9, 10)));
    const s = statsBetween(a, a, 2000);
    expect(s.ops_per_sec).toBe(0);
    expect(s.latency_ms).toEqual({ p50: null, p99: null });
  });
  it('counts from zero after a restart', () => {
    const a = dataMetrics(parsePrometheus(scrape(99, 50, 99, 100)));
    const b = dataMetrics(parsePrometheus(scrape(3, 4, 4, 4)));
    expect(statsBetween(a, b, 1000).ops_per_sec).toBe(4);
  });
});
