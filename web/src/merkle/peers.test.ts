import { describe, expect, it } from 'vitest';
import type { Member, MemberStatus } from '../api/types';
import { defaultPeer, peerChoices } from './peers';

const m = (node_id: string, status: MemberStatus): Member => ({ node_id, status, address: '', last_seen: '', incarnation: 1 });

describe('peers', () => {
  const members = { 'node-10': m('node-10', 'alive'), 'node-1': m('node-1', 'alive'), 'node-2': m('node-2', 'dead'), 'node-3': m('node-3', 'alive') };
  it('lists every other member in node order and picks the first alive one', () => {
    const c = peerChoices(members, 'node-1');
    expect(c.map((x) => x.node_id)).toEqual(['node-2', 'node-3', 'node-10']);
    expect(defaultPeer(c)).toBe('node-3');
  });
  it('falls back to a member that is not alive, or none', () => {
    expect(defaultPeer(peerChoices({ 'node-2': m('node-2', 'dead') }, 'node-1'))).toBe('node-2');
    expect(defaultPeer(peerChoices(null, 'node-1'))).toBeNull();
    expect(peerChoices(members, null)).toEqual([]);
  });
});
