/** ExchangesTable.tsx - the last anti-entropy exchange with each peer: when, result, what differed, what was repaired, bytes. */
import type { Exchange } from '../api/types';
import { TableHead } from '../components/TableHead';
import { ago } from '../hooks/useNow';
import { compareNodeIds } from '../model/lanes';
import { formatBytes, formatDuration } from './format';

interface Props {
  exchanges: Record<string, Exchange> | undefined;
  current: Exchange | undefined;
  peer: string;
  now: number;
}

export function ExchangesTable({ exchanges, current, peer, now }: Props) {
  const rows = Object.values(exchanges ?? {}).sort((a, b) => compareNodeIds(a.peer, b.peer));
  return (
    <section className="box" aria-label="Last exchange per peer" data-testid="merkle-exchanges">
      <h2 className="box-title">Last exchange per peer</h2>
      {current ? (
        <p className="small warn" data-testid="merkle-exchange-running">
          exchanging with {current.peer} now…
        </p>
      ) : null}
      {rows.length ? (
        <table className="table compact">
          <TableHead columns={['peer', 'when', 'result', 'keys differing', 'keys repaired', 'bytes ↑ / ↓', 'took']} />
          <tbody>
            {rows.map((x) => {
              const t = Date.parse(x.started_at);
              return (
                <tr key={x.peer} className={x.peer === peer ? 'mk-row-peer' : undefined} data-testid="merkle-exchange-row" data-peer={x.peer} data-result={x.result}>
                  <td>{x.peer}</td>
                  <td title={x.started_at}>{ago(t, now)}</td>
                  <td>{x.result === 'ok' ? <span className="ok">ok</span> : <span className="err">failed{x.error ? `: ${x.error}` : ''}</span>}</td>
                  <td className="num">{x.keys_differing}</td>
                  <td className="num" data-testid="merkle-exchange-repaired">
                    {x.keys_pushed + x.keys_pulled} <span className="muted small">(↑{x.keys_pushed} ↓{x.keys_pulled})</span>
                  </td>
                  <td className="num">
                    {formatBytes(x.bytes_sent)} / {formatBytes(x.bytes_received)}
                  </td>
                  <td className="num">{formatDuration(x.duration_ms)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : (
        <p className="muted small">No exchange yet: rounds run every anti-entropy interval, or now with “Repair now”.</p>
      )}
    </section>
  );
}
