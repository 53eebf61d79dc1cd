// mqlive dashboard: plain ESM on @mqlive/sdk, no build step. The SDK
// (index.js + wasm_exec.js + mqlive.wasm) is served from ./sdk/ and uPlot
// from ./vendor/uplot/; `make wasm` puts both there. The SDK's device table
// is the page's one source of device state: fleet.js (virtualised grid),
// map.js and detail.js read it, batched once per animation frame.
// monitor.js and admin.js are the admins' views.

import { Fleet } from './fleet.js';
import { Detail } from './detail.js';
import { MapView } from './map.js';
import { Monitor } from './monitor.js';
import { AdminView } from './admin.js';

const $ = (id) => document.getElementById(id);
const els = {
  conn: $('conn'), connText: $('conn-text'), notice: $('notice'), skip: document.querySelector('.skip'),
};
const VIEWS = ['fleet', 'map', 'monitor', 'admin'];
const SKIP = { fleet: ['#fleet-grid', 'Skip to devices'], map: ['#map-list', 'Skip to located devices'],
  monitor: ['#mon-filter', 'Skip to monitor'], admin: ['#admin-users', 'Skip to sessions'] };

let view = 'fleet';
const views = {}; // name -> { show(), hide() } once the client exists

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

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// ---- views (WAI-ARIA tabs) ----

const tab = (name) => $(`tab-${name}`);
const panel = (name) => $(`${name}-view`);

function available(name) {
  return !tab(name).hidden && (name === 'fleet' || views[name]);
}

function setView(name, { focus = false } = {}) {
  if (!available(name)) name = 'fleet';
  view = name;
  for (const v of VIEWS) {
    const on = v === name;
    tab(v).setAttribute('aria-selected', String(on));
    tab(v).tabIndex = on ? 0 : -1;
    panel(v).hidden = !on;
    if (!on) views[v]?.hide?.();
  }
  views[name]?.show?.();
  const [href, text] = SKIP[name];
  els.skip.setAttribute('href', href);
  els.skip.textContent = text;
  const url = new URL(location.href);
  url.hash = name === 'fleet' ? '' : name;
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  if (focus) tab(name).focus();
}

function showTab(name, show, access) {
  const t = tab(name);
  if (access) t.dataset.access = access;
  if (t.hidden === !show) return;
  t.hidden = !show;
  if (!show && view === name) setView('fleet');
  if (show && location.hash === `#${name}` && view !== name) setView(name);
}

function onTabKey(e) {
  const list = VIEWS.map(tab).filter((t) => !t.hidden);
  const i = list.indexOf(e.currentTarget);
  let next = null;
  if (e.key === 'ArrowRight') next = list[(i + 1) % list.length];
  else if (e.key === 'ArrowLeft') next = list[(i - 1 + list.length) % list.length];
  else if (e.key === 'Home') next = list[0];
  else if (e.key === 'End') next = list.at(-1);
  if (!next) return;
  e.preventDefault();
  setView(next.id.slice(4), { focus: true });
}

/**
 * The token's payload claims. Used only to show the admin tabs before
 * asking the bridge; the bridge decides (a refused subscribe hides them).
 */
function tokenClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')));
  } catch {
    return {};
  }
}

// ---- token ----

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

// ---- wiring ----

async function main() {
  for (const v of VIEWS) {
    tab(v).addEventListener('click', () => setView(v));
    tab(v).addEventListener('keydown', onTabKey);
  }

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
  window.mqlive = client; // handy in the console, and for the tests

  let fleet;
  let map;
  const detail = new Detail({
    client,
    channelOf: sdk.deviceChannel,
    onClose: (id) => {
      fleet.select(null);
      if (view === 'map') document.querySelector(`#map-list button[data-device="${CSS.escape(id)}"]`)?.focus();
      else fleet.focusDevice(id);
    },
  });
  const open = (id) => {
    fleet.select(id);
    detail.show(id);
  };
  fleet = new Fleet({ client, onOpen: open });
  map = new MapView({ client, onOpen: open });
  // One watcher for the views that follow every device: the fleet grid and
  // the map get the same batch once per frame.
  client.watchDevices((batch) => {
    map.apply(batch);
    if (detail.open) {
      if (batch.changed.includes(detail.id)) detail.update(detail.id);
      if (batch.removed.includes(detail.id)) detail.removed(detail.id);
    }
  });
  views.fleet = { show: () => fleet.render(true) };
  views.map = map;
  Object.assign(window, { mqliveFleet: fleet, mqliveDetail: detail, mqliveMap: map });

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && detail.open) detail.close();
  });
  setInterval(() => {
    fleet.tick();
    detail.tick();
  }, 1000);

  const monitor = new Monitor({
    client,
    onAllowed: () => {
      views.monitor = monitor;
      showTab('monitor', true, 'allowed');
    },
    onDenied: () => {
      const wasOpen = view === 'monitor';
      delete views.monitor;
      showTab('monitor', false, 'denied');
      if (wasOpen) notice('This token may not watch the monitor channel: it needs <code>admin</code>.');
    },
  });
  window.mqliveMonitor = monitor;
  const admin = new AdminView({ client, token });
  window.mqliveAdmin = admin;
  const claims = tokenClaims(token);
  if (claims.admin === true) {
    views.monitor = monitor;
    showTab('monitor', true);
  } else {
    client.once('connected', () => monitor.probe());
  }
  // The admin view: presence works for any token, sign-out needs the api
  // claim (or a pasted admin token); shown to admins and API holders.
  if (claims.admin === true || (Array.isArray(claims.api) && claims.api.includes('signout'))) {
    views.admin = admin;
    showTab('admin', true);
  }
  if (location.hash === '#map') setView('map');

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

  const sub = client.subscribe('devices', { mode: 'latest', maxRateHz: 4 });
  sub.on('error', (err) => notice(`Cannot subscribe to devices: ${escapeHTML(err.message)}`));
  client.connect().catch((err) => notice(`Cannot connect: ${escapeHTML(err.message)}`));
}

main();
