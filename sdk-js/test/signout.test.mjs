// The dashboard after a forced sign-out, in headless Chromium against a
// real bridge: the page says the user was signed out, forgets the token it
// kept in sessionStorage (so a reload does not present it again), and the
// bridge refuses that token from then on (4001).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, startBridge, binaries, distEntry, signToken } from './helpers.mjs';

let bridge;
let browser;

before(async () => {
  distEntry();
  binaries();
  bridge = await startBridge();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await bridge?.stop();
});

test('sign-out: the dashboard forgets its token and says so; the token is refused', { timeout: 60000 }, async () => {
  const token = await signToken({ sub: 'erin' });
  const page = await browser.context.newPage();
  await page.goto(`${bridge.httpURL}/?token=${token}`);
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 20000 });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('mqlive.token')), token);

  const backend = await signToken({ sub: 'backend', api: ['signout'] });
  const resp = await fetch(`${bridge.httpURL}/api/v1/signout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${backend}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'erin', reason: 'password changed' }),
  });
  assert.equal(resp.status, 200, await resp.text());

  await page.waitForFunction(() => /signed out/i.test(document.getElementById('notice')?.textContent || ''), null, { timeout: 10000 });
  assert.match(await page.textContent('#notice'), /password changed/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('mqlive.token')), null, 'the token is forgotten');

  await page.reload();
  await page.waitForFunction(() => /No access token/.test(document.getElementById('notice')?.textContent || ''), null, { timeout: 10000 });

  // The bridge refuses the signed-out token whoever presents it.
  const ws = new WebSocket(bridge.wsURL, 'mqlive.v1');
  const closed = new Promise((resolve) => ws.addEventListener('close', (e) => resolve(e.code)));
  await new Promise((resolve, reject) => { ws.addEventListener('open', resolve); ws.addEventListener('error', reject); });
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'connect', params: { token } }));
  assert.equal(await closed, 4001);
  await page.close();
});
