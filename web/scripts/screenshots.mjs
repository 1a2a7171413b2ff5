// Screenshots of every view with Debian's Chromium (playwright-core, no
// downloaded browser). Usage:
//   DASH_URL=http://127.0.0.1:5173/ SHOTS_DIR=/tmp/dash-shots node scripts/screenshots.mjs
// Prints the console messages of the page and the timeline's render times.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.env.DASH_URL ?? 'http://127.0.0.1:5173/';
const dir = process.env.SHOTS_DIR ?? '/tmp/dash-shots';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const only = process.env.ONLY ? process.env.ONLY.split(',') : null;
mkdirSync(dir, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const messages = [];

async function shoot(name, { width = 1280, height = 800, hash = '', scheme = 'light', before } = {}) {
  if (only && !only.includes(name)) return;
  const page = await browser.newPage({ viewport: { width, height }, colorScheme: scheme });
  page.on('console', (m) => messages.push(`[${name}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => messages.push(`[${name}] pageerror: ${e.message}`));
  await page.goto(url + hash, { waitUntil: 'networkidle' }).catch(() => {});
  await page.waitForTimeout(1200);
  if (before) await before(page);
  await page.screenshot({ path: `${dir}/${name}.png` });
  await page.close();
}

await shoot('overview-1280', { hash: '#overview' });
await shoot('overview-dark-1920', { hash: '#overview', width: 1920, height: 1080, scheme: 'dark' });
await shoot('ring-1280', {
  hash: '#ring',
  before: async (p) => {
    await p.fill('[data-testid=ring-key-input]', 'user:42');
    await p.click('[data-testid=ring-lookup-btn]');
    await p.waitForTimeout(300);
    await p.click('[data-testid=ring-put-btn]');
    await p.waitForTimeout(2600);
  },
});
await shoot('members-1280', { hash: '#members' });
await shoot('timeline-1280', { hash: '#timeline' });
await shoot('timeline-selected-1920', {
  hash: '#timeline',
  width: 1920,
  height: 1080,
  scheme: 'dark',
  before: async (p) => {
    const canvas = await p.$('[data-testid=timeline-canvas]');
    if (!canvas) return;
    const b = await canvas.boundingBox();
    const lanes = await p.$$eval('[data-testid=timeline-lane]', (ls) => ls.length);
    const laneH = (b.height - 34) / Math.max(1, lanes);
    const laneY = (i) => b.y + 26 + laneH * (i + 0.5);
    // select an event in the middle of the second lane
    for (let x = b.width * 0.5; x < b.width; x += 3) {
      await p.mouse.click(b.x + x, laneY(Math.min(1, lanes - 1)));
      if (await p.getAttribute('[data-testid=timeline]', 'data-selected')) break;
    }
    // then hover one on the first lane
    for (let x = b.width * 0.3; x < b.width; x += 3) {
      await p.mouse.move(b.x + x, laneY(0));
      if (await p.$('[data-testid=timeline-tooltip]')) break;
    }
  },
});
await shoot('timeline-synthetic-1280', {
  hash: '#timeline?synthetic=10000',
  before: async (p) => {
    await p.waitForSelector('[data-testid=timeline][data-render-ms]');
    const r = await p.$eval('[data-testid=timeline]', (el) => ({ ...el.dataset }));
    console.log('synthetic 10000:', JSON.stringify(r));
  },
});
await shoot('data-1280', {
  hash: '#data',
  before: async (p) => {
    await p.fill('[data-testid=data-key-input]', 'cart:7');
    await p.fill('[data-testid=data-value-input]', 'apples');
    await p.click('[data-testid=data-make-conflict-btn]');
    await p.waitForSelector('[data-testid=conflict-badge]', { timeout: 5000 }).catch(() => {});
  },
});
await shoot('ring-dark-1920', { hash: '#ring', width: 1920, height: 1080, scheme: 'dark' });
await shoot('members-dark-1280', { hash: '#members', scheme: 'dark' });
await shoot('data-dark-1920', { hash: '#data', width: 1920, height: 1080, scheme: 'dark' });
await shoot('timeline-1920', { hash: '#timeline', width: 1920, height: 1080 });
await browser.close();
console.log(messages.length ? messages.join('\n') : 'no console messages');
