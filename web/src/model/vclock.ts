import type { Clock } from '../api/types';

/** How clock a relates to clock b. */
export type Order = 'before' | 'after' | 'equal' | 'concurrent';

/** Compares two vector clocks entry by entry (a missing entry counts as 0). */
export function compareClocks(a: Clock, b: Clock): Order {
  let less = false;
  let greater = false;
  for (const k in a) {
    const av = a[k] ?? 0;
    const bv = b[k] ?? 0;
    if (av < bv) less = true;
    else if (av > bv) greater = true;
  }
  for (const k in b) {
    if (k in a) continue;
    if ((b[k] ?? 0) > 0) less = true;
  }
  if (less && greater) return 'concurrent';
  if (less) return 'before';
  if (greater) return 'after';
  return 'equal';
}

/** a <= b in every entry. */
export function clockLeq(a: Clock, b: Clock): boolean {
  for (const k in a) {
    if ((a[k] ?? 0) > (b[k] ?? 0)) return false;
  }
  return true;
}

/** a happened before b: a <= b and a != b. */
export function happensBefore(a: Clock, b: Clock): boolean {
  return compareClocks(a, b) === 'before';
}

export function isConcurrent(a: Clock, b: Clock): boolean {
  return compareClocks(a, b) === 'concurrent';
}

export function clocksEqual(a: Clock, b: Clock): boolean {
  return compareClocks(a, b) === 'equal';
}

/** Entry-wise maximum. */
export function mergeClocks(a: Clock, b: Clock): Clock {
  const out: Clock = { ...a };
  for (const k in b) out[k] = Math.max(out[k] ?? 0, b[k] ?? 0);
  return out;
}

/** "node-1:3 node-2:1", entries sorted by node. */
export function formatClock(c: Clock): string {
  return Object.keys(c)
    .sort()
    .map((k) => `${k}:${c[k]}`)
    .join(' ');
}
