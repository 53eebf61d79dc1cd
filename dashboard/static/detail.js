// The device detail panel: the device's latest state from the SDK's device
// table, a uPlot chart per numeric metric filled from `history` of its
// device:<id> channel when the panel opens and then live from a stream
// subscription that resumes from the history's position (so nothing is
// missed or doubled between the two), a break in the lines wherever the SDK
// reports a gap, and the commands the bridge lists for it.

import { el } from './dom.js';
import { formatValue, label, age, lastSeen, statusOf, STATUS_TEXT, orderedMetrics, unitOf } from './format.js';
import { loadUPlot, makeChart, Series } from './charts.js';
import { CommandPanel } from './commands.js';

const MAX_CHARTS = 6;

function readingTime(r) {
  const t = Date.parse(r?.ts || r?.received_at || '');
  return Number.isFinite(t) ? t / 1000 : Date.now() / 1000;
}

export class Detail {
  /**
   * @param {object} o
   * @param {import('./sdk/index.js').Client} o.client
   * @param {(id: string) => string} o.channelOf the SDK's deviceChannel (ids are percent-encoded in channel names)
   * @param {(id: string | null) => void} o.onClose called with the id that was open
   */
  constructor({ client, channelOf, onClose }) {
    const $ = (id) => document.getElementById(id);
    this.els = {
      panel: $('detail'), title: $('detail-title'), meta: $('detail-meta'), metrics: $('detail-metrics'),
      facts: $('detail-facts'), close: $('detail-close'), charts: $('detail-charts'), chartStatus: $('detail-chart-status'),
    };
    this.client = client;
    this.channelOf = channelOf;
    this.onClose = onClose;
    this.commands = new CommandPanel({ client });
    this.id = null;
    this.sub = null;
    /** metric -> Series */
    this.series = new Map();
    /** metric -> { chart, box } */
    this.charts = new Map();
    this.gaps = 0;
    this.frame = 0;
    this.UPlot = null;
    this.els.close.addEventListener('click', () => this.close());
    this.els.panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.close();
      }
    });
    window.addEventListener('resize', () => this.resize());
  }

  get open() {
    return this.id !== null;
  }

  async show(id) {
    if (this.id === id) {
      this.els.close.focus();
      return;
    }
    this.stopLive();
    this.id = id;
    this.series = new Map();
    this.gaps = 0;
    for (const { chart } of this.charts.values()) chart.destroy();
    this.charts.clear();
    this.els.charts.replaceChildren();
    this.els.charts.dataset.state = 'loading';
    this.els.chartStatus.textContent = 'Loading history…';
    this.els.panel.hidden = false;
    document.body.classList.add('detail-open');
    this.render();
    this.els.close.focus();
    this.commands.load(id);
    this.UPlot = await loadUPlot();
    if (this.id !== id) return;
    await this.fill(id);
  }

  /** History first, then live from exactly where the history ended. */
  async fill(id) {
    const channel = this.channelOf(id);
    let since;
    try {
      const h = await this.client.history(channel, { limit: 1000 });
      if (this.id !== id) return;
      for (const p of h.publications) this.addReading(p.data);
      if (h.epoch) since = { epoch: h.epoch, offset: h.offset };
      this.els.chartStatus.textContent = `${h.publications.length} Readings from history${h.complete ? '' : ' (older ones expired)'}, then live.`;
    } catch (err) {
      if (this.id !== id) return;
      this.els.chartStatus.textContent = `No history (${err?.message || err}); live only.`;
    }
    const sub = this.client.subscribe(channel, { mode: 'stream', since });
    this.sub = sub;
    sub.on('publication', (p) => {
      if (this.id === id) this.addReading(p.data);
    });
    sub.on('gap', () => {
      if (this.id !== id) return;
      this.gaps++;
      for (const s of this.series.values()) s.gap();
      this.els.charts.dataset.gaps = String(this.gaps);
      this.schedule();
    });
    sub.on('error', (err) => {
      if (this.id === id) this.els.chartStatus.textContent = `Live updates refused: ${err?.message || err}`;
    });
    this.els.charts.dataset.state = this.UPlot ? 'ready' : 'unavailable';
    if (!this.UPlot) this.els.chartStatus.textContent = 'Charts need uPlot: run npm ci in sdk-js, then make wasm.';
    this.schedule();
  }

  addReading(r) {
    if (!r || typeof r.metrics !== 'object' || r.metrics === null) return;
    const t = readingTime(r);
    for (const [m, v] of Object.entries(r.metrics)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      let s = this.series.get(m);
      if (!s) this.series.set(m, (s = new Series()));
      s.add(t, v);
    }
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  chartWidth() {
    return Math.max(200, this.els.charts.clientWidth || 320);
  }

  draw() {
    if (!this.UPlot || this.id === null) return;
    const dev = this.client.device(this.id);
    const names = (dev ? orderedMetrics(dev) : [...this.series.keys()]).filter((m) => this.series.has(m)).slice(0, MAX_CHARTS);
    for (const m of names) {
      const s = this.series.get(m);
      let c = this.charts.get(m);
      if (!c) {
        const box = el('figure', { class: 'chart', role: 'img' });
        box.dataset.metric = m;
        this.els.charts.append(box);
        const unit = unitOf(m);
        c = { box, chart: makeChart(this.UPlot, box, unit ? `${label(m)} (${unit})` : label(m), s, this.chartWidth()) };
        this.charts.set(m, c);
      } else {
        c.chart.setData([s.xs, s.ys]);
      }
      const vals = s.ys.filter((v) => v !== null);
      const gaps = s.ys.length - vals.length;
      c.box.setAttribute('aria-label', `${label(m)}: ${vals.length} Readings${gaps ? `, ${gaps} gap${gaps > 1 ? 's' : ''}` : ''}` +
        (vals.length ? `, from ${formatValue(m, Math.min(...vals))} to ${formatValue(m, Math.max(...vals))}, now ${formatValue(m, vals.at(-1))}` : ''));
    }
  }

  resize() {
    if (!this.open) return;
    const w = this.chartWidth();
    for (const { chart } of this.charts.values()) chart.setSize({ width: w, height: 140 });
  }

  /** The device's row in the table changed (once per frame at most). */
  update(id) {
    if (id === this.id) this.render();
  }

  render() {
    const d = this.client.device(this.id);
    if (!d) return;
    this.els.title.textContent = d.id;
    this.els.meta.textContent = `${d.family || 'unknown family'} · ${STATUS_TEXT[statusOf(d)]} · ${age(lastSeen(d))}`;
    const rows = orderedMetrics(d).map((m) => el('tr', {}, el('th', { scope: 'row', text: label(m) }),
      el('td', { class: 'value', text: formatValue(m, d.metrics[m]) })));
    this.els.metrics.replaceChildren(...rows);
    const facts = [];
    for (const [k, v] of Object.entries(d.attrs)) facts.push(el('dt', { text: k }), el('dd', { text: v }));
    for (const [k, v] of Object.entries(d.tags)) facts.push(el('dt', { text: `tag ${k}` }), el('dd', { text: v }));
    if (d.ts) facts.push(el('dt', { text: 'device time' }), el('dd', { text: new Date(d.ts).toLocaleString() }));
    facts.push(el('dt', { text: 'readings merged' }), el('dd', { text: String(d.updates) }));
    this.els.facts.replaceChildren(...facts);
    this.commands.update(d);
  }

  tick() {
    const d = this.open && this.client.device(this.id);
    if (d) this.els.meta.textContent = this.els.meta.textContent.replace(/(updated .*|no update yet)$/, age(lastSeen(d)));
  }

  stopLive() {
    if (this.sub) {
      this.sub.unsubscribe().catch(() => {});
      this.sub = null;
    }
  }

  /** Test and console access to the charted points of a metric. */
  seriesOf(metric) {
    const s = this.series.get(metric);
    return s ? { xs: [...s.xs], ys: [...s.ys] } : null;
  }

  close() {
    if (!this.open) return;
    const id = this.id;
    this.stopLive();
    this.id = null;
    this.commands.clear();
    this.els.panel.hidden = true;
    document.body.classList.remove('detail-open');
    this.onClose(id);
  }

  /** The device left the table. */
  removed(id) {
    if (id === this.id) this.close();
  }
}
