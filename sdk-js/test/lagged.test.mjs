// A slow consumer in headless Chromium: the bridge keeps a tiny outbound
// queue per socket (http.queue_size 2) and the page's publication handler
// busy-loops, while the simulator publishes bursts of 50 Readings. The
// bridge drops the queued publications and sends `lagged`; the SDK
// re-subscribes with `since` on its own and recovers from the channel's
// history; once the page keeps up again it is live. No duplicate offset is delivered, every jump of the offsets has
// exactly one gap event naming both ends and no gap event fires without
// one, and the states are the documented ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useScenario, scenarioPage, startDevPageClient, pageRecord, checkStates, checkContinuity, closePageClient,
} from './helpers.mjs';

const env = useScenario({ config: 'http:\n  queue_size: 2\n  slow_consumer_timeout: 60s\n', devices: 25 });

test('lagged is closed by a resubscribe with since, without a silent gap', { timeout: 45000 }, async () => {
  const { page, problems } = await scenarioPage(env);
  try {
    await startDevPageClient(env, page);
    // The slow consumer: 5 ms of work per publication, until the SDK went
    // through two lagged re-syncs; then it catches up.
    await page.evaluate(() => {
      window.__slow = true;
      window.__t.sub.on('publication', () => {
        const until = performance.now() + 5;
        while (window.__slow && performance.now() < until);
      });
    });
    await page.waitForFunction(() => window.__t.log.filter((e) => e.k === 'subscribed').length >= 3,
      null, { timeout: 30000, polling: 200 });
    await page.evaluate(() => {
      window.__slow = false;
    });
    await page.waitForFunction(() => window.__t.sub.state === 'subscribed', null, { timeout: 15000, polling: 100 });
    const n = await page.evaluate(() => window.__t.log.length);
    await page.waitForFunction((k) => window.__t.sub.state === 'subscribed' && window.__t.log.slice(k).some((e) => e.k === 'pub'),
      n, { timeout: 10000 });
    const rec = await pageRecord(page);
    const lagged = rec.log.filter((e) => e.k === 'lagged');
    const subscribed = rec.log.filter((e) => e.k === 'subscribed');
    const cont = checkContinuity(rec.log);
    const client = checkStates(rec.states, { start: 'disconnected' });
    const subs = checkStates(rec.subStates, { start: 'subscribing', kind: 'sub' });
    console.log(`slow consumer: ${lagged.length} lagged, ${subscribed.length - 1} re-subscribes ` +
      `(${subscribed.filter((s) => s.recovered).length} recovered, recovered publications ${subscribed.map((s) => s.recoveredCount).join(',')}), ` +
      `${cont.pubs} publications, ${cont.jumps} jumps, ${cont.gaps} gaps`);
    assert.deepEqual(client, ['connecting', 'connected'], 'lagged never reconnects');
    assert.ok(lagged.length >= 2);
    // Every lagged re-sync goes subscribed → subscribing → subscribed.
    assert.deepEqual(subs, ['subscribed', ...Array((subs.length - 1) / 2).fill(['subscribing', 'subscribed']).flat()]);
    assert.ok(rec.subStates.slice(1).filter((s) => s.to === 'subscribing').every((s) => s.reason === 'lagged'));
    for (const s of subscribed.slice(1)) assert.equal(s.wasRecovering, true);
    assert.equal(cont.gaps, cont.jumps, 'a gap event for each jump, none without');
    assert.ok(subscribed.slice(1).some((s) => s.recovered && s.recoveredCount > 0), 'recovered from history');
    assert.deepEqual(problems, []);
  } finally {
    await closePageClient(page);
  }
});
