// merkle.mjs - the browser test of the Merkle tab, on a cluster of its own
// that it makes diverge: anti-entropy rounds only every hour and one hint
// at most, so writes made while node-3 is stopped stay missing on node-3
// until "Repair now". Checks what the page shows against the nodes' HTTP
// API, before and after the repair, in the light and the dark theme.

import { Cluster, FAST } from './cluster.mjs';
import { check, openDashboard, poll, selectTab, sleep, test, waitFor } from './lib.mjs';

const KEYS = 20;

/** Stops node-3 (SIGSTOP), writes the keys through node-1 with w=1 while node-1 sees it dead, resumes it. */
async function diverge(t, c, keys) {
  const [n1, n3] = [c.node('node-1'), c.node('node-3')];
  n3.signal('SIGSTOP');
  await poll('node-1 to see node-3 dead', async () => (await n1.members())['node-3'] === 'dead', 20000, 100);
  for (const key of keys) {
    const r = await n1.request('PUT', `/api/v1/data/${encodeURIComponent(key)}?w=1`, { body: { value: `v-${key}` } });
    check(r.status === 200, `PUT ${key}?w=1 on node-1: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  }
  const hints = (await n1.getJson('/api/v1/status')).hints;
  n3.signal('SIGCONT');
  await poll('node-1 to see node-3 alive again', async () => (await n1.members())['node-3'] === 'alive', 20000, 100);
  const missing = await missingOn(n3, keys);
  t.note(`node-1 kept ${hints.total} hint(s) for node-3; ${missing.length} of ${keys.length} keys missing on node-3 after it resumed`);
  check(missing.length > 0, 'node-3 holds every key: the cluster did not diverge');
  return missing;
}

/** The keys node-3 does not hold itself (GET ?local=true is not 200). */
async function missingOn(node, keys) {
  const out = [];
  for (const key of keys) {
    const r = await node.request('GET', `/api/v1/data/${encodeURIComponent(key)}?local=true`);
    if (r.status !== 200) out.push(key);
  }
  return out;
}

/** The Merkle view's verdict: { inSync, differing } once a compare shows. */
function verdict(page, want, timeout) {
  return waitFor(
    page,
    `the Merkle view to show ${want ? 'in sync (0 differing)' : 'out of sync with differing keys'}`,
    (want) => {
      const el = document.querySelector('[data-testid=merkle-verdict]');
      const inSync = el?.getAttribute('data-in-sync');
      const differing = Number(el?.getAttribute('data-keys-differing'));
      if (want ? inSync === 'true' && differing === 0 : inSync === 'false' && differing > 0) return { inSync, differing };
      return false;
    },
    want,
    timeout,
  );
}

/** Screenshots in both themes (the page follows prefers-color-scheme). */
async function shots(t, page, step) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await waitFor(page, `data-theme=${scheme}`, (s) => document.documentElement.dataset.theme === s, scheme, 3000);
    await sleep(300);
    await t.shot(page, `${step}-${scheme}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

test(
  'merkle-repair',
  async (t) => {
    const c = new Cluster({ binary: t.cluster.binary, webRoot: t.cluster.webRoot, extra: [...FAST, '--anti-entropy-interval=1h', '--max-hints=1'] });
    try {
      await c.start();
      const [n1, n3] = [c.node('node-1'), c.node('node-3')];
      const stamp = Date.now().toString(36);
      const keys = Array.from({ length: KEYS }, (_, i) => `merkle:${stamp}:${i}`);
      const missing = await diverge(t, c, keys);

      const page = await openDashboard(t, '#merkle', { node: n1, viewport: { width: 1280, height: 900 } });
      await page.selectOption('[data-testid=merkle-peer-select]', 'node-3');
      const before = await verdict(page, false, 20000);
      const ui = await page.evaluate(() => ({
        differs: [...document.querySelectorAll('[data-testid=merkle-cell][data-state=differs]')].map((c) => c.dataset.prefix),
        keys: [...document.querySelectorAll('[data-testid=merkle-diff-key]')].map((k) => [k.dataset.key, k.dataset.where]),
      }));
      t.note(`before: ${before.differing} keys differ; highlighted branches ${JSON.stringify(ui.differs)}; ${ui.keys.length} keys listed`);
      check(ui.differs.some((p) => p.length >= 1), `no highlighted branch below the root: ${JSON.stringify(ui.differs)}`);
      const listed = ui.keys.filter(([k]) => keys.includes(k));
      check(listed.length > 0, `none of the written keys is listed as differing: ${JSON.stringify(ui.keys.slice(0, 5))}`);
      check(
        listed.every(([k, where]) => where === 'local_only' && missing.includes(k)),
        `listed keys and where they are: ${JSON.stringify(listed)}; missing on node-3: ${JSON.stringify(missing)}`,
      );

      // Descend into a differing branch: its 16 children show, some differing.
      const branch = ui.differs.find((p) => p.length === 1);
      await page.click(`[data-testid=merkle-cell][data-prefix="${branch}"]`);
      await waitFor(
        page,
        `level 2 under ${branch} with a differing cell`,
        (b) => document.querySelectorAll(`[data-testid=merkle-cell][data-level="2"][data-state=differs][data-prefix^="${b}"]`).length > 0,
        branch,
        10000,
      );
      await shots(t, page, 'before');

      await page.click('[data-testid=merkle-repair-btn]');
      const after = await verdict(page, true, 30000);
      await waitFor(page, 'the repair state done', () => document.querySelector('[data-testid=merkle-repair-state]')?.getAttribute('data-state') === 'done', undefined, 5000);
      check((await page.$$('[data-testid=merkle-cell][data-state=differs]')).length === 0, 'a branch is still highlighted after the repair');
      t.note(`after: in sync=${after.inSync}, ${after.differing} differing`);
      const still = await missingOn(n3, keys);
      check(still.length === 0, `node-3 still lacks ${still.length} keys after the repair: ${still.slice(0, 5).join(', ')}`);

      // The repairs arrive live in the feed, and the exchange with node-3 counts them.
      const fed = await waitFor(
        page,
        'repair events of the written keys in the live feed',
        (keys) => {
          const items = [...document.querySelectorAll('[data-testid=merkle-feed-item][data-type=repair]')].filter((li) => keys.includes(li.dataset.key));
          return items.length ? items.map((li) => `${li.dataset.key}: ${li.dataset.node}<-${li.dataset.peer}`) : false;
        },
        keys,
        10000,
      );
      const repaired = await waitFor(
        page,
        "node-3's row of the exchanges table with repaired keys",
        () => Number.parseInt(document.querySelector('[data-testid=merkle-exchange-row][data-peer=node-3] [data-testid=merkle-exchange-repaired]')?.textContent ?? '', 10) || false,
        undefined,
        10000,
      );
      t.note(`feed: ${fed.slice(0, 3).join(', ')}…; node-3's exchange repaired ${repaired} keys`);
      check(repaired > 0, `node-3's exchange repaired ${repaired} keys`);
      await shots(t, page, 'after');

      // The timeline draws the repairs as their own type.
      await selectTab(page, 'timeline');
      await waitFor(
        page,
        'repair events in the timeline',
        () => [...document.querySelectorAll('[data-testid=timeline-event-list] li')].some((li) => li.dataset.type === 'repair'),
        undefined,
        10000,
      );
      check(await page.$('.type-legend .dot-repair'), 'the timeline legend has no repair entry');
      await sleep(300);
      await t.shot(page, 'timeline');
    } finally {
      await c.stop();
    }
  },
  { timeout: 150000 },
);
