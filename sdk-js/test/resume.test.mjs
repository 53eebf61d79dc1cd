// Resume across a page reload in headless Chromium, against a real bridge
// fed by the simulator: with the `resume` option the client keeps its
// positions in sessionStorage, so the reloaded page's subscription resumes
// with `since` (recovered, no duplicate offsets); without it a reload starts
// from a snapshot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, startBridge, startSim, binaries, distEntry } from './helpers.mjs';

let bridge;
let browser;
let sim;

before(async () => {
  distEntry();
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

// Creates the client on the page, subscribes `devices` and records every
// publication's offset; on pagehide the offsets are kept in sessionStorage
// (test.offsets) so the test sees exactly what was delivered before a reload.
async function open(page, resume) {
  await page.evaluate(async ({ url, token, resume }) => {
    const sdk = await import('/sdk/index.js');
    const options = { url, token, minReconnectDelay: 100, maxReconnectDelay: 200 };
    if (resume) options.resume = resume;
    const client = await sdk.createClient(options);
    const t = { client, subscribed: [], pubs: [] };
    window.__t = t;
    const sub = client.subscribe('devices');
    sub.on('subscribed', (e) => t.subscribed.push({ ...e, result: undefined }));
    sub.on('publication', (p) => t.pubs.push({ epoch: p.epoch, offset: p.offset }));
    window.addEventListener('pagehide', () => sessionStorage.setItem('test.offsets', JSON.stringify(t.pubs)));
    await client.connect();
    await sub.ready;
  }, { url: bridge.wsURL, token: bridge.token, resume });
  await page.waitForFunction(() => window.__t.subscribed.length > 0, null, { timeout: 10000 });
}

test('resume: a reloaded page recovers from its stored position', { timeout: 60000 }, async () => {
  const page = await browser.context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  await page.goto(`${bridge.httpURL}/sdk/index.js`);
  await open(page, { key: 'dash' });
  await page.waitForFunction(() => window.__t.pubs.length >= 3, null, { timeout: 20000 });
  const first = await page.evaluate(() => window.__t.subscribed[0]);
  assert.equal(first.wasRecovering, false);
  assert.equal(first.recovered, false);

  await page.reload();
  const before = await page.evaluate(() => JSON.parse(sessionStorage.getItem('test.offsets')));
  assert.ok(before.length >= 3, `publications before the reload: ${before.length}`);
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('mqlive.resume.dash')));
  const last = before.at(-1);
  assert.deepEqual(stored.positions.devices, last, 'the last delivered position is stored');
  assert.match(stored.owner, /^default\//, 'tied to the tenant/user');

  await open(page, { key: 'dash' });
  const again = await page.evaluate(() => window.__t.subscribed[0]);
  assert.equal(again.wasRecovering, true);
  assert.equal(again.recovered, true);
  assert.ok(again.recoveredCount >= 0);
  assert.equal(again.epoch, last.epoch);

  await page.waitForFunction(() => window.__t.pubs.length >= 2, null, { timeout: 20000 });
  const after = await page.evaluate(() => window.__t.pubs);
  const seen = new Set(before.map((p) => `${p.epoch}:${p.offset}`));
  for (const p of after) assert.ok(!seen.has(`${p.epoch}:${p.offset}`), `duplicate offset ${p.offset} after the reload`);
  // Recovered in full: the stream continues right after the last offset.
  assert.equal(after[0].offset, last.offset + 1);
  for (let i = 1; i < after.length; i++) assert.equal(after[i].offset, after[i - 1].offset + 1);

  // close() forgets the positions.
  await page.evaluate(() => window.__t.client.close());
  assert.equal(await page.evaluate(() => sessionStorage.getItem('mqlive.resume.dash')), null);
  assert.deepEqual(problems, []);
  await page.close();
});

test('no resume option: a reload starts from a snapshot', { timeout: 60000 }, async () => {
  const page = await browser.context.newPage();
  await page.goto(`${bridge.httpURL}/sdk/index.js`);
  await open(page, null);
  await page.waitForFunction(() => window.__t.pubs.length >= 2, null, { timeout: 20000 });
  await page.reload();
  await open(page, null);
  const again = await page.evaluate(() => window.__t.subscribed[0]);
  assert.equal(again.wasRecovering, false);
  assert.equal(again.recovered, false);
  const keys = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('mqlive.resume.')));
  assert.deepEqual(keys, []);
  await page.evaluate(() => window.__t.client.close());
  await page.close();
});
