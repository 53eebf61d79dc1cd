// Test helpers: real processes on free loopback ports. The bridge (mqlive)
// and the simulator (mqlive-sim) come from $MQLIVE_BIN / $MQLIVE_SIM_BIN
// (the Makefile builds them) or are built here into sdk-js/.build/.
import { SignJWT } from 'jose';
import { before, after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sdkDir = path.resolve(here, '..');
export const repoRoot = path.resolve(sdkDir, '..');
export const SECRET = 'sdk-js-test-secret-0123456789abcdef0123456789';

/** Polls fn until it returns a truthy value or the timeout passes. */
export async function waitFor(fn, { timeout = 20000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A port that was free a moment ago: listen on 0, note the port, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function binary(envName, pkg, name) {
  if (process.env[envName]) return process.env[envName];
  const dir = path.join(sdkDir, '.build');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, name);
  execFileSync('go', ['build', '-o', out, pkg], { cwd: repoRoot, stdio: 'inherit', timeout: 300000 });
  return out;
}

let bins = null;
/** Paths of the bridge and simulator binaries, built once per test process. */
export function binaries() {
  if (!bins) {
    bins = {
      bridge: binary('MQLIVE_BIN', './bridge/cmd/mqlive', 'mqlive'),
      sim: binary('MQLIVE_SIM_BIN', './simulator/cmd/mqlive-sim', 'mqlive-sim'),
    };
    for (const p of Object.values(bins)) if (!existsSync(p)) throw new Error(`missing binary ${p}`);
  }
  return bins;
}

/** The built SDK: tests run against dist/ (npm test builds it first). */
export function distEntry() {
  const entry = path.join(sdkDir, 'dist', 'index.js');
  if (!existsSync(path.join(sdkDir, 'dist', 'mqlive.wasm'))) {
    execFileSync('bash', [path.join(sdkDir, 'scripts', 'build.sh')], { stdio: 'inherit', timeout: 300000 });
  }
  return entry;
}

/** A spawned process that is killed (only it, by pid) when stopped. */
class Proc {
  constructor(cmd, args, name, cwd) {
    this.name = name;
    this.output = '';
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const keep = (chunk) => {
      this.output += chunk.toString();
      if (this.output.length > 200000) this.output = this.output.slice(-100000);
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
  }

  async stop(signal = 'SIGTERM') {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Starts the bridge in dev mode on the given ports (fresh free ones when
 * absent), with extra flags `args` (e.g. ['--config', file]), and resolves
 * once it printed its dashboard URL.
 */
// Dev mode keeps state (.mqlive/ under the working directory); each bridge
// gets its own fresh directory, kept across a restart on the same port, so
// no run sees the devices of an earlier one.
const bridgeDirs = new Map();
process.on('exit', () => {
  for (const dir of bridgeDirs.values()) rmSync(dir, { recursive: true, force: true });
});

// config, when given, is the text of a YAML config file (e.g. a short
// http.ping_interval or a tiny http.queue_size) written into that directory.
export async function startBridge({ httpPort, mqttPort, args: extra = [], config } = {}) {
  httpPort ??= await freePort();
  mqttPort ??= await freePort();
  let dir = bridgeDirs.get(httpPort);
  if (!dir) {
    dir = mkdtempSync(path.join(tmpdir(), 'mqlive-bridge-'));
    bridgeDirs.set(httpPort, dir);
  }
  const args = ['--dev', '--http-addr', `127.0.0.1:${httpPort}`, '--mqtt-listen', `127.0.0.1:${mqttPort}`,
    '--jwt-secret', SECRET, '--log-level', 'warn', ...extra];
  if (config) {
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, config);
    args.push('--config', file);
  }
  // A restart may find its old port briefly in use: retry a few times.
  for (let attempt = 0; ; attempt++) {
    const proc = new Proc(binaries().bridge, args, 'mqlive', dir);
    try {
      const line = await waitFor(() => proc.output.match(/^Dashboard: (\S+)$/m), {
        timeout: 20000, what: 'the bridge to print its dashboard URL',
      }).catch(async (err) => {
        await proc.stop();
        throw new Error(`${err.message}\n--- bridge output ---\n${proc.output}`);
      });
      const dashboard = new URL(line[1]);
      return {
        proc, httpPort, mqttPort,
        dashboardURL: dashboard.href,
        token: dashboard.searchParams.get('token'),
        httpURL: `http://127.0.0.1:${httpPort}`,
        wsURL: `ws://127.0.0.1:${httpPort}/ws`,
        mqttURL: `tcp://127.0.0.1:${mqttPort}`,
        stop: (signal) => proc.stop(signal),
      };
    } catch (err) {
      if (attempt >= 4 || !/in use/.test(err.message)) throw err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** Starts the simulator against a broker URL; `args` are extra flags (e.g. ['--bad', '0.5']). */
export function startSim(mqttURL, { devices = 1, families = 'zigbee2mqtt,tasmota', args: extra = [] } = {}) {
  const args = ['--url', mqttURL, '--devices', String(devices), '--interval', '500ms', '--seed', '1', '--log-level', 'error'];
  if (families) args.push('--families', families);
  args.push(...extra);
  const proc = new Proc(binaries().sim, args, 'mqlive-sim');
  return { proc, stop: (signal) => proc.stop(signal) };
}

/**
 * Scrapes the bridge's /metrics for the client-reported delivery latency
 * histogram of a tenant: { count, sum (s), buckets: [{ le (s), cum }] }, or
 * null when no client has reported yet.
 */
export async function scrapeLatency(httpURL, tenant = 'default') {
  const resp = await fetch(`${httpURL}/metrics`);
  if (!resp.ok) throw new Error(`/metrics: HTTP ${resp.status}`);
  const text = await resp.text();
  const name = 'mqlive_client_delivery_latency_seconds';
  const num = (re) => {
    const m = text.match(re);
    return m ? Number(m[1]) : null;
  };
  const count = num(new RegExp(`^${name}_count\\{tenant="${tenant}"\\} (\\S+)$`, 'm'));
  if (count === null) return null;
  const sum = num(new RegExp(`^${name}_sum\\{tenant="${tenant}"\\} (\\S+)$`, 'm'));
  const buckets = [];
  const re = new RegExp(`^${name}_bucket\\{tenant="${tenant}",le="([^"]+)"\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), cum: Number(m[2]) });
  buckets.sort((a, b) => a.le - b.le);
  return { count, sum, buckets };
}

/**
 * The q-quantile of a scraped histogram in seconds, interpolated inside the
 * bucket like Prometheus' histogram_quantile (the highest finite bound when
 * it falls into +Inf); NaN when empty.
 */
export function histogramQuantile(q, { buckets }) {
  const total = buckets.length ? buckets[buckets.length - 1].cum : 0;
  if (!total) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCum = 0;
  for (const { le, cum } of buckets) {
    if (cum >= rank && cum > prevCum) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCum)) / (cum - prevCum);
    }
    prevLe = le === Infinity ? prevLe : le;
    prevCum = cum;
  }
  return prevLe;
}

/**
 * An HS256 JWT signed with SECRET, the bridge's key in these tests. claims
 * are added to { sub: 'tester', tenant: 'default', iat: now, exp: in an hour
 * (or expiresIn: seconds as a number, or a jose time span like '5s') }.
 */
export async function signToken(claims = {}, { expiresIn = '1h' } = {}) {
  // Signed with jose, a maintained JWT library, never by hand.
  const body = { sub: 'tester', tenant: 'default', ...claims };
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt() // the bridge caps exp - iat (auth.max_token_lifetime) and requires iat
    .setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn)
    .sign(new TextEncoder().encode(SECRET));
}

// The headless Chromium every browser test uses: Debian's package, the
// flags this sandboxed machine needs, a fresh profile. close() also
// removes the profile.
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchChromium(options = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`);
  const profile = mkdtempSync(path.join(tmpdir(), 'mqlive-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Starts an SDK client in a page served by the bridge (/sdk/) and records
 * what it reports in window.__t: client states, the subscription's states,
 * and a log of its publications (epoch/offset only), gap, subscribed and
 * lagged events in the order they came. With getToken: true the client
 * calls window.__getToken() (the test defines it, e.g. over an exposed
 * function that signs tokens). Resolves once subscribed.
 */
export async function startPageClient(page, { url, token, getToken = false, channel = 'devices', mode = 'stream', options = {} }) {
  await page.evaluate(async ({ url, token, getToken, channel, mode, options }) => {
    const sdk = await import('/sdk/index.js');
    const t = { states: [], subStates: [], log: [], errors: [], tokenCalls: 0, sdk };
    window.__t = t;
    const opts = { url, ...options };
    if (token) opts.token = token;
    if (getToken) {
      opts.getToken = async () => {
        t.tokenCalls++;
        return window.__getToken();
      };
    }
    const client = await sdk.createClient(opts);
    t.client = client;
    client.on('state', (e) => t.states.push({ from: e.from, to: e.to, code: e.code, reason: e.reason, at: Date.now() }));
    client.on('error', (e) => t.errors.push({ code: e.code, message: e.message, at: Date.now() }));
    const sub = client.subscribe(channel, { mode });
    t.sub = sub;
    sub.on('state', (e) => t.subStates.push({ from: e.from, to: e.to, code: e.code, reason: e.reason, at: Date.now() }));
    sub.on('publication', (p) => t.log.push({ k: 'pub', epoch: p.epoch, offset: p.offset, at: Date.now() }));
    sub.on('gap', (g) => t.log.push({ k: 'gap', ...g, at: Date.now() }));
    sub.on('lagged', (l) => t.log.push({ k: 'lagged', offset: l.offset, at: Date.now() }));
    sub.on('subscribed', (e) => t.log.push({
      k: 'subscribed', recovered: e.recovered, wasRecovering: e.wasRecovering, epoch: e.epoch, offset: e.offset,
      recoveredCount: e.recoveredCount, at: Date.now(),
    }));
    await client.connect();
    await sub.ready;
  }, { url, token, getToken, channel, mode, options });
}

/** The recording of startPageClient, without the live objects. */
export function pageRecord(page) {
  return page.evaluate(() => {
    const { states, subStates, log, errors, tokenCalls, client, sub } = window.__t;
    return { states, subStates, log, errors, tokenCalls, state: client.state, subState: sub.state };
  });
}

// The transitions README "Connection states" and the subscription diagram
// allow ('*' is any state).
const CLIENT_TRANSITIONS = new Set(['disconnected>connecting', 'connecting>connected', 'connected>connecting',
  'connecting>connecting', 'connecting>disconnected', 'connected>disconnected', '*>closed']);
const SUB_TRANSITIONS = new Set(['unsubscribed>subscribing', 'subscribing>subscribed', 'subscribed>subscribing',
  'subscribing>subscribing', '*>unsubscribed']);

/**
 * Checks that a recorded state sequence is a chain (each from is the
 * previous to) of documented transitions, starting at start; returns the
 * sequence of `to` states.
 */
export function checkStates(states, { start, kind = 'client' }) {
  const allowed = kind === 'client' ? CLIENT_TRANSITIONS : SUB_TRANSITIONS;
  let at = start;
  for (const s of states) {
    if (s.from !== at) throw new Error(`${kind} state: ${s.from} → ${s.to} does not follow ${at}: ${JSON.stringify(states)}`);
    if (!allowed.has(`${s.from}>${s.to}`) && !allowed.has(`*>${s.to}`)) {
      throw new Error(`${kind} state: ${s.from} → ${s.to} is not a documented transition`);
    }
    at = s.to;
  }
  return states.map((s) => s.to);
}

/**
 * Checks a startPageClient log for duplicates and silent gaps: every
 * (epoch, offset) is delivered once; between two consecutive publications
 * that are not consecutive offsets of one epoch there is exactly one gap
 * event naming both ends, and between consecutive ones none. Returns
 * { pubs, jumps, gaps }.
 */
export function checkContinuity(log) {
  const seen = new Set();
  let prev = null;
  let pending = [];
  let jumps = 0;
  let gaps = 0;
  for (const e of log) {
    if (e.k === 'gap') {
      gaps++;
      pending.push(e);
      continue;
    }
    if (e.k !== 'pub') continue;
    const key = `${e.epoch}:${e.offset}`;
    if (seen.has(key)) throw new Error(`duplicate publication ${key}`);
    seen.add(key);
    if (prev) {
      const next = e.epoch === prev.epoch && e.offset === prev.offset + 1;
      if (next && pending.length) throw new Error(`gap event ${JSON.stringify(pending)} but ${prev.epoch}:${prev.offset} → ${key} is continuous`);
      if (!next) {
        jumps++;
        const want = { lastEpoch: prev.epoch, lastOffset: prev.offset, epoch: e.epoch, firstOffset: e.offset };
        const got = pending.map((g) => ({ lastEpoch: g.lastEpoch, lastOffset: g.lastOffset, epoch: g.epoch, firstOffset: g.firstOffset }));
        if (got.length !== 1 || JSON.stringify(got[0]) !== JSON.stringify(want)) {
          throw new Error(`silent gap: ${prev.epoch}:${prev.offset} → ${key} needs one gap event ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
        }
      }
    }
    pending = [];
    prev = e;
  }
  return { pubs: seen.size, jumps, gaps };
}

/**
 * Registers the before/after hooks of a browser scenario file: a bridge
 * (with the given YAML config), the simulator (devices per family) and a
 * headless Chromium, stopped after the file's tests. The returned object
 * holds { bridge, sim, browser } once before ran; a test may replace
 * bridge (a restart), after stops the current one.
 */
export function useScenario({ config, devices = 1 } = {}) {
  const env = {};
  before(async () => {
    distEntry(); // the bridge binary embeds dashboard/static/sdk, which the build writes
    binaries();
    env.bridge = await startBridge({ config });
    env.sim = startSim(env.bridge.mqttURL, { devices });
    env.browser = await launchChromium();
  });
  after(async () => {
    await env.browser?.close();
    await env.sim?.stop();
    await env.bridge?.stop();
  });
  return env;
}

/** Closes the startPageClient client (if it got that far) and the page. */
export async function closePageClient(page) {
  await page.evaluate(() => window.__t?.client.close()).catch(() => {});
  await page.close();
}

/**
 * A new page of the scenario's browser at the bridge's /sdk/ (same origin
 * for the WebSocket and the module), collecting uncaught page errors in
 * problems.
 */
export async function scenarioPage(env) {
  const page = await env.browser.context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  await page.goto(`${env.bridge.httpURL}/sdk/index.js`);
  return { page, problems };
}

/** startPageClient with the scenario bridge's dev token and a quick reconnect. */
export function startDevPageClient(env, page) {
  return startPageClient(page, { url: env.bridge.wsURL, token: env.bridge.token, options: { minReconnectDelay: 100, maxReconnectDelay: 500 } });
}

/**
 * Opens the dashboard at url in a new page of context and waits until it is
 * connected. problems collects page errors and console errors other than
 * the expected connection failures (a test asserts it stays empty).
 */
export async function openDashboard(context, url) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(msg.text())) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  await page.goto(url);
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 20000 });
  return { page, problems };
}
