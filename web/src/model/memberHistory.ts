import type { Member, MemberStatus } from '../api/types';

export interface Transition {
  /** ms since the epoch, when the dashboard saw the change */
  at: number;
  from: MemberStatus | null;
  to: MemberStatus;
  incarnation: number;
}

export type MemberHistory = Record<string, Transition[]>;

/**
 * Records, per member, each change of status between two views of the member
 * table (a member seen for the first time records from = null). Keeps the
 * last `keep` transitions per member. Returns the same object when nothing changed.
 */
export function recordTransitions(
  history: MemberHistory,
  prev: Record<string, Member> | null,
  next: Record<string, Member>,
  now: number,
  keep = 6,
): MemberHistory {
  let out: MemberHistory | null = null;
  for (const id of Object.keys(next)) {
    const m = next[id];
    const before = prev?.[id];
    if (before && before.status === m.status) continue;
    const list = history[id] ?? [];
    const lastKnown = list[list.length - 1];
    if (!before && lastKnown && lastKnown.to === m.status) continue;
    out ??= { ...history };
    const t: Transition = { at: now, from: before?.status ?? lastKnown?.to ?? null, to: m.status, incarnation: m.incarnation };
    out[id] = [...list, t].slice(-keep);
  }
  return out ?? history;
}

export interface StatusCounts {
  alive: number;
  suspected: number;
  dead: number;
  left: number;
}

export function countStatuses(members: Record<string, Member> | null | undefined): StatusCounts {
  const c: StatusCounts = { alive: 0, suspected: 0, dead: 0, left: 0 };
  if (!members) return c;
  for (const m of Object.values(members)) if (m.status in c) c[m.status]++;
  return c;
}

/** The time of the member's latest transition, if the dashboard saw one. */
export function lastChange(history: MemberHistory, id: string): number | null {
  const l = history[id];
  return l && l.length ? l[l.length - 1].at : null;
}
