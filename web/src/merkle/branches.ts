/**
 * branches.ts - which tree branches a compare found differing, and the state
 * of each cell the Merkle view draws. A node at level L is named by its
 * L-digit lowercase hex prefix (the root is ""); a branch differs iff some
 * differing segment's prefix starts with the branch's prefix.
 */

export const HEX_DIGITS = '0123456789abcdef';

/** How many of the differing segments lie under each branch of `level` (prefix -> count). */
export function differingBranches(segmentPrefixes: readonly string[], level: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of segmentPrefixes) {
    if (p.length < level) continue;
    const b = p.slice(0, level).toLowerCase();
    out.set(b, (out.get(b) ?? 0) + 1);
  }
  return out;
}

/** The prefixes of the children of a node: prefix + one hex digit each. */
export function childPrefixes(prefix: string, fanout = 16): string[] {
  return Array.from(HEX_DIGITS.slice(0, fanout), (d) => prefix + d);
}

/** The nodes whose children are drawn for a selected path: "", "a", "a3" for "a3". */
export function pathPrefixes(path: string): string[] {
  return Array.from({ length: path.length + 1 }, (_, i) => path.slice(0, i));
}

/** A path to select: lowercase hex digits, at most depth - 1 of them (a leaf has no children to show). */
export function clampPath(path: string, depth: number): string {
  const clean = path.toLowerCase().replace(/[^0-9a-f]/g, '');
  return clean.slice(0, Math.max(0, depth - 1));
}

export function isEmptyHash(hash: string | undefined | null): boolean {
  return !hash || /^0+$/.test(hash);
}

export type CellState = 'differs' | 'in_sync' | 'empty' | 'unknown';

/**
 * A cell's state: `differs` when the compare found a differing segment under
 * it; otherwise `empty` when its hash is zero (no keys here); otherwise
 * `in_sync`, or `unknown` while there is no compare to go by or the
 * compare's list of differences is incomplete.
 */
export function cellState(prefix: string, hash: string | undefined, diff: ReadonlyMap<string, number> | null, complete = true): CellState {
  if (diff && diff.has(prefix)) return 'differs';
  if (isEmptyHash(hash)) return 'empty';
  return diff && complete ? 'in_sync' : 'unknown';
}

export interface Cell {
  prefix: string;
  level: number;
  hash: string;
  state: CellState;
  /** Differing segments (of those the compare listed) under this cell. */
  differing: number;
}

export interface Row {
  level: number;
  /** The node whose children the row shows ('' for level 1); null for the root row. */
  parent: string | null;
  cells: Cell[];
}

/**
 * The rows to draw for a path: the root, then the children of each node on
 * the path. `nodes` maps a prefix to its hash and children hashes (as
 * GET /api/v1/merkle-tree?prefix= answers); rows whose node is not loaded yet
 * end the list. `diff` is null while no compare is known.
 */
export function buildRows(
  path: string,
  nodes: ReadonlyMap<string, { hash: string; children?: string[] }>,
  diff: { prefixes: readonly string[]; complete: boolean } | null,
): Row[] {
  const diffAt = (level: number) => (diff ? differingBranches(diff.prefixes, level) : null);
  const root = nodes.get('');
  if (!root) return [];
  const cell = (prefix: string, hash: string, at: Map<string, number> | null): Cell => ({
    prefix,
    level: prefix.length,
    hash,
    state: cellState(prefix, hash, at, diff?.complete ?? true),
    differing: at?.get(prefix) ?? 0,
  });
  const rows: Row[] = [{ level: 0, parent: null, cells: [cell('', root.hash, diffAt(0))] }];
  for (const parent of pathPrefixes(path)) {
    const n = nodes.get(parent);
    if (!n || !n.children || n.children.length === 0) break;
    const at = diffAt(parent.length + 1);
    const kids = childPrefixes(parent, n.children.length);
    rows.push({ level: parent.length + 1, parent, cells: kids.map((p, i) => cell(p, n.children![i], at)) });
  }
  return rows;
}
