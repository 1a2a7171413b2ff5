/**
 * ringTokens.ts - which token ranges change owner while ownership moves.
 *
 * GET /api/v1/ring sends the vnodes of the current ring only; `next` names
 * its members and version. A ring depends on its member set alone (DESIGN,
 * src/ring/ring.c): member j-th token = the first 8 bytes, big-endian, of
 * SHA-256(len(id) || id || j as 4 bytes big-endian), and the version = the
 * first 8 bytes of SHA-256(format || vnodes per member || member count ||
 * len(id) || id ...) over the sorted ids. So the dashboard can place the next
 * ring's tokens itself, and it checks that it derives exactly what the node
 * does (both versions, and every current token) before it draws anything
 * from them: a node with another derivation gets no ranges drawn, not wrong
 * ones.
 */
import type { RingResponse } from '../api/types';
import { sha256u64 } from './sha256';

/** ring.c's RING_FORMAT: a change of the token derivation changes it, and so every version. */
export const RING_FORMAT = 1;
const TWO64 = 18446744073709551616;

const enc = new TextEncoder();

/** The j-th token of member `id`. */
export function memberToken(id: string, j: number): bigint {
  const idb = enc.encode(id);
  const b = new Uint8Array(1 + idb.length + 4);
  b[0] = idb.length;
  b.set(idb, 1);
  new DataView(b.buffer).setUint32(1 + idb.length, j >>> 0);
  return sha256u64(b);
}

/** Byte order of two ids (the node sorts them with strcmp). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The ring version (16 hex digits) of a member set. */
export function ringVersion(ids: readonly string[], vnodesPerMember: number): string {
  const sorted = Array.from(new Set(ids)).sort(byteOrder);
  const parts: number[] = [RING_FORMAT];
  const u32 = (n: number) => parts.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  u32(vnodesPerMember);
  u32(sorted.length);
  for (const id of sorted) {
    const b = enc.encode(id);
    parts.push(b.length, ...b);
  }
  return sha256u64(Uint8Array.from(parts)).toString(16).padStart(16, '0');
}

export interface Token {
  token: bigint;
  node_id: string;
}

/** The vnodes of a ring of these members, in ring order (token, then member). */
export function ringTokens(ids: readonly string[], vnodesPerMember: number): Token[] {
  const sorted = Array.from(new Set(ids)).sort(byteOrder);
  const out: (Token & { m: number })[] = [];
  sorted.forEach((id, m) => {
    for (let j = 0; j < vnodesPerMember; j++) out.push({ token: memberToken(id, j), node_id: id, m });
  });
  out.sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : a.m - b.m));
  return out.map(({ token, node_id }) => ({ token, node_id }));
}

export function tokenPosition(t: bigint): number {
  return Number(t) / TWO64;
}

/** A range that changes primary owner: (start, end] in ring positions, 0 <= start < end <= 1. */
export interface MovingRange {
  start: number;
  end: number;
  from: string;
  to: string;
}

/** The member owning token t: the first vnode at or after it, wrapping around. */
function ownerAt(tokens: readonly Token[], t: bigint): string {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid].token < t) lo = mid + 1;
    else hi = mid;
  }
  return tokens[lo === tokens.length ? 0 : lo].node_id;
}

/**
 * The ranges whose primary owner differs between two rings, merged where
 * they touch with the same owners; a range across the top is split at 0.
 */
export function movingRanges(now: readonly Token[], next: readonly Token[]): MovingRange[] {
  if (!now.length || !next.length) return [];
  const bounds = Array.from(new Set([...now, ...next].map((t) => t.token))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: MovingRange[] = [];
  const push = (start: number, end: number, from: string, to: string) => {
    if (end <= start) return;
    const last = out[out.length - 1];
    if (last && last.end === start && last.from === from && last.to === to) last.end = end;
    else out.push({ start, end, from, to });
  };
  // the first range wraps: from the last boundary over the top to the first
  const b0 = bounds[0];
  const wrapFrom = ownerAt(now, b0);
  const wrapTo = ownerAt(next, b0);
  if (wrapFrom !== wrapTo) push(0, tokenPosition(b0), wrapFrom, wrapTo);
  for (let i = 1; i < bounds.length; i++) {
    const from = ownerAt(now, bounds[i]);
    const to = ownerAt(next, bounds[i]);
    if (from !== to) push(tokenPosition(bounds[i - 1]), tokenPosition(bounds[i]), from, to);
  }
  if (wrapFrom !== wrapTo) push(tokenPosition(bounds[bounds.length - 1]), 1, wrapFrom, wrapTo);
  return out;
}

export type NextRanges =
  | { kind: 'settled' }
  /** The node's ring cannot be reproduced here (another token derivation): no ranges to draw. */
  | { kind: 'unverified'; reason: string }
  | { kind: 'moving'; ranges: MovingRange[]; next: Token[] };

/**
 * While the ring moves: the next ring's tokens and the ranges that change
 * owner, after checking that this derivation gives the node's current ring
 * (its version and every token) and the next ring's version.
 */
export function nextRanges(ring: RingResponse): NextRanges {
  const next = ring.next;
  if (!ring.moving || !next) return { kind: 'settled' };
  const ids = ring.members.map((m) => m.node_id);
  if (ringVersion(ids, ring.vnodes_per_member) !== ring.version) return { kind: 'unverified', reason: 'the current ring version differs' };
  const now = ringTokens(ids, ring.vnodes_per_member);
  if (now.length !== ring.vnodes.length || now.some((t, i) => t.token.toString() !== ring.vnodes[i].token || t.node_id !== ring.vnodes[i].node_id))
    return { kind: 'unverified', reason: 'the current ring tokens differ' };
  const vpm = next.members[0]?.vnodes ?? ring.vnodes_per_member;
  const nextIds = next.members.map((m) => m.node_id);
  if (ringVersion(nextIds, vpm) !== next.version) return { kind: 'unverified', reason: 'the next ring version differs' };
  const nextTokens = ringTokens(nextIds, vpm);
  return { kind: 'moving', ranges: movingRanges(now, nextTokens), next: nextTokens };
}

/** The share of the token space each (from → to) pair moves, largest first. */
export function movedShares(ranges: readonly MovingRange[]): { from: string; to: string; share: number }[] {
  const m = new Map<string, { from: string; to: string; share: number }>();
  for (const r of ranges) {
    const k = `${r.from}\u0000${r.to}`;
    const e = m.get(k) ?? { from: r.from, to: r.to, share: 0 };
    e.share += r.end - r.start;
    m.set(k, e);
  }
  return Array.from(m.values()).sort((a, b) => b.share - a.share || byteOrder(a.from, b.from) || byteOrder(a.to, b.to));
}
