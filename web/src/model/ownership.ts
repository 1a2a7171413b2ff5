/**
 * ownership.ts - each member's ownership now and in the ring it moves to,
 * and the phase (joining, leaving) to show for a member.
 */
import type { Member, MemberPhase, MemberStatus, RingResponse } from '../api/types';
import { compareNodeIds } from './lanes';

export interface OwnershipRow {
  node_id: string;
  /** Share of the token space owned as primary now, 0..1; 0 for a member not in the ring yet. */
  now: number;
  /** The share in the next ring; equal to `now` while nothing moves; 0 for a member leaving it. */
  next: number;
  /** next - now */
  delta: number;
  inNow: boolean;
  inNext: boolean;
  phase: MemberPhase;
  status: MemberStatus;
}

const phaseRank = (p: MemberPhase | undefined) => (p === 'leaving' ? 2 : p === 'joining' ? 1 : 0);

/**
 * One row per member of the ring or of the next ring, in node id order. A
 * member only in the next ring joins; one only in the current ring leaves
 * (even when the node did not send its phase).
 */
export function ownershipRows(ring: RingResponse): OwnershipRow[] {
  const moving = !!ring.moving && !!ring.next;
  const nextMembers = moving ? ring.next!.members : ring.members;
  const now = new Map(ring.members.map((m) => [m.node_id, m]));
  const next = new Map(nextMembers.map((m) => [m.node_id, m]));
  const ids = Array.from(new Set([...now.keys(), ...next.keys()])).sort(compareNodeIds);
  return ids.map((id) => {
    const a = now.get(id);
    const b = next.get(id);
    let phase: MemberPhase = phaseRank(a?.phase) >= phaseRank(b?.phase) ? (a?.phase ?? 'normal') : (b?.phase ?? 'normal');
    if (moving && !a) phase = 'joining';
    if (moving && !b) phase = 'leaving';
    const n = a?.ownership ?? 0;
    const x = b?.ownership ?? 0;
    return { node_id: id, now: n, next: x, delta: x - n, inNow: !!a, inNext: !!b, phase, status: (a ?? b)!.status };
  });
}

/** The share of the token space that changes primary owner: what the members that gain, gain. */
export function shareMoving(rows: readonly OwnershipRow[]): number {
  return rows.reduce((s, r) => s + Math.max(0, r.delta), 0);
}

/** "+8.4 pp", "−6.3 pp", "±0": a change of share in percentage points. */
export function formatDelta(delta: number): string {
  const pp = delta * 100;
  if (Math.abs(pp) < 0.05) return '±0';
  return `${pp > 0 ? '+' : '−'}${Math.abs(pp).toFixed(1)} pp`;
}

/**
 * The phase to show next to a member's status. The ring is pushed as soon as
 * ownership starts or stops moving, so it decides for the members it names;
 * the member table (not pushed when only a phase changes) decides for the
 * others. A member that has left is shown as left, whatever its last phase.
 */
export function displayPhase(id: string, status: MemberStatus, tablePhase: MemberPhase | undefined, ring: RingResponse | null): MemberPhase {
  if (status === 'left') return 'normal';
  if (ring) {
    const inNow = ring.members.find((m) => m.node_id === id);
    const inNext = ring.moving && ring.next ? ring.next.members.find((m) => m.node_id === id) : undefined;
    if (inNow || inNext) {
      if (!ring.moving || !ring.next) return 'normal';
      if (!inNow) return 'joining';
      if (!inNext) return 'leaving';
      const p = phaseRank(inNow.phase) >= phaseRank(inNext?.phase) ? inNow.phase : inNext?.phase;
      return p ?? 'normal';
    }
  }
  return tablePhase ?? 'normal';
}

export interface PhaseCounts {
  joining: number;
  leaving: number;
}

export function countPhases(members: Record<string, Member> | null | undefined, phaseOf: (m: Member) => MemberPhase): PhaseCounts {
  const c: PhaseCounts = { joining: 0, leaving: 0 };
  for (const m of Object.values(members ?? {})) {
    const p = phaseOf(m);
    if (p === 'joining' || p === 'leaving') c[p]++;
  }
  return c;
}
