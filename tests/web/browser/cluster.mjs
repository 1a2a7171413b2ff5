// cluster.mjs - a real cluster of chorusd processes for the browser tests.
//
// Cluster.start() runs node-1..node-N on 127.0.0.1, each with its own HTTP
// port (the gossip UDP port has the same number), peer port and data dir
// under one mkdtemp dir, serving the dashboard from --web-root. Nodes 2..N
// join through node-1. It returns once every node's /gossip/members shows N
// alive members and its /api/v1/ring shows N members. stop() ends every
// process by its PID (SIGTERM, then SIGKILL after 5 s) and removes the temp
// dir; it also runs when the test process exits or is interrupted.
//
// Ports: free ones picked by the system, or with CHORUS_TEST_PORTS=LO-HI a
// port p in that range whose TCP and UDP p and TCP p + 1000 (the peer port)
// are free.

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Failure detection in a few seconds: a probe every 200 ms. With 3 members
 * and --suspicion-mult=6 a member stays suspected about 2.8 s (the Lifeguard
 * timeout with one confirmation) before it is declared dead, longer than the
 * 1 s between the /ws member pushes, so a page sees both transitions. */
export const FAST = [
  '--probe-interval=200ms',
  '--probe-timeout=100ms',
  '--gossip-interval=50ms',
  '--suspicion-mult=6',
  '--push-pull-interval=2s',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tcpFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpFree(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function anyTcpPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const taken = new Set();
let cursor = 0;

/** { port, peerPort } for one node, free at the time of the call and not handed out before. */
export async function pickPorts() {
  const spec = process.env.CHORUS_TEST_PORTS;
  if (spec) {
    const [lo, hi = lo] = spec.split('-').map(Number);
    if (!(lo > 0 && hi >= lo && hi + 1000 <= 65535)) throw new Error(`bad CHORUS_TEST_PORTS=${spec} (want LO-HI)`);
    for (let i = 0; i <= hi - lo; i++) {
      const p = lo + ((cursor + i) % (hi - lo + 1));
      if (taken.has(p) || taken.has(p + 1000)) continue;
      if ((await tcpFree(p)) && (await udpFree(p)) && (await tcpFree(p + 1000))) {
        cursor = p - lo + 1;
        taken.add(p).add(p + 1000);
        return { port: p, peerPort: p + 1000 };
      }
    }
    throw new Error(`no free port in CHORUS_TEST_PORTS=${spec}`);
  }
  for (let tries = 0; tries < 50; tries++) {
    const p = await anyTcpPort();
    if (taken.has(p) || !(await udpFree(p))) continue;
    const q = await anyTcpPort();
    if (q === p || taken.has(q)) continue;
    taken.add(p).add(q);
    return { port: p, peerPort: q };
  }
  throw new Error('no free ports found');
}

/** fetch with a deadline; resolves to { status, body (parsed JSON or text), headers }. */
export async function http(port, method, path, { body, headers = {}, timeout = 10000 } = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: body !== undefined ? { 'Content-Type': 'application/json', ...headers } : headers,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: ctl.signal,
    });
    const text = await r.text();
    let parsed = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, body: parsed, headers: r.headers };
  } catch (e) {
    if (ctl.signal.aborted) throw new Error(`${method} ${path} on port ${port}: no answer within ${timeout} ms`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

const live = new Map(); // pid -> ChildProcess, for the exit hooks
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  // Last resort: whatever is still running when node exits is killed by its PID.
  process.on('exit', () => {
    for (const pid of live.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      console.error(`# ${sig}: killing the cluster's nodes`);
      for (const c of Cluster.running) c.stopSync();
      process.exit(130);
    });
  }
}

export class Node {
  constructor(cluster, idx, ports) {
    this.cluster = cluster;
    this.id = `node-${idx}`;
    this.port = ports.port;
    this.peerPort = ports.peerPort;
    this.dataDir = join(cluster.tmp, this.id);
    this.logPath = join(cluster.tmp, `${this.id}.log`);
    this.proc = null;
    this.exit = null; // { code, signal } once it exited
  }

  get url() {
    return `http://127.0.0.1:${this.port}/`;
  }

  get pid() {
    return this.proc?.pid ?? null;
  }

  get running() {
    return this.proc !== null && this.exit === null;
  }

  start(seed) {
    const args = [
      `--node-id=${this.id}`,
      `--port=${this.port}`,
      `--peer-port=${this.peerPort}`,
      '--bind=127.0.0.1',
      `--data-dir=${this.dataDir}`,
      `--web-root=${this.cluster.webRoot}`,
      '--log-level=debug',
      '--fsync=never',
      ...this.cluster.extra,
    ];
    if (seed) args.push(`--seed-node=127.0.0.1:${seed.port}`);
    const log = openSync(this.logPath, 'a');
    this.exit = null;
    this.proc = spawn(this.cluster.binary, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const proc = this.proc;
    live.set(proc.pid, proc);
    proc.on('exit', (code, signal) => {
      live.delete(proc.pid);
      if (this.proc === proc) this.exit = { code, signal };
    });
    return this;
  }

  async waitHealthy(timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`${this.id} exited at start (${JSON.stringify(this.exit)}): ${this.tail()}`);
      try {
        if ((await this.request('GET', '/health', { timeout: 1000 })).status === 200) return;
      } catch {
        /* not listening yet */
      }
      await sleep(50);
    }
    throw new Error(`${this.id} did not answer GET /health within ${timeoutMs} ms: ${this.tail()}`);
  }

  request(method, path, opts) {
    return http(this.port, method, path, opts);
  }

  async getJson(path) {
    const r = await this.request('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path} on ${this.id}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    return r.body;
  }

  /** PUT {value} (with a context in the X-Chorus-Context header when given). */
  put(key, value, context) {
    return this.request('PUT', `/api/v1/data/${encodeURIComponent(key)}`, {
      body: { value },
      headers: context ? { 'X-Chorus-Context': context } : {},
    });
  }

  get(key) {
    return this.request('GET', `/api/v1/data/${encodeURIComponent(key)}`);
  }

  /** { id: status } as this node sees the cluster; {} when it does not answer. */
  async members() {
    try {
      const r = await this.request('GET', '/gossip/members', { timeout: 2000 });
      if (r.status !== 200) return {};
      return Object.fromEntries(Object.values(r.body.cluster_members).map((m) => [m.node_id, m.status]));
    } catch {
      return {};
    }
  }

  signal(sig) {
    if (this.running) process.kill(this.proc.pid, sig);
  }

  /** SIGKILL by PID and wait for the exit. */
  async kill() {
    if (!this.running) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.signal('SIGKILL');
    await done;
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves to 'exited' or 'killed'. */
  async stop(graceMs = 5000) {
    if (!this.running) return 'exited';
    const proc = this.proc;
    const exited = new Promise((r) => proc.once('exit', () => r('exited')));
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const how = await Promise.race([exited, sleep(graceMs).then(() => 'timeout')]);
    if (how === 'exited') return how;
    this.signal('SIGKILL');
    await exited;
    return 'killed';
  }

  tail(n = 6) {
    try {
      const lines = readFileSync(this.logPath, 'utf8').trimEnd().split('\n');
      const notable = lines.filter((l) => !/ DEBUG /.test(l));
      return (notable.length ? notable : lines).slice(-n).join(' | ');
    } catch {
      return '';
    }
  }
}

export class Cluster {
  static running = new Set();

  /** opts: { binary, webRoot, size = 3, extra = FAST, keepTmp } */
  constructor({ binary, webRoot, size = 3, extra = FAST, keepTmp = !!process.env.CHORUS_KEEP_TMP }) {
    this.binary = binary;
    this.webRoot = webRoot;
    this.size = size;
    this.extra = extra;
    this.keepTmp = keepTmp;
    this.tmp = mkdtempSync(join(tmpdir(), 'chorus-browser-'));
    this.nodes = [];
  }

  node(id) {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  async start(timeoutMs = 30000) {
    hookExit();
    Cluster.running.add(this);
    for (let i = 1; i <= this.size; i++) this.nodes.push(new Node(this, i, await pickPorts()));
    const [first, ...rest] = this.nodes;
    first.start();
    await first.waitHealthy();
    for (const n of rest) n.start(first);
    await Promise.all(rest.map((n) => n.waitHealthy()));
    await this.waitConverged(timeoutMs);
    return this;
  }

  /** Every node sees every member alive and a ring of every member. */
  async waitConverged(timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    const ids = this.nodes.map((n) => n.id);
    let views = {};
    while (Date.now() < deadline) {
      views = {};
      let ok = true;
      for (const n of this.nodes) {
        const m = await n.members();
        let ring = [];
        try {
          ring = (await n.getJson('/api/v1/ring')).members.map((x) => x.node_id);
        } catch {
          ok = false;
        }
        views[n.id] = { members: m, ring };
        if (!ids.every((id) => m[id] === 'alive') || !ids.every((id) => ring.includes(id))) ok = false;
      }
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`cluster did not converge (every node seeing ${ids.length} alive members and a ring of ${ids.length}) within ${timeoutMs} ms; views: ${JSON.stringify(views)}`);
  }

  /** Log tails of every node, for a failure report. */
  tails(n = 6) {
    return this.nodes.map((x) => `${x.id} (pid ${x.pid}, port ${x.port}${x.exit ? `, exited ${JSON.stringify(x.exit)}` : ''}): ${x.tail(n)}`);
  }

  async stop() {
    const results = await Promise.all(this.nodes.map((n) => n.stop(5000)));
    Cluster.running.delete(this);
    if (!this.keepTmp) rmSync(this.tmp, { recursive: true, force: true });
    return results;
  }

  /** For signal handlers: SIGKILL by PID at once, remove the temp dir. */
  stopSync() {
    for (const n of this.nodes) {
      try {
        if (n.running) process.kill(n.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    Cluster.running.delete(this);
    if (!this.keepTmp) rmSync(this.tmp, { recursive: true, force: true });
  }
}
