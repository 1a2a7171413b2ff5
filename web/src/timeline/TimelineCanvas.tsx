import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { axisTop, scaleTime, select, timeFormat, zoom, zoomIdentity, type ZoomBehavior } from 'd3';
import type { CausalSets } from '../model/causal';
import { colorOf } from '../model/colors';
import { followWindow, laneAt, layoutLanes, timeExtent } from '../model/lanes';
import { drawTimeline } from './draw';
import { nearestEvent, type TimelineModel } from './model';
import { readPalette } from './palette';
import { EventTooltip } from './EventTooltip';

export interface BuiltModel {
  model: TimelineModel;
  /** performance.now() when building the model began: the start of "data -> drawn". */
  startedAt: number;
}

interface Props {
  built: BuiltModel;
  lanes: string[];
  colors: Map<string, string>;
  theme: string;
  follow: boolean;
  onUserZoom: () => void;
  fitToken: number;
  selected: string | null;
  onSelect: (uid: string | null) => void;
  causal: CausalSets | null;
  conflictKeys: ReadonlySet<string>;
  focusKey: string | null;
  /** Start with every event in view rather than the latest burst. */
  fitAllFirst?: boolean;
}

const LABEL_W = 118;
const AXIS_H = 26;
/** ms of time the untransformed zoom maps onto the plot width. */
const BASE_SPAN = 60000;
const LIST_SIZE = 50;
const INITIAL_EVENTS = 300;

export function TimelineCanvas(p: Props) {
  const { model } = p.built;
  const rootRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const axisRef = useRef<SVGGElement>(null);
  const [plotW, setPlotW] = useState(800);
  // The zoom handlers read the width from here, so a resize never pairs a transform with another width.
  const plotWRef = useRef(plotW);
  plotWRef.current = plotW;
  const [hover, setHover] = useState<{ i: number; x: number; y: number } | null>(null);

  const domainRef = useRef<[number, number] | null>(null);
  const originRef = useRef<number>(0);
  const zoomRef = useRef<ZoomBehavior<HTMLCanvasElement, unknown> | null>(null);
  const fittedRef = useRef(false);
  const lastModelRef = useRef<TimelineModel | null>(null);
  const propsRef = useRef(p);
  propsRef.current = p;

  // Lanes share the height the page gives the timeline, between 22 and 150 px each.
  const [boxH, setBoxH] = useState(400);
  const layout = useMemo(() => layoutLanes(p.lanes, AXIS_H, boxH - AXIS_H - 8, 260, 22), [p.lanes, boxH]);
  const height = Math.max(boxH, layout.bottom + 8);

  useLayoutEffect(() => {
    const el = plotRef.current;
    const root = rootRef.current;
    if (!el || !root) return;
    const update = () => {
      setPlotW(Math.max(200, Math.round(el.getBoundingClientRect().width)));
      setBoxH(Math.max(160, Math.round(root.clientHeight)));
    };
    update();
    const ro = new ResizeObserver(update);
    ro.observe(el);
    ro.observe(root);
    return () => ro.disconnect();
  }, []);

  const palette = useMemo(() => (rootRef.current ? readPalette(rootRef.current) : null), [p.theme, plotW]);

  /** Draws now; returns the time it took. */
  const draw = useCallback((): number => {
    const canvas = canvasRef.current;
    const root = rootRef.current;
    const d = domainRef.current;
    if (!canvas || !root || !d) return 0;
    const t0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(plotW * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(plotW * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return 0;
    const x = scaleTime().domain([new Date(d[0]), new Date(d[1])]).range([0, plotW]);
    const ticks = x.ticks(Math.max(2, Math.floor(plotW / 110)));
    const pr = propsRef.current;
    const sel = pr.selected ? (pr.built.model.index.get(pr.selected) ?? -1) : -1;
    const stats = drawTimeline(
      ctx,
      pr.built.model,
      {
        width: plotW,
        height,
        left: 0,
        right: plotW,
        t0: d[0],
        t1: d[1],
        layout,
        dpr,
        selected: sel,
        causal: pr.causal,
        conflictKeys: pr.conflictKeys,
        focusKey: pr.focusKey,
        ticks: ticks.map((t) => t.getTime()),
      },
      palette ?? readPalette(root),
    );
    if (axisRef.current) {
      const span = d[1] - d[0];
      const fmt = timeFormat(span <= 10000 ? '%H:%M:%S.%L' : span <= 86400000 ? '%H:%M:%S' : '%b %d %H:%M');
      select(axisRef.current).call(
        axisTop(x)
          .ticks(Math.max(2, Math.floor(plotW / 110)))
          .tickFormat((t) => fmt(t as Date))
          .tickSizeOuter(0),
      );
    }
    const ms = performance.now() - t0;
    root.dataset.drawMs = ms.toFixed(2);
    root.dataset.visibleCount = String(stats.visible);
    root.dataset.arrowCount = String(stats.arrows);
    root.dataset.viewStart = new Date(d[0]).toISOString();
    root.dataset.viewEnd = new Date(d[1]).toISOString();
    return ms;
  }, [plotW, height, layout, palette]);

  const drawRef = useRef(draw);
  drawRef.current = draw;
  const frame = useRef(0);
  const scheduleDraw = useCallback(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      drawRef.current();
    });
  }, []);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  const transformFor = useCallback(
    (d: [number, number]) => {
      const k = BASE_SPAN / Math.max(1e-3, d[1] - d[0]);
      const tx = -k * (((d[0] - originRef.current) / BASE_SPAN) * plotWRef.current);
      return zoomIdentity.translate(tx, 0).scale(k);
    },
    [],
  );

  const setDomain = useCallback(
    (d: [number, number]) => {
      domainRef.current = d;
      const canvas = canvasRef.current;
      const z = zoomRef.current;
      if (canvas && z) select(canvas).call(z.transform, transformFor(d));
    },
    [transformFor],
  );

  // d3-zoom along x only: the transform's x and k map the base span onto the plot.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    if (!originRef.current) originRef.current = Date.now();
    const z = zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([BASE_SPAN / (400 * 86400000), BASE_SPAN / 0.5])
      .clickDistance(4)
      .on('zoom', (ev) => {
        const t = ev.transform;
        const w = plotWRef.current;
        const toTime = (px: number) => originRef.current + (((px - t.x) / t.k) / w) * BASE_SPAN;
        domainRef.current = [toTime(0), toTime(w)];
        if (ev.sourceEvent) propsRef.current.onUserZoom();
        scheduleDraw();
      });
    zoomRef.current = z;
    select(canvas).call(z).on('dblclick.zoom', null);
    if (domainRef.current) select(canvas).call(z.transform, transformFor(domainRef.current));
    return () => {
      select(canvas).on('.zoom', null);
    };
  }, [scheduleDraw, transformFor]);

  // After a resize, keep the time window: re-derive the transform for the new width.
  useLayoutEffect(() => {
    if (domainRef.current) setDomain(domainRef.current);
  }, [plotW, setDomain]);

  // data -> drawn: fit or follow, draw synchronously, and record how long it took since the data changed.
  useLayoutEffect(() => {
    const m = p.built.model;
    const evs = m.events;
    if (!domainRef.current || (!fittedRef.current && evs.length)) {
      // Start on the latest burst of activity; "Fit all" shows everything.
      domainRef.current = timeExtent(p.fitAllFirst ? evs : evs.slice(-INITIAL_EVENTS));
      fittedRef.current = evs.length > 0;
    } else if (p.follow && evs.length && lastModelRef.current !== m) {
      domainRef.current = followWindow(domainRef.current, evs[evs.length - 1].t);
    }
    setDomain(domainRef.current);
    const changed = lastModelRef.current !== m;
    lastModelRef.current = m;
    draw();
    const root = rootRef.current;
    if (changed && root) {
      const startedAt = p.built.startedAt;
      root.dataset.renderMs = (performance.now() - startedAt).toFixed(2);
      // and until the frame with it is painted (two animation frames later at most)
      requestAnimationFrame(() => requestAnimationFrame(() => (root.dataset.frameMs = (performance.now() - startedAt).toFixed(2))));
    }
  }, [p.built, p.follow, draw, setDomain]);

  useEffect(() => {
    if (p.fitToken === 0) return;
    setDomain(timeExtent(propsRef.current.built.model.events));
  }, [p.fitToken, setDomain]);

  useEffect(() => {
    scheduleDraw();
  }, [p.selected, p.causal, p.conflictKeys, p.focusKey, scheduleDraw]);

  const pick = (ev: MouseEvent<HTMLCanvasElement>): { i: number; x: number; y: number } | null => {
    const d = domainRef.current;
    if (!d) return null;
    const r = ev.currentTarget.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = ev.clientY - r.top;
    const t = d[0] + (x / plotW) * (d[1] - d[0]);
    const lane = laneAt(layout, y);
    const i = nearestEvent(model, lane, t, (8 / plotW) * (d[1] - d[0]));
    return i >= 0 ? { i, x, y } : null;
  };

  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const canvas = canvasRef.current;
    const z = zoomRef.current;
    if (!canvas || !z) return;
    const sel = select(canvas);
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      sel.call(z.translateBy, e.key === 'ArrowLeft' ? plotW * 0.15 : -plotW * 0.15, 0);
      p.onUserZoom();
    } else if (e.key === '+' || e.key === '=') {
      sel.call(z.scaleBy, 1.5, [plotW / 2, 0]);
      p.onUserZoom();
    } else if (e.key === '-') {
      sel.call(z.scaleBy, 1 / 1.5, [plotW / 2, 0]);
      p.onUserZoom();
    } else if (e.key === 'Escape') p.onSelect(null);
    else if (e.key === 'Home') setDomain(timeExtent(model.events));
    else return;
    e.preventDefault();
  };

  const last = model.events.slice(-LIST_SIZE);
  const hovered = hover && hover.i < model.events.length ? model.events[hover.i] : null;

  return (
    <div
      ref={rootRef}
      className="timeline"
      data-testid="timeline"
      data-event-count={model.events.length}
      data-lanes={p.lanes.join(',')}
      data-conflict-keys={p.conflictKeys.size}
      data-follow={String(p.follow)}
      data-selected={p.selected ?? ''}
    >
      <div className="tl-labels" style={{ width: LABEL_W, height }}>
        {p.lanes.map((n) => {
          const y = layout.y.get(n)!;
          return (
            <div key={n} className="tl-lane-label" style={{ top: y - 10 }} data-testid="timeline-lane" data-node={n} data-count={model.counts.get(n) ?? 0}>
              <span className="swatch" style={{ background: colorOf(p.colors, n) }} aria-hidden="true" />
              <span className="tl-lane-name" title={n}>
                {n}
              </span>
              <span className="tl-lane-count">{model.counts.get(n) ?? 0}</span>
            </div>
          );
        })}
      </div>
      <div
        className="tl-plot"
        ref={plotRef}
        tabIndex={0}
        role="application"
        aria-label="Space-time diagram. Arrow keys pan, plus and minus zoom, Home fits all, Escape clears the selection."
        onKeyDown={onKey}
      >
        <canvas
          ref={canvasRef}
          style={{ width: plotW, height }}
          onMouseMove={(e) => setHover(pick(e))}
          onMouseLeave={() => setHover(null)}
          onClick={(e) => {
            const h = pick(e);
            p.onSelect(h ? model.events[h.i].uid : null);
          }}
          data-testid="timeline-canvas"
        />
        <svg className="tl-axis" width={plotW} height={AXIS_H} aria-hidden="true">
          <g ref={axisRef} transform={`translate(0,${AXIS_H - 2})`} />
        </svg>
        {hovered && hover ? <EventTooltip event={hovered} x={hover.x} y={hover.y} width={plotW} height={height} conflict={p.conflictKeys.has(hovered.key)} /> : null}
      </div>
      <ol className="sr-only" data-testid="timeline-event-list" aria-label={`latest ${last.length} events`}>
        {last.map((e) => (
          <li key={e.uid} data-node={e.node_id} data-type={e.type} data-key={e.key} data-id={e.id} data-uid={e.uid} data-peer={e.peer ?? ''}>
            {e.node_id} {e.type} {e.key} #{e.id} {e.peer ? `from ${e.peer}` : ''} at {e.timestamp}
          </li>
        ))}
      </ol>
    </div>
  );
}
