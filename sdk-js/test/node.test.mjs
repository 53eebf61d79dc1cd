// The SDK's .wasm driven from Node 20 (--experimental-websocket) against a
// real bridge process and simulator, including a bridge kill and restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { startBridge, startSim, waitFor, distEntry, binaries, scrapeLatency, histogramQuantile } from './helpers.mjs';

let sdk;
let bridge;
let sim;

before(async () => {
  assert.equal(typeof WebSocket, 'function', 'run node with --experimental-websocket');
  binaries();
  sdk = await import(pathToFileURL(distEntry()).href);
  bridge = await startBridge();
  sim = startSim(bridge.mqttURL);
});

after(async () => {
  await sim?.stop();
  await bridge?.stop();
});

function record(client) {
  const events = [];
  for (const name of ['state', 'connected', 'disconnected', 'device', 'deviceRemoved', 'error']) {
    client.on(name, (p) => events.push({ name, p, at: Date.now() }));
  }
  return events;
}

test('connects, subscribes, sees simulated devices, survives a bridge restart', { timeout: 90000 }, async () => {
  const client = await sdk.createClient({ url: bridge.wsURL, token: bridge.token, minReconnectDelay: 100, maxReconnectDelay: 1000 });
  const events = record(client);
  try {
    await client.connect();
    assert.equal(client.state, 'connected');
    assert.equal(client.session.tenant, 'default');
    const sub = client.subscribe('devices', { mode: 'latest' });
    const pubs = [];
    sub.on('publication', (p) => pubs.push(p));
    const subscribed = [];
    const gaps = [];
    const clientGaps = [];
    sub.on('subscribed', (e) => subscribed.push(e));
    sub.on('gap', (g) => gaps.push(g));
    let lastLive = null; // the last position delivered on the old connection
    sub.on('state', ({ state }) => {
      if (state === 'subscribing') lastLive = { ...sub.position };
    });
    client.on('gap', (g) => clientGaps.push(g));
    const result = await sub.ready;
    assert.equal(result.channel, 'devices');
    assert.equal(sub.state, 'subscribed');

    // Availability can come first; wait for telemetry.
    const dev = await waitFor(() => client.devices().find((d) => Object.keys(d.metrics).length > 0), { what: 'a simulated device with metrics' });
    assert.ok(dev.id && dev.family, 'a device has id and family');
    assert.ok(dev.ts > 0 && dev.receivedAt > 0, 'times are ms since the epoch');
    await waitFor(() => pubs.length > 0, { what: 'a publication' });
    assert.equal(typeof pubs[0].data, 'object', 'publication data is a plain JS object');
    assert.equal(pubs[0].channel, 'devices');

    assert.equal(typeof (await client.ping()), 'object');
    const presence = await client.presence('devices');
    assert.ok(presence.clients.some((c) => c.session === client.session.session));

    assert.equal(subscribed.length, 1);
    assert.equal(subscribed[0].wasRecovering, false);
    assert.equal(subscribed[0].recoveredCount, 0);
    assert.deepEqual(gaps, [], 'no gap while live');

    // Kill the bridge hard, then start it again on the same ports.
    const oldSession = client.session.session;
    const killedAt = Date.now();
    await bridge.stop('SIGKILL');
    await waitFor(() => events.some((e) => e.name === 'state' && e.p.state === 'connecting' && e.p.attempt >= 1 && e.at >= killedAt),
      { what: 'reconnecting state' });
    assert.equal(sub.state, 'subscribing');
    bridge = await startBridge({ httpPort: bridge.httpPort, mqttPort: bridge.mqttPort });
    await waitFor(() => client.state === 'connected' && client.session.session !== oldSession, { timeout: 30000, what: 'reconnect' });
    await waitFor(() => sub.state === 'subscribed', { what: 'resubscribe' });
    // The history was not saved: the resume answers recovered:false with a
    // new epoch, and a gap event, before it, says what is missing.
    const again = subscribed[subscribed.length - 1];
    assert.equal(again.wasRecovering, true);
    assert.equal(again.recovered, false);
    assert.equal(again.recoveredCount, 0);
    assert.notEqual(again.epoch, lastLive.epoch);
    // An empty channel (nothing published yet since the restart) answers
    // epoch "": the gap then comes before the first live publication and
    // names it.
    const seen = pubs.length;
    await waitFor(() => gaps.length === 1 && (again.epoch || pubs.length > seen), { what: 'the gap' });
    const first = again.epoch ? { epoch: again.epoch, offset: again.offset + 1 } : pubs[seen];
    assert.deepEqual(gaps[0], { channel: 'devices', lastEpoch: lastLive.epoch, lastOffset: lastLive.offset, epoch: first.epoch, firstOffset: first.offset });
    assert.deepEqual(clientGaps, gaps, 'the client emits it too');
    const restartedAt = Date.now();
    await waitFor(() => events.some((e) => e.name === 'device' && e.at > restartedAt), { timeout: 30000, what: 'a device update after the restart' });
    assert.ok(!events.some((e) => e.name === 'disconnected'), 'never gave up');
  } finally {
    client.close();
  }
});

test('a refused token stops the client without reconnecting', { timeout: 30000 }, async () => {
  const client = await sdk.createClient({ url: bridge.wsURL, token: 'not-a-token', minReconnectDelay: 50 });
  const events = record(client);
  try {
    await assert.rejects(client.connect(), (err) => err.code === sdk.CodeUnauthorized);
    // The client decides on the close it got: a reconnect would be
    // scheduled, and announced by a 'connecting' state carrying the close
    // code and the delay, in the same step that instead reports
    // 'disconnected' (stopped for good).
    await waitFor(() => events.some((e) => e.name === 'disconnected'), { what: 'disconnected' });
    const disconnected = events.find((e) => e.name === 'disconnected');
    assert.equal(disconnected.p.code, sdk.CloseUnauthorized);
    const retries = events.filter((e) => e.name === 'state' && e.p.state === 'connecting' && (e.p.attempt >= 1 || e.p.code === sdk.CloseUnauthorized));
    assert.deepEqual(retries, [], 'no reconnect after 4001');
    assert.equal(events.filter((e) => e.name === 'state' && e.p.state === 'connecting').length, 1, 'one dial');
    assert.equal(client.state, 'disconnected');
  } finally {
    client.close();
  }
});

test('getToken, publish and history', { timeout: 30000 }, async () => {
  let calls = 0;
  const client = await sdk.createClient({
    url: bridge.wsURL,
    getToken: async () => {
      calls++;
      return bridge.token; // the dev token may publish to app:*
    },
  });
  try {
    await client.connect();
    assert.equal(calls, 1);
    const pub = await client.publish('app:chat', { text: 'hello', n: 1 });
    assert.equal(typeof pub.offset, 'number');
    const sub0 = client.subscribe('devices');
    await sub0.ready;
    const hist = await client.history('devices', { limit: 5 });
    assert.ok(Array.isArray(hist.publications));
    assert.equal(typeof hist.epoch, 'string');
    await assert.rejects(client.publish('devices', { no: 1 }), (err) => err.code === sdk.CodeForbidden);
    // A subscription the token does not allow rejects its ready promise.
    const sub = client.subscribe('user:someone-else');
    await assert.rejects(sub.ready, (err) => err.code === sdk.CodeForbidden);
    assert.equal(sub.state, 'unsubscribed');
  } finally {
    client.close();
  }
});

test('measures delivery latency and reports it to the bridge', { timeout: 60000 }, async () => {
  const client = await sdk.createClient({ url: bridge.wsURL, token: bridge.token, reportInterval: 200 });
  try {
    const before = (await scrapeLatency(bridge.httpURL))?.count ?? 0;
    await client.connect();
    // The clock-sync ping goes out right after connect.
    const first = await waitFor(async () => {
      const s = await client.latency();
      return s.offsetMs !== null && s;
    }, { what: 'a clock offset estimate' });
    assert.ok(Math.abs(first.offsetMs) < 100, `same host, same clock: offset ${first.offsetMs} ms`);
    assert.ok(first.rttMs >= 0);

    const sub = client.subscribe('devices'); // stream mode: every message, no conflation
    await sub.ready;
    const stats = await waitFor(async () => {
      const s = await client.latency();
      return s.count >= 20 && s.reported >= 20 && s;
    }, { timeout: 30000, what: '20 measured and reported publications' });
    assert.ok(stats.p50 > 0 && stats.p50 <= stats.p99, `p50 ${stats.p50} ≤ p99 ${stats.p99}`);
    assert.ok(stats.p99 < 1000, 'loopback delivery well under a second');
    const scraped = await waitFor(async () => {
      const h = await scrapeLatency(bridge.httpURL);
      return h && h.count - before >= stats.reported && h;
    }, { what: 'the reported samples on /metrics' });
    console.log(`node e2e latency (MQTT publish → bridge → wasm SDK in Node, loopback, stream mode): ` +
      `client p50=${stats.p50.toFixed(2)}ms p99=${stats.p99.toFixed(2)}ms over ${stats.count} samples; ` +
      `bridge /metrics p50=${(histogramQuantile(0.5, scraped) * 1000).toFixed(2)}ms p99=${(histogramQuantile(0.99, scraped) * 1000).toFixed(2)}ms; ` +
      `clock offset ${first.offsetMs.toFixed(3)}ms rtt ${first.rttMs.toFixed(3)}ms`);
  } finally {
    client.close();
  }
});

test('reportInterval 0 keeps measuring but does not report', { timeout: 30000 }, async () => {
  const client = await sdk.createClient({ url: bridge.wsURL, token: bridge.token, reportInterval: 0 });
  try {
    await client.connect();
    client.subscribe('devices');
    const s = await waitFor(async () => {
      const x = await client.latency();
      return x.count >= 3 && x;
    }, { timeout: 20000, what: 'measured publications' });
    assert.equal(s.reported, 0);
    assert.ok(s.pending >= 3);
  } finally {
    client.close();
  }
});
