// lib.mjs - a small sequential test runner for the browser tests: Chromium
// through playwright-core (from web/node_modules), pages that collect console
// errors and uncaught exceptions, bounded waits that name what they awaited,
// and screenshots under the artifacts dir. Prints "ok <name>" or
// "FAIL <name>: reason" per test and "N passed, N failed" at the end.

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARTIFACTS = resolve(process.env.ARTIFACTS_DIR ?? join(ROOT, 'tests/web/artifacts'));

/** playwright-core as the dashboard's package.json installs it. */
export function loadPlaywright() {
  const require = createRequire(join(ROOT, 'web/package.json'));
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core not found in web/node_modules (cd web && npm ci): ${e.message}`);
  }
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Failure extends Error {}

export function check(cond, message) {
  if (!cond) throw new Failure(message);
}

/**
 * page.waitForFunction with a deadline and a failure naming what was awaited.
 * fn runs in the page with arg; its truthy result is returned (JSON).
 */
export async function waitFor(page, what, fn, arg, timeout = 10000) {
  try {
    const h = await page.waitForFunction(fn, arg, { timeout, polling: 100 });
    const v = await h.jsonValue();
    await h.dispose();
    return v;
  } catch (e) {
    if (e?.name === 'TimeoutError' || /Timeout .* exceeded/.test(e?.message ?? '')) {
      throw new Failure(`timed out after ${(timeout / 1000).toFixed(0)} s waiting for ${what}`);
    }
    throw e;
  }
}

/** Waits until the element matching selector has attr equal to value (a string) or passing a regexp. */
export function waitAttr(page, selector, attr, value, timeout = 10000) {
  const want = value instanceof RegExp ? { re: value.source } : { eq: String(value) };
  return waitFor(
    page,
    `${selector} with ${attr}=${value}`,
    ({ selector, attr, want }) => {
      const v = document.querySelector(selector)?.getAttribute(attr);
      if (v == null) return false;
      return (want.re !== undefined ? new RegExp(want.re).test(v) : v === want.eq) ? v : false;
    },
    { selector, attr, want },
    timeout,
  );
}

/** Polls an async condition in the test process until it returns a truthy value. */
export async function poll(what, fn, timeout = 10000, every = 200) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(every);
  }
  throw new Failure(`timed out after ${(timeout / 1000).toFixed(0)} s waiting for ${what}`);
}

/** A node's dashboard (node-1 of t.cluster unless opts.node) at hash, once the connection state says connected (live over /ws). */
export async function openDashboard(t, hash = '', { node, ...opts } = {}) {
  const page = await t.newPage(opts);
  const n = node ?? t.cluster.node('node-1');
  const resp = await page.goto(n.url + hash, { waitUntil: 'load', timeout: 15000 });
  check(resp && resp.status() === 200, `GET ${n.url}: status ${resp?.status()}`);
  await waitAttr(page, '[data-testid=connection-state]', 'data-state', 'connected', 15000);
  return page;
}

export async function selectTab(page, tab) {
  await page.click(`[data-testid=tab-${tab}]`);
  await waitAttr(page, `[data-testid=tab-${tab}]`, 'aria-selected', 'true', 5000);
  await page.waitForSelector(`[data-testid=panel-${tab}]`, { timeout: 5000 });
}

const tests = [];

/** Registers a test: fn(t) with t = { browser, playwright, cluster, newPage, shot, note, name }. */
export function test(name, fn, { timeout = 60000, allowConsole = [] } = {}) {
  tests.push({ name, fn, timeout, allowConsole });
}

/**
 * Runs the registered tests in order (only those named in `only`, if given).
 * env: { browser, cluster }. Returns { passed, failed }.
 */
export async function runTests(env, only = null) {
  mkdirSync(ARTIFACTS, { recursive: true });
  let passed = 0;
  let failed = 0;
  for (const tc of tests) {
    if (only && !only.includes(tc.name)) continue;
    const contexts = [];
    const problems = [];
    const pages = [];
    const t = {
      ...env,
      name: tc.name,
      /** A page in its own browser context; console errors and page errors are collected. */
      async newPage({ viewport = { width: 1280, height: 800 }, colorScheme = 'light', browser = env.browser } = {}) {
        const ctx = await browser.newContext({ viewport, colorScheme });
        contexts.push(ctx);
        const page = await ctx.newPage();
        pages.push(page);
        page.on('console', (m) => {
          if (m.type() !== 'error') return;
          const loc = m.location();
          const text = `console error: ${m.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`;
          if (!tc.allowConsole.some((re) => re.test(text))) problems.push(text);
          else t.note(`allowed ${text}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.setDefaultTimeout(10000);
        return page;
      },
      /** Saves <artifacts>/<test>[-suffix].png. */
      async shot(page, suffix = '') {
        const path = join(ARTIFACTS, `${tc.name}${suffix ? `-${suffix}` : ''}.png`);
        await page.screenshot({ path });
        return path;
      },
      note(msg) {
        console.log(`# ${tc.name}: ${msg}`);
      },
    };
    const started = Date.now();
    let error = null;
    let timer;
    try {
      await Promise.race([
        tc.fn(t),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Failure(`the test did not finish within ${tc.timeout / 1000} s`)), tc.timeout);
        }),
      ]);
      if (problems.length) error = new Failure(`${problems.length} console/page error(s): ${problems.slice(0, 5).join(' | ')}`);
    } catch (e) {
      error = e;
      if (problems.length) e.message += ` [also: ${problems.slice(0, 3).join(' | ')}]`;
    } finally {
      clearTimeout(timer);
    }
    if (error) {
      const page = pages.at(-1);
      if (page && !page.isClosed()) await page.screenshot({ path: join(ARTIFACTS, `${tc.name}-failure.png`) }).catch(() => {});
    }
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (error) {
      failed++;
      const reason = error instanceof Failure ? error.message : (error.stack ?? String(error)).split('\n').slice(0, 4).join(' ');
      console.log(`FAIL ${tc.name}: ${reason}`);
      if (env.cluster) for (const line of env.cluster.tails(4)) console.log(`#   ${line}`);
    } else {
      passed++;
      console.log(`ok ${tc.name} (${secs} s)`);
    }
  }
  return { passed, failed };
}
