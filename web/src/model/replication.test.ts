import { describe, expect, it } from 'vitest';
import { ownerIndex, replicationFlows, ringPoint } from './replication';

describe('replicationFlows', () => {
  it('is pending until the answer arrives, the coordinator is the source', () => {
    expect(replicationFlows(['n3', 'n1', 'n2'], 'n1', null)).toEqual([
      { node: 'n3', state: 'pending', fallback: false },
      { node: 'n2', state: 'pending', fallback: false },
    ]);
  });

  it('colours successful, failed and hinted nodes (real answer with node-3 down)', () => {
    const flows = replicationFlows(['node-3', 'node-1', 'node-2'], 'node-1', {
      successful_nodes: ['node-1', 'node-2'],
      failed_nodes: ['node-3'],
      hinted_nodes: ['node-1'],
      quorum_achieved: true,
      required: 2,
    });
    expect(flows).toEqual([
      { node: 'node-3', state: 'failed', fallback: false },
      { node: 'node-1', state: 'hinted', fallback: false },
      { node: 'node-2', state: 'ok', fallback: false },
    ]);
  });

  it('adds fallbacks that took a hint', () => {
    const flows = replicationFlows(['a', 'b', 'c'], 'a', {
      successful_nodes: ['a', 'b', 'd'],
      failed_nodes: ['c'],
      hinted_nodes: ['d'],
      quorum_achieved: true,
      required: 2,
    });
    expect(flows.find((f) => f.node === 'd')).toEqual({ node: 'd', state: 'hinted', fallback: true });
    expect(flows.find((f) => f.node === 'b')?.state).toBe('ok');
  });

  it('keeps a replica that acked after the answer pending until its event arrives', () => {
    const result = { successful_nodes: ['node-1', 'node-3'], failed_nodes: [], hinted_nodes: [], quorum_achieved: true, required: 2 };
    expect(replicationFlows(['node-1', 'node-3', 'node-2'], 'node-1', result)).toEqual([
      { node: 'node-3', state: 'ok', fallback: false },
      { node: 'node-2', state: 'pending', fallback: false },
    ]);
    expect(replicationFlows(['node-1', 'node-3', 'node-2'], 'node-1', result, new Set(['node-2']))[1]).toEqual({ node: 'node-2', state: 'ok', fallback: false });
  });

  it('shows a fallback the reply names as pending, then green on its event', () => {
    const result = { successful_nodes: ['a', 'b'], failed_nodes: [], hinted_nodes: [], pending_nodes: ['d'], quorum_achieved: true, required: 2 };
    expect(replicationFlows(['a', 'b', 'c'], 'a', result).find((f) => f.node === 'd')).toEqual({ node: 'd', state: 'pending', fallback: true });
    expect(replicationFlows(['a', 'b', 'c'], 'a', result, new Set(['d'])).find((f) => f.node === 'd')?.state).toBe('ok');
  });

  it('never turns a failed replica green on a late event', () => {
    const result = { successful_nodes: ['a'], failed_nodes: ['b'], hinted_nodes: [], quorum_achieved: false, required: 2 };
    expect(replicationFlows(['a', 'b'], 'a', result, new Set(['b']))).toEqual([{ node: 'b', state: 'failed', fallback: false }]);
  });
});

describe('ring geometry', () => {
  it('puts position 0 at the top and 0.25 at the right', () => {
    const [x0, y0] = ringPoint(0, 10);
    expect(x0).toBeCloseTo(0);
    expect(y0).toBeCloseTo(-10);
    const [x1, y1] = ringPoint(0.25, 10);
    expect(x1).toBeCloseTo(10);
    expect(y1).toBeCloseTo(0);
  });
  it('finds the owning vnode clockwise, wrapping around', () => {
    const p = [0.1, 0.4, 0.7];
    expect(ownerIndex(p, 0.05)).toBe(0);
    expect(ownerIndex(p, 0.4)).toBe(1);
    expect(ownerIndex(p, 0.5)).toBe(2);
    expect(ownerIndex(p, 0.9)).toBe(0);
    expect(ownerIndex([], 0.5)).toBe(-1);
  });
});
