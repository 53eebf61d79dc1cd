// Tokens end to end in headless Chromium against a real bridge, with
// tokens that live 4 s, signed on demand by the test (exposed to the page
// as mintToken): getToken is called ahead of expiry and the new token sent
// with `refresh` on the same connection (no reconnect, no state change, no
// 4010); a token that expires while getToken fails is answered by the
// server's 4010, then a fresh token and a reconnect that recovers; an
// UnauthorizedError from getToken stops the client in 'disconnected' with
// 4001; a refresh that no longer allows a channel ends its subscription
// (the server's `unsubscribed`), which leaves client.subscriptions().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useScenario, scenarioPage, signToken,
  startPageClient, pageRecord, checkStates, checkContinuity, closePageClient,
} from './helpers.mjs';

const env = useScenario({ devices: 2 });

// A page whose window.__getToken answers by window.__tokenMode: 'ok' (a
// token of window.__ttl seconds with window.__claims), 'fail' (a plain
// error: retried) or 'unauthorized' (UnauthorizedError: stop).
async function tokenPage() {
  const { page, problems } = await scenarioPage(env);
  await page.exposeFunction('mintToken', (ttl, claims) => signToken(claims || {}, { expiresIn: ttl }));
  await page.evaluate(async () => {
    const sdk = await import('/sdk/index.js');
    window.__tokenMode = 'ok';
    window.__ttl = 4;
    window.__claims = null;
    window.__getToken = async () => {
      if (window.__tokenMode === 'fail') throw new Error('token service unreachable');
      if (window.__tokenMode === 'unauthorized') throw new sdk.UnauthorizedError('signed out');
      return window.mintToken(window.__ttl, window.__claims);
    };
  });
  return { page, problems };
}

async function metric(name, labels) {
  const text = await (await fetch(`${env.bridge.httpURL}/metrics`)).text();
  const m = text.match(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : 0;
}

const refreshes = () => metric('mqlive_ws_requests_total', 'code="0",method="refresh"');
const closed4010 = () => metric('mqlive_ws_disconnects_total', 'code="4010"');
const options = { minReconnectDelay: 100, maxReconnectDelay: 500 };

test('getToken refreshes ahead of expiry on the same connection', { timeout: 30000 }, async () => {
  const { page, problems } = await tokenPage();
  try {
    const refreshed = await refreshes();
    const expired = await closed4010();
    await startPageClient(page, { url: env.bridge.wsURL, getToken: true, options });
    const session = await page.evaluate(() => window.__t.client.session.session);
    // Two token lifetimes: the first token has long expired.
    await page.waitForTimeout(8500);
    const rec = await pageRecord(page);
    assert.deepEqual(checkStates(rec.states, { start: 'disconnected' }), ['connecting', 'connected'], 'no reconnect');
    assert.deepEqual(checkStates(rec.subStates, { start: 'subscribing', kind: 'sub' }), ['subscribed'], 'no resubscribe');
    assert.equal(await page.evaluate(() => window.__t.client.session.session), session, 'the same session');
    assert.ok(rec.tokenCalls >= 3, `getToken called for the connect and ahead of each expiry: ${rec.tokenCalls}`);
    assert.ok((await refreshes()) - refreshed >= 2, 'the new tokens went with refresh');
    assert.equal(await closed4010(), expired, 'no 4010');
    const cont = checkContinuity(rec.log);
    assert.ok(cont.pubs > 5, `publications kept coming: ${cont.pubs}`);
    assert.equal(cont.gaps, 0);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(problems, []);
  } finally {
    await closePageClient(page);
  }
});

test('a token that expires unrefreshed: 4010, a fresh token, reconnect and recovery', { timeout: 30000 }, async () => {
  const { page, problems } = await tokenPage();
  try {
    await startPageClient(page, { url: env.bridge.wsURL, getToken: true, options });
    // The refresh (about 1 s in) fails; the token service is back before
    // the server closes at expiry, with tokens that outlive the test.
    await page.evaluate(() => {
      window.__tokenMode = 'fail';
      window.__ttl = 60;
    });
    await page.waitForFunction(() => window.__t.tokenCalls >= 2, null, { timeout: 5000 });
    await page.evaluate(() => {
      window.__tokenMode = 'ok';
    });
    await page.waitForFunction(() => window.__t.states.length >= 4, null, { timeout: 10000 });
    await page.waitForFunction(() => window.__t.log.filter((e) => e.k === 'subscribed').length === 2, null, { timeout: 10000 });
    const n = await page.evaluate(() => window.__t.log.length);
    await page.waitForFunction((k) => window.__t.log.slice(k).some((e) => e.k === 'pub'), n, { timeout: 10000 });
    const rec = await pageRecord(page);
    assert.deepEqual(checkStates(rec.states, { start: 'disconnected' }), ['connecting', 'connected', 'connecting', 'connected']);
    assert.equal(rec.states[2].code, 4010, `closed for the expired token: ${JSON.stringify(rec.states[2])}`);
    assert.deepEqual(checkStates(rec.subStates, { start: 'subscribing', kind: 'sub' }), ['subscribed', 'subscribing', 'subscribed']);
    assert.equal(rec.tokenCalls, 3, 'connect, the failed refresh, the reconnect');
    const again = rec.log.filter((e) => e.k === 'subscribed')[1];
    assert.equal(again.wasRecovering, true);
    assert.equal(again.recovered, true);
    const cont = checkContinuity(rec.log);
    assert.equal(cont.gaps, 0);
    assert.equal(cont.jumps, 0);
    assert.deepEqual(problems, []);
  } finally {
    await closePageClient(page);
  }
});

test('UnauthorizedError from getToken stops the client with 4001', { timeout: 30000 }, async () => {
  const { page, problems } = await tokenPage();
  try {
    // At connect: connect() rejects, the client stops without a retry.
    const atConnect = await page.evaluate(async (url) => {
      const sdk = await import('/sdk/index.js');
      const client = await sdk.createClient({ url, getToken: () => { throw new sdk.UnauthorizedError('signed out'); }, minReconnectDelay: 50 });
      const states = [];
      client.on('state', (e) => states.push({ from: e.from, to: e.to, code: e.code, reason: e.reason }));
      const err = await client.connect().then(() => null, (e) => ({ code: e.code, message: e.message }));
      await new Promise((r) => setTimeout(r, 500));
      client.close();
      return { err, states };
    }, env.bridge.wsURL);
    assert.equal(atConnect.err?.code, 4001);
    assert.deepEqual(checkStates(atConnect.states, { start: 'disconnected' }), ['connecting', 'disconnected', 'closed']);
    assert.equal(atConnect.states[1].code, 4001);

    // At a refresh: the connected client stops, closes, and says why.
    await startPageClient(page, { url: env.bridge.wsURL, getToken: true, options });
    await page.evaluate(() => {
      window.__tokenMode = 'unauthorized';
    });
    await page.waitForFunction(() => window.__t.client.state === 'disconnected', null, { timeout: 5000 });
    await page.waitForTimeout(1500); // no retry follows
    const rec = await pageRecord(page);
    assert.deepEqual(checkStates(rec.states, { start: 'disconnected' }), ['connecting', 'connected', 'disconnected']);
    assert.equal(rec.states[2].code, 4001);
    assert.match(rec.states[2].reason, /signed out/);
    assert.equal(rec.tokenCalls, 2);
    assert.equal(rec.subState, 'subscribing', 'kept for a later connect(), not live');
    assert.deepEqual(problems, []);
  } finally {
    await closePageClient(page);
  }
});

test('a refresh that drops a channel ends its subscription and removes it', { timeout: 30000 }, async () => {
  const { page, problems } = await tokenPage();
  try {
    await startPageClient(page, { url: env.bridge.wsURL, getToken: true, options });
    await page.evaluate(() => {
      window.__claims = { chan: ['device:*'] }; // no longer 'devices'
      window.__ttl = 60;
    });
    await page.waitForFunction(() => window.__t.sub.state === 'unsubscribed', null, { timeout: 5000 });
    const rec = await pageRecord(page);
    const seen = await page.evaluate(() => ({
      subs: window.__t.client.subscriptions().map((s) => s.channel),
      get: window.__t.client.getSubscription('devices'),
      state: window.__t.client.state,
    }));
    assert.deepEqual(seen.subs, [], 'removed from client.subscriptions()');
    assert.equal(seen.get, null);
    assert.equal(seen.state, 'connected', 'the connection stays');
    assert.deepEqual(checkStates(rec.subStates, { start: 'subscribing', kind: 'sub' }), ['subscribed', 'unsubscribed']);
    assert.match(rec.subStates[1].reason, /unsubscribed by the server/);
    assert.equal(rec.errors.length, 1);
    assert.match(rec.errors[0].message, /unsubscribed by the server/);
    assert.deepEqual(checkStates(rec.states, { start: 'disconnected' }), ['connecting', 'connected']);
    // Subscribing again is refused by the new token: a subscribeError, also removed.
    const again = await page.evaluate(async () => {
      const sub = window.__t.client.subscribe('devices');
      const err = await sub.ready.then(() => null, (e) => e.code);
      return { err, subs: window.__t.client.subscriptions().length };
    });
    assert.equal(again.err, 4003);
    assert.equal(again.subs, 0);
    assert.deepEqual(problems, []);
  } finally {
    await closePageClient(page);
  }
});
