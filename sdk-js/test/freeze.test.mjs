// Page frozen and resumed in headless Chromium (see freezeFor) while the
// simulator keeps publishing, with http.ping_interval 1s. Chromium answers
// the server's WebSocket pings in its network process while the page's
// main thread is held, so a freeze far past the server's ping timeout
// (2 intervals) keeps a healthy socket: no reconnect, the backlog arrives on
// resume. A socket that died silently during the freeze (the bridge
// stopped with SIGSTOP: no pings, no FIN) is noticed at once on resume,
// while the bridge is still silent, and the subscription recovers when it
// answers again. In both: no duplicate, no silent gap, documented state
// transitions only; the time from resume to live is printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useScenario, scenarioPage, startDevPageClient, pageRecord, checkStates, checkContinuity, closePageClient,
} from './helpers.mjs';

const env = useScenario({ config: 'http:\n  ping_interval: 1s\n', devices: 2 });

// freezeFor freezes the page for ms. Page.setWebLifecycleState is sent, but
// this headless Chromium does not stop the page's tasks for it (timers kept
// firing every 200 ms through a 'frozen' state), so the freeze itself is
// the debugger's: Debugger.pause holds the main thread (timers, WebSocket
// messages, the Go runtime) exactly as a frozen page is held, and the
// document's freeze/resume events, which a real freeze fires, are
// dispatched around it (as lifecycle.test.mjs does with offline/online).
// Returns when the page was held and let go, and its time of the resume
// event (one machine, one clock).
async function freezeFor(page, ms) {
  const cdp = await env.browser.context.newCDPSession(page);
  await page.evaluate(() => document.dispatchEvent(new Event('freeze')));
  await cdp.send('Page.enable');
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  await cdp.send('Debugger.enable');
  const paused = new Promise((resolve) => cdp.once('Debugger.paused', resolve));
  await cdp.send('Debugger.pause');
  await paused; // the next task that runs script: the SDK's timers run every 500 ms at most
  const pausedAt = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  const unpausedAt = Date.now();
  await cdp.send('Debugger.resume');
  await cdp.send('Debugger.disable');
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  const resumedAt = await page.evaluate(() => {
    document.dispatchEvent(new Event('resume'));
    return Date.now();
  });
  await cdp.detach();
  return { pausedAt, unpausedAt, resumedAt };
}

for (const { name, freezeMs, reconnect } of [
  { name: 'a freeze past the ping timeout keeps a healthy socket', freezeMs: 5000, reconnect: false },
  { name: 'a socket that died during a freeze is noticed at once on resume', freezeMs: 3000, reconnect: true },
]) {
  test(name, { timeout: 45000 }, async () => {
    const { page, problems } = await scenarioPage(env);
    try {
      await startDevPageClient(env, page);
      await page.waitForFunction(() => window.__t.log.filter((e) => e.k === 'pub').length >= 3, null, { timeout: 20000 });
      // The silent server: stopped, not killed (a kill would send a FIN).
      if (reconnect) env.bridge.proc.child.kill('SIGSTOP');
      let resumedAt;
      let held;
      try {
        held = await freezeFor(page, freezeMs);
        resumedAt = held.resumedAt;
        if (reconnect) {
          // Noticed while the server is still silent: no close event helps.
          await page.waitForFunction(() => window.__t.client.state === 'connecting', null, { timeout: 1000 });
          await page.waitForTimeout(300);
        }
      } finally {
        if (reconnect) env.bridge.proc.child.kill('SIGCONT');
      }
      const liveAt = await page.waitForFunction((t0) => window.__t.log.find((e) => e.k === 'pub' && e.at >= t0)?.at, resumedAt, { timeout: 10000 });
      const live = (await liveAt.jsonValue()) - resumedAt;
      // Keep receiving for a moment so a late duplicate would show.
      const n = await page.evaluate(() => window.__t.log.length);
      await page.waitForFunction((k) => window.__t.log.filter((e) => e.k === 'pub').length > k + 2, n, { timeout: 10000 });
      const rec = await pageRecord(page);
      const during = rec.log.filter((e) => e.k === 'pub' && e.at > held.pausedAt + 50 && e.at < held.unpausedAt - 50);
      assert.deepEqual(during, [], 'nothing is delivered while the page is frozen');
      const client = checkStates(rec.states, { start: 'disconnected' });
      const subs = checkStates(rec.subStates, { start: 'subscribing', kind: 'sub' });
      const cont = checkContinuity(rec.log);
      const subscribed = rec.log.filter((e) => e.k === 'subscribed');
      console.log(`freeze ${freezeMs} ms: resume → first live publication ${live} ms; client ${client.join(' → ')}; ` +
        `subscription ${subs.join(' → ')}; ${cont.pubs} publications, ${cont.gaps} gaps`);
      if (reconnect) {
        assert.deepEqual(client, ['connecting', 'connected', 'connecting', 'connected']);
        const dead = rec.states[2];
        assert.equal(dead.reason, 'no traffic from server');
        assert.ok(dead.at - resumedAt < 1000, `the dead socket is noticed ${dead.at - resumedAt} ms after resume`);
        assert.deepEqual(subs, ['subscribed', 'subscribing', 'subscribed']);
        assert.equal(subscribed.length, 2);
        assert.equal(subscribed[1].wasRecovering, true);
        assert.equal(subscribed[1].recovered, true, 'the bridge still has the history');
        assert.ok(live < 5000, `live again ${live} ms after resume (300 ms of it the bridge was still stopped)`);
      } else {
        assert.deepEqual(client, ['connecting', 'connected'], 'no reconnect');
        assert.deepEqual(subs, ['subscribed']);
        assert.equal(subscribed.length, 1);
      }
      assert.equal(cont.gaps, 0, 'continuity was kept: no gap event');
      assert.equal(cont.jumps, 0);
      assert.deepEqual(problems, []);
    } finally {
      await closePageClient(page);
    }
  });
}
