import { describe, expect, it } from 'vitest';
import { differingSegments, segmentOfToken } from './segments';

describe('segmentOfToken', () => {
  it('takes the top bits of the token as hex digits', () => {
    // tokens of two keys from a real cluster, with the segments its compare listed
    expect(segmentOfToken('4566364074459846179', 1048576)).toBe('3f5ef');
    expect(segmentOfToken('15027903156458710499', 1048576)).toBe('d08dd');
    expect(segmentOfToken('0', 1048576)).toBe('00000');
    expect(segmentOfToken('18446744073709551615', 1048576)).toBe('fffff');
    expect(segmentOfToken('18446744073709551615', 256)).toBe('ff');
  });
  it('refuses what is not a 64-bit token or a tree of 16^n leaves', () => {
    expect(segmentOfToken('abc', 1048576)).toBeNull();
    expect(segmentOfToken('-1', 1048576)).toBeNull();
    expect(segmentOfToken('18446744073709551616', 1048576)).toBeNull();
    expect(segmentOfToken('5', 1000)).toBeNull();
    expect(segmentOfToken('5', 8)).toBeNull();
  });
});

describe('differingSegments', () => {
  const seg = (prefix: string) => ({ segment: parseInt(prefix, 16), prefix });
  const run16 = (branch: string) => Array.from({ length: 16 }, (_, i) => seg(branch + i.toString(16)));

  it('is empty and complete when in sync', () => {
    expect(differingSegments({ segments: [], segments_differing: 0, keys: [], keys_differing: 0 }, new Map())).toEqual({ prefixes: [], complete: true, source: 'none' });
  });

  it("uses the keys' segments alone when every differing key is listed and placed", () => {
    const cmp = { segments: run16('0773'), segments_differing: 32, keys: [{ key: 'a', where: 'local_only' as const }, { key: 'b', where: 'peer_only' as const }], keys_differing: 2 };
    const r = differingSegments(cmp, new Map([['a', '0773f'], ['b', 'd08dd']]));
    expect(r).toEqual({ prefixes: ['0773f', 'd08dd'], complete: true, source: 'keys' });
  });

  it('adds what keys it can place to a truncated segment list, and says it may be incomplete', () => {
    const keys = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, where: 'both_differ' as const }));
    const cmp = { segments: [...run16('0773'), ...run16('126c')].slice(0, 20), segments_differing: 400, keys, keys_differing: 150 };
    const r = differingSegments(cmp, new Map([['k1', 'abcde']]));
    expect(r.complete).toBe(false);
    expect(r.source).toBe('both');
    expect(r.prefixes).toHaveLength(21);
    expect(r.prefixes).toContain('abcde');
  });

  it('trusts a full segment list when keys cannot be placed', () => {
    const cmp = { segments: run16('0773'), segments_differing: 16, keys: [{ key: 'a', where: 'local_only' as const }], keys_differing: 1 };
    expect(differingSegments(cmp, new Map())).toMatchObject({ complete: true, source: 'segments' });
  });
});
