// Time-series charts of the device detail panel, drawn by uPlot (MIT; the
// build copies its pinned npm release into ./vendor/uplot/). One chart per
// numeric metric, x in seconds since the epoch (uPlot's time scale), and a
// null point where the SDK reported a gap, so the line breaks there
// instead of joining two Readings across lost data.

const MAX_POINTS = 2000;

let loading = null;

/** Loads uPlot and its stylesheet once; resolves with the uPlot class or null when it is not built. */
export function loadUPlot() {
  if (!loading) {
    loading = import('./vendor/uplot/uPlot.esm.js').then((m) => {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = new URL('./vendor/uplot/uPlot.min.css', import.meta.url).href;
      document.head.append(link);
      return m.default;
    }).catch((err) => {
      console.warn('mqlive: uPlot not available (run npm ci in sdk-js, then make wasm)', err);
      return null;
    });
  }
  return loading;
}

/** A metric's points, kept sorted by time; null values are gaps. */
export class Series {
  constructor() {
    this.xs = [];
    this.ys = [];
  }

  /** Inserts (t, v) in time order; an equal time replaces the value. */
  add(t, v) {
    const xs = this.xs;
    let i = xs.length;
    if (i && xs[i - 1] >= t) {
      let lo = 0;
      let hi = i;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (xs[mid] < t) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
      if (xs[i] === t) {
        if (v !== null) this.ys[i] = v;
        return;
      }
    }
    xs.splice(i, 0, t);
    this.ys.splice(i, 0, v);
    if (xs.length > MAX_POINTS) {
      xs.shift();
      this.ys.shift();
    }
  }

  /** Breaks the line after the newest point. */
  gap() {
    const n = this.xs.length;
    if (!n || this.ys[n - 1] === null) return;
    this.add(this.xs[n - 1] + 0.001, null);
  }
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Creates a uPlot line chart of one series in box. */
export function makeChart(UPlot, box, title, series, width) {
  const text = cssVar('--text', '#1b1f24');
  const grid = cssVar('--line', '#dfe3e8');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
  const opts = {
    title,
    width,
    height: 140,
    cursor: { drag: { x: false, y: false } },
    legend: { show: false },
    scales: { x: { time: true } },
    axes: [axis, { ...axis, size: 56 }],
    series: [{}, { label: title, stroke: cssVar('--accent', '#2563eb'), width: 2, spanGaps: false, points: { show: false } }],
  };
  return new UPlot(opts, [series.xs, series.ys], box);
}
