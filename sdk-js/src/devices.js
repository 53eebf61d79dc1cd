// The client's device table: the merged latest Reading of every device seen
// on a device channel (PROTOCOL.md "Channels": devices, device:<id>,
// tag:<k>=<v>). It lives in JavaScript rather than in the WebAssembly core:
// merging a Reading here touches the object JSON.parse already built, where
// the Go side paid a call across the WebAssembly boundary for every field it
// read and every field of the device it handed back (and carried the code).

/** Whether a channel carries Readings and so feeds the table. */
export function isDeviceChannel(channel) {
  return channel === 'devices' || channel.startsWith('device:') || channel.startsWith('tag:');
}

// parseTime turns an RFC 3339 time into Unix milliseconds, 0 when absent or
// unparsable.
function parseTime(s) {
  if (typeof s !== 'string' || s === '') return 0;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : 0;
}

function empty(id) {
  return { id, family: '', online: null, stale: false, ts: 0, receivedAt: 0, updates: 0, metrics: {}, metricTs: {}, attrs: {}, tags: {} };
}

function mergeStrings(dst, src) {
  if (!src || typeof src !== 'object' || Array.isArray(src)) return dst;
  let out = dst;
  for (const k of Object.keys(src)) {
    const v = src[k];
    if (typeof v !== 'string' || out[k] === v) continue;
    if (out === dst) out = { ...dst };
    out[k] = v;
  }
  return out;
}

/**
 * merge returns a new device: old with Reading r folded in (READINGS.md: a
 * Reading carries only what the message said, so what it leaves out stays).
 * Metrics merge per key and the newest ts wins, so a Reading that arrives
 * late does not overwrite newer values; online and stale follow the last
 * Reading that carried them. old itself is never changed, so a page may keep
 * the object it rendered and compare it with the next one.
 */
export function merge(old, r) {
  const d = { ...old, updates: old.updates + 1 };
  if (typeof r.family === 'string' && r.family !== '') d.family = r.family;
  const recv = parseTime(r.received_at);
  const ts = parseTime(r.ts) || recv;
  if (ts > d.ts) d.ts = ts;
  if (recv > d.receivedAt) d.receivedAt = recv;
  if (typeof r.online === 'boolean') d.online = r.online;
  if (typeof r.stale === 'boolean') d.stale = r.stale;
  const m = r.metrics;
  if (m && typeof m === 'object' && !Array.isArray(m)) {
    for (const k of Object.keys(m)) {
      const v = m[k];
      if (typeof v !== 'number' && typeof v !== 'boolean') continue;
      const seen = d.metricTs[k];
      if (seen !== undefined && ts !== 0 && seen > ts) continue; // an older Reading arrived late
      if (d.metrics === old.metrics) {
        d.metrics = { ...old.metrics };
        d.metricTs = { ...old.metricTs };
      }
      d.metrics[k] = v;
      d.metricTs[k] = ts;
    }
  }
  d.attrs = mergeStrings(d.attrs, r.attrs);
  d.tags = mergeStrings(d.tags, r.tags);
  return d;
}

function deviceID(r) {
  return r && typeof r === 'object' && !Array.isArray(r) && typeof r.device === 'string' && r.device !== '' ? r.device : '';
}

/** The merged latest state per device, keyed by id. */
export class DeviceTable {
  constructor() {
    this._m = new Map();
  }

  get size() {
    return this._m.size;
  }

  get(id) {
    return this._m.get(id) || null;
  }

  /** Every device, sorted by id. */
  all() {
    return [...this._m.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Merges one Reading; returns the device it changed, or null when r is not a Reading. */
  apply(r) {
    const id = deviceID(r);
    if (!id) return null;
    const d = merge(this._m.get(id) || empty(id), r);
    this._m.set(id, d);
    return d;
  }

  /**
   * Applies a subscribe result's snapshot (an array of Readings): the
   * devices it names are replaced, not merged, and with all (the "devices"
   * channel covers the whole tenant) every device it does not name is
   * removed. Returns the devices set and the ids removed, both sorted.
   */
  replace(snapshot, all) {
    const fresh = new Map();
    if (Array.isArray(snapshot)) {
      for (const r of snapshot) {
        const id = deviceID(r);
        if (id) fresh.set(id, merge(fresh.get(id) || empty(id), r));
      }
    }
    const removed = [];
    if (all) {
      for (const id of this._m.keys()) if (!fresh.has(id)) removed.push(id);
      for (const id of removed) this._m.delete(id);
      removed.sort();
    }
    const set = [];
    for (const [id, d] of fresh) {
      const old = this._m.get(id);
      if (old) d.updates += old.updates;
      this._m.set(id, d);
      set.push(d);
    }
    set.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { set, removed };
  }
}
