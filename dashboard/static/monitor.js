// The Monitor view: what an integrator opens to see why a device does not
// show up. The bridge publishes on the admin-only `monitor` channel every
// raw MQTT message the tenant's sources received (topic, payload, the family
// that took it, the verdict decoded / ignored / rejected with a reason) and
// every dashboard command (sent / refused / failed). The bridge only builds
// these events while someone subscribes, so the page subscribes when the
// view is first opened, not before, and then keeps watching until the page
// closes: commands issued from the fleet view's detail panel show up here.

import { el, clockTime, announce } from './dom.js';

/** Events kept (and, while paused, held) at most: the table stays fast. */
export const MONITOR_MAX = 500;
const PREVIEW_CHARS = 160;
const FLUSH_MS = 100;
const ANNOUNCE_EVERY_MS = 10000;
const HEX_MAX = 4096;

/** Shapes one monitor publication into what a row needs; null if it is neither kind. */
export function normalize(ev, seq) {
  if (!ev || typeof ev !== 'object') return null;
  if (typeof ev.command === 'string') {
    const args = ev.args === undefined || ev.args === null ? '' : JSON.stringify(ev.args);
    let preview = `${ev.command}${args ? ` ${args}` : ''} → ${ev.device ?? '?'} by ${ev.user ?? '?'}`;
    if (ev.payload) preview += ` · ${ev.payload}`;
    if (ev.error) preview += ` · ${ev.error}`;
    return {
      seq, ev, kind: 'command', time: Date.parse(ev.issued_at), topic: ev.topic || '', family: ev.family || '',
      verdict: ev.verdict || '', reason: '', readings: null, preview: clip(preview), binary: false, truncated: false,
      hay: [ev.topic, ev.device, ev.command, ev.user, ev.family].filter(Boolean).join(' ').toLowerCase(),
    };
  }
  if (typeof ev.topic !== 'string') return null;
  const binary = typeof ev.payload_base64 === 'string';
  const size = Number.isFinite(ev.size) ? ev.size : 0;
  let preview;
  if (size === 0) preview = '(empty)';
  else if (binary) preview = `binary ${size} bytes`;
  else preview = clip(String(ev.payload ?? '').replace(/\s+/g, ' ').trim()) || '(blank)';
  return {
    seq, ev, kind: 'message', time: Date.parse(ev.received_at), topic: ev.topic, family: ev.family || '',
    verdict: ev.verdict || '', reason: ev.reason || '', readings: Number.isFinite(ev.readings) ? ev.readings : null,
    preview, binary, truncated: Boolean(ev.truncated),
    hay: `${ev.topic} ${ev.family || ''}`.toLowerCase(),
  };
}

function clip(s) {
  return s.length > PREVIEW_CHARS ? `${s.slice(0, PREVIEW_CHARS)}…` : s;
}

/** Whether an entry passes the text filter (every word a substring) and the verdict select. */
export function matchesFilter(entry, words, verdict) {
  if (verdict) {
    if (verdict === 'command') {
      if (entry.kind !== 'command') return false;
    } else if (verdict.startsWith('command:')) {
      if (entry.kind !== 'command' || entry.verdict !== verdict.slice(8)) return false;
    } else if (entry.kind !== 'message' || entry.verdict !== verdict) {
      return false;
    }
  }
  return words.every((w) => entry.hay.includes(w));
}

function decodeBase64(s) {
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return new Uint8Array(0);
  }
}

/** A classic hex dump: offset, 16 bytes in hex, the printable ASCII. */
function hexDump(bytes) {
  const lines = [];
  const n = Math.min(bytes.length, HEX_MAX);
  for (let off = 0; off < n; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, n));
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(4, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

const PRETTY_MAX_DEPTH = 8;

function depth(v, limit) {
  if (limit < 0 || v === null || typeof v !== 'object') return 0;
  let d = 0;
  for (const x of Object.values(v)) d = Math.max(d, depth(x, limit - 1));
  return d + 1;
}

/**
 * The payload as text worth reading: indented JSON when it parses as a
 * shallow object or array; as it came otherwise (a 10,000-deep nesting,
 * rejected as too_deep, is unreadable indented).
 */
function prettyText(s) {
  const t = s.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      const v = JSON.parse(t);
      if (depth(v, PRETTY_MAX_DEPTH) <= PRETTY_MAX_DEPTH) return { text: JSON.stringify(v, null, 2), json: true };
    } catch {
      // Not JSON (or cut off): show it as it came.
    }
  }
  return { text: s, json: false };
}

export class Monitor {
  /**
   * @param {object} o
   * @param {import('./sdk/index.js').Client} o.client
   * @param {() => void} o.onDenied   the token may not subscribe monitor (4003)
   * @param {() => void} o.onAllowed  a subscribe succeeded
   */
  constructor({ client, onDenied, onAllowed }) {
    const $ = (id) => document.getElementById(id);
    this.els = {
      view: $('monitor-view'), rows: $('mon-rows'), empty: $('mon-empty'), count: $('mon-count'),
      filter: $('mon-filter'), verdict: $('mon-verdict'), pause: $('mon-pause'), clear: $('mon-clear'),
      status: $('mon-status'), live: $('mon-live'),
    };
    this.client = client;
    this.onDenied = onDenied;
    this.onAllowed = onAllowed;
    this.sub = null;
    this.opened = false; // the view was opened once: keep watching
    this.visible = false;
    this.paused = false;
    this.entries = []; // oldest first, at most MONITOR_MAX, each with its rows
    this.incoming = []; // received, not yet rendered
    this.held = []; // received while paused
    this.heldDropped = 0;
    this.seq = 0;
    this.words = [];
    this.verdict = '';
    this.flushTimer = 0;
    this.rejectedSinceAnnounce = 0;
    this.lastAnnounce = 0;
    this.lagged = false;
    this.problem = '';

    this.els.filter.addEventListener('input', () => this.applyFilter());
    this.els.verdict.addEventListener('change', () => this.applyFilter());
    this.els.pause.addEventListener('click', () => this.setPaused(!this.paused));
    this.els.clear.addEventListener('click', () => this.clear());
    this.els.rows.addEventListener('click', (e) => this.onRowClick(e));
  }

  /** Subscribes the monitor channel once; the SDK replays it after reconnects. */
  subscribe() {
    if (this.sub) return this.sub;
    const sub = this.client.subscribe('monitor');
    this.sub = sub;
    sub.on('publication', (p) => this.receive(p.data));
    sub.on('lagged', () => {
      this.lagged = true;
      this.renderStatus();
    });
    sub.on('subscribed', () => {
      this.problem = '';
      this.renderStatus();
    });
    sub.on('error', (err) => {
      if (this.sub === sub) this.sub = null;
      if (err?.code === 4003) {
        this.problem = 'This token may not watch the monitor channel (it needs admin).';
        this.renderStatus();
        this.onDenied?.(err);
        return;
      }
      this.problem = `Cannot watch the monitor: ${err?.reason || err?.message || err}. Open the Monitor tab again to retry.`;
      this.renderStatus();
      announce(this.els.live, this.problem);
    });
    sub.ready.then(() => this.onAllowed?.(), () => {});
    return sub;
  }

  /**
   * Finds out whether the token may subscribe monitor without keeping the
   * bridge busy: subscribe, and unsubscribe again unless the view was
   * opened meanwhile.
   */
  probe() {
    if (this.sub) return;
    const sub = this.subscribe();
    sub.ready.then(() => {
      if (!this.opened && this.sub === sub) {
        this.sub = null;
        sub.unsubscribe().catch(() => {});
      }
    }, () => {});
  }

  show() {
    this.visible = true;
    this.opened = true;
    this.subscribe();
    this.renderStatus();
    this.flush();
  }

  hide() {
    this.visible = false;
  }

  receive(data) {
    if (!this.opened) return; // a probe's stray publication
    const entry = normalize(data, ++this.seq);
    if (!entry) return;
    if (this.paused) {
      this.held.push(entry);
      if (this.held.length > MONITOR_MAX) {
        this.held.shift();
        this.heldDropped++;
      }
      this.scheduleStatus();
      return;
    }
    this.incoming.push(entry);
    if (this.incoming.length > MONITOR_MAX) this.incoming.shift();
    this.scheduleFlush();
  }

  scheduleFlush() {
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  scheduleStatus() {
    if (!this.flushTimer) this.flushTimer = setTimeout(() => { this.flushTimer = 0; this.renderStatus(); }, FLUSH_MS);
  }

  /** Renders what arrived since the last flush in one DOM update, newest on top, and trims to MONITOR_MAX. */
  flush() {
    clearTimeout(this.flushTimer);
    this.flushTimer = 0;
    if (this.incoming.length) {
      const batch = this.incoming;
      this.incoming = [];
      const frag = document.createDocumentFragment();
      for (let i = batch.length - 1; i >= 0; i--) {
        const entry = batch[i];
        this.buildRow(entry);
        frag.append(entry.tr, entry.detail);
        if (entry.kind === 'message' && entry.verdict === 'rejected') this.rejectedSinceAnnounce++;
      }
      this.els.rows.prepend(frag);
      this.entries.push(...batch);
      const excess = this.entries.length - MONITOR_MAX;
      if (excess > 0) {
        for (const old of this.entries.splice(0, excess)) {
          old.tr.remove();
          old.detail.remove();
        }
      }
    }
    this.renderStatus();
    this.maybeAnnounce();
  }

  maybeAnnounce() {
    if (!this.visible || this.paused || !this.rejectedSinceAnnounce) return;
    const now = Date.now();
    if (now - this.lastAnnounce < ANNOUNCE_EVERY_MS) return;
    const n = this.rejectedSinceAnnounce;
    this.rejectedSinceAnnounce = 0;
    this.lastAnnounce = now;
    announce(this.els.live, `${n} new rejected message${n === 1 ? '' : 's'}`);
  }

  buildRow(entry) {
    const detailId = `mon-d-${entry.seq}`;
    const what = entry.kind === 'command' ? `command ${entry.ev.command} to ${entry.ev.device}` : `message on ${entry.topic}`;
    const btn = el('button', {
      class: 'mon-expand', type: 'button', 'aria-expanded': 'false', 'aria-controls': detailId,
      'aria-label': `Details of ${what}`, text: '▸',
    });
    const verdict = el('td', { class: 'mon-verdict' });
    if (entry.kind === 'command') verdict.append(el('span', { class: 'kind', text: 'command' }), ' ');
    verdict.append(el('span', { class: 'verdict', 'data-verdict': entry.verdict, text: entry.verdict || '?' }));
    if (entry.reason) verdict.append(' ', el('span', { class: 'reason', text: entry.reason }));
    const payload = el('td', { class: 'mon-preview' },
      el('span', { class: entry.binary ? 'preview binary' : 'preview', text: entry.preview }));
    if (entry.truncated) payload.append(' ', el('span', { class: 'tag', text: 'truncated', title: `first 4 KiB of ${entry.ev.size} bytes` }));
    const iso = Number.isFinite(entry.time) ? new Date(entry.time).toISOString() : '';
    const tr = el('tr', { class: `mon-row mon-${entry.kind}` },
      el('td', { class: 'mon-toggle' }, btn),
      el('td', { class: 'mon-time' }, el('time', { datetime: iso, text: clockTime(entry.time) })),
      el('td', { class: 'mon-topic', title: entry.topic, text: entry.topic || '—' }),
      el('td', { class: 'mon-family', text: entry.family || '—' }),
      verdict,
      el('td', { class: 'num', text: entry.readings === null ? '—' : String(entry.readings) }),
      payload);
    tr.dataset.kind = entry.kind;
    tr.dataset.verdict = entry.verdict;
    tr.dataset.seq = String(entry.seq);
    entry.tr = tr;
    entry.btn = btn;
    entry.detail = el('tr', { class: 'mon-detail', id: detailId, hidden: '' });
    entry.expanded = false;
    entry.shown = matchesFilter(entry, this.words, this.verdict);
    tr.hidden = !entry.shown;
  }

  onRowClick(e) {
    const tr = e.target.closest('tr.mon-row');
    if (!tr) return;
    // A drag that selects text (to copy a topic) is not a click on the row.
    if (!e.target.closest('button') && !window.getSelection()?.isCollapsed) return;
    const entry = this.entries.find((x) => x.tr === tr);
    if (entry) this.toggle(entry);
  }

  toggle(entry) {
    entry.expanded = !entry.expanded;
    entry.btn.setAttribute('aria-expanded', String(entry.expanded));
    entry.btn.textContent = entry.expanded ? '▾' : '▸';
    entry.tr.classList.toggle('expanded', entry.expanded);
    if (entry.expanded && !entry.detail.firstChild) entry.detail.append(this.detailCell(entry));
    entry.detail.hidden = !(entry.expanded && entry.shown);
  }

  detailCell(entry) {
    const ev = entry.ev;
    const facts = el('dl', { class: 'mon-facts' });
    const fact = (k, v) => {
      if (v === undefined || v === null || v === '') return;
      facts.append(el('dt', { text: k }), el('dd', { text: String(v) }));
    };
    const td = el('td', { colspan: '7' });
    if (entry.kind === 'command') {
      fact('issued at', ev.issued_at);
      fact('command', ev.command);
      if (ev.args !== undefined) fact('args', JSON.stringify(ev.args));
      fact('device', ev.device);
      fact('user', ev.user);
      fact('family', ev.family);
      fact('topic', ev.topic);
      fact('verdict', ev.verdict);
      td.append(facts);
      if (ev.error) td.append(el('p', { class: 'mon-label', text: 'Error' }), el('pre', { class: 'mon-error', text: ev.error }));
      if (ev.payload) {
        const { text } = prettyText(ev.payload);
        td.append(el('p', { class: 'mon-label', text: 'Payload published' }), el('pre', { class: 'mon-payload', text }));
      }
      return td;
    }
    fact('received at', ev.received_at);
    fact('topic', ev.topic);
    fact('family', ev.family);
    fact('verdict', ev.verdict);
    fact('reason', ev.reason);
    fact('readings', ev.readings);
    fact('size', `${ev.size ?? 0} bytes${ev.truncated ? ' (shown: the first 4 KiB)' : ''}`);
    fact('retained', ev.retained ? 'yes' : 'no');
    td.append(facts);
    if (ev.error) td.append(el('p', { class: 'mon-label', text: 'Error' }), el('pre', { class: 'mon-error', text: ev.error }));
    if (entry.binary) {
      const bytes = decodeBase64(ev.payload_base64);
      td.append(el('p', { class: 'mon-label', text: `Payload: not UTF-8, ${bytes.length} bytes shown as hex` }),
        el('pre', { class: 'mon-payload', text: hexDump(bytes) }));
    } else if (typeof ev.payload === 'string') {
      const { text, json } = prettyText(ev.payload);
      td.append(el('p', { class: 'mon-label', text: json ? 'Payload (JSON, indented here)' : 'Payload' }),
        el('pre', { class: 'mon-payload', text }));
    }
    return td;
  }

  applyFilter() {
    this.words = this.els.filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    this.verdict = this.els.verdict.value;
    for (const entry of this.entries) {
      entry.shown = matchesFilter(entry, this.words, this.verdict);
      entry.tr.hidden = !entry.shown;
      entry.detail.hidden = !(entry.expanded && entry.shown);
    }
    this.renderStatus();
  }

  setPaused(paused) {
    if (paused === this.paused) return;
    if (paused) this.flush(); // what arrived before the click is shown, not held
    this.paused = paused;
    this.els.pause.setAttribute('aria-pressed', String(paused));
    this.els.pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) {
      const held = this.held.length;
      const dropped = this.heldDropped;
      this.incoming.push(...this.held);
      if (this.incoming.length > MONITOR_MAX) this.incoming.splice(0, this.incoming.length - MONITOR_MAX);
      this.held = [];
      this.heldDropped = 0;
      this.flush();
      announce(this.els.live, `Resumed; ${held} held event${held === 1 ? '' : 's'} added${dropped ? `, ${dropped} older ones dropped` : ''}.`);
    } else {
      this.renderStatus();
      announce(this.els.live, `Paused. New events are held, up to ${MONITOR_MAX}.`);
    }
  }

  clear() {
    for (const entry of this.entries) {
      entry.tr.remove();
      entry.detail.remove();
    }
    this.entries = [];
    this.incoming = [];
    this.held = [];
    this.heldDropped = 0;
    this.lagged = false;
    this.rejectedSinceAnnounce = 0;
    this.renderStatus();
    announce(this.els.live, 'Monitor cleared.');
  }

  renderStatus() {
    const n = this.entries.length;
    let shown = 0;
    for (const entry of this.entries) if (entry.shown) shown++;
    this.els.count.textContent = n ? (shown === n ? `(${n})` : `(${shown} of ${n})`) : '';
    let state;
    let text;
    if (this.problem) {
      state = 'error';
      text = this.problem;
    } else if (!this.sub) {
      state = 'idle';
      text = 'Not watching.';
    } else if (this.paused) {
      state = 'paused';
      const h = this.held.length;
      text = `Paused · ${h} new event${h === 1 ? '' : 's'} held${this.heldDropped ? `, ${this.heldDropped} older dropped` : ''} (at most ${MONITOR_MAX})`;
    } else {
      state = 'live';
      text = `Live · newest first · keeps the last ${MONITOR_MAX}`;
    }
    if (this.lagged) text += ' · some events were skipped while the browser fell behind';
    const st = this.els.status;
    st.dataset.state = state;
    if (st.textContent !== text) st.textContent = text;
    this.els.empty.hidden = shown > 0;
    if (n > 0 && shown === 0) this.els.empty.textContent = 'No event matches the filter.';
    else if (n === 0) this.els.empty.textContent = this.sub ? 'Waiting for messages…' : 'Not watching the monitor.';
  }
}
