// mqlive dashboard: a live fleet view on @mqlive/sdk. Plain ESM, no build step.
// The SDK (index.js + wasm_exec.js + mqlive.wasm) is served from ./sdk/;
// `make wasm` puts it there. monitor.js is the admins' Monitor view,
// commands.js the On/Off/Toggle controls of the detail panel.

import { el } from './dom.js';
import { Monitor } from './monitor.js';
import { CommandPanel } from './commands.js';

const UNITS = {
  temperature: '°C', humidity: '%', pressure: 'hPa', battery: '%', voltage: 'V', current: 'A',
  power: 'W', energy: 'kWh', illuminance: 'lx', rssi: 'dBm', signal: '%', linkquality: 'LQI',
  latitude: '°', longitude: '°', altitude: 'm', co2: 'ppm', pm25: 'µg/m³', pm10: 'µg/m³',
  voc: 'ppb', uptime: 's',
};
const BOOL_WORDS = { contact: ['open', 'closed'], occupancy: ['clear', 'occupied'], state: ['off', 'on'] };
// Metrics shown first on a card, in this order; the rest follow by name.
const PRIORITY = ['temperature', 'humidity', 'co2', 'power', 'energy', 'state', 'contact', 'occupancy', 'illuminance', 'battery'];
const CARD_METRICS = 4;
const HISTORY = 60;

const $ = (id) => document.getElementById(id);
const els = {
  conn: $('conn'), connText: $('conn-text'), notice: $('notice'), list: $('devices'), empty: $('empty'),
  count: $('count'), filter: $('filter'), detail: $('detail'), detailTitle: $('detail-title'),
  detailMeta: $('detail-meta'), detailMetrics: $('detail-metrics'), detailFacts: $('detail-facts'),
  detailClose: $('detail-close'), skip: document.querySelector('.skip'),
  tabFleet: $('tab-fleet'), tabMonitor: $('tab-monitor'), fleetView: $('fleet-view'), monitorView: $('monitor-view'),
};

/** id -> { dev, el, history: Map<metric, Array<[ms, value]>> } */
const devices = new Map();
let selected = null;
let filterText = '';
let view = 'fleet';
/** @type {Monitor | null} */
let monitor = null;
/** @type {CommandPanel | null} */
let commands = null;

function notice(html) {
  els.notice.innerHTML = html;
  els.notice.hidden = false;
}

function clearNotice() {
  els.notice.hidden = true;
  els.notice.textContent = '';
}

function setConn(state, text, extra = {}) {
  els.conn.dataset.state = state;
  for (const [k, v] of Object.entries(extra)) els.conn.dataset[k] = String(v);
  els.connText.textContent = text;
}

// ---- formatting ----

function unitOf(metric) {
  // "switch:1.power" is a second instance of power (READINGS.md).
  const base = metric.includes('.') ? metric.slice(metric.lastIndexOf('.') + 1) : metric;
  return UNITS[base] || '';
}

function formatValue(metric, v) {
  if (typeof v === 'boolean') {
    const base = metric.includes('.') ? metric.slice(metric.lastIndexOf('.') + 1) : metric;
    const words = BOOL_WORDS[base];
    return words ? words[v ? 1 : 0] : v ? 'true' : 'false';
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  const digits = Number.isInteger(v) ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const unit = unitOf(metric);
  const num = v.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${num} ${unit}` : num;
}

function label(metric) {
  return metric.replace(/_/g, ' ');
}

function age(ms) {
  if (!ms) return 'no update yet';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 5) return 'updated just now';
  if (s < 60) return `updated ${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `updated ${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `updated ${h} h ago`;
  return `updated ${Math.floor(h / 24)} d ago`;
}

function lastSeen(dev) {
  return dev.receivedAt || dev.ts || 0;
}

function orderedMetrics(dev) {
  const names = Object.keys(dev.metrics);
  return names.sort((a, b) => {
    const pa = PRIORITY.indexOf(a);
    const pb = PRIORITY.indexOf(b);
    if (pa !== pb) return (pa < 0 ? 99 : pa) - (pb < 0 ? 99 : pb);
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

function badges(dev) {
  const box = el('span', { class: 'badges' });
  if (dev.online === true) box.append(el('span', { class: 'badge online', text: 'online' }));
  else if (dev.online === false) box.append(el('span', { class: 'badge offline', text: 'offline' }));
  else box.append(el('span', { class: 'badge unknown', text: 'availability unknown' }));
  if (dev.stale) box.append(el('span', { class: 'badge stale', text: 'stale' }));
  return box;
}

// ---- device list ----

function matches(entry) {
  if (!filterText) return true;
  const d = entry.dev;
  const hay = [d.id, d.family, ...Object.keys(d.metrics), ...Object.entries(d.tags).map(([k, v]) => `${k}=${v}`),
    ...Object.values(d.attrs)].join(' ').toLowerCase();
  return filterText.split(/\s+/).every((word) => hay.includes(word));
}

function renderCard(entry, flash) {
  const d = entry.dev;
  const li = entry.el;
  li.dataset.updated = String(lastSeen(d));
  li.dataset.online = d.online === null ? 'unknown' : String(d.online);
  li.dataset.stale = String(d.stale);
  const btn = el('button', { type: 'button', 'aria-label': `${d.id}: show details` });
  const head = el('span', { class: 'card-head' }, el('span', { class: 'name', text: d.id }),
    el('span', { class: 'family', text: d.family || '' }));
  const mini = el('dl', { class: 'mini' });
  for (const m of orderedMetrics(d).slice(0, CARD_METRICS)) {
    mini.append(el('dt', { text: label(m) }), el('dd', { text: formatValue(m, d.metrics[m]) }));
  }
  const ageEl = el('span', { class: 'age', text: age(lastSeen(d)) });
  ageEl.dataset.ts = String(lastSeen(d));
  btn.append(head, badges(d), mini, ageEl);
  btn.addEventListener('click', () => select(d.id));
  li.replaceChildren(btn);
  li.hidden = !matches(entry);
  if (flash) {
    li.classList.remove('flash');
    void li.offsetWidth; // restart the animation
    li.classList.add('flash');
  }
}

function insertSorted(entry) {
  let next = null;
  for (const child of els.list.children) {
    if (child.dataset.device > entry.dev.id) {
      next = child;
      break;
    }
  }
  els.list.insertBefore(entry.el, next);
}

function recordHistory(entry, dev, prev) {
  for (const [k, v] of Object.entries(dev.metrics)) {
    if (typeof v !== 'number') continue;
    const t = dev.metricTs[k] || Date.now();
    if (prev && prev.metricTs[k] === dev.metricTs[k] && prev.metrics[k] === v) continue;
    let h = entry.history.get(k);
    if (!h) entry.history.set(k, (h = []));
    h.push([t, v]);
    if (h.length > HISTORY) h.shift();
  }
}

function upsert(dev) {
  let entry = devices.get(dev.id);
  const prev = entry?.dev;
  if (!entry) {
    entry = { dev, el: el('li', { class: 'card' }), history: new Map() };
    entry.el.dataset.device = dev.id;
    devices.set(dev.id, entry);
    insertSorted(entry);
  }
  entry.dev = dev;
  recordHistory(entry, dev, prev);
  renderCard(entry, Boolean(prev));
  if (selected === dev.id) renderDetail();
  updateCount();
}

function remove(id) {
  const entry = devices.get(id);
  if (!entry) return;
  entry.el.remove();
  devices.delete(id);
  if (selected === id) closeDetail();
  updateCount();
}

function updateCount() {
  const total = devices.size;
  let shown = 0;
  for (const e of devices.values()) if (!e.el.hidden) shown++;
  els.count.textContent = total ? (shown === total ? `(${total})` : `(${shown} of ${total})`) : '';
  els.empty.hidden = total > 0 && shown > 0;
  if (total > 0 && shown === 0) els.empty.textContent = 'No device matches the filter.';
  else if (total === 0) els.empty.textContent = 'Waiting for devices…';
}

function applyFilter() {
  filterText = els.filter.value.trim().toLowerCase();
  for (const e of devices.values()) e.el.hidden = !matches(e);
  updateCount();
}

// ---- detail panel ----

function select(id) {
  if (selected) devices.get(selected)?.el.removeAttribute('aria-current');
  selected = id;
  devices.get(id)?.el.setAttribute('aria-current', 'true');
  els.detail.hidden = false;
  renderDetail();
  els.detailClose.focus();
}

function closeDetail() {
  const entry = selected && devices.get(selected);
  if (entry) entry.el.removeAttribute('aria-current');
  selected = null;
  els.detail.hidden = true;
  entry?.el.querySelector('button')?.focus();
}

function renderDetail() {
  const entry = devices.get(selected);
  if (!entry) return;
  const d = entry.dev;
  els.detailTitle.textContent = d.id;
  const status = d.online === true ? 'online' : d.online === false ? 'offline' : 'availability unknown';
  els.detailMeta.textContent = `${d.family || 'unknown family'} · ${status}${d.stale ? ' · stale' : ''} · ${age(lastSeen(d))}`;
  const rows = [];
  for (const m of orderedMetrics(d)) {
    const v = d.metrics[m];
    const tr = el('tr', {}, el('th', { scope: 'row', text: label(m) }), el('td', { class: 'value', text: formatValue(m, v) }));
    const cell = el('td');
    const hist = entry.history.get(m);
    if (typeof v === 'number' && hist && hist.length > 1) cell.append(sparkline(m, hist));
    tr.append(cell);
    rows.push(tr);
  }
  els.detailMetrics.replaceChildren(...rows);
  const facts = [];
  for (const [k, v] of Object.entries(d.attrs)) facts.push(el('dt', { text: k }), el('dd', { text: v }));
  for (const [k, v] of Object.entries(d.tags)) facts.push(el('dt', { text: `tag ${k}` }), el('dd', { text: v }));
  if (d.ts) facts.push(el('dt', { text: 'device time' }), el('dd', { text: new Date(d.ts).toLocaleString() }));
  facts.push(el('dt', { text: 'readings merged' }), el('dd', { text: String(d.updates) }));
  els.detailFacts.replaceChildren(...facts);
  commands?.render(d);
}

function sparkline(metric, points) {
  const w = 120;
  const h = 28;
  const ratio = window.devicePixelRatio || 1;
  const canvas = el('canvas', { width: String(w * ratio), height: String(h * ratio), role: 'img' });
  const values = points.map((p) => p[1]);
  const min = Math.min(...values);
  const max = Math.max(...values);
  canvas.setAttribute('aria-label',
    `${label(metric)} over the last ${values.length} readings: from ${formatValue(metric, min)} to ${formatValue(metric, max)}, now ${formatValue(metric, values.at(-1))}`);
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  ctx.scale(ratio, ratio);
  const t0 = points[0][0];
  const t1 = points.at(-1)[0];
  const x = (t) => (t1 > t0 ? ((t - t0) / (t1 - t0)) * (w - 4) + 2 : w / 2);
  const y = (v) => (max > min ? h - 3 - ((v - min) / (max - min)) * (h - 6) : h / 2);
  ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() || '#2563eb';
  ctx.lineWidth = 1.5;
  ctx.lineJoin = 'round';
  ctx.beginPath();
  points.forEach(([t, v], i) => (i ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
  ctx.stroke();
  ctx.fillStyle = ctx.strokeStyle;
  ctx.beginPath();
  ctx.arc(x(t1), y(values.at(-1)), 2, 0, Math.PI * 2);
  ctx.fill();
  return canvas;
}

// ---- views: Fleet and, for admins, Monitor (WAI-ARIA tabs) ----

function tabs() {
  return [els.tabFleet, els.tabMonitor].filter((t) => !t.hidden);
}

function setView(name, { focus = false } = {}) {
  if (name === 'monitor' && (els.tabMonitor.hidden || !monitor)) name = 'fleet';
  view = name;
  const isMonitor = name === 'monitor';
  els.tabFleet.setAttribute('aria-selected', String(!isMonitor));
  els.tabMonitor.setAttribute('aria-selected', String(isMonitor));
  els.tabFleet.tabIndex = isMonitor ? -1 : 0;
  els.tabMonitor.tabIndex = isMonitor ? 0 : -1;
  els.fleetView.hidden = isMonitor;
  els.monitorView.hidden = !isMonitor;
  els.skip.textContent = isMonitor ? 'Skip to monitor' : 'Skip to devices';
  els.skip.setAttribute('href', isMonitor ? '#mon-filter' : '#devices');
  const url = new URL(location.href);
  url.hash = isMonitor ? 'monitor' : '';
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  if (isMonitor) monitor.show();
  else monitor?.hide();
  if (focus) (isMonitor ? els.tabMonitor : els.tabFleet).focus();
}

function showMonitorTab(show, access) {
  // What the bridge answered (allowed / denied), for tests and the curious.
  if (access) els.tabMonitor.dataset.access = access;
  if (els.tabMonitor.hidden === !show) return;
  els.tabMonitor.hidden = !show;
  if (!show && view === 'monitor') setView('fleet');
  if (show && location.hash === '#monitor' && view !== 'monitor') setView('monitor');
}

function onTabKey(e) {
  const list = tabs();
  const i = list.indexOf(e.currentTarget);
  let next = null;
  if (e.key === 'ArrowRight') next = list[(i + 1) % list.length];
  else if (e.key === 'ArrowLeft') next = list[(i - 1 + list.length) % list.length];
  else if (e.key === 'Home') next = list[0];
  else if (e.key === 'End') next = list.at(-1);
  if (!next) return;
  e.preventDefault();
  setView(next === els.tabMonitor ? 'monitor' : 'fleet', { focus: true });
}

/**
 * Whether the token's payload claims admin. Used only to show the Monitor tab
 * before asking the bridge; the bridge decides (a refused subscribe hides it).
 */
function tokenSaysAdmin(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '='))).admin === true;
  } catch {
    return false;
  }
}

// ---- wiring ----

function tick() {
  for (const node of els.list.querySelectorAll('.age')) node.textContent = age(Number(node.dataset.ts));
  if (selected) {
    const d = devices.get(selected)?.dev;
    if (d) els.detailMeta.textContent = els.detailMeta.textContent.replace(/(updated .*|no update yet)$/, age(lastSeen(d)));
  }
}

function takeToken() {
  const url = new URL(location.href);
  let token = url.searchParams.get('token');
  if (token) {
    // Keep it for reloads of this tab, and out of the address bar, history and referrers.
    sessionStorage.setItem('mqlive.token', token);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  } else {
    token = sessionStorage.getItem('mqlive.token');
  }
  return token;
}

function forgetToken() {
  sessionStorage.removeItem('mqlive.token');
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

async function main() {
  els.filter.addEventListener('input', applyFilter);
  els.detailClose.addEventListener('click', closeDetail);
  els.tabFleet.addEventListener('click', () => setView('fleet'));
  els.tabMonitor.addEventListener('click', () => setView('monitor'));
  els.tabFleet.addEventListener('keydown', onTabKey);
  els.tabMonitor.addEventListener('keydown', onTabKey);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && selected) closeDetail();
  });
  setInterval(tick, 1000);

  const token = takeToken();
  let sdk;
  try {
    sdk = await import('./sdk/index.js');
  } catch (err) {
    setConn('error', 'SDK missing');
    notice('SDK not built: run <code>make wasm</code> (it builds <code>mqlive.wasm</code> into <code>dashboard/static/sdk/</code>), then rebuild and restart the bridge.');
    console.error(err);
    return;
  }
  if (!token) {
    setConn('error', 'No token');
    notice('No access token. Open the URL printed by <code>mqlive --dev</code> (it ends in <code>?token=…</code>), or one your application signed.');
    return;
  }

  const wsURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  setConn('connecting', 'Loading…');
  let client;
  try {
    client = await sdk.createClient({ url: wsURL, token });
  } catch (err) {
    setConn('error', 'SDK failed to start');
    notice(`The SDK failed to start: ${escapeHTML(err.message)}`);
    return;
  }
  window.mqlive = client; // handy in the console

  commands = new CommandPanel({ client });
  monitor = new Monitor({
    client,
    onAllowed: () => showMonitorTab(true, 'allowed'),
    onDenied: () => {
      const wasOpen = view === 'monitor';
      showMonitorTab(false, 'denied');
      if (wasOpen) notice('This token may not watch the monitor channel: it needs <code>admin</code>.');
    },
  });
  window.mqliveMonitor = monitor; // likewise
  if (tokenSaysAdmin(token)) showMonitorTab(true);
  else client.once('connected', () => monitor.probe());

  client.on('state', (s) => {
    if (s.state === 'connected') {
      setConn('connected', 'Live', { attempt: 0 });
    } else if (s.state === 'connecting') {
      if (s.attempt > 0) {
        const secs = s.delayMs ? ` in ${(s.delayMs / 1000).toFixed(1)} s` : '';
        setConn('reconnecting', `Reconnecting (attempt ${s.attempt})${secs}`, { attempt: s.attempt });
      } else {
        setConn('connecting', 'Connecting…', { attempt: 0 });
      }
    } else if (s.state === 'disconnected') {
      setConn('disconnected', 'Disconnected');
    }
  });
  client.on('connected', (info) => {
    clearNotice();
    els.conn.dataset.session = info.session || '';
    els.conn.title = `tenant ${info.tenant} · node ${info.node} · user ${info.user}`;
  });
  client.on('disconnected', (p) => {
    // 4003 (signed out) and 4001 (token refused): the stored token is no
    // use any more; a reload must not present it again.
    const refused = p.code === sdk.CloseUnauthorized;
    const signedOut = p.code === sdk.CloseSignedOut;
    if (refused || signedOut) forgetToken();
    if (signedOut) setConn('error', 'Signed out');
    const why = refused ? 'The token was refused (expired, invalid or signed out). Get a new dashboard URL.'
      : signedOut ? `You were signed out${p.reason ? `: ${escapeHTML(p.reason)}` : ''}. Sign in again for a new dashboard URL.`
      : `Disconnected: ${escapeHTML(p.reason || p.code)}`;
    notice(why);
  });
  client.on('device', upsert);
  client.on('deviceRemoved', (p) => remove(p.id));

  const sub = client.subscribe('devices', { mode: 'latest', maxRateHz: 4 });
  sub.on('error', (err) => notice(`Cannot subscribe to devices: ${escapeHTML(err.message)}`));
  client.connect().catch((err) => notice(`Cannot connect: ${escapeHTML(err.message)}`));
}

main();
