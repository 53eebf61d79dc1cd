// The dashboard's Monitor view and device commands in headless Chromium
// (playwright-core driving the system /usr/bin/chromium), against a real
// bridge and a simulator that sends malformed payloads half of the time
// (--bad 0.5): the admin's Monitor tab lists decoded and rejected messages
// with their reason, filters, pauses and stays bounded; On in the detail
// panel of a Zigbee2MQTT plug is sent and shows up on the monitor as a
// command. A token without admin and cmd sees no Monitor tab and gets the
// bridge's 4003 for a command.
//
// With MQLIVE_SCREENSHOT_DIR set, the test saves monitor-rejected.png,
// commands.png and monitor.png there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchChromium, startBridge, startSim, binaries, distEntry, signToken, openDashboard } from './helpers.mjs';

const SHOTS = process.env.MQLIVE_SCREENSHOT_DIR || '';

let bridge;
let sim;
let browser;
let context;

before(async () => {
  distEntry(); // the bridge binary embeds dashboard/static/sdk, which the build writes
  binaries();
  bridge = await startBridge();
  // Four devices per family: with seed 1 the Zigbee2MQTT ones include plugs.
  sim = startSim(bridge.mqttURL, { devices: 4, args: ['--bad', '0.5'] });
  browser = await launchChromium({ viewport: { width: 1400, height: 900 } });
  context = browser.context;
});

after(async () => {
  await browser?.close();
  await sim?.stop();
  await bridge?.stop();
});

const openPage = (url) => openDashboard(context, url);

/** The id of a Zigbee2MQTT device whose Reading has a boolean state (a plug), once the page knows one. */
async function plugId(page) {
  const handle = await page.waitForFunction(
    () => window.mqlive.devices().find((d) => d.family === 'zigbee2mqtt' && typeof d.metrics.state === 'boolean')?.id,
    null, { timeout: 30000 },
  );
  return handle.jsonValue();
}

async function openDevice(page, id) {
  await page.click('#tab-fleet');
  await page.fill('#filter', id);
  await page.click(`#fleet-grid .row[data-device=${JSON.stringify(id)}]`);
  // The buttons are the ones the bridge listed for the device (`commands`).
  await page.waitForSelector('#detail:not([hidden]) #detail-commands[data-loaded="true"]:not([hidden]) button[data-verb="on"][data-output="state"]', { timeout: 10000 });
  assert.equal(await page.textContent('#detail-title'), id);
}

const visibleVerdicts = (page) => page.$$eval('#mon-rows tr.mon-row:not([hidden])', (rows) => rows.map((r) => r.dataset.verdict));
const topSeq = (page) => page.$eval('#mon-rows tr.mon-row', (r) => Number(r.dataset.seq));

test('admin: monitor shows verdicts, filters, pauses, stays bounded; a command is sent and monitored', { timeout: 120000 }, async () => {
  const { page, problems } = await openPage(bridge.dashboardURL);
  try {
    // The dev token is an admin: the Monitor tab appears; the fleet view stays until it is opened.
    await page.waitForSelector('#tab-monitor:not([hidden])', { timeout: 10000 });
    assert.equal(await page.getAttribute('#tab-fleet', 'aria-selected'), 'true');
    assert.equal(await page.isHidden('#monitor-view'), true);
    await page.click('#tab-monitor');
    assert.equal(await page.getAttribute('#tab-monitor', 'aria-selected'), 'true');
    assert.equal(await page.isHidden('#fleet-view'), true);
    await page.waitForSelector('#mon-status[data-state="live"]', { timeout: 10000 });

    // Decoded rows, and rejected ones with their reason (the simulator's bad payloads).
    const decoded = await page.waitForSelector('#mon-rows tr.mon-row[data-verdict="decoded"]', { timeout: 20000 });
    assert.match(await decoded.$eval('.mon-topic', (n) => n.textContent), /\S/);
    assert.match(await decoded.$eval('.num', (n) => n.textContent), /^[1-9]\d*$/, 'a decoded message yields Readings');
    const rejected = await page.waitForSelector('#mon-rows tr.mon-row[data-verdict="rejected"]', { timeout: 30000 });
    const reason = await rejected.$eval('.reason', (n) => n.textContent);
    assert.match(reason, /^[a-z][a-z0-9_]*$/, `a rejection reason: ${reason}`);

    // Pause first so the rows hold still, then expand the rejected row from the keyboard.
    await page.click('#mon-pause');
    assert.equal(await page.getAttribute('#mon-pause', 'aria-pressed'), 'true');
    const btn = await rejected.$('button.mon-expand');
    await btn.focus();
    await page.keyboard.press('Enter');
    assert.equal(await btn.getAttribute('aria-expanded'), 'true');
    const detailId = await btn.getAttribute('aria-controls');
    await page.waitForSelector(`#${detailId}:not([hidden]) .mon-error`, { timeout: 5000 });
    assert.match(await page.textContent(`#${detailId}`), new RegExp(reason));
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'monitor-rejected.png') });

    // While paused nothing new is rendered, but events are held (and counted).
    const frozen = await topSeq(page);
    await page.waitForFunction(() => /Paused · [1-9]\d* new events? held/.test(document.getElementById('mon-status').textContent),
      null, { timeout: 10000 });
    assert.equal(await topSeq(page), frozen);
    await page.click('#mon-pause');
    assert.equal(await page.getAttribute('#mon-pause', 'aria-pressed'), 'false');
    await page.waitForFunction((f) => Number(document.querySelector('#mon-rows tr.mon-row')?.dataset.seq) > f, frozen, { timeout: 10000 });

    // The verdict select and the text filter.
    await page.selectOption('#mon-verdict', 'rejected');
    const onlyRejected = await visibleVerdicts(page);
    assert.ok(onlyRejected.length > 0 && onlyRejected.every((v) => v === 'rejected'), `rejected only: ${onlyRejected}`);
    await page.selectOption('#mon-verdict', '');
    await page.fill('#mon-filter', 'zigbee2mqtt/');
    const topics = await page.$$eval('#mon-rows tr.mon-row:not([hidden]) .mon-topic', (ns) => ns.map((n) => n.textContent));
    assert.ok(topics.length > 0 && topics.every((t) => t.includes('zigbee2mqtt/')), `filtered topics: ${topics.slice(0, 5)}`);
    await page.fill('#mon-filter', '');

    // Bounded: a burst of 600 events leaves at most MONITOR_MAX (500) rows.
    await page.evaluate(() => {
      const now = new Date().toISOString();
      for (let i = 0; i < 600; i++) {
        window.mqliveMonitor.receive({ topic: `burst/${i}`, payload: '{}', size: 2, family: 'json', verdict: 'ignored', readings: 0, received_at: now });
      }
    });
    await page.waitForFunction(() => [...document.querySelectorAll('#mon-rows tr.mon-row .mon-topic')].some((n) => n.textContent === 'burst/599'),
      null, { timeout: 5000 });
    const rows = await page.$$eval('#mon-rows tr.mon-row', (rs) => rs.length);
    assert.equal(rows, 500, 'the monitor keeps the last 500 events');
    // Clear empties the table at once (counted in the same task: live events keep coming).
    assert.equal(await page.evaluate(() => {
      document.getElementById('mon-clear').click();
      return document.querySelectorAll('#mon-rows tr').length;
    }), 0);

    // A command from the detail panel of a Zigbee2MQTT plug.
    const id = await plugId(page);
    await openDevice(page, id);
    await page.click('#detail-commands button[data-verb="on"][data-output="state"]');
    await page.waitForSelector('#detail-cmd-status[data-state="sent"]', { timeout: 10000 });
    assert.match(await page.textContent('#detail-cmd-status'), /^Sent “On”/);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'commands.png') });

    // It shows on the monitor, distinct from messages, with verdict "sent".
    await page.click('#tab-monitor');
    const cmdRow = await page.waitForFunction((dev) => [...document.querySelectorAll('#mon-rows tr.mon-command[data-verdict="sent"]')]
      .find((r) => r.textContent.includes(dev)), id, { timeout: 10000 });
    assert.equal(await cmdRow.evaluate((r) => r.querySelector('.kind').textContent), 'command');
    assert.match(await cmdRow.evaluate((r) => r.querySelector('.mon-topic').textContent), /\/set$/);
    await cmdRow.evaluate((r) => r.querySelector('button.mon-expand').click());
    await page.waitForSelector('#mon-rows tr.mon-command + tr.mon-detail:not([hidden]) .mon-payload', { timeout: 5000 });
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'monitor.png') });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('viewer: no Monitor tab, commands read-only, and a command is refused with the bridge\'s 4003', { timeout: 60000 }, async () => {
  const token = await signToken({ sub: 'viewer' }); // default channels, no admin, no cmd
  const { page, problems } = await openPage(`${bridge.httpURL}/?token=${token}`);
  try {
    await page.waitForSelector('#tab-monitor[data-access="denied"]', { state: 'attached', timeout: 10000 });
    assert.equal(await page.isHidden('#tab-monitor'), true);
    const id = await plugId(page);
    await openDevice(page, id);
    // The bridge lists the same commands with allowed=false: shown, disabled, explained.
    assert.equal(await page.getAttribute('#detail-commands', 'data-allowed'), 'false');
    assert.equal(await page.isDisabled('#detail-commands button[data-verb="toggle"][data-output="state"]'), true);
    assert.match(await page.textContent('#detail-cmd-note'), /^Read-only: this token may not command this device/);
    // And the bridge, not the page, is what refuses: the same command sent anyway gets 4003.
    const code = await page.evaluate((dev) => window.mqlive.command(dev, 'toggle').then(() => 0, (err) => err.code), id);
    assert.equal(code, 4003);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
