// A bridge killed (SIGKILL) and restarted on the same ports under the SDK in
// headless Chromium: the client goes connecting (1006, with backoff
// attempts while the bridge is down) and connected again, the subscription
// subscribed → subscribing → subscribed. The restarted bridge lost the
// channel's history (memory backplane), so the resume answers
// recovered:false with a new epoch and exactly one gap event names the
// last publication before and the first live one after; no offset is
// delivered twice. The time from the bridge being ready to live is printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useScenario, scenarioPage, startDevPageClient, startBridge, pageRecord, checkStates, checkContinuity, closePageClient,
} from './helpers.mjs';

const env = useScenario({ devices: 2 });

test('bridge restart: reconnect, resubscribe, one gap, no duplicate', { timeout: 60000 }, async () => {
  const { page, problems } = await scenarioPage(env);
  try {
    await startDevPageClient(env, page);
    await page.waitForFunction(() => window.__t.log.filter((e) => e.k === 'pub').length >= 3, null, { timeout: 20000 });
    await env.bridge.stop('SIGKILL');
    await page.waitForFunction(() => window.__t.states.filter((s) => s.to === 'connecting').length >= 3, null, { timeout: 10000 });
    const old = env.bridge;
    env.bridge = await startBridge({ httpPort: old.httpPort, mqttPort: old.mqttPort });
    const readyAt = Date.now();
    await page.waitForFunction(() => window.__t.log.filter((e) => e.k === 'subscribed').length === 2, null, { timeout: 20000 });
    const liveAt = await page.waitForFunction(() => {
      const log = window.__t.log;
      const i = log.findLastIndex((e) => e.k === 'subscribed');
      return log.slice(i).find((e) => e.k === 'pub')?.at;
    }, null, { timeout: 20000 });
    const live = (await liveAt.jsonValue()) - readyAt;
    const rec = await pageRecord(page);
    const client = checkStates(rec.states, { start: 'disconnected' });
    const subs = checkStates(rec.subStates, { start: 'subscribing', kind: 'sub' });
    const cont = checkContinuity(rec.log);
    console.log(`bridge restart: ready → first live publication ${live} ms; client ${client.join(' → ')}; ` +
      `subscription ${subs.join(' → ')}; ${cont.pubs} publications, ${cont.jumps} jumps, ${cont.gaps} gaps`);
    assert.deepEqual(client.slice(0, 3), ['connecting', 'connected', 'connecting']);
    assert.equal(rec.states[2].code, 1006);
    assert.equal(client.at(-1), 'connected');
    assert.ok(client.slice(2, -1).every((s) => s === 'connecting'), 'only backoff attempts in between');
    assert.deepEqual(subs, ['subscribed', 'subscribing', 'subscribed']);
    const again = rec.log.filter((e) => e.k === 'subscribed')[1];
    assert.equal(again.wasRecovering, true);
    assert.equal(again.recovered, false, 'the history went with the process');
    assert.equal(cont.gaps, 1, 'one gap');
    assert.equal(cont.jumps, 1, 'at the restart');
    // checkContinuity matched the gap to both ends; it names the new epoch
    // (the answer's, or when the channel was still empty, epoch "", the
    // first live publication's).
    const gap = rec.log.find((e) => e.k === 'gap');
    assert.notEqual(gap.epoch, '');
    if (again.epoch) assert.deepEqual([gap.epoch, gap.firstOffset], [again.epoch, again.offset + 1]);
    assert.deepEqual(problems, []);
  } finally {
    await closePageClient(page);
  }
});
