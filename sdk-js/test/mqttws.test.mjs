// MQTT over WebSocket: MQTT.js, the reference MQTT-over-WebSocket client,
// connects to the bridge's /mqtt (served by its embedded broker), publishes
// a Zigbee2MQTT device message, and the message arrives as a Reading on the
// dashboard protocol (/ws, JSON-RPC), like one published over TCP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startBridge, waitFor, binaries } from './helpers.mjs';

let bridge;

before(async () => {
  assert.equal(typeof WebSocket, 'function', 'run node with --experimental-websocket');
  binaries();
  bridge = await startBridge();
});

after(async () => {
  await bridge?.stop();
});

/** A raw dashboard connection: connect with the token, subscribe to devices. */
async function dashboard(wsURL, token) {
  const ws = new WebSocket(wsURL, 'mqlive.v1');
  const frames = [];
  ws.addEventListener('message', (e) => frames.push(JSON.parse(e.data)));
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error('dashboard socket failed')), { once: true });
  });
  let id = 0;
  const call = async (method, params) => {
    const rid = ++id;
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: rid, method, params }));
    const res = await waitFor(() => frames.find((f) => f.id === rid), { what: `${method} result` });
    assert.equal(res.error, undefined, `${method}: ${JSON.stringify(res.error)}`);
    return res.result;
  };
  await call('connect', { token, client: 'mqttws-test' });
  await call('subscribe', { channel: 'devices' });
  return { ws, frames };
}

test('an MQTT.js client over WebSocket publishes a Reading', { timeout: 60000 }, async () => {
  const dash = await dashboard(bridge.wsURL, bridge.token);
  const client = await mqtt.connectAsync(`ws://127.0.0.1:${bridge.httpPort}/mqtt`, {
    clientId: 'mqttjs-over-ws', protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10000,
  });
  try {
    // A real Zigbee2MQTT state message of an Aqara WSDCGQ11LM
    // (zigbee2mqtt.io/devices/WSDCGQ11LM.html).
    await client.publishAsync('zigbee2mqtt/ws-kitchen', JSON.stringify({ temperature: 21.5, humidity: 48.2, battery: 97 }), { qos: 1 });
    const msg = await waitFor(() => dash.frames.find((f) => f.method === 'message' && f.params.data?.device === 'ws-kitchen'),
      { what: 'the Reading of the device published over MQTT over WebSocket' });
    assert.equal(msg.params.channel, 'devices');
    assert.equal(msg.params.data.family, 'zigbee2mqtt');
    assert.equal(msg.params.data.metrics.temperature, 21.5);
    assert.equal(msg.params.data.metrics.humidity, 48.2);
  } finally {
    await client.endAsync();
    dash.ws.close();
  }
});

test('an upgrade without the mqtt subprotocol is refused with HTTP 400', async () => {
  // fetch may not send Upgrade headers; node:http may.
  const { status, body } = await new Promise((resolve, reject) => {
    const req = http.get(`http://127.0.0.1:${bridge.httpPort}/mqtt`, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('upgrade', () => reject(new Error('upgraded without the mqtt subprotocol')));
    req.on('error', reject);
  });
  assert.equal(status, 400);
  assert.match(body, /^MQTT over WebSocket needs the mqtt subprotocol[^\n]*\n$/);
});

test('with mqtt.users, MQTT.js over WebSocket gets the same access control as TCP clients', { timeout: 60000 }, async () => {
  // The operator's path: hash with `mqlive passwd` (password on stdin),
  // put the hash in mqtt.users.
  const hash = execFileSync(binaries().bridge, ['passwd'], { input: 'kitchen-pw\n' }).toString().trim();
  assert.match(hash, /^\$2a\$10\$/);
  const dir = mkdtempSync(path.join(tmpdir(), 'mqlive-users-'));
  const config = path.join(dir, 'mqlive.yaml');
  writeFileSync(config, `mqtt:\n  users:\n    - username: kitchen\n      password_hash: "${hash}"\n      tenant: default\n      publish: ["zigbee2mqtt/#"]\n`);
  const secured = await startBridge({ args: ['--config', config] });
  const url = `ws://127.0.0.1:${secured.httpPort}/mqtt`;
  const opts = { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10000 };
  try {
    await assert.rejects(mqtt.connectAsync(url, { ...opts, clientId: 'wrong', username: 'kitchen', password: 'guess' }), /Not authorized|Bad username/i);
    await assert.rejects(mqtt.connectAsync(url, { ...opts, clientId: 'anon' }), /Not authorized|Bad username/i);

    const dash = await dashboard(secured.wsURL, secured.token);
    const client = await mqtt.connectAsync(url, { ...opts, clientId: 'kitchen', username: 'kitchen', password: 'kitchen-pw' });
    try {
      // Outside the user's publish filters (a Tasmota topic): dropped by
      // the broker. Then an allowed one, on the same connection.
      await client.publishAsync('tele/intruder/SENSOR', JSON.stringify({ AM2301: { Temperature: 99 } }));
      await client.publishAsync('zigbee2mqtt/kitchen-2', JSON.stringify({ temperature: 20.5 }));
      await waitFor(() => dash.frames.find((f) => f.method === 'message' && f.params.data?.device === 'kitchen-2'),
        { what: 'the allowed Reading' });
      assert.equal(dash.frames.find((f) => f.method === 'message' && f.params.data?.device === 'intruder'), undefined,
        'a publish outside the user\'s filters became a Reading');
    } finally {
      await client.endAsync();
      dash.ws.close();
    }
  } finally {
    await secured.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
