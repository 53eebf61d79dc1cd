// The device table's merge rules (sdk-js/src/devices.js), without a bridge:
// the same cases as the Go table's (wasm/client/devicetable_test.go), which
// Go programs use through nativews.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceTable, isDeviceChannel } from '../src/devices.js';

test('merges Readings per metric, newest ts wins, never changing a device already handed out', () => {
  const tb = new DeviceTable();
  const first = tb.apply({
    device: 'th', family: 'zigbee2mqtt', online: true, ts: '2026-11-23T17:00:00Z', received_at: '2026-11-23T17:00:00.1Z',
    metrics: { temperature: 21.5, humidity: 48.2, contact: true, label: 'x' }, attrs: { model: 'WSDCGQ11LM' }, tags: { site: 'hq' }, stale: false,
  });
  assert.equal(first.family, 'zigbee2mqtt');
  assert.equal(first.online, true);
  assert.equal(first.metrics.contact, true);
  assert.equal(first.metrics.label, undefined, 'metrics are numbers or booleans only');
  assert.equal(first.receivedAt, Date.parse('2026-11-23T17:00:00.1Z'));

  // A newer Reading merges per key; online absent leaves it alone.
  let d = tb.apply({ device: 'th', ts: '2026-11-23T17:00:10Z', metrics: { temperature: 22 }, stale: false });
  assert.equal(d.metrics.temperature, 22);
  assert.equal(d.metrics.humidity, 48.2);
  assert.equal(d.online, true);
  assert.equal(d.family, 'zigbee2mqtt');
  assert.equal(d.updates, 2);
  assert.equal(first.metrics.temperature, 21.5, 'the earlier object is unchanged');
  assert.equal(first.updates, 1);
  assert.notEqual(d, first);

  // An older Reading arriving late does not overwrite newer metrics but adds those it alone carries.
  d = tb.apply({ device: 'th', ts: '2026-11-23T16:59:00Z', metrics: { temperature: 5, battery: 97 } });
  assert.equal(d.metrics.temperature, 22);
  assert.equal(d.metrics.battery, 97);
  assert.equal(d.ts, Date.parse('2026-11-23T17:00:10Z'));
  assert.equal(d.metricTs.battery, Date.parse('2026-11-23T16:59:00Z'));

  // Availability and staleness follow the last Reading carrying them.
  d = tb.apply({ device: 'th', online: false, stale: true, ts: '2026-11-23T17:01:00Z' });
  assert.equal(d.online, false);
  assert.equal(d.stale, true);
  assert.equal(d.attrs.model, 'WSDCGQ11LM');
  assert.equal(d.tags.site, 'hq');

  // A Reading without its own ts uses received_at; an unparsable one counts as unknown.
  d = tb.apply({ device: 'th', ts: 'garbage', received_at: '2026-11-23T17:02:00Z', metrics: { temperature: 23 } });
  assert.equal(d.metrics.temperature, 23);
  assert.equal(d.metricTs.temperature, Date.parse('2026-11-23T17:02:00Z'));

  // Anything that is not a Reading is ignored.
  for (const bad of [{ text: 'hello' }, [1, 2], null, 'x', { device: '' }, { device: 7 }]) assert.equal(tb.apply(bad), null);
  assert.equal(tb.size, 1);
  assert.equal(tb.get('nope'), null);
});

test('a snapshot replaces the devices it names; a devices snapshot also removes the rest', () => {
  const tb = new DeviceTable();
  tb.apply({ device: 'a', metrics: { x: 1 } });
  tb.apply({ device: 'b', metrics: { x: 2 } });

  // A partial snapshot (device:/tag: channel) replaces only its devices.
  let { set, removed } = tb.replace([{ device: 'a', metrics: { y: 3 } }], false);
  assert.equal(set.length, 1);
  assert.deepEqual(removed, []);
  assert.equal(tb.get('a').metrics.x, undefined, 'a snapshot replaces, not merges');
  assert.equal(tb.get('a').updates, 2, 'updates keep counting');
  assert.equal(tb.size, 2);

  // A devices snapshot covers the tenant: a and b go, c comes; two Readings of one device merge.
  ({ set, removed } = tb.replace([{ device: 'c', metrics: { z: 1 } }, { nodevice: 1 }, { device: 'c', metrics: { w: 2 } }], true));
  assert.deepEqual(removed, ['a', 'b']);
  assert.deepEqual(set.map((d) => [d.id, d.metrics]), [['c', { z: 1, w: 2 }]]);
  assert.deepEqual(tb.all().map((d) => d.id), ['c']);

  ({ removed } = tb.replace(null, true));
  assert.deepEqual(removed, ['c']);
  assert.equal(tb.size, 0);
});

test('all() is sorted by id', () => {
  const tb = new DeviceTable();
  for (const id of ['m', 'b', 'z', 'a']) tb.apply({ device: id });
  assert.deepEqual(tb.all().map((d) => d.id), ['a', 'b', 'm', 'z']);
});

test('device channels', () => {
  for (const ch of ['devices', 'device:x', 'tag:site=hq']) assert.ok(isDeviceChannel(ch), ch);
  for (const ch of ['app:x', 'user:u', 'monitor', 'devicesx']) assert.ok(!isDeviceChannel(ch), ch);
});
