// Benchmark of the SDK's per-message cost in Node 20: the built package
// (WASM core + facade) connected to an in-process stand-in for WebSocket
// that answers connect and subscribe and then pushes N publications of a
// device channel in batches of 500 per macrotask. Reported: wall time and
// process CPU per publication, from the first frame to the last
// 'publication' event (each also merged into the device table and emitted
// as 'device'). No network and no bridge: this is the client's own work.
// `make bench-sdk` runs it; N=… sets the count (default 10000).
import { pathToFileURL } from 'node:url';
import { distEntry } from './helpers.mjs';

const N = Number(process.env.N || 10000);

class StandInSocket {
  constructor() {
    this.readyState = 0;
    this.protocol = 'mqlive.v1';
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }

  send(text) {
    const m = JSON.parse(text);
    const reply = (result) => setTimeout(() => this.onmessage?.({ data: JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) }), 0);
    if (m.method === 'connect') {
      reply({ session: 's1', node: 'bench', user: 'u', tenant: 't', ping_interval_ms: 25000, expires_at: new Date(Date.now() + 3600e3).toISOString() });
    } else if (m.method === 'subscribe') {
      reply({ channel: m.params.channel, epoch: 'e1', offset: 0, recovered: false, snapshot: [] });
      setTimeout(() => this.pump(), 5);
    } else if (m.id) {
      reply({});
    }
  }

  pump() {
    globalThis.benchStart = { wall: performance.now(), cpu: process.cpuUsage() };
    let i = 1;
    const batch = () => {
      for (let k = 0; k < 500 && i <= N; k++, i++) {
        this.onmessage?.({
          data: `{"jsonrpc":"2.0","method":"message","params":{"channel":"devices","epoch":"e1","offset":${i},"data":{"device":"dev-${i % 1000}","family":"zigbee2mqtt","online":true,"ts":"2026-11-23T17:00:00.123Z","received_at":"2026-11-23T17:00:00.131Z","metrics":{"temperature":21.5,"humidity":48.2,"battery":97,"linkquality":120},"attrs":{"model":"WSDCGQ11LM"},"tags":{"site":"hq"}}}}`,
        });
      }
      if (i <= N) setTimeout(batch, 0);
    };
    batch();
  }

  close() {
    this.readyState = 3;
  }
}

globalThis.WebSocket = StandInSocket;
const sdk = await import(pathToFileURL(distEntry()).href);
const client = await sdk.createClient({ url: 'ws://bench.invalid/ws', token: 'bench', reportInterval: -1 });
let publications = 0;
let devices = 0;
await new Promise((resolve) => {
  client.on('device', () => devices++);
  client.connect();
  client.subscribe('devices').on('publication', () => {
    if (++publications === N) resolve();
  });
});
const wall = performance.now() - globalThis.benchStart.wall;
const cpu = process.cpuUsage(globalThis.benchStart.cpu);
console.log(JSON.stringify({
  publications, device_events: devices,
  wall_us_per_msg: +((wall * 1000) / N).toFixed(1),
  cpu_us_per_msg: +((cpu.user + cpu.system) / N).toFixed(1),
}));
process.exit(0);
