import type { Palette } from './draw';

const VARS: Record<keyof Palette, string> = {
  put: '--ev-put',
  get: '--ev-get',
  delete: '--ev-delete',
  repair: '--ev-repair',
  reap: '--ev-reap',
  other: '--ev-other',
  arrow: '--tl-arrow',
  lane: '--tl-lane',
  laneAlt: '--tl-lane-alt',
  grid: '--tl-grid',
  conflict: '--tl-conflict',
  select: '--tl-select',
  past: '--tl-past',
  future: '--tl-future',
  text: '--text',
};

const FALLBACK: Palette = {
  put: '#2e9d5b',
  get: '#3478f6',
  delete: '#d64545',
  repair: '#b5399e',
  reap: '#8a6d3b',
  other: '#8a8f98',
  arrow: '#8a8f98',
  lane: '#f6f7f9',
  laneAlt: '#eef0f3',
  grid: '#dde1e6',
  conflict: '#e08a00',
  select: '#111111',
  past: '#7c4dff',
  future: '#00a3a3',
  text: '#1d2127',
};

/** The timeline's colours, from the CSS variables of the current theme. */
export function readPalette(el: Element): Palette {
  const cs = getComputedStyle(el);
  const out = { ...FALLBACK };
  for (const k of Object.keys(VARS) as Array<keyof Palette>) {
    const v = cs.getPropertyValue(VARS[k]).trim();
    if (v) out[k] = v;
  }
  return out;
}
