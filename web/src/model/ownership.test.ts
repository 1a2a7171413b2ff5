import { describe, expect, it } from 'vitest';
import type { Member, MemberPhase, MemberStatus, RingMember, RingResponse } from '../api/types';
import { countPhases, displayPhase, formatDelta, ownershipRows, shareMoving } from './ownership';

const rm = (id: string, ownership: number, phase?: MemberPhase, status: MemberStatus = 'alive'): RingMember => ({ node_id: id, status, phase, address: '', vnodes: 150, ownership });
const ring = (members: RingMember[], next: RingMember[] | null): RingResponse => ({
  version: 'v1',
  replicas: 3,
  vnodes_per_member: 150,
  total_vnodes: members.length * 150,
  under_replicated: false,
  members,
  vnodes: [],
  moving: next !== null,
  next: next ? { version: 'v2', members: next } : null,
});

// the ownership of a live join: n4 joins n1..n3
const joining = ring([rm('n1', 0.315), rm('n2', 0.362), rm('n3', 0.323)], [rm('n1', 0.241), rm('n2', 0.284), rm('n3', 0.239), rm('n4', 0.236, 'joining')]);
// and of a leave: n2 hands off to n1, n3, n4
const leaving = ring([rm('n1', 0.241), rm('n2', 0.284, 'leaving'), rm('n3', 0.239), rm('n4', 0.236)], [rm('n1', 0.347), rm('n3', 0.344), rm('n4', 0.309)]);

describe('ownershipRows', () => {
  it('gives each member its share now and next, with the change, for a join', () => {
    const rows = ownershipRows(joining);
    expect(rows.map((r) => r.node_id)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(rows[0]).toMatchObject({ now: 0.315, next: 0.241, inNow: true, inNext: true, phase: 'normal' });
    expect(rows[0].delta).toBeCloseTo(-0.074, 9);
    expect(rows[3]).toMatchObject({ now: 0, next: 0.236, delta: 0.236, inNow: false, inNext: true, phase: 'joining' });
    expect(shareMoving(rows)).toBeCloseTo(0.236, 9);
  });

  it('marks the member missing from the next ring as leaving, even without a phase', () => {
    const noPhase = ring(leaving.members.map((m) => ({ ...m, phase: undefined })), leaving.next!.members);
    for (const r of [leaving, noPhase]) {
      const rows = ownershipRows(r);
      expect(rows.find((x) => x.node_id === 'n2')).toMatchObject({ now: 0.284, next: 0, delta: -0.284, inNext: false, phase: 'leaving' });
      expect(rows.filter((x) => x.phase !== 'normal').map((x) => x.node_id)).toEqual(['n2']);
    }
    expect(shareMoving(ownershipRows(leaving))).toBeCloseTo(0.284, 9);
  });

  it('changes nothing while settled (and for an older node without moving/next)', () => {
    const settled = ring([rm('n1', 0.5), rm('n2', 0.5)], null);
    const old = { ...settled, moving: undefined, next: undefined };
    for (const r of [settled, old]) {
      const rows = ownershipRows(r);
      expect(rows.map((x) => [x.node_id, x.now, x.next, x.delta, x.phase])).toEqual([
        ['n1', 0.5, 0.5, 0, 'normal'],
        ['n2', 0.5, 0.5, 0, 'normal'],
      ]);
      expect(shareMoving(rows)).toBe(0);
    }
  });
});

describe('formatDelta', () => {
  it('writes changes in percentage points', () => {
    expect(formatDelta(0.236)).toBe('+23.6 pp');
    expect(formatDelta(-0.074)).toBe('−7.4 pp');
    expect(formatDelta(0.0001)).toBe('±0');
    expect(formatDelta(0)).toBe('±0');
  });
});

describe('displayPhase', () => {
  it('takes the phase from the ring for the members it names', () => {
    expect(displayPhase('n4', 'alive', undefined, joining)).toBe('joining');
    expect(displayPhase('n2', 'alive', 'normal', leaving)).toBe('leaving');
    expect(displayPhase('n1', 'alive', 'leaving', leaving)).toBe('normal');
    // a settled ring: a stale "joining" of the member table is over
    const settled = ring([rm('n1', 0.5), rm('n4', 0.5)], null);
    expect(displayPhase('n4', 'alive', 'joining', settled)).toBe('normal');
  });

  it('takes it from the member table for the others, and shows a member that left as left', () => {
    const settled = ring([rm('n1', 1)], null);
    expect(displayPhase('n5', 'alive', 'joining', settled)).toBe('joining');
    expect(displayPhase('n5', 'alive', undefined, null)).toBe('normal');
    expect(displayPhase('n2', 'left', 'leaving', leaving)).toBe('normal');
    expect(displayPhase('n2', 'left', 'leaving', null)).toBe('normal');
  });

  it('counts the members joining and leaving', () => {
    const m = (id: string, phase: MemberPhase, status: MemberStatus = 'alive'): Member => ({ node_id: id, address: '', status, phase, last_seen: '', incarnation: 1 });
    const table = { a: m('a', 'joining'), b: m('b', 'leaving'), c: m('c', 'leaving', 'left'), d: m('d', 'normal') };
    expect(countPhases(table, (x) => displayPhase(x.node_id, x.status, x.phase, null))).toEqual({ joining: 1, leaving: 1 });
    expect(countPhases(null, () => 'joining')).toEqual({ joining: 0, leaving: 0 });
  });
});
