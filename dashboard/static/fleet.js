// The fleet view: every device of the tenant in one virtualised grid. Only
// the rows on screen exist in the DOM (a pool reused while scrolling), the
// SDK's device table is the one source of the data (client.device(id)),
// and its changes arrive batched once per animation frame
// (client.watchDevices), so 10,000 devices at thousands of Readings per
// second cost one small render per frame. Filter and sort run over plain
// arrays of ids.

import { el } from './dom.js';
import { formatValue, label, age, lastSeen, statusOf, STATUS_TEXT, orderedMetrics } from './format.js';

const OVERSCAN = 6;
const ROW_METRICS = 3;
/** How often a sort by a changing value (last update, status) is redone while Readings flow. */
const RESORT_MS = 1000;
const STATUS_RANK = { offline: 0, stale: 1, unknown: 2, online: 3 };

const byId = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

export class Fleet {
  /**
   * @param {object} o
   * @param {import('./sdk/index.js').Client} o.client
   * @param {(id: string) => void} o.onOpen opens a device's detail panel
   */
  constructor({ client, onOpen }) {
    const $ = (id) => document.getElementById(id);
    this.els = {
      grid: $('fleet-grid'), spacer: $('fleet-spacer'), filter: $('filter'), sort: $('sort'),
      count: $('count'), empty: $('empty'), live: $('fleet-live'),
    };
    this.client = client;
    this.onOpen = onOpen;
    /** id -> { dev, hay }: the filter's lower-case text, rebuilt when the device object changes. */
    this.hay = new Map();
    /** The filtered, sorted ids: what the grid shows. */
    this.order = [];
    this.index = new Map(); // id -> position in order
    this.words = [];
    this.sortKey = this.els.sort.value || 'name';
    this.active = 0;
    this.selected = null;
    this.rowH = 48;
    this.pool = [];
    this.sortDirty = false;
    this.lastSort = 0;
    this.frame = 0;
    this.timings = { filter: 0, sort: 0 };

    this.els.filter.addEventListener('input', () => this.setFilter(this.els.filter.value));
    this.els.sort.addEventListener('change', () => this.setSort(this.els.sort.value));
    this.els.grid.addEventListener('scroll', () => this.schedule());
    this.els.grid.addEventListener('keydown', (e) => this.onKey(e));
    this.els.grid.addEventListener('focus', () => this.syncActive());
    window.addEventListener('resize', () => {
      // A new row height (phone width ↔ wider) moves every row: refill them all.
      if (this.measure()) this.render(true);
      else this.schedule();
    });
    this.measure();
    this.unwatch = client.watchDevices((batch) => this.apply(batch));
    for (const d of client.devices()) this.hay.set(d.id, null);
    this.refresh();
  }

  /** The row height comes from CSS (--row-h): taller rows at phone width. */
  measure() {
    const h = parseFloat(getComputedStyle(this.els.grid).getPropertyValue('--row-h'));
    if (!Number.isFinite(h) || h <= 0 || h === this.rowH) return false;
    this.rowH = h;
    return true;
  }

  haystack(id) {
    const dev = this.client.device(id);
    if (!dev) return '';
    let h = this.hay.get(id);
    if (h && h.dev === dev) return h.text;
    // The SDK makes a new device object per merge but keeps attrs and tags
    // when they did not change, and metric names are only ever added: so
    // a new Reading of the same metrics reuses the text.
    const status = statusOf(dev);
    const metricCount = Object.keys(dev.metrics).length;
    if (!h || h.attrs !== dev.attrs || h.tags !== dev.tags || h.family !== dev.family || h.status !== status || h.metricCount !== metricCount) {
      let text = `${dev.id} ${dev.family} ${status}`;
      for (const k in dev.metrics) text += ` ${k}`;
      for (const k in dev.tags) text += ` ${k}=${dev.tags[k]}`;
      for (const k in dev.attrs) text += ` ${dev.attrs[k]}`;
      h = { text: text.toLowerCase(), attrs: dev.attrs, tags: dev.tags, family: dev.family, status, metricCount };
    }
    h.dev = dev;
    this.hay.set(id, h);
    return h.text;
  }

  matches(id) {
    if (!this.words.length) return true;
    const text = this.haystack(id);
    for (const w of this.words) if (!text.includes(w)) return false;
    return true;
  }

  /**
   * The sort key of every id, computed once per sort (not per comparison):
   * a number or string, ties broken by id.
   */
  sortKeys(ids) {
    const c = this.client;
    switch (this.sortKey) {
      case 'updated':
        return ids.map((id) => -lastSeen(c.device(id)));
      case 'status':
        return ids.map((id) => STATUS_RANK[statusOf(c.device(id))]);
      case 'family':
        return ids.map((id) => c.device(id).family || '');
      default:
        return null;
    }
  }

  sorted(ids) {
    const keys = this.sortKeys(ids);
    if (!keys) return ids.sort(byId);
    const idx = ids.map((_, i) => i);
    idx.sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : byId(ids[a], ids[b])));
    return idx.map((i) => ids[i]);
  }

  /** Whether the order can change when a device's values change (not only when devices come and go). */
  valueSorted() {
    return this.sortKey === 'updated' || this.sortKey === 'status';
  }

  /** Recomputes the filtered, sorted order and renders; records how long filter and sort took. */
  refresh() {
    const t0 = performance.now();
    const ids = [];
    for (const id of this.hay.keys()) if (this.matches(id)) ids.push(id);
    const t1 = performance.now();
    const order = this.sorted(ids);
    const t2 = performance.now();
    this.timings = { filter: t1 - t0, sort: t2 - t1 };
    const activeId = this.order[this.active];
    this.order = order;
    this.index = new Map(order.map((id, i) => [id, i]));
    if (activeId !== undefined && this.index.has(activeId)) this.active = this.index.get(activeId);
    this.active = Math.min(this.active, Math.max(0, ids.length - 1));
    this.sortDirty = false;
    this.lastSort = t2;
    this.updateCount();
    this.render(true);
  }

  setFilter(text) {
    this.words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
    this.active = 0;
    this.els.grid.scrollTop = 0;
    this.refresh();
  }

  setSort(key) {
    this.sortKey = key;
    if (this.els.sort.value !== key) this.els.sort.value = key;
    this.refresh();
  }

  /** One batch of table changes (once per frame, from the SDK). */
  apply({ changed, removed }) {
    let reorder = removed.length > 0;
    for (const id of removed) this.hay.delete(id);
    const visible = new Set();
    for (const id of changed) {
      if (!this.hay.has(id)) {
        this.hay.set(id, null);
        reorder = true;
        continue;
      }
      if (this.words.length && this.matches(id) !== this.index.has(id)) reorder = true;
      visible.add(id);
    }
    if (this.valueSorted() && changed.length) this.sortDirty = true;
    if (!reorder && this.sortDirty && performance.now() - this.lastSort >= RESORT_MS) reorder = true;
    if (reorder) {
      this.refresh();
      return;
    }
    for (const row of this.pool) {
      if (!row.hidden && visible.has(row.dataset.device)) this.fill(row, Number(row.dataset.index));
    }
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render(false);
    });
  }

  /** Renders the rows in view (plus a few either side) from the pool. */
  render(all) {
    const g = this.els.grid;
    const n = this.order.length;
    // Reads first, writes after: no forced layout in between. Row i sits at
    // spacer.offsetTop + i * rowH, under a sticky header as tall as that
    // offset: rows [scrollTop, scrollTop + view) are on screen.
    const top = g.scrollTop;
    const view = g.clientHeight - this.els.spacer.offsetTop;
    const height = `${n * this.rowH}px`;
    if (this.els.spacer.style.height !== height) this.els.spacer.style.height = height;
    if (this.rowCount !== n) {
      this.rowCount = n;
      g.setAttribute('aria-rowcount', String(n + 1));
    }
    const first = Math.max(0, Math.floor(top / this.rowH) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + view) / this.rowH) + OVERSCAN);
    const want = last - first;
    // Index i always lives in pool[i % size]: scrolling by one row refills
    // one row, not all of them. A grown pool remaps once.
    let remap = all;
    while (this.pool.length < want) {
      this.pool.push(this.newRow(this.pool.length));
      remap = true;
    }
    const size = this.pool.length;
    const used = new Set();
    for (let i = first; i < last; i++) {
      const row = this.pool[i % size];
      used.add(row);
      if (row.hidden) row.hidden = false;
      if (remap || row.dataset.device !== this.order[i] || Number(row.dataset.index) !== i) this.fill(row, i);
    }
    for (const row of this.pool) if (!used.has(row) && !row.hidden) row.hidden = true;
    this.syncActive();
  }

  newRow(k) {
    const row = el('div', { class: 'row', role: 'row', id: `fleet-row-${k}` });
    row.append(
      el('span', { class: 'c-name', role: 'gridcell' }),
      el('span', { class: 'c-family', role: 'gridcell' }),
      el('span', { class: 'c-status', role: 'gridcell' }, el('span', { class: 'badge' })),
      el('span', { class: 'c-metrics', role: 'gridcell' }),
      el('span', { class: 'c-age', role: 'gridcell' }),
    );
    row.addEventListener('click', () => {
      const i = Number(row.dataset.index);
      this.active = i;
      this.syncActive();
      this.open(i);
    });
    this.els.spacer.append(row);
    return row;
  }

  fill(row, i) {
    const id = this.order[i];
    const d = this.client.device(id);
    if (!d) return;
    row.dataset.device = id;
    row.dataset.index = String(i);
    row.setAttribute('aria-rowindex', String(i + 2)); // the header is row 1
    row.style.transform = `translateY(${i * this.rowH}px)`;
    const [name, family, status, metrics, ageCell] = row.children;
    name.textContent = d.id;
    family.textContent = d.family || '';
    const st = statusOf(d);
    const badge = status.firstChild;
    badge.className = `badge ${st}`;
    badge.textContent = STATUS_TEXT[st];
    row.dataset.status = st;
    row.dataset.updated = String(lastSeen(d));
    const parts = [];
    for (const m of orderedMetrics(d)) {
      if (parts.length === ROW_METRICS) break;
      parts.push(`${label(m)} ${formatValue(m, d.metrics[m])}`);
    }
    metrics.textContent = parts.join(' · ');
    ageCell.dataset.ts = String(lastSeen(d));
    ageCell.textContent = age(lastSeen(d));
    if (id === this.selected) row.setAttribute('aria-selected', 'true');
    else row.removeAttribute('aria-selected');
  }

  /** Refreshes the "updated … ago" cells in view (once a second). */
  tick() {
    const now = Date.now();
    for (const row of this.pool) {
      if (row.hidden) continue;
      const cell = row.lastChild;
      const text = age(Number(cell.dataset.ts), now);
      if (cell.textContent !== text) cell.textContent = text;
    }
  }

  updateCount() {
    const total = this.hay.size;
    const shown = this.order.length;
    this.els.count.textContent = total ? (shown === total ? `(${total})` : `(${shown} of ${total})`) : '';
    this.els.empty.hidden = total > 0 && shown > 0;
    this.els.empty.textContent = total === 0 ? 'Waiting for devices…' : 'No device matches the filter.';
  }

  /** Keeps the grid's aria-activedescendant on the active row, and the row in view. */
  syncActive() {
    const g = this.els.grid;
    let activeRow = null;
    for (const row of this.pool) {
      const on = !row.hidden && Number(row.dataset.index) === this.active;
      row.classList.toggle('active', on);
      if (on) activeRow = row;
    }
    if (activeRow) g.setAttribute('aria-activedescendant', activeRow.id);
    else g.removeAttribute('aria-activedescendant');
  }

  scrollToActive() {
    const g = this.els.grid;
    const view = g.clientHeight - this.els.spacer.offsetTop;
    const top = this.active * this.rowH;
    if (top < g.scrollTop) g.scrollTop = top;
    else if (top + this.rowH > g.scrollTop + view) g.scrollTop = top + this.rowH - view;
    this.render(false);
  }

  onKey(e) {
    const n = this.order.length;
    if (!n) return;
    const page = Math.max(1, Math.floor((this.els.grid.clientHeight - this.els.spacer.offsetTop) / this.rowH) - 1);
    let next = this.active;
    switch (e.key) {
      case 'ArrowDown': next++; break;
      case 'ArrowUp': next--; break;
      case 'PageDown': next += page; break;
      case 'PageUp': next -= page; break;
      case 'Home': next = 0; break;
      case 'End': next = n - 1; break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.open(this.active);
        return;
      default:
        return;
    }
    e.preventDefault();
    this.active = Math.max(0, Math.min(n - 1, next));
    this.scrollToActive();
  }

  open(i) {
    const id = this.order[i];
    if (id !== undefined) this.onOpen(id);
  }

  /** Marks the device whose detail is open (aria-selected), or none. */
  select(id) {
    this.selected = id;
    for (const row of this.pool) {
      if (!row.hidden && row.dataset.device === id) row.setAttribute('aria-selected', 'true');
      else row.removeAttribute('aria-selected');
    }
  }

  /** Moves focus back to the grid on the given device (after the detail closes). */
  focusDevice(id) {
    if (this.index.has(id)) {
      this.active = this.index.get(id);
      this.scrollToActive();
    }
    this.els.grid.focus();
  }
}
