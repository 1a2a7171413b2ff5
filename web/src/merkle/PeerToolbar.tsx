/** PeerToolbar.tsx - the Merkle view's controls: which peer to compare with, Compare, Repair now, and how the repair is going. */
import type { Member } from '../api/types';
import { formatDuration } from './format';
import type { RepairPhase } from './useRepair';

interface Props {
  choices: Member[];
  peer: string | null;
  onPeer: (id: string) => void;
  comparing: boolean;
  phase: RepairPhase;
  disabled: boolean;
  onCompare: () => void;
  onRepair: () => void;
}

function phaseText(p: RepairPhase): string {
  switch (p.kind) {
    case 'starting':
      return 'starting a repair…';
    case 'running':
      return `repairing: exchanging with ${p.peers} ${p.peers === 1 ? 'peer' : 'peers'}…`;
    case 'done':
      return `repair finished in ${formatDuration(p.ms)} (${p.peers} ${p.peers === 1 ? 'peer' : 'peers'}); compared again`;
    case 'timeout':
      return 'the repair is still running; compared what is there';
    default:
      return '';
  }
}

export function PeerToolbar({ choices, peer, onPeer, comparing, phase, disabled, onCompare, onRepair }: Props) {
  const repairing = phase.kind === 'starting' || phase.kind === 'running';
  return (
    <div className="toolbar mk-toolbar" role="toolbar" aria-label="Merkle tree controls">
      <label className="row" htmlFor="mk-peer">
        <span className="muted">Compare this node with</span>
        <select id="mk-peer" value={peer ?? ''} onChange={(e) => onPeer(e.target.value)} data-testid="merkle-peer-select" disabled={!choices.length}>
          {choices.map((m) => (
            <option key={m.node_id} value={m.node_id}>
              {m.node_id}
              {m.status === 'alive' ? '' : ` (${m.status})`}
            </option>
          ))}
        </select>
      </label>
      <div className="toolbar-buttons">
        <button type="button" className="btn" onClick={onCompare} disabled={disabled || !peer || comparing || repairing} data-testid="merkle-compare-btn">
          {comparing ? 'Comparing…' : 'Compare'}
        </button>
        <button type="button" className="btn btn-primary" onClick={onRepair} disabled={disabled || repairing} data-testid="merkle-repair-btn" title="An exchange with every live peer now, repairing what differs">
          {repairing ? 'Repairing…' : 'Repair now'}
        </button>
      </div>
      <span className={`small ${phase.kind === 'timeout' ? 'warn' : 'muted'}`} data-testid="merkle-repair-state" data-state={phase.kind} aria-live="polite">
        {phaseText(phase)}
      </span>
    </div>
  );
}
