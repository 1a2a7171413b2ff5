/** feed.ts - the anti-entropy events (repairs and tombstone collections) the Merkle view's live feed lists. */
import type { TEvent } from '../model/events';

export const FEED_TYPES: ReadonlySet<string> = new Set(['repair', 'reap']);

/** The newest `limit` repair and reap events of a log in time order, newest first. */
export function repairFeed(events: readonly TEvent[], limit = 12): TEvent[] {
  const out: TEvent[] = [];
  for (let i = events.length - 1; i >= 0 && out.length < limit; i--) if (FEED_TYPES.has(events[i].type)) out.push(events[i]);
  return out;
}

/** How many repair and reap events a log holds. */
export function countFeed(events: readonly TEvent[]): number {
  let n = 0;
  for (const e of events) if (FEED_TYPES.has(e.type)) n++;
  return n;
}
