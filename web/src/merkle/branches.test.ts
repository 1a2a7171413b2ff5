import { describe, expect, it } from 'vitest';
import { buildRows, cellState, childPrefixes, clampPath, differingBranches, isEmptyHash, pathPrefixes } from './branches';

const Z = '0000000000000000';
const H = (c: string) => c.repeat(16);

describe('differingBranches', () => {
  const segs = ['07730', '07731', '0773f', '126c0', '3f5ef'];
  it('names each branch of a level that has a differing segment below it, with a count', () => {
    expect(differingBranches(segs, 1)).toEqual(new Map([['0', 3], ['1', 1], ['3', 1]]));
    expect(differingBranches(segs, 4)).toEqual(new Map([['0773', 3], ['126c', 1], ['3f5e', 1]]));
    expect([...differingBranches(segs, 5).keys()]).toEqual(segs);
  });
  it('makes the root differ when anything differs, and nothing when nothing does', () => {
    expect(differingBranches(segs, 0)).toEqual(new Map([['', 5]]));
    expect(differingBranches([], 0).size).toBe(0);
    expect(differingBranches([], 3).size).toBe(0);
  });
  it('reads uppercase prefixes and skips prefixes shorter than the level', () => {
    expect([...differingBranches(['AB', 'c'], 2).keys()]).toEqual(['ab']);
  });
});

describe('paths', () => {
  it('lists the children of a node and the nodes on a path', () => {
    expect(childPrefixes('a3')).toHaveLength(16);
    expect(childPrefixes('a3')[0]).toBe('a30');
    expect(childPrefixes('')[15]).toBe('f');
    expect(pathPrefixes('a3')).toEqual(['', 'a', 'a3']);
    expect(pathPrefixes('')).toEqual(['']);
  });
  it('clamps a path to hex digits above the leaves', () => {
    expect(clampPath('A3-x9', 5)).toBe('a39');
    expect(clampPath('0123456', 5)).toBe('0123');
    expect(clampPath('abc', 0)).toBe('');
  });
});

describe('cellState', () => {
  const diff = new Map([['a', 2]]);
  it('puts differing first, then empty, then in sync', () => {
    expect(cellState('a', Z, diff)).toBe('differs'); // empty here, keys on the peer
    expect(cellState('b', Z, diff)).toBe('empty');
    expect(cellState('c', H('1'), diff)).toBe('in_sync');
  });
  it('is unknown without a compare, or outside an incomplete one', () => {
    expect(cellState('c', H('1'), diff, false)).toBe('unknown');
    expect(cellState('a', H('1'), diff, false)).toBe('differs');
    expect(cellState('c', H('1'), null)).toBe('unknown');
    expect(cellState('c', Z, null)).toBe('empty');
  });
  it('knows an empty hash', () => {
    expect(isEmptyHash(Z)).toBe(true);
    expect(isEmptyHash(undefined)).toBe(true);
    expect(isEmptyHash('00000000000000a0')).toBe(false);
  });
});

describe('buildRows', () => {
  const kids = (hot: number) => Array.from({ length: 16 }, (_, i) => (i === hot ? H('9') : Z));
  const nodes = new Map([
    ['', { hash: H('1'), children: kids(0) }],
    ['0', { hash: H('9'), children: kids(7) }],
  ]);

  it('draws the root and the children of every loaded node on the path', () => {
    const rows = buildRows('07', nodes, { prefixes: ['07730'], complete: true });
    expect(rows.map((r) => [r.level, r.parent])).toEqual([
      [0, null],
      [1, ''],
      [2, '0'],
    ]);
    expect(rows[0].cells[0]).toMatchObject({ prefix: '', state: 'differs', differing: 1 });
    expect(rows[1].cells[0]).toMatchObject({ prefix: '0', state: 'differs' });
    expect(rows[1].cells[1]).toMatchObject({ prefix: '1', state: 'empty', differing: 0 });
    expect(rows[2].cells[7]).toMatchObject({ prefix: '07', level: 2, state: 'differs' });
  });

  it('marks everything with keys in sync after a compare that found nothing', () => {
    const rows = buildRows('', nodes, { prefixes: [], complete: true });
    expect(rows[0].cells[0].state).toBe('in_sync');
    expect(rows[1].cells.map((c) => c.state).filter((s) => s === 'in_sync')).toHaveLength(1);
  });

  it('is empty before the root is loaded, and stops at the leaves', () => {
    expect(buildRows('', new Map(), null)).toEqual([]);
    const leaf = new Map([...nodes, ['07', { hash: H('9'), children: [] }]]);
    expect(buildRows('07', leaf, null)).toHaveLength(3);
  });
});
