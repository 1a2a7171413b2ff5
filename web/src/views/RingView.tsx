import { useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, errorText } from '../api/client';
import type { LookupResponse, PutResponse, ReplicationResult } from '../api/types';
import { InlineForm } from '../components/InlineForm';
import { Empty, ErrorNote, NodeChip, StatusPill } from '../components/Notice';
import { useDashboard } from '../context';
import { useNodeTargets } from '../data/useNodeTargets';
import { useDashState } from '../hooks/useDashState';
import { useElementSize } from '../hooks/useElementSize';
import { useNodeColors } from '../hooks/useNodeColors';
import { clockTime } from '../hooks/useNow';
import { colorOf } from '../model/colors';
import type { TEvent } from '../model/events';
import { ownershipRows } from '../model/ownership';
import { replicationFlows } from '../model/replication';
import { nextRanges } from '../model/ringTokens';
import { summarizeTransfers } from '../model/transfers';
import { OwnershipBox } from '../ring/OwnershipBox';
import { RingChart } from '../ring/RingChart';
import { TransfersBox } from '../ring/TransfersBox';
import { useTransfers } from '../ring/useTransfers';

interface Write {
  sentAt: number;
  value: string;
  coordinator: string;
  result: ReplicationResult | null;
  answer: PutResponse | null;
  error: string | null;
}

const FLOW_TYPES = new Set(['put', 'replicate', 'ack', 'hint_stored', 'hint_delivered', 'read_repair', 'repair']);

/** The replica an event shows to hold the write: the replica itself, or for an `ack` on the coordinator its peer. */
function replicaOf(e: TEvent): string | null {
  if (e.type === 'ack') return e.peer ?? null;
  if (e.type === 'replicate' || e.type === 'hint_delivered' || e.type === 'read_repair' || e.type === 'repair')
    return e.node_id;
  return null;
}

export function RingView() {
  const { api, store } = useDashboard();
  const ring = useDashState((s) => s.ring);
  const memberTable = useDashState((s) => s.members);
  // The ring is pushed when its member set changes; statuses change more often: take them from the member table.
  const statusOf = (id: string, fallback: string) => memberTable?.cluster_members[id]?.status ?? fallback;
  const ringError = useDashState((s) => s.errors.ring);
  const colors = useNodeColors();
  const box = useRef<HTMLDivElement>(null);
  const { width, height } = useElementSize(box);
  const size = Math.max(320, Math.min(width, height > 200 ? height : width, 900));

  const [key, setKey] = useState('user:42');
  const [lookup, setLookup] = useState<LookupResponse | null>(null);
  const [lookupError, setLookupError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [value, setValue] = useState('hello');
  const [write, setWrite] = useState<Write | null>(null);
  const [observed, setObserved] = useState<TEvent[]>([]);
  const [pulses, setPulses] = useState<Record<string, number>>({});
  const self = useDashState((s) => s.status?.node_id ?? s.hello?.node_id ?? null);

  // Ownership now and in the ring it moves to; the ranges that change owner.
  const rows = useMemo(() => (ring ? ownershipRows(ring) : []), [ring]);
  const moving = !!ring?.moving && !!ring.next;
  const moves = useMemo(() => (ring && ring.moving && ring.next ? nextRanges(ring) : null), [ring]);

  // Transfers: of the serving node, or of a member the user picks (a joiner's streams are on the joiner).
  const { targets } = useNodeTargets();
  const [xferBase, setXferBase] = useState('');
  const xferTarget = targets.find((t) => t.base === xferBase);
  useEffect(() => {
    if (xferBase && targets.length && (!xferTarget || xferTarget.status === 'left')) setXferBase('');
  }, [xferBase, xferTarget, targets.length]);
  const transfers = useTransfers(xferBase);
  const movers = rows
    .filter((r) => moving && r.phase !== 'normal')
    .map((r) => ({ id: r.node_id, phase: r.phase, base: targets.find((t) => t.nodeId === r.node_id)?.base ?? null }))
    .filter((m): m is { id: string; phase: typeof m.phase; base: string } => m.base !== null);

  // Replication events for the key, as they arrive (over the WebSocket, or the REST poll).
  useEffect(() => {
    if (!write || !lookup) return;
    const k = lookup.key;
    const since = write.sentAt - 2000;
    return store.onEvents((added) => {
      const mine = added.filter((e) => e.key === k && e.t >= since && FLOW_TYPES.has(e.type));
      if (!mine.length) return;
      setObserved((o) => [...o, ...mine].slice(-30));
      setPulses((p) => {
        const n = { ...p };
        for (const e of mine) n[e.node_id] = (n[e.node_id] ?? 0) + 1;
        return n;
      });
    });
  }, [store, write, lookup]);

  const doLookup = async (k: string): Promise<LookupResponse | null> => {
    setLookupError(null);
    try {
      const r = await api.lookup(k);
      setLookup(r);
      return r;
    } catch (e) {
      setLookupError(errorText(e));
      return null;
    }
  };

  // The ring moved on (a join or a leave started or ended): the shown lookup is read again, so its
  // preference list and pending owners stay those of the ring drawn.
  const ringKey = ring ? `${ring.version}|${ring.moving && ring.next ? ring.next.version : ''}` : '';
  const shownKey = lookup?.key ?? null;
  useEffect(() => {
    if (!ringKey || shownKey === null) return;
    let stale = false;
    api
      .lookup(shownKey)
      .then((r) => {
        if (!stale) setLookup((l) => (l && l.key === r.key ? r : l));
      })
      .catch(() => {
        /* the shown answer stays; a new lookup reports errors */
      });
    return () => {
      stale = true;
    };
    // only when the ring changes: a new lookup by the user reads it anyway
  }, [ringKey]);

  const onLookup = async () => {
    if (!key) return;
    setBusy(true);
    setWrite(null);
    setObserved([]);
    setPulses({});
    await doLookup(key);
    setBusy(false);
  };

  const onPut = async () => {
    if (!key) return;
    setBusy(true);
    const l = lookup?.key === key ? lookup : await doLookup(key);
    if (!l) {
      setBusy(false);
      return;
    }
    setObserved([]);
    setPulses({});
    const sentAt = Date.now();
    setWrite({ sentAt, value, coordinator: l.coordinator, result: null, answer: null, error: null });
    try {
      const r = await api.put(key, value);
      setWrite({ sentAt, value, coordinator: r.responsible_node, result: r.replication_result, answer: r, error: null });
    } catch (e) {
      const body = e instanceof ApiError ? e.body : null;
      setWrite({
        sentAt,
        value,
        coordinator: body?.responsible_node ?? l.coordinator,
        result: body?.replication_result ?? null,
        answer: null,
        error: errorText(e),
      });
    } finally {
      setBusy(false);
    }
  };

  const observedNodes = new Set(observed.map(replicaOf).filter((n): n is string => n !== null));
  const flows = lookup && write ? replicationFlows(lookup.preference_list, write.coordinator, write.result, observedNodes) : [];

  return (
    <div className={moving || summarizeTransfers(transfers.data).active > 0 ? 'ring-view ring-view-wide' : 'ring-view'}>
      <div className="ring-canvas" ref={box}>
        <ErrorNote error={ringError} testId="ring-error" />
        {ring && ring.vnodes.length ? (
          <RingChart
            ring={ring}
            statuses={memberTable?.cluster_members ?? null}
            colors={colors}
            size={size}
            lookup={lookup}
            flows={flows}
            coordinator={write?.coordinator ?? lookup?.coordinator ?? null}
            pulses={pulses}
            moveRows={moving ? rows : null}
            moves={moves}
          />
        ) : ring ? (
          <Empty>The ring is empty: no member owns tokens yet.</Empty>
        ) : ringError ? null : (
          <Empty>Loading the ring…</Empty>
        )}
      </div>
      <aside className="side">
        <OwnershipBox ring={ring} rows={rows} moves={moves} statusOf={statusOf} colors={colors} />
        <TransfersBox base={xferBase} targets={targets} onPick={setXferBase} self={self} state={transfers} moving={moving} movers={movers} colors={colors} />

        <section className="box" aria-label="Key lookup">
          <h2 className="box-title">Where does a key live?</h2>
          <InlineForm
            id="ring-key"
            label="Key"
            value={key}
            onChange={setKey}
            onSubmit={() => void onLookup()}
            placeholder="key"
            inputTestId="ring-key-input"
            button="Look up"
            buttonClass="btn"
            buttonTestId="ring-lookup-btn"
            disabled={busy || !key}
          />
          <ErrorNote error={lookupError} testId="ring-lookup-error" />
          {lookup ? (
            <div className="lookup" data-testid="ring-lookup-result" data-key={lookup.key}>
              <dl className="kv">
                <dt>token</dt>
                <dd className="mono" data-testid="lookup-token">
                  {lookup.token} <span className="muted">({lookup.position.toFixed(4)})</span>
                </dd>
                <dt>preference</dt>
                <dd>
                  <ol className="pref" data-testid="lookup-preference">
                    {lookup.preference_list.map((n) => (
                      <li key={n} data-testid="lookup-pref-item" data-node={n} data-status={lookup.statuses[n]}>
                        <NodeChip id={n} color={colorOf(colors, n)} /> <StatusPill status={lookup.statuses[n] ?? 'alive'} />
                      </li>
                    ))}
                  </ol>
                </dd>
                {lookup.pending?.length ? (
                  <>
                    <dt>pending</dt>
                    <dd data-testid="lookup-pending">
                      <ul className="plain pending">
                        {lookup.pending.map((n) => (
                          <li key={n} data-testid="lookup-pending-item" data-node={n}>
                            <NodeChip id={n} color={colorOf(colors, n)} /> <span className="muted small">next owner: writes reach it too, not counted in W</span>
                          </li>
                        ))}
                      </ul>
                    </dd>
                  </>
                ) : null}
                <dt>coordinator</dt>
                <dd data-testid="lookup-coordinator">{lookup.coordinator}</dd>
                <dt>fallbacks</dt>
                <dd data-testid="lookup-fallbacks">{lookup.fallbacks.length ? lookup.fallbacks.join(', ') : <span className="muted">none (every member is a replica)</span>}</dd>
              </dl>
            </div>
          ) : (
            <p className="muted small">The key's token is marked on the ring with its N replicas, clockwise.</p>
          )}
        </section>

        <section className="box" aria-label="Replicate a write">
          <h2 className="box-title">Write it and watch it replicate</h2>
          <InlineForm
            id="ring-value"
            label="Value"
            value={value}
            onChange={setValue}
            onSubmit={() => void onPut()}
            placeholder="value"
            inputTestId="ring-put-value"
            button="Send PUT"
            buttonClass="btn btn-primary"
            buttonTestId="ring-put-btn"
            disabled={busy || !key}
          />
          {write ? (
            <div className="flow-result" data-testid="ring-put-result" data-state={write.result ? (write.result.quorum_achieved ? 'ok' : 'failed') : write.error ? 'error' : 'pending'}>
              <ErrorNote error={write.error} testId="ring-put-error" />
              <p className="small">
                {write.result ? (
                  <>
                    {write.coordinator} coordinated: {write.result.successful_nodes.length} stored, quorum {write.result.required}{' '}
                    {write.result.quorum_achieved ? <span className="ok">reached</span> : <span className="err">not reached</span>}
                  </>
                ) : write.error ? null : (
                  'sending…'
                )}
              </p>
              <ul className="plain flows">
                {flows.map((f) => (
                  <li key={f.node} className={`flow-item flow-item-${f.state}`}>
                    <span className="flow-dot" aria-hidden="true" /> {f.node === write.coordinator ? `${f.node} (coordinator)` : f.node}: {f.state === 'ok' ? 'stored' : f.state === 'hinted' ? 'holds a hint' : f.state === 'pending' ? (write.result ? 'not in the answer yet' : 'sending') : 'failed'}
                    {f.fallback ? <span className="muted"> · fallback</span> : null}
                  </li>
                ))}
              </ul>
              <h3 className="small-title">Events for this key</h3>
              {observed.length ? (
                <ul className="plain small" data-testid="ring-observed-events">
                  {observed.map((e) => (
                    <li key={e.uid} data-node={e.node_id} data-type={e.type}>
                      <span className="mono">{clockTime(e.t)}</span> <NodeChip id={e.node_id} color={colorOf(colors, e.node_id)} /> <span className={`etype etype-${e.type}`}>{e.type}</span>
                      {e.peer ? (
                        <span className="muted">
                          {' '}
                          {e.type === 'hint_stored' ? 'for' : 'from'} {e.peer}
                        </span>
                      ) : null}
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted small">waiting for the replicas' events…</p>
              )}
            </div>
          ) : (
            <p className="muted small">Arrows go from the coordinator to each replica: green stored, red failed, amber hinted.</p>
          )}
        </section>
      </aside>
    </div>
  );
}
