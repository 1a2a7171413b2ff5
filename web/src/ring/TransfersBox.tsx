/**
 * TransfersBox.tsx - the ring view's ownership transfers: one node's range
 * streams (kind, source, state, progress, keys, bytes, rate, ETA) and its
 * hand-off counters, polled while the view shows. The serving node by
 * default; while ownership moves, the member that joins or leaves is one
 * click away (a joiner pulls its ranges, a leaver hands its records off).
 */
import type { MemberPhase, TransferStream, TransfersResponse } from '../api/types';
import { ErrorNote, NodeChip, PhaseBadge } from '../components/Notice';
import { TableHead } from '../components/TableHead';
import type { NodeTarget } from '../data/useNodeTargets';
import { formatBytes } from '../merkle/format';
import { colorOf } from '../model/colors';
import { formatEta, formatProgress, formatRate, plural, sortStreams, streamCounts, summarizeTransfers } from '../model/transfers';
import type { TransfersState } from './useTransfers';

interface Props {
  /** The node shown ('' = the serving node) and the nodes that can be picked. */
  base: string;
  targets: NodeTarget[];
  onPick: (base: string) => void;
  self: string | null;
  state: TransfersState;
  moving: boolean;
  /** Members joining or leaving now, with their phase: where the streams are. */
  movers: { id: string; phase: MemberPhase; base: string }[];
  colors: Map<string, string>;
}

function ProgressBar({ value, done, label }: { value: number; done?: boolean; label: string }) {
  const pct = Math.min(100, Math.max(0, (done ? 1 : value) * 100));
  return (
    <span className={done ? 'xfer-bar xfer-bar-done' : 'xfer-bar'} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)} aria-label={label}>
      <span style={{ width: `${pct}%` }} />
    </span>
  );
}

function StreamRow({ s, colors }: { s: TransferStream; colors: Map<string, string> }) {
  const done = s.state === 'done';
  return (
    <tr className={`xfer-row xfer-${s.state}`} data-testid="transfer-row" data-state={s.state} data-kind={s.kind} data-peer={s.peer} data-progress={s.progress}>
      <td>{s.kind}</td>
      <td>
        <NodeChip id={s.peer} color={colorOf(colors, s.peer)} />
      </td>
      <td>
        <span className={`xfer-state xfer-state-${s.state}`}>{s.state}</span>
        {s.failures ? <span className="err small" title={`${s.failures} failed attempts`}> ×{s.failures}</span> : null}
      </td>
      <td className="xfer-progress">
        <ProgressBar value={s.progress} done={done} label={`stream ${s.id} from ${s.peer}`} />
        <span className="num small">{formatProgress(s.progress, done)}</span>
      </td>
      <td className="num">{s.keys.toLocaleString()}</td>
      <td className="num">{formatBytes(s.bytes)}</td>
      <td className="num">{done ? <span className="muted">—</span> : formatRate(s.rate_bytes_per_s)}</td>
      <td className="num">{done ? <span className="muted">done</span> : formatEta(s.eta_s)}</td>
    </tr>
  );
}

function StreamsTable({ streams, colors }: { streams: TransferStream[]; colors: Map<string, string> }) {
  return (
    <div className="xfer-scroll">
      <table className="table compact xfer-table" data-testid="transfers-table">
        <TableHead columns={['kind', 'from', 'state', 'progress', 'keys', 'bytes', 'rate', 'ETA']} />
        <tbody>
          {sortStreams(streams).map((s) => (
            <StreamRow key={s.id} s={s} colors={colors} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Handoff({ t }: { t: TransfersResponse }) {
  const h = t.handoff;
  return (
    <p className="small xfer-handoff" data-testid="transfers-handoff" data-keys-sent={h.keys_sent} data-keys-dropped={h.keys_dropped} data-running={String(h.running)}>
      <span className="muted" title="Records this node sends to their next owners, and drops once those acknowledged them">
        hand-off:
      </span>{' '}
      {h.running ? <span className="warn">sending now · </span> : null}
      <strong>{h.keys_sent.toLocaleString()}</strong> keys sent <span className="muted">({formatBytes(h.bytes_sent)})</span> · <strong>{h.keys_dropped.toLocaleString()}</strong> dropped{' '}
      <span className="muted">· {plural(h.passes, 'pass', 'passes')}</span>
      <br />
      <span className="muted">received:</span> {t.totals.keys_received.toLocaleString()} keys <span className="muted">({formatBytes(t.totals.bytes_received)})</span>
      {t.totals.failures ? <span className="err"> · {plural(t.totals.failures, 'failure')}</span> : null}
    </p>
  );
}

export function TransfersBox({ base, targets, onPick, self, state, moving, movers, colors }: Props) {
  const t = state.data;
  const picked = targets.find((x) => x.base === base);
  const name = base === '' ? (self ?? 'this node') : (picked?.nodeId ?? base);
  const s = summarizeTransfers(t);
  const active = t ? t.streams.filter((x) => x.state !== 'done') : [];
  const finished = t ? t.streams.filter((x) => x.state === 'done') : [];
  const settled = !moving && !s.busy;
  const elsewhere = movers.filter((m) => m.base !== base);

  return (
    <section className="box" aria-label="Transfers" data-testid="transfers" data-node={t?.node_id ?? ''} data-busy={String(s.busy)} data-settled={String(settled)}>
      <div className="box-head">
        <h2 className="box-title">Transfers</h2>
        <label className="small xfer-pick">
          <span className="muted">on</span>{' '}
          <select value={base} onChange={(e) => onPick(e.target.value)} data-testid="transfers-node-select">
            {targets
              .filter((x) => x.base === base || x.status !== 'left')
              .map((x) => (
                <option key={x.base || 'self'} value={x.base}>
                  {x.nodeId || 'this node'}
                  {x.base === '' ? ' (this node)' : ''}
                  {movers.find((m) => m.base === x.base) ? ` · ${movers.find((m) => m.base === x.base)!.phase}` : ''}
                </option>
              ))}
          </select>
        </label>
      </div>
      <ErrorNote error={state.error} testId="transfers-error" />
      {state.unsupported ? (
        <p className="muted small" data-testid="transfers-unsupported">
          {name} does not report transfers: it runs a version from before ownership handoff.
        </p>
      ) : !t ? (
        state.error ? null : <p className="muted small">loading…</p>
      ) : (
        <>
          {settled ? (
            <p className="xfer-calm" data-testid="transfers-settled">
              <span className="ok" aria-hidden="true">
                ●
              </span>{' '}
              Ownership is settled: no transfers in progress.
            </p>
          ) : active.length ? (
            <div className="xfer-summary" data-testid="transfers-summary">
              <p className="small">
                <strong>{t.node_id}</strong> {t.phase !== 'normal' ? <PhaseBadge phase={t.phase} /> : null} {streamCounts(t.streams)} ·{' '}
                <strong>{formatProgress(s.progress ?? 0)}</strong> of the ranges{s.rate > 0 ? ` · ${formatRate(s.rate)}` : ''}
                {s.eta !== null ? ` · about ${formatEta(s.eta)} left` : ''}
              </p>
              <ProgressBar value={s.progress ?? 0} label={`transfers of ${t.node_id}`} />
            </div>
          ) : (
            <p className="small" data-testid="transfers-idle-here">
              {t.handoff.running ? (
                <>
                  <strong>{t.node_id}</strong> {t.phase !== 'normal' ? <PhaseBadge phase={t.phase} /> : null} is handing its records off to their next owners.
                </>
              ) : t.phase !== 'normal' && finished.length ? (
                <>
                  <strong>{t.node_id}</strong> <PhaseBadge phase={t.phase} /> has finished its {plural(finished.length, 'stream')}: ownership settles once the members see it.
                </>
              ) : (
                <>
                  Ownership is moving; <strong>{t.node_id}</strong> runs no range stream of its own
                  {elsewhere.length ? '. The ranges move on ' : '.'}
                  {elsewhere.map((m, i) => (
                    <span key={m.id}>
                      {i ? ', ' : ''}
                      <button type="button" className="link" onClick={() => onPick(m.base)} data-testid="transfers-show-mover" data-node={m.id}>
                        {m.id} ({m.phase})
                      </button>
                    </span>
                  ))}
                </>
              )}
            </p>
          )}
          {t.refusing_writes ? <p className="note note-warn small">{t.node_id} refuses writes: the last hand-off pass of its leave.</p> : null}
          {active.length ? <StreamsTable streams={t.streams} colors={colors} /> : null}
          {!active.length && finished.length ? (
            <details className="xfer-done small" data-testid="transfers-finished">
              <summary>
                last transfer: {plural(finished.length, 'stream')} done, {s.keys.toLocaleString()} keys ({formatBytes(s.bytes)})
              </summary>
              <StreamsTable streams={finished} colors={colors} />
            </details>
          ) : null}
          <Handoff t={t} />
        </>
      )}
    </section>
  );
}
