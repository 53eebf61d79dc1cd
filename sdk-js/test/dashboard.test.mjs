// The dashboard's views in headless Chromium (playwright-core driving the
// system /usr/bin/chromium) against a real bridge and a simulator of
// Zigbee2MQTT, Tasmota, Shelly and OwnTracks devices:
//   - fleet: the virtualised grid (only rows in view exist), filter, sort,
//     keyboard (arrows, Enter opens the detail, Escape closes it and gives
//     focus back), WCAG AA contrast of the palette, phone width (360 px);
//   - detail: uPlot charts with a time axis filled from history and then
//     live, commands listed by the bridge (`commands`) and sent as listed;
//   - map: OwnTracks markers without any tile server, tiles layered under
//     them when the `tiles` URL parameter is set;
//   - admin: presence (a viewer's session shows up) and forced sign-out
//     (the viewer's page is closed with 4003);
//   - gap: the bridge restarts with the detail open: the device channel
//     resumes into a new epoch, the SDK reports a gap and the chart's line
//     breaks there (a null point).
// Screenshots of every view go to $ARTIFACTS_DIR (default sdk-js/.artifacts/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, startBridge, startSim, binaries, distEntry, signToken, sdkDir, waitFor, openDashboard } from './helpers.mjs';

const SHOTS = process.env.ARTIFACTS_DIR || path.join(sdkDir, '.artifacts');

let bridge;
let sim;
let browser;
let context;

before(async () => {
  distEntry(); // the bridge binary embeds dashboard/static/sdk, which the build writes
  binaries();
  mkdirSync(SHOTS, { recursive: true });
  bridge = await startBridge();
  sim = startSim(bridge.mqttURL, { devices: 3, families: 'zigbee2mqtt,tasmota,shelly,owntracks' });
  browser = await launchChromium({ viewport: { width: 1400, height: 900 } });
  context = browser.context;
});

after(async () => {
  await browser?.close();
  await sim?.stop();
  await bridge?.stop();
});

const openPage = (url) => openDashboard(context, url);

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name) });
const activeDevice = (page) => page.evaluate(() => {
  const id = document.getElementById('fleet-grid').getAttribute('aria-activedescendant');
  return id ? document.getElementById(id).dataset.device : null;
});

test('fleet: virtualised grid, filter, sort, keyboard, contrast, phone width', { timeout: 90000 }, async () => {
  const { page, problems } = await openPage(bridge.dashboardURL);
  try {
    // 12 devices (3 per family) arrive; every row the grid shows is one the SDK's table has.
    await page.waitForFunction(() => window.mqlive.deviceCount() >= 12, null, { timeout: 30000 });
    await page.waitForFunction(() => document.querySelectorAll('#fleet-grid .spacer .row:not([hidden])').length >= 12, null, { timeout: 5000 });
    const rows = await page.$$eval('#fleet-grid .spacer .row:not([hidden])', (rs) => rs.map((r) => r.dataset.device));
    const table = await page.evaluate(() => window.mqlive.devices().map((d) => d.id));
    assert.deepEqual([...rows].sort(), [...table].sort());
    assert.match(await page.textContent('#count'), /^\(\d+\)$/);

    // Sort by family: rows in family order.
    await page.selectOption('#sort', 'family');
    const fams = await page.$$eval('#fleet-grid .spacer .row:not([hidden])', (rs) => rs
      .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index)).map((r) => r.querySelector('.c-family').textContent));
    assert.deepEqual(fams, [...fams].sort());
    await page.selectOption('#sort', 'name');

    // Keyboard: Tab reaches the grid; arrows move the active row; Enter opens; Escape closes and focus returns.
    await page.focus('#filter');
    await page.keyboard.press('Tab'); // the sort select
    await page.keyboard.press('Tab'); // the grid
    assert.equal(await page.evaluate(() => document.activeElement.id), 'fleet-grid');
    const first = await activeDevice(page);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const third = await activeDevice(page);
    assert.equal(third, table.slice().sort()[2]);
    assert.notEqual(first, third);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail:not([hidden])');
    assert.equal(await page.textContent('#detail-title'), third);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'detail-close');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#detail', { state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'fleet-grid');
    assert.equal(await activeDevice(page), third);

    // WCAG AA: body text colours on the panel and page backgrounds reach 4.5:1.
    const ratios = await page.evaluate(() => {
      const css = getComputedStyle(document.documentElement);
      const rgb = (v) => {
        const probe = document.createElement('span');
        probe.style.color = v;
        document.body.append(probe);
        const m = getComputedStyle(probe).color.match(/\d+(\.\d+)?/g).map(Number);
        probe.remove();
        return m.slice(0, 3);
      };
      const lum = (c) => {
        const [r, g, b] = c.map((x) => { const s = x / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const ratio = (a, b) => { const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
      const out = {};
      for (const fg of ['--text', '--muted', '--accent', '--ok', '--warn', '--bad']) {
        for (const bg of ['--panel', '--bg']) out[`${fg} on ${bg}`] = ratio(css.getPropertyValue(fg), css.getPropertyValue(bg));
      }
      return out;
    });
    for (const [pair, r] of Object.entries(ratios)) assert.ok(r >= 4.5, `${pair}: ${r.toFixed(2)}:1 < 4.5:1`);

    await shot(page, 'fleet.png');

    // Phone width: no horizontal scrolling, two-line rows, the detail as an overlay.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.waitForFunction(() => window.mqliveFleet.rowH === 64);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `horizontal overflow at 360 px: ${overflow}px`);
    await shot(page, 'fleet-phone.png');
    await page.click(`#fleet-grid .row[data-device=${JSON.stringify(third)}]`);
    await page.waitForSelector('#detail:not([hidden]) #detail-metrics tr');
    const box = await page.$eval('#detail', (n) => n.getBoundingClientRect().toJSON());
    assert.ok(box.width <= 360 && box.left >= 0, `detail at phone width: ${JSON.stringify(box)}`);
    await shot(page, 'detail-phone.png');
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1400, height: 900 });

    // Virtualised: 10,000 more devices (publications on a device channel,
    // merged by the SDK's own table) leave only a screenful of rows in the
    // DOM; the filter narrows them and says how many of how many.
    const rendered = await page.evaluate(async () => {
      const now = new Date().toISOString();
      for (let i = 0; i < 10000; i++) {
        window.mqlive._onEvent('publication', { channel: 'device:zz-load', epoch: 'load', offset: i + 1,
          data: { device: `zz-load-${String(i).padStart(5, '0')}`, family: 'json', online: true, ts: now, received_at: now,
            metrics: { temperature: 20 + (i % 10) }, stale: false } });
      }
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return { rows: document.querySelectorAll('#fleet-grid .spacer .row').length, count: document.getElementById('count').textContent };
    });
    assert.ok(rendered.rows < 60, `rows in the DOM: ${rendered.rows}`);
    assert.match(rendered.count, /^\(100\d\d\)$/);
    await page.fill('#filter', 'zz-load-0999');
    await page.waitForFunction(() => /^\(\d+ of \d+\)$/.test(document.getElementById('count').textContent));
    // Rows on screen, as rendered (not just the hidden attribute: CSS can override it).
    assert.deepEqual(await page.$$eval('#fleet-grid .spacer .row', (rs) => rs.filter((r) => getComputedStyle(r).display !== 'none').map((r) => r.dataset.device)),
      ['zz-load-09990', 'zz-load-09991', 'zz-load-09992', 'zz-load-09993', 'zz-load-09994', 'zz-load-09995', 'zz-load-09996', 'zz-load-09997', 'zz-load-09998', 'zz-load-09999']);
    // (How long filter and sort take is measured by make bench-dashboard, not asserted here.)
    await page.fill('#filter', '');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

/** A Zigbee2MQTT device with a numeric metric and a boolean state (a plug), once the page knows one. */
async function plugId(page) {
  const h = await page.waitForFunction(() => window.mqlive.devices()
    .find((d) => d.family === 'zigbee2mqtt' && typeof d.metrics.state === 'boolean' && typeof d.metrics.power === 'number')?.id,
  null, { timeout: 30000 });
  return h.jsonValue();
}

async function openDetail(page, id) {
  await page.fill('#filter', id);
  await page.click(`#fleet-grid .row[data-device=${JSON.stringify(id)}]`);
  await page.waitForSelector('#detail:not([hidden])');
  assert.equal(await page.textContent('#detail-title'), id);
}

test('detail: charts from history then live; commands listed by the bridge', { timeout: 90000 }, async () => {
  const { page, problems } = await openPage(bridge.dashboardURL);
  try {
    const id = await plugId(page);
    // Let the device channel's history fill a little before opening.
    await new Promise((r) => setTimeout(r, 2500));
    await openDetail(page, id);
    await page.waitForSelector('#detail-charts[data-state="ready"] figure.chart[data-metric="power"] canvas', { timeout: 15000 });
    assert.match(await page.textContent('#detail-chart-status'), /^[1-9]\d* Readings from history/);
    // A time axis: uPlot's x scale is time (seconds), and the points grow live.
    const before = await page.evaluate(() => window.mqliveDetail.seriesOf('power'));
    assert.ok(before.xs.length >= 2, `points from history: ${before.xs.length}`);
    assert.ok(Math.abs(before.xs.at(-1) - Date.now() / 1000) < 60, 'x values are Unix seconds');
    await page.waitForFunction((n) => window.mqliveDetail.seriesOf('power').xs.length > n, before.xs.length, { timeout: 15000 });
    const xs = (await page.evaluate(() => window.mqliveDetail.seriesOf('power'))).xs;
    assert.deepEqual(xs, [...xs].sort((a, b) => a - b), 'points in time order');
    assert.equal(new Set(xs).size, xs.length, 'no Reading charted twice (history then live from its position)');
    assert.match(await page.getAttribute('figure.chart[data-metric="power"]', 'aria-label'), /^power: \d+ Readings, from /);

    // Commands: exactly what the bridge listed for this device, sent as listed.
    const listed = await page.evaluate((dev) => window.mqlive.commands(dev), id);
    assert.equal(listed.family, 'zigbee2mqtt');
    assert.equal(listed.allowed, true);
    await page.waitForSelector('#detail-commands[data-loaded="true"]');
    const buttons = await page.$$eval('#detail-commands button', (bs) => bs.map((b) => `${b.dataset.cmd}:${b.textContent}`));
    const expected = listed.commands.map((c) => `${c.name}:${c.label}`);
    assert.deepEqual(buttons, expected);
    assert.ok(await page.$('#detail-commands form.cmd-form[data-cmd="set"] textarea'), 'set takes args from its schema');
    await page.click('#detail-commands button[data-verb="off"][data-output="state"]');
    await page.waitForSelector('#detail-cmd-status[data-state="sent"]', { timeout: 10000 });
    // The device reports its new state, and the panel shows it.
    await page.waitForFunction(() => document.querySelector('.cmd-group[data-output="state"] .cmd-current')?.textContent === 'off',
      null, { timeout: 15000 });
    // A bad argument from the form is the bridge's refusal, not the page's guess.
    await page.fill('#detail-commands form.cmd-form[data-cmd="set"] textarea', '{"not_a_key": 1}');
    await page.click('#detail-commands form.cmd-form[data-cmd="set"] button[type="submit"]');
    await page.waitForSelector('#detail-cmd-status[data-state="refused"]', { timeout: 10000 });
    assert.match(await page.textContent('#detail-cmd-status'), /code -32602/);
    await shot(page, 'detail.png');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('map: OwnTracks markers without tiles; tiles layered under them when configured', { timeout: 60000 }, async () => {
  const { page, problems } = await openPage(`${bridge.dashboardURL}#map`);
  try {
    await page.waitForSelector('#map-view:not([hidden])');
    assert.equal(await page.getAttribute('#tab-map', 'aria-selected'), 'true');
    await page.waitForFunction(() => document.querySelectorAll('#map-svg g.marker').length >= 3, null, { timeout: 30000 });
    const markers = await page.$$eval('#map-svg g.marker', (gs) => gs.map((g) => g.dataset.device).sort());
    const listed = await page.$$eval('#map-list button', (bs) => bs.map((b) => b.dataset.device).sort());
    assert.deepEqual(markers, listed);
    const owntracks = await page.evaluate(() => window.mqlive.devices().filter((d) => d.family === 'owntracks').map((d) => d.id).sort());
    for (const id of owntracks) assert.ok(markers.includes(id), `${id} on the map`);
    // Offline: no tile images, and the markers are inside the drawing.
    assert.equal(await page.getAttribute('#map-stage', 'data-tiles'), 'off');
    assert.equal(await page.$$eval('#map-tiles img', (is) => is.length), 0);
    const inside = await page.$$eval('#map-svg g.marker', (gs) => {
      const svg = document.getElementById('map-svg').getBoundingClientRect();
      return gs.every((g) => {
        const r = g.querySelector('circle').getBoundingClientRect();
        return r.left >= svg.left && r.right <= svg.right && r.top >= svg.top && r.bottom <= svg.bottom;
      });
    });
    assert.ok(inside, 'every marker is within the map');
    await shot(page, 'map.png');
    // The list is the keyboard way in: Enter on a device opens its detail.
    await page.focus('#map-list button');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail:not([hidden])');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement.closest('#map-list') !== null), true);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }

  // With a tile template (here the bridge itself: the images 404, which is all this checks offline).
  const tiles = encodeURIComponent('/tiles/{z}/{x}/{y}.png');
  const { page: tiled } = await openPage(`${bridge.dashboardURL}&tiles=${tiles}&tiles_attribution=${encodeURIComponent('Test tiles')}#map`);
  try {
    await tiled.waitForFunction(() => document.querySelectorAll('#map-svg g.marker').length >= 3, null, { timeout: 30000 });
    assert.equal(await tiled.getAttribute('#map-stage', 'data-tiles'), 'on');
    const srcs = await tiled.$$eval('#map-tiles img', (is) => is.map((i) => i.getAttribute('src')));
    assert.ok(srcs.length > 0 && srcs.every((s) => /^\/tiles\/\d+\/\d+\/\d+\.png$/.test(s)), `tile URLs: ${srcs.slice(0, 3)}`);
    assert.equal(await tiled.textContent('#map-attribution'), 'Map tiles: Test tiles');
  } finally {
    await tiled.close();
  }
});

test('admin: presence lists a viewer\'s session; forced sign-out closes it with 4003; monitor', { timeout: 90000 }, async () => {
  const viewerToken = await signToken({ sub: 'viewer-7' });
  const { page: viewer } = await openPage(`${bridge.httpURL}/?token=${viewerToken}`);
  const viewerSession = await viewer.getAttribute('#conn', 'data-session');
  assert.equal(await viewer.isHidden('#tab-admin'), true, 'no admin tab without admin or api claims');
  const { page, problems } = await openPage(`${bridge.dashboardURL}#admin`);
  try {
    await page.waitForSelector('#admin-view:not([hidden])');
    const row = await page.waitForSelector('#admin-users tr[data-user="viewer-7"]', { timeout: 15000 });
    assert.match(await row.textContent(), new RegExp(viewerSession));
    assert.match(await page.textContent('#admin-nodes'), /connection/);
    await shot(page, 'admin.png');
    // Sign out asks for confirmation, then the viewer's page is closed with 4003.
    await page.click('#admin-users button[data-user="viewer-7"]');
    await page.waitForSelector('#admin-users button[data-user="viewer-7"][data-confirm="true"]');
    await page.click('#admin-users button[data-user="viewer-7"][data-confirm="true"]');
    await page.waitForFunction(() => /^Signed out viewer-7: 1 session closed/.test(document.getElementById('admin-status').textContent),
      null, { timeout: 10000 });
    await viewer.waitForSelector('#conn[data-state="error"]', { timeout: 10000 });
    assert.equal(await viewer.textContent('#conn-text'), 'Signed out');
    assert.match(await viewer.textContent('#notice'), /You were signed out: signed out from the admin view/);
    await page.waitForSelector('#admin-users tr[data-user="viewer-7"]', { state: 'detached', timeout: 15000 });

    // The monitor view of the same admin.
    await page.click('#tab-monitor');
    await page.waitForSelector('#mon-rows tr.mon-row[data-verdict="decoded"]', { timeout: 20000 });
    await shot(page, 'monitor.png');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    await viewer.close();
  }
});

test('gap: a bridge restart with the detail open breaks the chart line where the SDK reported the gap', { timeout: 120000 }, async () => {
  const { page, problems } = await openPage(bridge.dashboardURL);
  try {
    const id = await plugId(page);
    await openDetail(page, id);
    await page.waitForSelector('#detail-charts[data-state="ready"] figure.chart[data-metric="power"]', { timeout: 15000 });
    await page.waitForFunction(() => window.mqliveDetail.seriesOf('power')?.xs.length >= 2, null, { timeout: 15000 });
    assert.equal(await page.evaluate(() => window.mqliveDetail.seriesOf('power').ys.includes(null)), false);
    const gaps = [];
    await page.exposeFunction('recordGap', (g) => gaps.push(g));
    await page.evaluate(() => window.mqliveDetail.sub.on('gap', (g) => window.recordGap(g)));

    // The memory backplane's history dies with the process: the channel's epoch changes.
    await bridge.stop('SIGKILL');
    await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 20000 });
    bridge = await startBridge({ httpPort: bridge.httpPort, mqttPort: bridge.mqttPort });
    await waitFor(() => gaps.length > 0, { timeout: 40000, what: 'the gap event on the device channel' });
    assert.notEqual(gaps[0].epoch, gaps[0].lastEpoch, 'a new epoch');
    // The line breaks (a null point) and continues with live points after it.
    await page.waitForFunction(() => {
      const s = window.mqliveDetail.seriesOf('power');
      const i = s.ys.indexOf(null);
      return i > 0 && s.ys.slice(i + 1).some((v) => v !== null);
    }, null, { timeout: 30000 });
    assert.equal(await page.getAttribute('#detail-charts', 'data-gaps'), String(gaps.length));
    assert.match(await page.getAttribute('figure.chart[data-metric="power"]', 'aria-label'), /, 1 gap,/);
    await shot(page, 'detail-gap.png');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
