// The dashboard in headless Chromium (playwright-core driving the system
// /usr/bin/chromium): it is served by a real bridge, shows a device the
// simulator publishes, reports its delivery latency to the bridge (read back
// from /metrics and printed), and shows the device again after the bridge is
// killed and restarted on the same ports (reconnect + resubscribe in the
// browser).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { launchChromium, startBridge, startSim, binaries, distEntry, repoRoot, waitFor, scrapeLatency, histogramQuantile } from './helpers.mjs';


let bridge;
let sim;
let browser;
let context;

before(async () => {
  distEntry(); // the bridge binary embeds dashboard/static/sdk, which the build writes
  binaries();
  bridge = await startBridge();
  sim = startSim(bridge.mqttURL);
  browser = await launchChromium();
  context = browser.context;
});

after(async () => {
  await browser?.close();
  await sim?.stop();
  await bridge?.stop();
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
  const card = await page.waitForSelector('#fleet-grid .row[data-device]', { timeout: 20000 });
  const id = await card.getAttribute('data-device');
  assert.ok(id);
  const session = await page.getAttribute('#conn', 'data-session');
  assert.ok(session);

  // The detail panel opens with the device's metrics.
  await card.click();
  await page.waitForSelector('#detail:not([hidden]) #detail-metrics tr', { timeout: 10000 });
  assert.equal(await page.textContent('#detail-title'), id);

  // The SDK in the page measures MQTT publish → bridge → page latency and
  // reports it (every 10 s by default); the bridge exports the histogram.
  const hist = await waitFor(async () => {
    const h = await scrapeLatency(bridge.httpURL);
    return h && h.count >= 10 && h;
  }, { timeout: 40000, interval: 250, what: 'latency reports from the browser on /metrics' });
  const p50 = histogramQuantile(0.5, hist) * 1000;
  const p99 = histogramQuantile(0.99, hist) * 1000;
  assert.ok(p50 > 0 && p50 <= p99, `p50 ${p50} ≤ p99 ${p99}`);
  assert.ok(hist.sum / hist.count < 1, 'mean latency on loopback under a second');
  console.log(`e2e latency (MQTT publish → bridge → dashboard in headless Chromium, loopback, latest mode at 4 Hz): ` +
    `p50=${p50.toFixed(2)}ms p99=${p99.toFixed(2)}ms mean=${((hist.sum / hist.count) * 1000).toFixed(2)}ms over ${hist.count} samples; ` +
    `cumulative buckets ${hist.buckets.map(({ le, cum }) => `le${le === Infinity ? '+Inf' : `${le * 1000}ms`}=${cum}`).join(' ')}`);

  // The client-side view in the browser: a second client in the same page
  // (same runtime), stream mode, not reporting. Its offset and round trip
  // bound the measurement error (± rtt/2).
  const own = await page.evaluate(async ({ url, token }) => {
    const sdk = await import('/sdk/index.js');
    const c = await sdk.createClient({ url, token, reportInterval: 0 });
    try {
      await c.connect();
      c.subscribe('devices');
      const deadline = Date.now() + 15000;
      for (;;) {
        const s = await c.latency();
        if ((s.count >= 10 && s.offsetMs !== null) || Date.now() > deadline) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      c.close();
    }
  }, { url: bridge.wsURL, token: bridge.token });
  assert.ok(own.count >= 10, `client.latency() in the browser: ${JSON.stringify(own)}`);
  assert.equal(own.reported, 0, 'reportInterval 0: nothing reported');
  assert.ok(own.p50 <= own.p99 && own.rttMs >= 0);
  console.log(`browser client.latency() (stream mode): p50=${own.p50.toFixed(2)}ms p99=${own.p99.toFixed(2)}ms over ${own.count} samples; ` +
    `clock offset ${own.offsetMs.toFixed(3)}ms rtt ${own.rttMs.toFixed(3)}ms`);

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
    (since) => [...document.querySelectorAll('#fleet-grid .row[data-device]')].some((r) => Number(r.dataset.updated) > since - 1000),
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
