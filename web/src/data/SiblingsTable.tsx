import type { Sibling } from '../api/types';
import { NodeChip } from '../components/Notice';
import { TableHead } from '../components/TableHead';
import { colorOf } from '../model/colors';

export function SiblingsTable({ siblings, colors }: { siblings: Sibling[]; colors: Map<string, string> }) {
  return (
    <table className="table" data-testid="siblings-table">
      <TableHead columns={['value', 'dot', 'written', 'deleted']} />
      <tbody>
        {siblings.map((s) => (
          <tr key={`${s.node}:${s.counter}`} data-testid="sibling-row" data-dot={`${s.node}:${s.counter}`} data-deleted={String(s.deleted)}>
            <td className="mono wrap">{s.deleted ? <span className="muted">(tombstone)</span> : s.value}</td>
            <td>
              <NodeChip id={`${s.node}:${s.counter}`} color={colorOf(colors, s.node)} />
            </td>
            <td className="mono small">{s.timestamp}</td>
            <td>{s.deleted ? <span className="err">deleted</span> : 'no'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
