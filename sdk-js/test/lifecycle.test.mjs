// Page lifecycle in headless Chromium: the SDK (served by a real bridge at
// /sdk/, subscribed to the simulator's devices) goes offline with the page (CDP network emulation plus the window's
// offline event), makes no reconnect attempt while offline, and reconnects
// at once when the page is back online, its subscription recovered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, startBridge, startSim, binaries, distEntry } from './helpers.mjs';

let bridge;
let browser;
let sim;

before(async () => {
  distEntry(); // the bridge binary embeds dashboard/static/sdk, which the build writes
  binaries();
  bridge = await startBridge();
  sim = startSim(bridge.mqttURL);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await sim?.stop();
  await bridge?.stop();
});

test('offline stops retrying; online reconnects at once and recovers', { timeout: 60000 }, async () => {
  const page = browser.context.pages()[0] || (await browser.context.newPage());
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  await page.goto(`${bridge.httpURL}/sdk/index.js`);
  await page.evaluate(async ({ url, token }) => {
    const sdk = await import('/sdk/index.js');
    // Chromium fires online itself when the emulation ends: its time, taken
    // before the SDK's handler (registered later) runs.
    const onlineEvents = [];
    window.addEventListener('online', () => onlineEvents.push(Date.now()));
    const client = await sdk.createClient({ url, token, minReconnectDelay: 100, maxReconnectDelay: 200 });
    const t = { client, states: [], subscribed: [], pubs: [], pubAt: [], onlineEvents };
    window.__t = t;
    client.on('state', (e) => t.states.push({ to: e.to, reason: e.reason, at: Date.now() }));
    const sub = client.subscribe('devices'); // the simulator publishes
    sub.on('subscribed', (e) => t.subscribed.push({ ...e, at: Date.now() }));
    sub.on('publication', (p) => {
      t.pubs.push(p.data);
      t.pubAt.push(Date.now());
    });
    await client.connect();
    await sub.ready;
  }, { url: bridge.wsURL, token: bridge.token });
  await page.waitForFunction(() => window.__t.pubs.length > 0, null, { timeout: 20000 });

  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Network.enable');
  const network = (offline) => cdp.send('Network.emulateNetworkConditions', {
    offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  await network(true);
  await page.evaluate(() => window.dispatchEvent(new Event('offline')));
  await page.waitForFunction(() => window.__t.client.state === 'disconnected', null, { timeout: 5000 });
  const off = await page.evaluate(() => window.__t.states.at(-1));
  assert.equal(off.reason, 'offline');

  // Far longer than the backoff: no attempt while offline.
  const before = await page.evaluate(() => window.__t.states.length);
  await page.waitForTimeout(1500);
  const during = await page.evaluate(() => window.__t.states.slice());
  assert.equal(during.length, before, `no reconnect attempt while offline: ${JSON.stringify(during.slice(before))}`);
  assert.equal(await page.evaluate(() => window.__t.client.state), 'disconnected');

  await network(false);
  const onlineAt = await page.evaluate(() => {
    window.dispatchEvent(new Event('online')); // in case this Chromium did not
    return window.__t.onlineEvents[0];
  });
  await page.waitForFunction(() => window.__t.client.state === 'connected', null, { timeout: 2000 });
  const connectedAt = await page.evaluate(() => window.__t.states.at(-1).at);
  assert.ok(connectedAt - onlineAt < 2000, `connected ${connectedAt - onlineAt} ms after online`);

  await page.waitForFunction(() => window.__t.subscribed.length === 2, null, { timeout: 5000 });
  const again = await page.evaluate(() => window.__t.subscribed[1]);
  assert.equal(again.wasRecovering, true);
  assert.equal(again.recovered, true);

  // Still live after the reconnect.
  const seen = await page.evaluate(() => window.__t.pubs.length);
  await page.waitForFunction((n) => window.__t.pubs.length > n, seen, { timeout: 10000 });
  // The figures issue 8 asks for: online → resubscribed (the missed
  // publications recovered) and → the first live publication after it (the
  // simulator publishes every 500 ms, so up to that much is waiting).
  const { resubscribedAt, liveAt } = await page.evaluate(() => {
    const at = window.__t.subscribed[1].at;
    return { resubscribedAt: at, liveAt: window.__t.pubAt.find((p) => p >= at) };
  });
  console.log(`online → connected ${connectedAt - onlineAt} ms, → resubscribed (recovered ${again.recoveredCount}) ` +
    `${resubscribedAt - onlineAt} ms, → first live publication ${liveAt - onlineAt} ms`);
  await page.evaluate(() => window.__t.client.close());
  await cdp.detach();
  assert.deepEqual(problems, []);
});
