// The map view: every device with latitude and longitude metrics
// (OwnTracks, TTN trackers, …) as a marker on a Web Mercator projection
// fitted to the markers. Markers are SVG and need no network; raster tiles
// are drawn underneath only when a tile URL is configured (the `tiles`
// URL parameter, e.g. ?tiles=https://tile.example/{z}/{x}/{y}.png with
// `tiles_attribution`), since a bridge on a private network may have no
// tile server to reach. A list of the same devices beside the map is the
// keyboard and screen-reader way in.

import { el } from './dom.js';
import { formatValue, age, lastSeen, statusOf, STATUS_TEXT, located } from './format.js';

const TILE = 256;
const SVG = 'http://www.w3.org/2000/svg';
const MAX_ZOOM = 16;
const PAD = 40;
/** Room right of the markers for their labels. */
const LABEL_W = 150;

/** Web Mercator: lon/lat in degrees to world coordinates in [0, 1]. */
export function project(lat, lon) {
  const s = Math.sin((Math.max(-85.05112878, Math.min(85.05112878, lat)) * Math.PI) / 180);
  return { x: (lon + 180) / 360, y: 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI) };
}

function svg(tag, attrs = {}) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
}

/** The configured tile template and attribution, from the page URL; null when none (offline). */
export function tileConfig(url = new URL(location.href)) {
  const tiles = url.searchParams.get('tiles');
  if (!tiles || !/^https?:\/\/|^\//.test(tiles) || !tiles.includes('{z}')) return null;
  return { url: tiles, attribution: url.searchParams.get('tiles_attribution') || '© OpenStreetMap contributors' };
}

export class MapView {
  constructor({ client, onOpen }) {
    const $ = (id) => document.getElementById(id);
    this.els = { stage: $('map-stage'), tiles: $('map-tiles'), svg: $('map-svg'), list: $('map-list'), count: $('map-count'), attribution: $('map-attribution'), empty: $('map-empty') };
    this.client = client;
    this.onOpen = onOpen;
    this.tiles = tileConfig();
    this.visible = false;
    this.dirty = true;
    /** Located device ids. */
    this.ids = new Set();
    this.els.attribution.hidden = !this.tiles;
    if (this.tiles) this.els.attribution.textContent = `Map tiles: ${this.tiles.attribution}`;
    this.els.stage.dataset.tiles = this.tiles ? 'on' : 'off';
    for (const d of client.devices()) if (located(d)) this.ids.add(d.id);
    window.addEventListener('resize', () => { this.dirty = true; this.draw(); });
  }

  /** A batch of device table changes: only located devices matter. */
  apply({ changed, removed }) {
    for (const id of removed) if (this.ids.delete(id)) this.dirty = true;
    for (const id of changed) {
      const d = this.client.device(id);
      if (d && located(d)) {
        this.ids.add(id);
        this.dirty = true;
      } else if (this.ids.delete(id)) {
        this.dirty = true;
      }
    }
    if (this.visible && this.dirty) this.draw();
  }

  show() {
    this.visible = true;
    this.dirty = true;
    this.draw();
  }

  hide() {
    this.visible = false;
  }

  /** Zoom and centre fitting every marker (a single marker gets street level). */
  fit(points, w, h) {
    let x0 = 1; let x1 = 0; let y0 = 1; let y1 = 0;
    for (const p of points) {
      x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y);
    }
    const dx = Math.max(x1 - x0, 1e-9);
    const dy = Math.max(y1 - y0, 1e-9);
    let z = Math.floor(Math.log2(Math.min((w - 2 * PAD - LABEL_W) / (dx * TILE), (h - 2 * PAD) / (dy * TILE))));
    z = Math.max(1, Math.min(MAX_ZOOM, Number.isFinite(z) ? z : MAX_ZOOM));
    return { z, cx: (x0 + x1) / 2, cy: (y0 + y1) / 2 };
  }

  draw() {
    if (!this.visible || !this.dirty) return;
    this.dirty = false;
    const devs = [...this.ids].map((id) => this.client.device(id)).filter(Boolean).sort((a, b) => (a.id < b.id ? -1 : 1));
    this.els.count.textContent = devs.length ? `(${devs.length})` : '';
    this.els.empty.hidden = devs.length > 0;
    const w = this.els.stage.clientWidth || 600;
    const h = this.els.stage.clientHeight || 400;
    const svgEl = this.els.svg;
    svgEl.setAttribute('viewBox', `0 0 ${w} ${h}`);
    const nodes = [];
    if (devs.length) {
      const pts = devs.map((d) => ({ d, ...project(d.metrics.latitude, d.metrics.longitude) }));
      const { z, cx, cy } = this.fit(pts, w, h);
      const scale = TILE * 2 ** z;
      const px = (x) => (x - cx) * scale + (w - LABEL_W) / 2;
      const py = (y) => (y - cy) * scale + h / 2;
      this.els.stage.dataset.zoom = String(z);
      this.drawTiles(z, cx + LABEL_W / 2 / scale, cy, w, h);
      if (!this.tiles) nodes.push(...this.graticule(z, px, py, cx + LABEL_W / 2 / scale, cy, scale, w, h));
      for (const { d, x, y } of pts) {
        const st = statusOf(d);
        const g = svg('g', { class: `marker ${st}`, transform: `translate(${px(x).toFixed(1)} ${py(y).toFixed(1)})`, 'data-device': d.id });
        const title = svg('title');
        title.textContent = `${d.id}: ${STATUS_TEXT[st]}, ${age(lastSeen(d))}`;
        g.append(title, svg('circle', { r: 8 }), svg('circle', { r: 3, class: 'dot' }));
        const text = svg('text', { x: 12, y: 4 });
        text.textContent = d.id;
        g.append(text);
        g.addEventListener('click', () => this.onOpen(d.id));
        nodes.push(g);
      }
    } else {
      this.els.tiles.replaceChildren();
    }
    svgEl.replaceChildren(...nodes);
    this.renderList(devs);
  }

  /** Lines every 10° / 1° / 0.1°… so that a tileless map still reads as a map. */
  graticule(z, px, py, cx, cy, scale, w, h) {
    const out = [];
    const degPerPx = 360 / scale;
    const step = [45, 10, 5, 1, 0.5, 0.1, 0.05, 0.01, 0.005, 0.001].find((s) => s / degPerPx < 220) ?? 0.001;
    const lonAt = (x) => x * 360 - 180;
    const latAt = (y) => (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI;
    const lonMin = lonAt(cx - w / 2 / scale);
    const lonMax = lonAt(cx + w / 2 / scale);
    const latMax = latAt(cy - h / 2 / scale);
    const latMin = latAt(cy + h / 2 / scale);
    for (let lon = Math.ceil(lonMin / step) * step; lon <= lonMax; lon += step) {
      const x = px((lon + 180) / 360);
      out.push(svg('line', { class: 'grat', x1: x, x2: x, y1: 0, y2: h }));
      const t = svg('text', { class: 'grat-label', x: x + 3, y: h - 4 });
      t.textContent = `${+lon.toFixed(3)}°`;
      out.push(t);
    }
    for (let lat = Math.ceil(latMin / step) * step; lat <= latMax; lat += step) {
      const y = py(project(lat, 0).y);
      out.push(svg('line', { class: 'grat', x1: 0, x2: w, y1: y, y2: y }));
      const t = svg('text', { class: 'grat-label', x: 3, y: y - 3 });
      t.textContent = `${+lat.toFixed(3)}°`;
      out.push(t);
    }
    return out;
  }

  drawTiles(z, cx, cy, w, h) {
    if (!this.tiles) return;
    const n = 2 ** z;
    const left = cx * n * TILE - w / 2;
    const top = cy * n * TILE - h / 2;
    const imgs = [];
    for (let ty = Math.floor(top / TILE); ty * TILE < top + h; ty++) {
      if (ty < 0 || ty >= n) continue;
      for (let tx = Math.floor(left / TILE); tx * TILE < left + w; tx++) {
        const wx = ((tx % n) + n) % n;
        const src = this.tiles.url.replace('{z}', z).replace('{x}', wx).replace('{y}', ty).replace('{s}', 'abc'[(wx + ty) % 3]);
        const img = el('img', { src, alt: '', width: TILE, height: TILE, loading: 'lazy', referrerpolicy: 'no-referrer' });
        img.style.transform = `translate(${tx * TILE - left}px, ${ty * TILE - top}px)`;
        imgs.push(img);
      }
    }
    this.els.tiles.replaceChildren(...imgs);
  }

  /** The list beside the map, updated in place (keyed by device) so that keyboard focus stays put. */
  renderList(devs) {
    this.items ??= new Map();
    const keep = new Set();
    const lis = devs.map((d) => {
      keep.add(d.id);
      let item = this.items.get(d.id);
      if (!item) {
        const b = el('button', { type: 'button', class: 'map-item' },
          el('span', { class: 'name', text: d.id }), el('span', { class: 'badge' }), el('span', { class: 'coords' }));
        b.dataset.device = d.id;
        b.addEventListener('click', () => this.onOpen(d.id));
        item = { li: el('li', {}, b), badge: b.children[1], coords: b.children[2] };
        this.items.set(d.id, item);
      }
      const st = statusOf(d);
      item.badge.className = `badge ${st}`;
      item.badge.textContent = STATUS_TEXT[st];
      item.coords.textContent = `${formatValue('latitude', d.metrics.latitude)}, ${formatValue('longitude', d.metrics.longitude)}`;
      return item.li;
    });
    for (const id of this.items.keys()) if (!keep.has(id)) this.items.delete(id);
    const list = this.els.list;
    const same = list.children.length === lis.length && lis.every((li, i) => list.children[i] === li);
    if (!same) list.replaceChildren(...lis);
  }
}
