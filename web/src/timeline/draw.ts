import type { CausalSets } from '../model/causal';
import { eventKind } from '../model/events';
import type { LaneLayout } from '../model/lanes';
import { visibleRange } from '../model/lanes';
import type { TimelineModel } from './model';

/** How long before its receipt a message whose send was not logged is drawn to leave. */
export const SEND_SLACK_MS = 20;

export interface Palette {
  put: string;
  get: string;
  delete: string;
  repair: string;
  reap: string;
  other: string;
  arrow: string;
  lane: string;
  laneAlt: string;
  grid: string;
  conflict: string;
  select: string;
  past: string;
  future: string;
  text: string;
}

export interface DrawView {
  width: number;
  height: number;
  /** Plot area left edge (lane labels sit to its left, in HTML). */
  left: number;
  right: number;
  t0: number;
  t1: number;
  layout: LaneLayout;
  dpr: number;
  selected: number;
  causal: CausalSets | null;
  conflictKeys: ReadonlySet<string>;
  /** Only events with this key stand out (from the conflicts panel). */
  focusKey: string | null;
  ticks: number[];
}

export interface DrawStats {
  visible: number;
  arrows: number;
}

const R = 4;

/** Draws lanes, message arrows and events of the visible time window on a 2D canvas. */
export function drawTimeline(ctx: CanvasRenderingContext2D, m: TimelineModel, v: DrawView, p: Palette): DrawStats {
  const { width, height, left, right, t0, t1, layout, dpr } = v;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const span = t1 - t0 || 1;
  const plotW = right - left;
  const X = (t: number) => left + ((t - t0) / span) * plotW;

  // lanes
  layout.nodes.forEach((node, i) => {
    const y = layout.y.get(node)!;
    ctx.fillStyle = i % 2 ? p.laneAlt : p.lane;
    ctx.fillRect(left, y - layout.laneHeight / 2, plotW, layout.laneHeight);
    ctx.strokeStyle = p.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y) + 0.5);
    ctx.lineTo(right, Math.round(y) + 0.5);
    ctx.stroke();
  });
  // time grid
  ctx.strokeStyle = p.grid;
  ctx.globalAlpha = 0.6;
  ctx.beginPath();
  for (const t of v.ticks) {
    const x = Math.round(X(t)) + 0.5;
    ctx.moveTo(x, layout.top);
    ctx.lineTo(x, layout.bottom);
  }
  ctx.stroke();
  ctx.globalAlpha = 1;

  ctx.save();
  ctx.beginPath();
  ctx.rect(left - R - 1, 0, plotW + 2 * R + 2, height);
  ctx.clip();

  const slack = (R * 2 * span) / Math.max(1, plotW);
  const [lo, hi] = visibleRange(m.tx, t0 - slack, t1 + slack);
  const ev = m.events;
  const sel = v.selected;
  const causal = v.causal;
  const dimmed = (i: number): boolean => {
    if (v.focusKey !== null) return ev[i].key !== v.focusKey;
    if (sel < 0 || !causal) return false;
    const u = ev[i].uid;
    return i !== sel && !causal.past.has(u) && !causal.future.has(u);
  };

  // arrows: those with at least one end in the window (or spanning it)
  type Cls = 'normal' | 'dim' | 'past' | 'future';
  const segs: Record<Cls, number[]> = { normal: [], dim: [], past: [], future: [] };
  const ai = m.arrowIdx;
  const selUid = sel >= 0 ? ev[sel].uid : null;
  let arrowCount = 0;
  for (let k = 0; k < ai.length; k += 2) {
    const a = ai[k];
    const b = ai[k + 1];
    if (a < 0 || b < 0) continue;
    if ((a < lo || a >= hi) && (b < lo || b >= hi) && !(a < lo && b >= hi)) continue;
    const ya = layout.y.get(ev[a].node_id);
    const yb = layout.y.get(ev[b].node_id);
    if (ya === undefined || yb === undefined) continue;
    let cls: Cls = 'normal';
    if (v.focusKey !== null) cls = ev[b].key === v.focusKey ? 'normal' : 'dim';
    else if (sel >= 0 && causal) {
      const ua = ev[a].uid;
      const ub = ev[b].uid;
      const inPast = (u: string) => u === selUid || causal.past.has(u);
      const inFuture = (u: string) => u === selUid || causal.future.has(u);
      cls = inPast(ua) && inPast(ub) ? 'past' : inFuture(ua) && inFuture(ub) ? 'future' : 'dim';
    }
    // The send itself is not logged: it follows the sender's event and
    // precedes the receipt. A message sent long after the sender's last
    // event (a read asked after an idle spell) starts just before its receipt.
    segs[cls].push(X(Math.max(m.tx[a], m.tx[b] - SEND_SLACK_MS)), ya, X(m.tx[b]), yb);
    arrowCount++;
  }
  // Arrowheads only when they can be told apart.
  const withHeads = arrowCount <= 2500;
  const arrowStyle: Record<Cls, [string, number]> = { normal: [p.arrow, 0.55], dim: [p.arrow, 0.12], past: [p.past, 0.9], future: [p.future, 0.9] };
  ctx.lineWidth = 1;
  for (const cls of ['dim', 'normal', 'past', 'future'] as const) {
    const sg = segs[cls];
    if (!sg.length) continue;
    const [color, alpha] = arrowStyle[cls];
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    // Software canvases stroke many short paths faster than one huge one.
    for (let s0 = 0; s0 < sg.length; s0 += 4 * 400) {
      const s1 = Math.min(sg.length, s0 + 4 * 400);
      ctx.beginPath();
      for (let q = s0; q < s1; q += 4) {
        ctx.moveTo(sg[q], sg[q + 1]);
        ctx.lineTo(sg[q + 2], sg[q + 3]);
      }
      ctx.stroke();
      if (!withHeads) continue;
      ctx.beginPath();
      for (let q = s0; q < s1; q += 4) {
        const dx = sg[q + 2] - sg[q];
        const dy = sg[q + 3] - sg[q + 1];
        const len = Math.hypot(dx, dy);
        if (len <= R * 3) continue;
        const ux = dx / len;
        const uy = dy / len;
        const hx = sg[q + 2] - ux * (R + 1);
        const hy = sg[q + 3] - uy * (R + 1);
        ctx.moveTo(hx, hy);
        ctx.lineTo(hx - ux * 6 - uy * 3, hy - uy * 6 + ux * 3);
        ctx.lineTo(hx - ux * 6 + uy * 3, hy - uy * 6 - ux * 3);
        ctx.closePath();
      }
      ctx.fill();
    }
  }
  ctx.globalAlpha = 1;

  // events, grouped by colour and emphasis; one small path per dot is the
  // fastest on software canvases
  const kinds = ['other', 'reap', 'repair', 'get', 'delete', 'put'] as const;
  const groups = new Map<string, number[]>();
  const ringed: number[] = [];
  const xs = new Float64Array(Math.max(0, hi - lo));
  for (let i = lo; i < hi; i++) {
    const e = ev[i];
    xs[i - lo] = X(m.tx[i]);
    const k = `${eventKind(e.type)}${dimmed(i) ? '-dim' : ''}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
    if (v.conflictKeys.has(e.key)) ringed.push(i);
  }
  const TAU = Math.PI * 2;
  for (const dim of [true, false]) {
    for (const kind of kinds) {
      const g = groups.get(`${kind}${dim ? '-dim' : ''}`);
      if (!g) continue;
      ctx.globalAlpha = dim ? 0.15 : 1;
      ctx.fillStyle = p[kind];
      for (const i of g) {
        const y = layout.y.get(ev[i].node_id);
        if (y === undefined) continue;
        ctx.beginPath();
        ctx.arc(xs[i - lo], y, R, 0, TAU);
        ctx.fill();
      }
    }
  }
  ctx.globalAlpha = 1;
  if (ringed.length) {
    ctx.strokeStyle = p.conflict;
    ctx.lineWidth = 1.5;
    for (const i of ringed) {
      const y = layout.y.get(ev[i].node_id);
      if (y === undefined) continue;
      ctx.beginPath();
      ctx.arc(xs[i - lo], y, R + 3, 0, TAU);
      ctx.stroke();
    }
  }

  // causal emphasis: rings around the past and the future of the selection
  if (sel >= 0 && causal && v.focusKey === null) {
    ctx.lineWidth = 1.5;
    for (let i = lo; i < hi; i++) {
      const u = ev[i].uid;
      const inPast = causal.past.has(u);
      if (!inPast && !causal.future.has(u)) continue;
      const y = layout.y.get(ev[i].node_id);
      if (y === undefined) continue;
      ctx.strokeStyle = inPast ? p.past : p.future;
      ctx.beginPath();
      ctx.arc(xs[i - lo], y, R + 1.5, 0, TAU);
      ctx.stroke();
    }
  }
  if (sel >= 0 && sel < ev.length) {
    const y = layout.y.get(ev[sel].node_id);
    if (y !== undefined) {
      const x = X(m.tx[sel]);
      ctx.strokeStyle = p.select;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.arc(x, y, R + 4, 0, TAU);
      ctx.stroke();
    }
  }
  ctx.restore();
  return { visible: Math.max(0, hi - lo), arrows: arrowCount };
}
