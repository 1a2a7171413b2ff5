/** peers.ts - the members the Merkle view can compare this node with, and which one it picks first. */
import type { Member } from '../api/types';
import { compareNodeIds } from '../model/lanes';

/** Every member but this node, in node-id order; none while this node's id is not known. */
export function peerChoices(members: Record<string, Member> | null | undefined, self: string | null): Member[] {
  if (!members || !self) return [];
  return Object.values(members)
    .filter((m) => m.node_id !== self)
    .sort((a, b) => compareNodeIds(a.node_id, b.node_id));
}

/** The first other alive member, else the first other member, else null. */
export function defaultPeer(choices: readonly Member[]): string | null {
  return (choices.find((m) => m.status === 'alive') ?? choices[0])?.node_id ?? null;
}
