// Benchmark of the dashboard's fleet view in headless Chromium: 10,000
// devices, then 2,000 Readings/s for DURATION_S seconds while the grid
// scrolls, measuring frame times (requestAnimationFrame deltas) and long
// tasks (PerformanceObserver 'longtask', main-thread tasks over 50 ms), then
// filter and sort over the 10,000 devices. `make bench-dashboard` runs it.
//
// What it drives: the page is served by a real bridge and its SDK client is
// connected, but the Readings are fed in-page as publications of a device
// channel into the SDK's event path (client._onEvent('publication', …), what
// the WASM core calls for every message), so each one is merged by the
// SDK's JavaScript device table, batched once per frame and rendered by the
// virtualised grid. Not included: the WebSocket, the WASM core's frame
// handling and JSON.parse (measured by the Go benchmarks and the e2e
// latency test).
//
// Env: DEVICES (10000), RATE (2000 Readings/s), DURATION_S (10), and
// MQLIVE_BIN as for the tests.
import { launchChromium, startBridge, distEntry, binaries } from './helpers.mjs';

const DEVICES = Number(process.env.DEVICES || 10000);
const RATE = Number(process.env.RATE || 2000);
const DURATION_S = Number(process.env.DURATION_S || 10);
// SCROLL=0 keeps the grid still (the updates alone); default: 24 px per frame.
const SCROLL = Number(process.env.SCROLL ?? 24);

distEntry();
binaries();
const bridge = await startBridge();
const browser = await launchChromium({ viewport: { width: 1400, height: 900 } });
try {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(bridge.dashboardURL);
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 20000 });

  const result = await page.evaluate(async ({ devices, rate, seconds, scroll }) => {
    const client = window.mqlive;
    const fleet = window.mqliveFleet;
    const families = ['zigbee2mqtt', 'tasmota', 'shelly', 'owntracks', 'homie', 'ttn'];
    const id = (i) => `bench-${families[i % families.length]}-${String(i).padStart(5, '0')}`;
    const iso = new Date().toISOString();
    const reading = (i, ts, temperature) => ({ device: id(i), family: families[i % families.length], online: i % 17 !== 0,
      stale: i % 23 === 0, ts, received_at: ts,
      metrics: { temperature, humidity: 40 + (i % 30), battery: 50 + (i % 50), state: i % 2 === 0 },
      attrs: { model: `M-${i % 40}` }, tags: { site: `site-${i % 12}` } });
    let offset = 0;
    const publish = (data) => client._onEvent('publication', { channel: 'device:bench', epoch: 'bench', offset: ++offset, data });
    const load0 = performance.now();
    for (let i = 0; i < devices; i++) publish(reading(i, iso, 20 + (i % 10)));
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const loadMs = performance.now() - load0;

    // The run: Readings at `rate` per second (a merged device object per
    // Reading, as the SDK core hands them over), the grid scrolling.
    const frames = [];
    const longTasks = [];
    // The page's work per frame: the SDK's batched call into the fleet grid and the map.
    const work = [];
    const apply = fleet.apply.bind(fleet);
    fleet.apply = (batch) => {
      const t0 = performance.now();
      apply(batch);
      work.push(performance.now() - t0);
    };
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e.duration); });
    obs.observe({ type: 'longtask', buffered: false });
    let sent = 0;
    let seq = 0;
    let feedMs = 0; // the feeder's own time (building Readings + the SDK's merge into its table)
    let feedCalls = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    const grid = document.getElementById('fleet-grid');
    await new Promise((resolve) => {
      let last = performance.now();
      const frame = (t) => {
        frames.push(t - last);
        last = t;
        if (scroll) grid.scrollTop = (grid.scrollTop + scroll) % (grid.scrollHeight - grid.clientHeight);
        if (t < end) requestAnimationFrame(frame);
        else resolve();
      };
      requestAnimationFrame(frame);
      const feed = () => {
        const t = performance.now();
        feedCalls++;
        const due = Math.min(Math.floor(((t - start) / 1000) * rate), rate * seconds);
        const ts = new Date().toISOString();
        for (; sent < due; sent++) {
          const i = (seq = (seq * 1103515245 + 12345) >>> 0) % devices;
          publish(reading(i, ts, 20 + ((seq >>> 8) % 100) / 10));
        }
        feedMs += performance.now() - t;
        if (t < end) setTimeout(feed, 4);
      };
      feed();
    });
    obs.disconnect();
    fleet.apply = apply;
    const elapsed = (performance.now() - start) / 1000;

    // Filter and sort over every device (the grid's own code, timed inside it).
    const filters = {};
    for (const text of ['zigbee', 'site-7', 'bench-tasmota-0999', 'offline', '']) {
      fleet.setFilter(text);
      filters[text || '(none)'] = fleet.timings.filter;
    }
    const sorts = {};
    for (const key of ['name', 'updated', 'status', 'family']) {
      fleet.setSort(key);
      sorts[key] = fleet.timings.sort;
    }
    fleet.setSort('name');
    const rows = document.querySelectorAll('#fleet-grid .spacer .row').length;
    return { feedMs, feedCalls, frames, work, longTasks, sent, elapsed, loadMs, filters, sorts, rows, count: client.deviceCount() };
  }, { devices: DEVICES, rate: RATE, seconds: DURATION_S, scroll: SCROLL });

  const f = result.frames.slice(1).sort((a, b) => a - b);
  const q = (p) => f[Math.min(f.length - 1, Math.floor(p * f.length))];
  const r2 = (x) => Math.round(x * 100) / 100;
  const w = result.work.sort((a, b) => a - b);
  const wq = (p) => w[Math.min(w.length - 1, Math.floor(p * w.length))];
  const out = {
    devices: result.count,
    scroll_px_per_frame: SCROLL,
    readings: result.sent,
    readings_per_s: Math.round(result.sent / result.elapsed),
    frames: f.length,
    frame_ms: { p50: r2(q(0.5)), p95: r2(q(0.95)), p99: r2(q(0.99)), max: r2(f.at(-1)) },
    grid_update_ms_per_frame: { batches: w.length, p50: r2(wq(0.5)), p95: r2(wq(0.95)), max: r2(w.at(-1)) },
    long_tasks: { count: result.longTasks.length, total_ms: r2(result.longTasks.reduce((a, b) => a + b, 0)),
      max_ms: r2(Math.max(0, ...result.longTasks)) },
    feeder_ms_total: r2(result.feedMs),
    feeder_calls: result.feedCalls,
    initial_load_ms: r2(result.loadMs),
    filter_ms: Object.fromEntries(Object.entries(result.filters).map(([k, v]) => [k, r2(v)])),
    sort_ms: Object.fromEntries(Object.entries(result.sorts).map(([k, v]) => [k, r2(v)])),
    rows_in_dom: result.rows,
    page_errors: errors,
  };
  console.log(JSON.stringify(out, null, 2));
  if (errors.length) process.exitCode = 1;
} finally {
  await browser.close();
  await bridge.stop();
}
