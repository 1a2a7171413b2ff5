import { describe, expect, it } from 'vitest';
import type { RingResponse } from '../api/types';
import { movedShares, movingRanges, nextRanges, ringTokens, ringVersion, tokenPosition, type Token } from './ringTokens';

/** A ring as GET /api/v1/ring sends it, built with the derivation under test. */
function ringOf(ids: string[], next: string[] | null, vpm = 150): RingResponse {
  const toks = ringTokens(ids, vpm);
  const member = (id: string) => ({ node_id: id, status: 'alive' as const, address: '', vnodes: vpm, ownership: 0 });
  return {
    version: ringVersion(ids, vpm),
    replicas: 3,
    vnodes_per_member: vpm,
    total_vnodes: toks.length,
    under_replicated: false,
    members: ids.map(member),
    vnodes: toks.map((t) => ({ token: t.token.toString(), position: tokenPosition(t.token), node_id: t.node_id })),
    moving: next !== null,
    next: next ? { version: ringVersion(next, vpm), members: next.map(member) } : null,
  };
}

/** Each member's share of the token space: the ranges ending at its tokens. */
function shares(tokens: Token[]): Record<string, number> {
  const out: Record<string, number> = {};
  tokens.forEach((t, i) => {
    const prev = i ? tokenPosition(tokens[i - 1].token) : tokenPosition(tokens[tokens.length - 1].token) - 1;
    out[t.node_id] = (out[t.node_id] ?? 0) + tokenPosition(t.token) - prev;
  });
  return out;
}

describe('ring derivation', () => {
  // versions and tokens read from a live 4-node cluster (150 vnodes per member)
  it("gives the node's ring versions", () => {
    expect(ringVersion(['n1', 'n2', 'n3'], 150)).toBe('88670d8265b8eadf');
    expect(ringVersion(['n1', 'n2', 'n3', 'n4'], 150)).toBe('0c8bccb184056653');
    expect(ringVersion(['n4', 'n3', 'n1', 'n1'], 150)).toBe('ce385f1815bcc725');
  });

  it("gives the node's tokens, in ring order", () => {
    const t = ringTokens(['n1', 'n3', 'n4'], 150);
    expect(t).toHaveLength(450);
    expect(t.slice(0, 3).map((x) => [x.token.toString(), x.node_id])).toEqual([
      ['111896546934716903', 'n4'],
      ['151399948891889458', 'n3'],
      ['271349586311712105', 'n1'],
    ]);
    expect(t[449].token.toString()).toBe('18375865447637147573');
    expect(shares(t).n1).toBeCloseTo(0.34677056593551536, 9);
  });
});

describe('movingRanges', () => {
  it('moves to a joiner exactly what it will own, from the members it shares the space with', () => {
    const now = ringTokens(['n1', 'n2', 'n3'], 150);
    const next = ringTokens(['n1', 'n2', 'n3', 'n4'], 150);
    const ranges = movingRanges(now, next);
    expect(ranges.length).toBeGreaterThan(50);
    expect(ranges.every((r) => r.to === 'n4' && r.from !== 'n4' && r.start < r.end && r.start >= 0 && r.end <= 1)).toBe(true);
    const moved = movedShares(ranges);
    const total = moved.reduce((s, m) => s + m.share, 0);
    expect(total).toBeCloseTo(shares(next).n4, 9);
    // what each member gives away is what it loses (live: n1 0.315 -> 0.241, n2 0.362 -> 0.284, n3 0.323 -> 0.239)
    const given = Object.fromEntries(moved.map((m) => [m.from, m.share]));
    expect(given.n1).toBeCloseTo(shares(now).n1 - shares(next).n1, 9);
    expect(given.n2).toBeCloseTo(0.362 - 0.284, 2);
    expect(given.n3).toBeCloseTo(0.323 - 0.239, 2);
    expect(moved.map((m) => m.from)).toEqual(['n3', 'n2', 'n1']); // the largest share first
  });

  it('moves every range of a leaver and nothing else; nothing when the rings are the same', () => {
    const now = ringTokens(['a', 'b', 'c', 'd'], 16);
    const next = ringTokens(['a', 'b', 'd'], 16);
    const ranges = movingRanges(now, next);
    expect(ranges.every((r) => r.from === 'c')).toBe(true);
    expect(ranges.reduce((s, r) => s + r.end - r.start, 0)).toBeCloseTo(shares(now).c, 9);
    expect(movingRanges(now, now)).toEqual([]);
    expect(movingRanges([], next)).toEqual([]);
  });

  it('splits a range across the top of the ring at 0', () => {
    const t = (n: bigint, id: string): Token => ({ token: n, node_id: id });
    const q = 2n ** 62n; // a quarter of the space
    const now = [t(q, 'a'), t(3n * q, 'b')];
    const next = [t(q, 'a'), t(2n * q, 'c'), t(3n * q, 'b')];
    expect(movingRanges(now, next)).toEqual([{ start: 0.25, end: 0.5, from: 'b', to: 'c' }]);
    // c takes over the range that wraps: (0.75, 1] and [0, 0.25]
    const wrap = [t(q, 'c'), t(2n * q, 'a'), t(3n * q, 'b')];
    expect(movingRanges(now, wrap)).toEqual([
      { start: 0, end: 0.25, from: 'a', to: 'c' },
      { start: 0.25, end: 0.5, from: 'b', to: 'a' },
      { start: 0.75, end: 1, from: 'a', to: 'c' },
    ]);
  });
});

describe('nextRanges', () => {
  it('gives the ranges that move once the derivation matches the node', () => {
    const r = nextRanges(ringOf(['n1', 'n2', 'n3', 'n4'], ['n1', 'n3', 'n4']));
    expect(r.kind).toBe('moving');
    if (r.kind !== 'moving') return;
    expect(r.next).toHaveLength(450);
    expect(new Set(r.ranges.map((x) => x.from))).toEqual(new Set(['n2']));
  });

  it('draws nothing for a ring it cannot reproduce, and nothing while settled', () => {
    expect(nextRanges(ringOf(['n1', 'n2'], null)).kind).toBe('settled');
    const other = ringOf(['n1', 'n2', 'n3'], ['n1', 'n2', 'n3', 'n4']);
    expect(nextRanges({ ...other, version: '0000000000000000' })).toEqual({ kind: 'unverified', reason: 'the current ring version differs' });
    expect(nextRanges({ ...other, vnodes: other.vnodes.slice(1) }).kind).toBe('unverified');
    expect(nextRanges({ ...other, next: { ...other.next!, version: 'ffffffffffffffff' } })).toEqual({ kind: 'unverified', reason: 'the next ring version differs' });
  });
});
