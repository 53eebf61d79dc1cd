// Test helpers: real processes on free loopback ports. The bridge (mqlive)
// and the simulator (mqlive-sim) come from $MQLIVE_BIN / $MQLIVE_SIM_BIN
// (the Makefile builds them) or are built here into sdk-js/.build/.
import { SignJWT } from 'jose';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

export async function startBridge({ httpPort, mqttPort, args: extra = [] } = {}) {
  httpPort ??= await freePort();
  mqttPort ??= await freePort();
  let dir = bridgeDirs.get(httpPort);
  if (!dir) {
    dir = mkdtempSync(path.join(tmpdir(), 'mqlive-bridge-'));
    bridgeDirs.set(httpPort, dir);
  }
  const args = ['--dev', '--http-addr', `127.0.0.1:${httpPort}`, '--mqtt-listen', `127.0.0.1:${mqttPort}`,
    '--jwt-secret', SECRET, '--log-level', 'warn', ...extra];
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
 * are added to { sub: 'tester', tenant: 'default', iat: now, exp: in an hour }.
 */
export async function signToken(claims = {}) {
  // Signed with jose, a maintained JWT library, never by hand.
  const body = { sub: 'tester', tenant: 'default', ...claims };
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt() // the bridge caps exp - iat (auth.max_token_lifetime) and requires iat
    .setExpirationTime('1h')
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
