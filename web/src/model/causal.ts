import type { Clock } from '../api/types';
import { clockLeq } from './vclock';

interface Clocked {
  uid: string;
  vector_clock: { clocks: Clock };
}

export interface CausalSets {
  /** Events whose clock is <= the chosen event's clock (they happened before it). */
  past: Set<string>;
  /** Events whose clock is >= the chosen event's clock (it happened before them). */
  future: Set<string>;
}

/**
 * Splits `events` around `chosen`: its causal past, its causal future; every
 * other event (neither set, not the chosen one) is concurrent with it.
 */
export function causalSets<E extends Clocked>(events: readonly E[], chosen: E): CausalSets {
  const past = new Set<string>();
  const future = new Set<string>();
  const c = chosen.vector_clock.clocks;
  for (const e of events) {
    if (e.uid === chosen.uid) continue;
    const ec = e.vector_clock.clocks;
    if (clockLeq(ec, c)) past.add(e.uid);
    else if (clockLeq(c, ec)) future.add(e.uid);
  }
  return { past, future };
}

export type Relation = 'self' | 'past' | 'future' | 'concurrent';

export function relationOf(sets: CausalSets | null, chosenUid: string | null, uid: string): Relation | null {
  if (!sets || !chosenUid) return null;
  if (uid === chosenUid) return 'self';
  if (sets.past.has(uid)) return 'past';
  if (sets.future.has(uid)) return 'future';
  return 'concurrent';
}
