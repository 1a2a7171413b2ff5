/**
 * segments.ts - which segments (tree leaves) a compare found differing.
 * The compare lists at most 100 segments, and when keys are few per leaf it
 * lists all 16 leaves of each differing branch above them, so the listed
 * segments may cover only a few branches. The differing keys it lists are
 * exact: a key's segment is the top bits of its ring token, which
 * GET /api/v1/ring/lookup/{key} gives. When every differing key is known and
 * placed, the keys alone name the differing leaves; otherwise both are used
 * and the result may miss branches (complete: false).
 */
import type { CompareResponse } from '../api/types';

/** The segment prefix (one hex digit per level) of a 64-bit token given in decimal, for a tree of `segments` leaves. */
export function segmentOfToken(token: string, segments: number): string | null {
  const bits = Math.round(Math.log2(segments));
  if (!Number.isFinite(bits) || bits <= 0 || bits > 64 || bits % 4 !== 0 || 2 ** bits !== segments) return null;
  let t: bigint;
  try {
    t = BigInt(token);
  } catch {
    return null;
  }
  if (t < 0n || t >= 1n << 64n) return null;
  return (t >> BigInt(64 - bits)).toString(16).padStart(bits / 4, '0');
}

export interface DiffSegments {
  /** Segment prefixes to highlight (may repeat: one per key or listed segment). */
  prefixes: string[];
  /** Every differing branch is among them. */
  complete: boolean;
  /** What the prefixes came from. */
  source: 'none' | 'keys' | 'segments' | 'both';
}

type CompareSample = Pick<CompareResponse, 'segments' | 'segments_differing' | 'keys' | 'keys_differing'>;

/** The differing segments of a compare, from its listed segments and the segments of its listed keys (key -> prefix). */
export function differingSegments(cmp: CompareSample, keySegments: ReadonlyMap<string, string>): DiffSegments {
  const placed = cmp.keys.map((k) => keySegments.get(k.key)).filter((p): p is string => !!p);
  if (cmp.keys_differing === 0 && cmp.segments.length === 0) return { prefixes: [], complete: true, source: 'none' };
  if (placed.length === cmp.keys.length && cmp.keys.length >= cmp.keys_differing && placed.length > 0) {
    return { prefixes: placed, complete: true, source: 'keys' };
  }
  const listed = cmp.segments.map((s) => s.prefix);
  return {
    prefixes: [...listed, ...placed],
    complete: cmp.segments.length >= cmp.segments_differing,
    source: placed.length ? (listed.length ? 'both' : 'keys') : 'segments',
  };
}
