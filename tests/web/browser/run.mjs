// run.mjs - starts a 3-node cluster and Chromium, runs the dashboard's
// browser tests, stops everything.
//
//   node tests/web/browser/run.mjs [path-to-chorusd]
//
// Environment: CHORUS_WEB_ROOT (default web/dist), CHROMIUM (default
// /usr/bin/chromium), ONLY=name,name (run only these tests), ARTIFACTS_DIR
// (default tests/web/artifacts), CHORUS_TEST_PORTS=LO-HI, CHORUS_KEEP_TMP=1
// (keep the nodes' data dirs and logs).

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Cluster } from './cluster.mjs';
import { CHROMIUM_ARGS, ROOT, loadPlaywright, runTests } from './lib.mjs';
import './dashboard.mjs';
import './merkle.mjs';

const binary = resolve(process.argv[2] ?? join(ROOT, 'build/chorusd'));
const webRoot = resolve(process.env.CHORUS_WEB_ROOT ?? join(ROOT, 'web/dist'));
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const only = process.env.ONLY ? process.env.ONLY.split(',').map((s) => s.trim()) : null;

function bail(msg) {
  console.log(`FAIL setup: ${msg}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

if (!existsSync(binary)) bail(`${binary} not found (cmake --build build)`);
if (!existsSync(join(webRoot, 'index.html'))) bail(`${webRoot}/index.html not found (scripts/build-web.sh)`);
if (!existsSync(executablePath)) bail(`${executablePath} not found (apt-get install chromium)`);

const started = Date.now();
let playwright;
try {
  playwright = loadPlaywright();
} catch (e) {
  bail(e.message);
}

const cluster = new Cluster({ binary, webRoot });
let browser = null;
let result = { passed: 0, failed: 1 };
try {
  await cluster.start();
  console.log(`# cluster: ${cluster.nodes.map((n) => `${n.id} pid ${n.pid} :${n.port}/${n.peerPort}`).join(', ')}`);
  browser = await playwright.chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 30000 });
  console.log(`# chromium ${browser.version()}`);
  result = await runTests({ browser, playwright, cluster, executablePath }, only);
} catch (e) {
  console.log(`FAIL setup: ${e.message}`);
  for (const line of cluster.tails(6)) console.log(`#   ${line}`);
  result = { passed: result.passed, failed: result.failed || 1 };
} finally {
  if (browser) await browser.close().catch(() => {});
  const how = await cluster.stop();
  if (how.includes('killed')) console.log(`# a node did not stop within 5 s of SIGTERM and was killed: ${JSON.stringify(how)}`);
}
console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed ? 1 : 0);
