// Formatting shared by the fleet, detail and map views: units from
// READINGS.md, booleans as words, ages as "updated 5 s ago".

const UNITS = {
  temperature: '°C', humidity: '%', pressure: 'hPa', battery: '%', voltage: 'V', current: 'A',
  power: 'W', energy: 'kWh', illuminance: 'lx', rssi: 'dBm', signal: '%', linkquality: 'LQI',
  latitude: '°', longitude: '°', altitude: 'm', co2: 'ppm', pm25: 'µg/m³', pm10: 'µg/m³',
  voc: 'ppb', uptime: 's', accuracy: 'm', speed: 'km/h',
};
const BOOL_WORDS = { contact: ['open', 'closed'], occupancy: ['clear', 'occupied'], state: ['off', 'on'] };
// Metrics shown first, in this order; the rest follow by name.
const PRIORITY = ['temperature', 'humidity', 'co2', 'power', 'energy', 'state', 'contact', 'occupancy',
  'illuminance', 'latitude', 'longitude', 'battery'];

/** "switch:1.power" is a second instance of power (READINGS.md): its base name is "power". */
export function baseName(metric) {
  return metric.includes('.') ? metric.slice(metric.lastIndexOf('.') + 1) : metric;
}

export function unitOf(metric) {
  return UNITS[baseName(metric)] || '';
}

export function formatNumber(v) {
  const abs = Math.abs(v);
  const digits = Number.isInteger(v) ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return v.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatValue(metric, v) {
  if (typeof v === 'boolean') {
    const words = BOOL_WORDS[baseName(metric)];
    return words ? words[v ? 1 : 0] : v ? 'true' : 'false';
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  const base = baseName(metric);
  const num = base === 'latitude' || base === 'longitude' ? v.toFixed(5) : formatNumber(v);
  const unit = unitOf(metric);
  return unit ? `${num} ${unit}` : num;
}

export function label(metric) {
  return metric.replace(/_/g, ' ');
}

export function age(ms, now = Date.now()) {
  if (!ms) return 'no update yet';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return 'updated just now';
  if (s < 60) return `updated ${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `updated ${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `updated ${h} h ago`;
  return `updated ${Math.floor(h / 24)} d ago`;
}

export function lastSeen(dev) {
  return dev.receivedAt || dev.ts || 0;
}

export function statusOf(dev) {
  if (dev.online === false) return 'offline';
  if (dev.stale) return 'stale';
  if (dev.online === true) return 'online';
  return 'unknown';
}

export const STATUS_TEXT = { online: 'online', offline: 'offline', stale: 'stale', unknown: 'availability unknown' };

function rank(name) {
  const i = PRIORITY.indexOf(name);
  return i < 0 ? 99 : i;
}

export function orderedMetrics(dev) {
  return Object.keys(dev.metrics).sort((a, b) => {
    const d = rank(a) - rank(b);
    if (d) return d;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** Whether a device reports a position (latitude and longitude metrics). */
export function located(dev) {
  const { latitude, longitude } = dev.metrics;
  return typeof latitude === 'number' && typeof longitude === 'number' &&
    Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180;
}
