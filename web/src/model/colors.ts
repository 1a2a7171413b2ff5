import { schemeTableau10 } from 'd3';
import { compareNodeIds } from './lanes';

/**
 * One colour per node, stable across views: the node's rank among all known
 * ids (sorted naturally) picks from a 10-colour palette.
 */
export function nodeColors(ids: Iterable<string>): Map<string, string> {
  const sorted = Array.from(new Set(ids)).sort(compareNodeIds);
  const m = new Map<string, string>();
  sorted.forEach((id, i) => m.set(id, schemeTableau10[i % schemeTableau10.length]));
  return m;
}

export function colorOf(colors: Map<string, string>, id: string): string {
  return colors.get(id) ?? '#888888';
}
