// @mqlive/sdk: the ESM facade over the Go/WebAssembly client core
// (wasm/cmd/mqlive-wasm). The Go side owns the connection, reconnects,
// resubscriptions and positions; this file loads it once per page, keeps the
// device table (devices.js) and shapes the events into a centrifuge-like API.
import './wasm_exec.js';

// The protocol's method names and error/close codes, generated from Go
// (bridge/wire/protocol): compare err.code with CloseSignedOut, not 4003.
export * from './protocol.js';
import { DeviceTable, isDeviceChannel } from './devices.js';

const VERSION = '0.1.0';

/**
 * The channel name of one device (README "Channels"): bytes outside
 * printable ASCII, space, '#', '+', '%' and '=' of the id's UTF-8 are
 * percent-encoded with upper-case hex, as the bridge does
 * (bridge/wire.DeviceChannel): 'Living Room/Plug 2' → 'device:Living%20Room/Plug%202'.
 */
export function deviceChannel(id) {
  let out = 'device:';
  for (const b of new TextEncoder().encode(String(id))) {
    if (b <= 0x20 || b >= 0x7f || b === 0x23 || b === 0x2b || b === 0x25 || b === 0x3d) {
      out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    } else {
      out += String.fromCharCode(b);
    }
  }
  return out;
}

let runtime = null;

/**
 * Loads and starts the WebAssembly runtime once per page (memoised); every
 * client shares it. A failed load is not memoised, so it can be retried.
 */
export function loadRuntime(options = {}) {
  if (!runtime) {
    runtime = start(options.wasmURL).catch((err) => {
      runtime = null;
      throw err;
    });
  }
  return runtime;
}

async function start(wasmURL) {
  if (typeof globalThis.Go !== 'function') {
    throw new Error('mqlive: wasm_exec.js did not load (globalThis.Go missing)');
  }
  const url = wasmURL ? new URL(String(wasmURL), import.meta.url) : new URL('./mqlive.wasm', import.meta.url);
  const go = new globalThis.Go();
  let instance;
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    ({ instance } = await WebAssembly.instantiate(await readFile(url), go.importObject));
  } else {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`mqlive: fetching ${url} failed: HTTP ${resp.status}`);
    const type = resp.headers.get('content-type') || '';
    if (typeof WebAssembly.instantiateStreaming === 'function' && type.startsWith('application/wasm')) {
      ({ instance } = await WebAssembly.instantiateStreaming(resp, go.importObject));
    } else {
      ({ instance } = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject));
    }
  }
  const ready = new Promise((resolve, reject) => {
    globalThis.__mqliveReady = resolve;
    go.run(instance).then(
      () => reject(new Error('mqlive: the WebAssembly runtime exited')),
      reject,
    );
  });
  try {
    return await ready;
  } finally {
    delete globalThis.__mqliveReady;
  }
}

/**
 * Thrown (or rejected with) by a getToken callback when the user is not
 * allowed to connect (e.g. signed out): the client stops in 'disconnected'
 * with code 4001 instead of retrying. Any error with `unauthorized: true`
 * counts as well.
 */
export class UnauthorizedError extends Error {
  constructor(message = 'unauthorized') {
    super(message);
    this.name = 'UnauthorizedError';
    this.unauthorized = true;
  }
}

/** A small typed-event emitter: on/off/once. Handler exceptions are logged, not propagated. */
class Emitter {
  constructor() {
    this._handlers = new Map();
  }

  on(event, fn) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    this._handlers.get(event).add(fn);
    return this;
  }

  off(event, fn) {
    this._handlers.get(event)?.delete(fn);
    return this;
  }

  once(event, fn) {
    const wrapper = (arg) => {
      this.off(event, wrapper);
      fn(arg);
    };
    return this.on(event, wrapper);
  }

  _emit(event, arg) {
    const set = this._handlers.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(arg);
      } catch (err) {
        console.error(`mqlive: '${event}' handler threw`, err);
      }
    }
  }
}

/**
 * Creates a client. It does not connect until connect() is called.
 * @param {import('./index.js').ClientOptions} options
 */
export async function createClient(options) {
  if (!options || typeof options.url !== 'string') throw new TypeError('mqlive: options.url is required');
  const api = await loadRuntime({ wasmURL: options.wasmURL });
  return new Client(api, options);
}

export class Client extends Emitter {
  constructor(api, options) {
    super();
    this._api = api;
    this._subs = new Map();
    this._devices = new DeviceTable();
    this.state = 'disconnected';
    this.session = null;
    const goOptions = {
      url: options.url,
      name: options.name || `mqlive-js/${VERSION}`,
      minReconnectDelay: options.minReconnectDelay,
      maxReconnectDelay: options.maxReconnectDelay,
      timeout: options.timeout,
      maxServerPingDelay: options.maxServerPingDelay,
      reportInterval: options.reportInterval,
    };
    if (typeof options.token === 'string') goOptions.token = options.token;
    // async: a synchronous throw becomes a rejection the Go side can read.
    if (typeof options.getToken === 'function') goOptions.getToken = async () => options.getToken();
    this._id = api.newClient(goOptions, (type, payload) => this._onEvent(type, payload));
    if (typeof this._id !== 'number') {
      // The Go side refused the options and returned a rejected Promise.
      Promise.resolve(this._id).catch(() => {});
      throw new TypeError('mqlive: invalid client options');
    }
    if (options.lifecycle !== false) this._watchLifecycle();
    this._resume = Resume.open(options.resume);
  }

  // Page lifecycle (browsers only; Node has no window/document): offline
  // closes the transport and stops retrying, online dials at once; showing,
  // resuming or waking the page (a wall-clock jump) checks the socket at
  // once instead of waiting for a throttled timer. While hidden, the
  // server's WebSocket pings are the liveness signal.
  _watchLifecycle() {
    const win = globalThis.window;
    const doc = globalThis.document;
    if (!win || typeof win.addEventListener !== 'function') return;
    const api = this._api;
    const id = this._id;
    const hidden = () => !!doc && doc.visibilityState === 'hidden';
    const on = [];
    const listen = (target, type, fn) => {
      target.addEventListener(type, fn);
      on.push(() => target.removeEventListener(type, fn));
    };
    listen(win, 'offline', () => api.offline(id));
    listen(win, 'online', () => api.online(id));
    if (doc && typeof doc.addEventListener === 'function') {
      listen(doc, 'visibilitychange', () => api.setHidden(id, hidden()));
      listen(doc, 'freeze', () => api.setHidden(id, true));
      listen(doc, 'resume', () => {
        api.setHidden(id, hidden());
        api.check(id, 0);
      });
      if (hidden()) api.setHidden(id, true);
    }
    // Wake from sleep: a timer that fires far later than its period.
    // Hidden tabs' timers are throttled to about once a minute, so only a
    // larger gap counts there.
    const period = 5000;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      const gap = now - last - period;
      last = now;
      if (gap > (hidden() ? 90000 : 15000)) api.check(id, gap);
    }, period);
    on.push(() => clearInterval(timer));
    this._unwatch = () => on.forEach((off) => off());
  }

  _onEvent(type, p) {
    switch (type) {
      case 'state':
        if (this.state === 'closed') break; // close() already reported it
        this.state = p.state;
        // A stop for 4001/4003 (unauthorized, signed out): forget the
        // positions, the next user must not resume them.
        if (p.state === 'disconnected' && (p.code === 4001 || p.code === 4003)) this._resume?.clear();
        this._emit('state', p);
        if (p.state === 'connecting') this._emit('connecting', p);
        break;
      case 'subscriptionState':
        this._subs.get(p.channel)?._onState(p);
        this._emit('subscriptionState', p);
        break;
      case 'connected':
        this.session = p;
        this._resume?.setOwner(p);
        this._emit('connected', p);
        break;
      case 'disconnected':
        this._emit('disconnected', p);
        break;
      case 'error':
        if (p?.channel) this._onServerUnsubscribed(p);
        this._emit('error', p);
        break;
      case 'publication': {
        if (isDeviceChannel(p.channel)) {
          const d = this._devices.apply(p.data);
          if (d) this._deviceSet(d);
        }
        const sub = this._subs.get(p.channel);
        if (sub) {
          sub.position = { epoch: p.epoch, offset: p.offset };
          this._resume?.put(p.channel, sub.position);
          sub._emit('publication', p);
        }
        this._emit('publication', p);
        break;
      }
      case 'subscribed':
        // A snapshot (not a recovery) replaces the channel's devices.
        if (!p.recovered && isDeviceChannel(p.channel)) {
          const { set, removed } = this._devices.replace(p.result?.snapshot, p.channel === 'devices');
          for (const id of removed) this._deviceRemoved(id);
          for (const d of set) this._deviceSet(d);
        }
        this._subs.get(p.channel)?._onSubscribed(p);
        this._emit('subscribed', p);
        break;
      case 'subscribeError': {
        const sub = this._subs.get(p.channel);
        if (sub) {
          this._subs.delete(p.channel);
          this._resume?.drop(p.channel);
          sub._onError(p.error);
        }
        this._emit('error', p.error);
        break;
      }
      case 'lagged':
        this._subs.get(p.channel)?._emit('lagged', p);
        break;
      case 'gap':
        this._subs.get(p.channel)?._emit('gap', p);
        this._emit('gap', p);
        break;
      default:
        break;
    }
  }

  // _onServerUnsubscribed forgets a subscription the server ended (an
  // 'unsubscribed' notification, e.g. a refreshed token no longer allows
  // the channel): the Go core already dropped it and reported the state
  // unsubscribed; the error carries its channel. Unlike a refused
  // subscribe (subscribeError), nothing else follows, so it is removed
  // here, and its stored position with it.
  _onServerUnsubscribed(err) {
    const sub = this._subs.get(err.channel);
    if (!sub) return;
    this._subs.delete(err.channel);
    this._resume?.drop(err.channel);
    sub._onError(err);
  }

  // _deviceSet and _deviceRemoved report a change of the device table
  // (already applied) to the page.
  _deviceSet(d) {
    this._tableChanged(d.id, false);
    this._emit('device', d);
  }

  _deviceRemoved(id) {
    this._tableChanged(id, true);
    this._emit('deviceRemoved', { id });
  }

  /** Connects (and keeps reconnecting); resolves once connected. */
  connect() {
    return this._api.connect(this._id);
  }

  /** Closes the connection and stops reconnecting; subscriptions are kept for the next connect(). */
  disconnect() {
    this._api.disconnect(this._id);
  }

  /** Disconnects for good and releases the client. */
  close() {
    this._unwatch?.();
    this._resume?.clear();
    this._resume?.stop();
    this._resume = null;
    this._api.close(this._id);
    for (const sub of this._subs.values()) sub._setState('unsubscribed', 1000, 'client closed');
    this._subs.clear();
    if (this.state !== 'closed') {
      const from = this.state;
      this.state = 'closed';
      this._emit('state', { from, to: 'closed', state: 'closed', attempt: 0, delayMs: 0, code: 1000, reason: 'client closed' });
    }
  }

  /** Replaces the token used by the next connect. */
  setToken(token) {
    this._api.setToken(this._id, token);
  }

  /**
   * Subscribes to a channel and returns its handle at once; attach handlers,
   * then await sub.ready. The subscription is replayed after every reconnect.
   */
  subscribe(channel, options = {}) {
    let sub = this._subs.get(channel);
    if (sub) return sub;
    sub = new Subscription(this, channel, options);
    // Resume across a page reload: the stored position, unless `since` is explicit.
    if (!options.since) sub._since = this._resume?.get(channel) || undefined;
    this._subs.set(channel, sub);
    sub._start();
    return sub;
  }

  getSubscription(channel) {
    return this._subs.get(channel) || null;
  }

  subscriptions() {
    return [...this._subs.values()];
  }

  publish(channel, data) {
    return this._api.publish(this._id, channel, data);
  }

  history(channel, options = {}) {
    return this._api.history(this._id, channel, options);
  }

  presence(channel) {
    return this._api.presence(this._id, channel);
  }

  command(device, name, args) {
    return this._api.command(this._id, device, name, args);
  }

  /**
   * The commands a device accepts, as the bridge lists them from its family:
   * send one with command(device, c.name, c.args) as it is, or with args
   * filled in after c.schema.
   */
  commands(device) {
    return this._api.commands(this._id, device);
  }

  ping() {
    return this._api.ping(this._id);
  }

  /** The local device table (merged latest Reading per device), sorted by id. */
  devices() {
    return this._devices.all();
  }

  /** One device of the local table, or null. The object is not changed by later Readings: each merge makes a new one. */
  device(id) {
    return this._devices.get(id);
  }

  /** How many devices the local table holds. */
  deviceCount() {
    return this._devices.size;
  }

  /**
   * Watches the device table: fn({ changed, removed }) with the ids merged
   * or removed since its last call, at most once per animation frame (every
   * 16 ms without requestAnimationFrame), so that a page renders a burst
   * of Readings once. Read the devices with device(id). Returns unwatch.
   */
  watchDevices(fn) {
    const w = { fn, changed: new Set(), removed: new Set() };
    this._watchers ??= new Set();
    this._watchers.add(w);
    return () => this._watchers.delete(w);
  }

  // _tableChanged notes a merged (or removed) device for the watchers and
  // schedules their one call per frame.
  _tableChanged(id, removed) {
    if (!this._watchers?.size) return;
    for (const w of this._watchers) {
      if (removed) {
        w.changed.delete(id);
        w.removed.add(id);
      } else {
        w.removed.delete(id);
        w.changed.add(id);
      }
    }
    if (this._tableFrame) return;
    const raf = globalThis.requestAnimationFrame;
    const flush = () => {
      this._tableFrame = null;
      for (const w of this._watchers) {
        if (!w.changed.size && !w.removed.size) continue;
        const batch = { changed: [...w.changed], removed: [...w.removed] };
        w.changed.clear();
        w.removed.clear();
        try {
          w.fn(batch);
        } catch (err) {
          console.error('mqlive: watchDevices handler threw', err);
        }
      }
    };
    this._tableFrame = typeof raf === 'function' ? raf(flush) : setTimeout(flush, 16);
  }

  /**
   * Delivery latency measured by this client (bridge receive → handed to the
   * page, corrected by the ping-estimated clock offset), in ms.
   * @returns {Promise<import('./index.js').LatencyStats>}
   */
  latency() {
    return this._api.latency(this._id);
  }
}

export class Subscription extends Emitter {
  constructor(client, channel, options) {
    super();
    this.client = client;
    this.channel = channel;
    this.options = { ...options };
    this.state = 'subscribing';
    this.position = null;
    this.ready = new Promise((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
    this.ready.catch(() => {}); // a rejection is also emitted as 'error'
  }

  _start() {
    const { mode, maxRateHz } = this.options;
    const since = this.options.since || this._since;
    this.client._api.subscribe(this.client._id, this.channel, { mode, maxRateHz, since }).then(
      (result) => this._resolve(result),
      (err) => this._reject(err),
    );
  }

  // _onState applies a transition reported by the Go core.
  _onState(p) {
    if (this.state === 'unsubscribed') return;
    this.state = p.to;
    this._emit('state', p);
  }

  // _setState is a local transition (unsubscribe, close, refusal).
  _setState(state, code = 0, reason = '') {
    if (this.state === state || this.state === 'unsubscribed') return;
    const from = this.state;
    this.state = state;
    this._emit('state', { channel: this.channel, from, to: state, state, code, reason });
  }

  _onSubscribed(p) {
    this.position = { epoch: p.epoch, offset: p.offset };
    // recovered or not, this is the position to resume from now.
    this.client._resume?.put(this.channel, this.position);
    this._emit('subscribed', p);
    if (!p.recovered) this._emit('snapshot', p.result?.snapshot || []);
  }

  _onError(err) {
    this._setState('unsubscribed', err?.code || 0, err?.message || '');
    this._reject(err);
    this._emit('error', err);
  }

  unsubscribe() {
    if (this.state === 'unsubscribed') return Promise.resolve();
    this._setState('unsubscribed', 0, 'unsubscribe');
    if (this.client._subs.get(this.channel) === this) {
      this.client._subs.delete(this.channel);
      this.client._resume?.drop(this.channel);
    }
    return this.client._api.unsubscribe(this.client._id, this.channel);
  }
}

// Resume keeps the subscriptions' positions in sessionStorage (or the given
// storage) so that a reloaded page resubscribes with `since` and gets
// `recovered: true` instead of a snapshot. One record per key:
// {owner: 'tenant/user' | '', positions: {channel: {epoch, offset}}}. Saved
// at most every 250 ms while publications flow, and at once on pagehide /
// beforeunload; cleared by close(), a 4001/4003 stop, and a connection of
// another user.
const RESUME_PREFIX = 'mqlive.resume.';
const RESUME_THROTTLE_MS = 250;

class Resume {
  static open(option) {
    if (!option) return null;
    const conf = option === true ? {} : option;
    let storage = conf.storage;
    if (!storage) {
      try {
        storage = globalThis.sessionStorage; // throws where storage is blocked
      } catch {
        storage = null;
      }
    }
    if (!storage || typeof storage.getItem !== 'function') return null;
    return new Resume(storage, RESUME_PREFIX + (conf.key || 'default'));
  }

  constructor(storage, name) {
    this.storage = storage;
    this.name = name;
    this.owner = '';
    this.positions = {};
    this.timer = null;
    try {
      const rec = JSON.parse(storage.getItem(name) || 'null');
      if (rec && typeof rec === 'object' && rec.positions && typeof rec.positions === 'object') {
        this.owner = typeof rec.owner === 'string' ? rec.owner : '';
        for (const [ch, pos] of Object.entries(rec.positions)) {
          if (pos && typeof pos.epoch === 'string' && Number.isSafeInteger(pos.offset)) {
            this.positions[ch] = { epoch: pos.epoch, offset: pos.offset };
          }
        }
      }
    } catch {
      // unreadable record: start empty
    }
    const win = globalThis.window;
    if (win && typeof win.addEventListener === 'function') {
      const flush = () => this.flush();
      win.addEventListener('pagehide', flush);
      win.addEventListener('beforeunload', flush);
      this.unlisten = () => {
        win.removeEventListener('pagehide', flush);
        win.removeEventListener('beforeunload', flush);
      };
    }
  }

  get(channel) {
    const pos = this.positions[channel];
    return pos ? { epoch: pos.epoch, offset: pos.offset } : null;
  }

  put(channel, pos) {
    this.positions[channel] = { epoch: pos.epoch, offset: pos.offset };
    this.schedule();
  }

  drop(channel) {
    if (!(channel in this.positions)) return;
    delete this.positions[channel];
    this.schedule();
  }

  // setOwner ties the positions to the connection's tenant/user: another
  // user's positions are forgotten.
  setOwner(session) {
    const owner = `${session?.tenant || ''}/${session?.user || ''}`;
    if (this.owner && this.owner !== owner) this.positions = {};
    this.owner = owner;
    this.schedule();
  }

  schedule() {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => this.flush(), RESUME_THROTTLE_MS);
  }

  flush() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    try {
      if (Object.keys(this.positions).length === 0) this.storage.removeItem(this.name);
      else this.storage.setItem(this.name, JSON.stringify({ owner: this.owner, positions: this.positions }));
    } catch {
      // quota or blocked storage: resuming is best effort
    }
  }

  clear() {
    this.positions = {};
    this.owner = '';
    this.flush();
  }

  stop() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.unlisten?.();
  }
}
