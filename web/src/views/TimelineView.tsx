import { useEffect, useMemo, useRef, useState } from 'react';
import { Empty, ErrorNote } from '../components/Notice';
import { useDashState } from '../hooks/useDashState';
import { useNodeColors } from '../hooks/useNodeColors';
import { causalSets } from '../model/causal';
import { colorOf } from '../model/colors';
import { emptyLog, mergeEvents, type EventLog } from '../model/events';
import { laneNodes } from '../model/lanes';
import { ConflictsPanel } from '../timeline/ConflictsPanel';
import { buildTimelineModel } from '../timeline/model';
import { SelectionPanel } from '../timeline/SelectionPanel';
import { syntheticEvents } from '../timeline/synthetic';
import { TimelineCanvas, type BuiltModel } from '../timeline/TimelineCanvas';

const TYPES: Array<[string, string]> = [
  ['put', 'PUT'],
  ['get', 'GET'],
  ['delete', 'DELETE'],
  ['repair', 'anti-entropy repair'],
  ['reap', 'tombstone reap'],
  ['other', 'replicate, ack, read repair, hint'],
];

function useSyntheticLog(count: number): EventLog | null {
  return useMemo(() => {
    if (!count) return null;
    return mergeEvents(emptyLog(), syntheticEvents({ count, nodes: 5, gapMs: 20 }), count + 1).log;
  }, [count]);
}

export function TimelineView({ params, theme }: { params: URLSearchParams; theme: string }) {
  const liveLog = useDashState((s) => s.log);
  const members = useDashState((s) => s.members);
  const conflicts = useDashState((s) => s.conflicts);
  const error = useDashState((s) => s.errors.events);
  const loaded = useDashState((s) => s.loaded.events);
  const eventNodes = useDashState((s) => s.eventNodes);
  const synthetic = Math.min(200000, Math.max(0, Number(params.get('synthetic')) || 0));
  const synthLog = useSyntheticLog(synthetic);

  const [paused, setPaused] = useState(false);
  const [frozen, setFrozen] = useState<EventLog | null>(null);
  const [follow, setFollow] = useState(true);
  const [fitToken, setFitToken] = useState(0);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState<string | null>(null);
  const [focusKey, setFocusKey] = useState<string | null>(null);

  const source = synthLog ?? liveLog;
  const log = paused && frozen ? frozen : source;
  const pendingNew = paused && frozen ? Math.max(0, source.events.length - frozen.events.length) : 0;

  const self = useDashState((s) => s.status?.node_id ?? null);
  const memberIds = useMemo(() => (synthLog ? [] : members ? Object.keys(members.cluster_members) : self ? [self] : []), [members, synthLog, self]);
  const lanesAll = useMemo(() => laneNodes(memberIds, log.events), [memberIds, log]);
  const lanes = useMemo(() => lanesAll.filter((n) => !hidden.has(n)), [lanesAll, hidden]);
  const colors = useNodeColors(lanesAll);

  const built: BuiltModel = useMemo(() => {
    const startedAt = performance.now();
    const shown = hidden.size ? new Set(lanes) : null;
    return { model: buildTimelineModel(log.events, shown), startedAt };
  }, [log, lanes, hidden]);

  const selectedEvent = selected ? (log.byUid.get(selected) ?? null) : null;
  const causal = useMemo(() => (selectedEvent ? causalSets(built.model.events, selectedEvent) : null), [built, selectedEvent]);
  const conflictKeys = useMemo(() => new Set(synthLog ? [] : conflicts.map((c) => c.key)), [conflicts, synthLog]);

  // A selection that left the view (its lane was hidden) is dropped.
  useEffect(() => {
    if (selected && !built.model.index.has(selected)) setSelected(null);
  }, [built, selected]);

  const togglePause = () => {
    if (paused) {
      setPaused(false);
      setFrozen(null);
    } else {
      setFrozen(source);
      setPaused(true);
    }
  };

  const toggleLane = (n: string) =>
    setHidden((h) => {
      const next = new Set(h);
      if (next.has(n)) next.delete(n);
      else if (lanesAll.length - next.size > 1) next.add(n);
      return next;
    });

  const followRef = useRef(follow);
  followRef.current = follow;

  const failedNodes = eventNodes.filter((n) => !n.ok);

  return (
    <div className="timeline-view">
      <div className="tl-main">
        <div className="toolbar" role="toolbar" aria-label="Timeline controls">
          <fieldset className="perspective" data-testid="timeline-perspective">
            <legend>Perspective</legend>
            {lanesAll.map((n) => (
              <label key={n} className={hidden.has(n) ? 'chip off' : 'chip'}>
                <input type="checkbox" checked={!hidden.has(n)} onChange={() => toggleLane(n)} data-testid="perspective-node" data-node={n} />
                <span className="swatch" style={{ background: colorOf(colors, n) }} aria-hidden="true" />
                {n}
              </label>
            ))}
          </fieldset>
          <div className="toolbar-buttons">
            <button type="button" className={paused ? 'btn btn-warn' : 'btn'} onClick={togglePause} aria-pressed={paused} data-testid="timeline-pause">
              {paused ? `Resume${pendingNew ? ` (${pendingNew} new)` : ''}` : 'Pause'}
            </button>
            <button
              type="button"
              className={follow ? 'btn btn-on' : 'btn'}
              aria-pressed={follow}
              onClick={() => setFollow((f) => !f)}
              data-testid="timeline-follow"
              title="Keep the newest events in view"
            >
              Follow live
            </button>
            <button
              type="button"
              className="btn"
              onClick={() => {
                setFollow(false);
                setFitToken((t) => t + 1);
              }}
              data-testid="timeline-fit"
            >
              Fit all
            </button>
          </div>
          <ul className="type-legend" aria-label="Event types">
            {TYPES.map(([k, label]) => (
              <li key={k}>
                <span className={`dot dot-${k}`} aria-hidden="true" /> {label}
              </li>
            ))}
            <li>
              <span className="dot dot-conflict" aria-hidden="true" /> key in conflict
            </li>
          </ul>
        </div>
        {synthLog ? (
          <p className="note note-info small" data-testid="timeline-synthetic">
            Synthetic data: {synthetic.toLocaleString()} events on 5 nodes. Remove <code>?synthetic=</code> from the address for the live cluster.
          </p>
        ) : null}
        <ErrorNote error={error} testId="timeline-error" />
        {failedNodes.length ? (
          <p className="note note-warn small">
            Events missing from {failedNodes.map((n) => `${n.node_id} (${n.error ?? 'no answer'})`).join(', ')}.
          </p>
        ) : null}
        {log.events.length === 0 ? (
          <Empty testId="timeline-empty">{loaded ? 'No events yet — try the Data tab: every PUT, GET and DELETE and its replication shows up here.' : 'Loading events…'}</Empty>
        ) : (
          <TimelineCanvas
            built={built}
            lanes={lanes}
            colors={colors}
            theme={theme}
            follow={follow && !paused}
            onUserZoom={() => {
              if (followRef.current) setFollow(false);
            }}
            fitToken={fitToken}
            selected={selected}
            onSelect={(uid) => {
              setSelected(uid);
              // keep the chosen event where it is
              if (uid) setFollow(false);
            }}
            fitAllFirst={synthLog !== null}
            causal={causal}
            conflictKeys={conflictKeys}
            focusKey={focusKey}
          />
        )}
        <p className="muted small tl-help">
          Scroll to zoom the time axis, drag to pan, hover an event for its clock, click it for its causal past and future. Arrows join the sender's event to the event its
          message caused (the receiver's clock entry for the sender names it); a message sent long after the sender's last event is drawn
          leaving shortly before it arrived.
        </p>
      </div>
      <aside className="side">
        <ConflictsPanel conflicts={synthLog ? [] : conflicts} focusKey={focusKey} onFocus={setFocusKey} />
        <SelectionPanel event={selectedEvent} causal={causal} total={built.model.events.length} onClear={() => setSelected(null)} />
      </aside>
    </div>
  );
}
