// The SDK's device table as the dashboard uses it, in Node against a real
// bridge and simulator: watchDevices batches merged Readings (many per
// device) into one call per frame with each changed id once, reports
// removals, and stops after unwatch; deviceChannel names a device's
// channel as the bridge does (percent-encoding), so that history and
// subscribe of an id with spaces work; commands lists what the device's
// family accepts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { startBridge, startSim, waitFor, distEntry, binaries } from './helpers.mjs';

let sdk;
let bridge;
let sim;

before(async () => {
  sdk = await import(pathToFileURL(distEntry()).href);
  binaries();
  bridge = await startBridge();
  sim = startSim(bridge.mqttURL, { devices: 2, families: 'zigbee2mqtt,tasmota' });
});

after(async () => {
  await sim?.stop();
  await bridge?.stop();
});

test('deviceChannel percent-encodes like the bridge', () => {
  assert.equal(sdk.deviceChannel('kitchen-th'), 'device:kitchen-th');
  assert.equal(sdk.deviceChannel('Living Room/Plug 2'), 'device:Living%20Room/Plug%202');
  assert.equal(sdk.deviceChannel('a#b+c%d=e:f'), 'device:a%23b%2Bc%25d%3De:f');
  assert.equal(sdk.deviceChannel('Küche'), 'device:K%C3%BCche');
});

test('watchDevices batches the table per frame; history and commands of a listed device', { timeout: 60000 }, async () => {
  const client = await sdk.createClient({ url: bridge.wsURL, token: bridge.token, reportInterval: 0 });
  try {
    const batches = [];
    const unwatch = client.watchDevices((b) => batches.push(b));
    await client.connect();
    client.subscribe('devices', { mode: 'stream' });
    await waitFor(() => client.deviceCount() >= 4, { timeout: 20000, what: 'four devices in the table' });
    await waitFor(() => batches.length >= 2, { timeout: 10000, what: 'two batches' });
    for (const b of batches) {
      assert.equal(new Set(b.changed).size, b.changed.length, 'each id once per batch');
      for (const id of b.changed) assert.ok(client.device(id), `${id} is in the table`);
    }
    // A change is reported at the next frame: the table may hold a device
    // whose batch is still pending. Every device must show up in a batch.
    const seen = () => new Set(batches.flatMap((b) => b.changed));
    await waitFor(() => client.devices().every((d) => seen().has(d.id)), { timeout: 2000, what: 'every device of the table in a batch' });
    assert.deepEqual([...seen()].sort(), client.devices().map((d) => d.id));

    // Removal: a device the bridge does not know (a Reading on its own
    // channel) is dropped by the next snapshot of devices; reported once,
    // as removed (not changed).
    const gone = 'ghost-device';
    client._onEvent('publication', { channel: sdk.deviceChannel(gone), epoch: 'x', offset: 1, data: { device: gone, family: 'json', metrics: { temperature: 1 } } });
    await waitFor(() => batches.some((b) => b.changed.includes(gone)), { timeout: 2000, what: 'the ghost in a batch' });
    await client.getSubscription('devices').unsubscribe();
    client.subscribe('devices', { mode: 'stream' });
    await waitFor(() => batches.some((b) => b.removed.includes(gone)), { timeout: 10000, what: 'the removal batch' });
    const last = batches.find((b) => b.removed.includes(gone));
    assert.equal(last.changed.includes(gone), false);
    assert.equal(client.device(gone), null);
    unwatch();
    const n = batches.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(batches.length, n, 'no call after unwatch');

    // Ids with spaces (the simulator names some Zigbee2MQTT devices so) have a history under deviceChannel.
    const spaced = client.devices().find((d) => d.id.includes(' '));
    assert.ok(spaced, 'a device id with a space');
    const h = await waitFor(async () => {
      const r = await client.history(sdk.deviceChannel(spaced.id), { limit: 10 });
      return r.publications.length > 0 && r;
    }, { timeout: 10000, what: 'history of the device channel' });
    assert.equal(h.publications[0].data.device, spaced.id);

    const tasmota = client.devices().find((d) => d.family === 'tasmota');
    const listed = await client.commands(tasmota.id);
    assert.equal(listed.family, 'tasmota');
    assert.equal(listed.allowed, true);
    assert.deepEqual(listed.commands.filter((c) => c.output === 'state').map((c) => c.name), ['on', 'off', 'toggle']);
    await assert.rejects(client.commands('no-such-device'), (err) => err.code === sdk.CodeInvalidParams);
  } finally {
    client.close();
  }
});
