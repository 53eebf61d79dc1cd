// The dashboard in headless Chromium (playwright-core driving the system
// /usr/bin/chromium): it is served by a real bridge, shows a device the
// simulator publishes, and shows it again after the bridge is killed and
// restarted on the same ports (reconnect + resubscribe in the browser).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startBridge, startSim, binaries, distEntry, repoRoot } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let bridge;
let sim;
let context;
let profile;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`);
  distEntry(); // the bridge binary embeds dashboard/static/sdk, which the build writes
  binaries();
  bridge = await startBridge();
  sim = startSim(bridge.mqttURL);
  profile = mkdtempSync(path.join(tmpdir(), 'mqlive-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await context?.close();
  await sim?.stop();
  await bridge?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('dashboard shows devices and recovers after a bridge restart', { timeout: 120000 }, async () => {
  const page = context.pages()[0] || (await context.newPage());
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(msg.text())) {
      problems.push(`console: ${msg.text()}`);
    }
  });

  await page.goto(bridge.dashboardURL);
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 20000 });
  assert.ok(!page.url().includes('token='), 'the token is removed from the address bar');
  const card = await page.waitForSelector('#devices li[data-device]', { timeout: 20000 });
  const id = await card.getAttribute('data-device');
  assert.ok(id);
  const session = await page.getAttribute('#conn', 'data-session');
  assert.ok(session);

  // The detail panel opens with the device's metrics.
  await card.click();
  await page.waitForSelector('#detail:not([hidden]) #detail-metrics tr', { timeout: 10000 });
  assert.equal(await page.textContent('#detail-title'), id);

  // Kill the bridge: the page shows it is reconnecting.
  await bridge.stop('SIGKILL');
  await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 20000 });
  const text = await page.textContent('#conn-text');
  assert.match(text, /Reconnecting \(attempt \d+\)/);

  // Same ports again: a new session, resubscribed, and fresh device updates.
  bridge = await startBridge({ httpPort: bridge.httpPort, mqttPort: bridge.mqttPort });
  const restartedAt = Date.now();
  await page.waitForFunction((old) => {
    const c = document.getElementById('conn');
    return c.dataset.state === 'connected' && c.dataset.session && c.dataset.session !== old;
  }, session, { timeout: 40000 });
  await page.waitForFunction(
    (since) => [...document.querySelectorAll('#devices li[data-device]')].some((li) => Number(li.dataset.updated) > since - 1000),
    restartedAt, { timeout: 40000 },
  );
  assert.deepEqual(problems, []);
});

// A fresh checkout has no dashboard/static/sdk/: the page must say how to
// build it instead of failing silently. Served here by a static server that
// has the page but not the SDK.
test('dashboard explains a missing SDK', { timeout: 30000 }, async () => {
  const root = path.join(repoRoot, 'dashboard', 'static');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server = createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.replace(/^\/$/, '/index.html');
    const file = path.join(root, path.normalize(name));
    if (name.startsWith('/sdk/') || !file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const page = await context.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/?token=abc`, { timeout: 10000 });
    await page.waitForSelector('#notice:not([hidden])', { timeout: 10000 });
    assert.match(await page.textContent('#notice'), /SDK not built: run make wasm/);
    assert.equal(await page.getAttribute('#conn', 'data-state'), 'error');
  } finally {
    await page.close();
    server.closeAllConnections(); // the browser keeps its connections alive
    await new Promise((resolve) => server.close(resolve));
  }
});
