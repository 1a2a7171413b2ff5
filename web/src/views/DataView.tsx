import { useEffect, useMemo, useState } from 'react';
import { Api, ApiError, errorText } from '../api/client';
import type { DeleteResponse, GetResponse, PutResponse } from '../api/types';
import { ErrorNote, NodeChip } from '../components/Notice';
import { useDashboard } from '../context';
import { SiblingsTable } from '../data/SiblingsTable';
import { ResolvePanel } from '../data/ResolvePanel';
import { useNodeTargets } from '../data/useNodeTargets';
import { useDashState } from '../hooks/useDashState';
import { useNodeColors } from '../hooks/useNodeColors';
import { colorOf } from '../model/colors';
import { formatClock } from '../model/vclock';

export type DataResult =
  | { kind: 'get'; via: string; body: GetResponse }
  | { kind: 'put'; via: string; body: PutResponse }
  | { kind: 'delete'; via: string; body: DeleteResponse }
  | { kind: 'missing'; via: string; key: string; context: string | null; message: string };

export function DataView() {
  const { apiFor } = useDashboard();
  const colors = useNodeColors();
  const { targets, check } = useNodeTargets();
  const self = useDashState((s) => s.status?.node_id ?? null);
  const [target, setTarget] = useState('');
  const [key, setKey] = useState('user:42');
  const [value, setValue] = useState('alice');
  const [useCtx, setUseCtx] = useState(true);
  const [context, setContext] = useState<{ key: string; value: string } | null>(null);
  const [result, setResult] = useState<DataResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reachNote, setReachNote] = useState<string | null>(null);

  const selected = targets.find((t) => t.nodeId === target) ?? targets.find((t) => t.base === '') ?? null;
  const reachable = selected && (selected.reach === 'ok' || selected.reach === 'self') ? selected : null;
  const api: Api = apiFor(reachable?.base ?? '');
  const via = (reachable ? reachable.nodeId : self) || 'this node';
  const ctxForKey = context && context.key === key ? context.value : null;

  useEffect(() => {
    if (!target && self) setTarget(self);
  }, [self, target]);

  const pickTarget = async (nodeId: string) => {
    const t = targets.find((x) => x.nodeId === nodeId);
    if (!t) return;
    setReachNote(null);
    setTarget(nodeId);
    if (t.base === '') return;
    if (!(await check(t))) {
      setTarget(self ?? '');
      setReachNote(
        `${t.nodeId} (${t.address}) does not answer requests from this page (unreachable from this browser, or its address is not one this page's origin matches). Requests go to ${self ?? 'the serving node'}, which coordinates them just the same.`,
      );
    }
  };

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && e.body) {
        setResult({ kind: 'missing', via, key, context: e.body.context ?? null, message: e.body.error.message });
        setContext(e.body.context ? { key, value: e.body.context } : null);
      } else {
        setError(errorText(e));
      }
    } finally {
      setBusy(false);
    }
  };

  const doGet = (k = key) =>
    run(async () => {
      const body = await api.get(k);
      setResult({ kind: 'get', via, body });
      setContext({ key: k, value: body.context });
    });
  const doPut = (v = value, ctx = useCtx ? ctxForKey : null) =>
    run(async () => {
      const body = await api.put(key, v, ctx);
      setResult({ kind: 'put', via, body });
      setContext({ key, value: body.context });
    });
  const doDelete = () =>
    run(async () => {
      const body = await api.del(key, useCtx ? ctxForKey : null);
      setResult({ kind: 'delete', via, body });
      setContext({ key, value: body.context });
    });
  // Two writes with the same context are concurrent: the key gets two siblings.
  const makeConflict = () =>
    run(async () => {
      let ctx: string | null = null;
      try {
        ctx = (await api.get(key)).context;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) ctx = e.body?.context ?? null;
        else throw e;
      }
      // A write without a context replaces what the node holds: start from a version.
      if (!ctx) ctx = (await api.put(key, value)).context;
      await api.put(key, `${value}-A`, ctx);
      await api.put(key, `${value}-B`, ctx);
      const body = await api.get(key);
      setResult({ kind: 'get', via, body });
      setContext({ key, value: body.context });
    });

  const summary = useMemo(() => {
    if (!result) return null;
    if (result.kind === 'missing') return null;
    const b = result.body;
    return { coordinator: b.responsible_node, replicas: b.replication_nodes, clock: formatClock(b.vector_clock.clocks) };
  }, [result]);

  return (
    <div className="data-view">
      <section className="box data-form" aria-label="Request">
        <h2 className="box-title">Request</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void doGet();
          }}
        >
          <div className="field">
            <label htmlFor="data-node">Send to node</label>
            <select id="data-node" value={selected?.nodeId ?? ''} onChange={(e) => void pickTarget(e.target.value)} data-testid="data-node-select">
              {targets.map((t) => (
                <option key={t.nodeId || 'self'} value={t.nodeId} disabled={t.reach === 'blocked' || t.status === 'dead' || t.status === 'left'}>
                  {t.nodeId || 'this node'}
                  {t.address ? ` · ${t.address}` : ''}
                  {t.reach === 'self' ? ' (serves this page)' : t.reach === 'blocked' ? ' — unreachable' : t.status !== 'alive' ? ` — ${t.status}` : ''}
                </option>
              ))}
            </select>
            {reachNote ? (
              <p className="note note-info small" data-testid="data-node-note">
                {reachNote}
              </p>
            ) : (
              <p className="hint">
                Any node coordinates any request. {selected?.reach === 'checking' ? 'Checking that node…' : 'Members answer pages served by other members, so a request goes straight to the node picked.'}
              </p>
            )}
          </div>
          <div className="field">
            <label htmlFor="data-key">Key</label>
            <input id="data-key" value={key} onChange={(e) => setKey(e.target.value)} data-testid="data-key-input" required />
          </div>
          <div className="field">
            <label htmlFor="data-value">Value</label>
            <textarea id="data-value" rows={3} value={value} onChange={(e) => setValue(e.target.value)} data-testid="data-value-input" />
          </div>
          <div className="field check">
            <input id="data-ctx" type="checkbox" checked={useCtx} onChange={(e) => setUseCtx(e.target.checked)} data-testid="data-use-context" />
            <label htmlFor="data-ctx">
              Send the context of the last read/write of this key{' '}
              {ctxForKey ? (
                <code className="ctx" data-testid="data-context">
                  {ctxForKey.length > 28 ? `${ctxForKey.slice(0, 27)}…` : ctxForKey}
                </code>
              ) : (
                <span className="muted">(none yet: a blind write)</span>
              )}
            </label>
          </div>
          <div className="buttons">
            <button type="submit" className="btn" disabled={busy || !key} data-testid="data-get-btn">
              GET
            </button>
            <button type="button" className="btn btn-primary" disabled={busy || !key} onClick={() => void doPut()} data-testid="data-put-btn">
              PUT
            </button>
            <button type="button" className="btn btn-danger" disabled={busy || !key} onClick={() => void doDelete()} data-testid="data-delete-btn">
              DELETE
            </button>
            <button type="button" className="btn btn-ghost" disabled={busy || !key} onClick={() => void makeConflict()} data-testid="data-make-conflict-btn" title="Write value-A and value-B with the same context: two concurrent siblings">
              Make siblings
            </button>
          </div>
        </form>
      </section>

      <section className="box data-result" aria-label="Result" aria-live="polite" data-testid="data-result" data-kind={result?.kind ?? ''}>
        <h2 className="box-title">Result</h2>
        <ErrorNote error={error} testId="data-error" />
        {!result && !error ? <p className="muted">GET, PUT or DELETE a key: its siblings, their dots and the key's version vector show here.</p> : null}
        {result?.kind === 'missing' ? (
          <div data-testid="data-missing">
            <p>
              <strong>{result.key}</strong>: {result.message} <span className="muted">(404 via {result.via})</span>
            </p>
            {result.context ? <p className="muted small">The key was deleted; a write with the returned context replaces the tombstone.</p> : null}
          </div>
        ) : null}
        {result && result.kind !== 'missing' && summary ? (
          <>
            <p className="status-line">
              <span className={`method method-${result.kind}`}>{result.kind.toUpperCase()}</span> <strong className="mono">{result.body.key}</strong> via {result.via} · coordinated by{' '}
              <NodeChip id={summary.coordinator} color={colorOf(colors, summary.coordinator)} /> · replicas {summary.replicas.join(', ')}
            </p>
            <p className="small">
              version vector <code data-testid="data-vclock">{summary.clock}</code>
            </p>
            {result.kind === 'put' ? (
              <p className="small" data-testid="data-put-summary" data-conflict={String(result.body.conflict)} data-siblings={result.body.siblings}>
                stored on {result.body.replication_result.successful_nodes.join(', ')}
                {result.body.replication_result.failed_nodes.length ? <span className="err"> · failed {result.body.replication_result.failed_nodes.join(', ')}</span> : null}
                {result.body.replication_result.hinted_nodes.length ? <span className="warn"> · hints on {result.body.replication_result.hinted_nodes.join(', ')}</span> : null} · {result.body.siblings} sibling
                {result.body.siblings === 1 ? '' : 's'}
                {result.body.conflict ? <span className="warn"> · conflict</span> : null}
              </p>
            ) : null}
            {result.kind === 'delete' ? <p className="small">tombstone written on {result.body.replication_result.successful_nodes.join(', ')}</p> : null}
            {result.kind === 'get' ? (
              <>
                <p className="small">
                  read from {result.body.read_result.successful_nodes.join(', ')}
                  {result.body.read_result.repaired_nodes.length ? <span className="warn"> · repaired {result.body.read_result.repaired_nodes.join(', ')}</span> : null}
                </p>
                {result.body.conflict ? (
                  <p className="conflict-banner" data-testid="conflict-badge">
                    Conflict: {result.body.siblings.length} concurrent siblings — pick one or write a merged value below.
                  </p>
                ) : null}
                <SiblingsTable siblings={result.body.siblings} colors={colors} />
                {result.body.conflict ? (
                  <ResolvePanel
                    siblings={result.body.siblings}
                    busy={busy}
                    onResolve={(v) =>
                      run(async () => {
                        const put = await api.put(result.body.key, v, result.body.context);
                        const body = await api.get(result.body.key);
                        setResult({ kind: 'get', via, body });
                        setContext({ key: result.body.key, value: body.context });
                        if (put.conflict) setError('The write still left siblings: another write raced with it.');
                      })
                    }
                  />
                ) : null}
              </>
            ) : null}
          </>
        ) : null}
      </section>
    </div>
  );
}
