/** format.ts - how the Merkle view writes sizes, shares, hashes and where a differing key lives. */
import type { KeyWhere } from '../api/types';

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** A 0..1 share of the token space as a percentage. */
export function formatShare(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  const p = share * 100;
  return `${p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function shortHash(hash: string, digits = 4): string {
  return hash.slice(0, digits);
}

/** Where a differing key lives, in words: `here` and `peer` name the two nodes. */
export function whereText(where: KeyWhere, here: string, peer: string): string {
  if (where === 'local_only') return `only on ${here}`;
  if (where === 'peer_only') return `only on ${peer}`;
  return 'on both, versions differ';
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = s / 60;
  if (m < 60) return `${Math.round(m)} min`;
  const h = m / 60;
  return `${Number.isInteger(h) || h >= 10 ? Math.round(h) : h.toFixed(1)} h`;
}
