// A typed usage example of @mqlive/sdk, compiled (never run) by
// `npm run typecheck` against the package's published declarations
// (dist/index.d.ts, found through package.json "exports"). It uses the whole
// public API the way an application would; the `@ts-expect-error` lines prove
// that wrong usage is rejected. If the .d.ts drifts from src/index.js, fix the
// .d.ts, not this file.
import {
  createClient,
  deviceChannel,
  loadRuntime,
  Client,
  Subscription,
  UnauthorizedError,
  type SubscriptionStateEvent,
  type ClientOptions,
  type ClientState,
  type ClientEvents,
  type ConnectedEvent,
  type Device,
  type DisconnectedEvent,
  type GapEvent,
  type HistoryOptions,
  type LaggedEvent,
  type LatencyStats,
  type MqliveError,
  type Position,
  type Publication,
  type Reading,
  type ResumeOptions,
  type StateEvent,
  type CommandSpec,
  type CommandsResult,
  type DeviceTableChange,
  type SubscribedEvent,
  type SubscribeOptions,
  type SubscribeResult,
  type SubscriptionState,
} from '@mqlive/sdk';

// --- runtime and client construction -------------------------------------

const runtime: Promise<unknown> = loadRuntime({ wasmURL: new URL('./mqlive.wasm', import.meta.url) });
await runtime;
await loadRuntime();

const options: ClientOptions = {
  url: 'wss://example.invalid/ws',
  token: 'eyJ...',
  getToken: async () => {
    const resp = await fetch('/token');
    return resp.text();
  },
  minReconnectDelay: 500,
  maxReconnectDelay: 20000,
  timeout: 5000,
  maxServerPingDelay: 10000,
  reportInterval: 0,
  lifecycle: true,
  name: 'dashboard/1.0',
  wasmURL: '/sdk/mqlive.wasm',
};
const client: Client = await createClient(options);
// Resume across a page reload: positions kept in sessionStorage (or any Storage).
const resume: ResumeOptions = { key: 'dashboard', storage: sessionStorage };
await createClient({ url: 'ws://localhost:8080/ws', token: 't', resume });
await createClient({ url: 'ws://localhost:8080/ws', token: 't', resume: true });
await createClient({ url: 'ws://localhost:8080/ws', token: 't', resume: { key: 'main' } });
// @ts-expect-error resume is true/false or { key?, storage? }
await createClient({ url: 'ws://x', resume: 'dashboard' });
// A getToken that signals "signed out": the client stops (code 4001) instead of retrying.
const guarded = await createClient({
  url: 'ws://localhost:8080/ws',
  getToken: async () => {
    const resp = await fetch('/token');
    if (resp.status === 401) throw new UnauthorizedError('signed out');
    return resp.text();
  },
});
guarded.close();
const unauthorized: UnauthorizedError = new UnauthorizedError();
const marked: true = unauthorized.unauthorized;
console.log(unauthorized instanceof Error, unauthorized.name, marked);

// The smallest valid options, and a synchronous getToken.
const other = await createClient({ url: 'ws://localhost:8080/ws', getToken: () => 'token' });
other.close();

// --- client events --------------------------------------------------------

client.on('state', (e: StateEvent) => {
  const s: ClientState = e.state;
  const from: ClientState = e.from;
  const to: ClientState = e.to;
  if (from === 'connected' && to === 'connecting') console.log('lost the connection', e.code);
  console.log(s, e.attempt, e.delayMs, e.code, e.reason.toUpperCase());
});
client.on('connecting', (e) => console.log(`attempt ${e.attempt} in ${e.delayMs} ms`));
client.on('connected', (e: ConnectedEvent) => {
  console.log(e.session, e.node, e.user, e.tenant, e.ping_interval_ms.toFixed(0), e.expires_at.length);
});
client.on('subscriptionState', (e: SubscriptionStateEvent) => {
  const from: SubscriptionState = e.from;
  console.log(e.channel, from, e.to, e.state, e.code, e.reason);
});
client.on('disconnected', (e: DisconnectedEvent) => console.log(e.code, e.reason));
client.on('error', (err: MqliveError) => {
  // An Error subclass with the protocol or client-side code.
  if (err instanceof Error && err.code === 4010) console.log(err.message, err.reason);
});
client.on('publication', (p: Publication) => console.log(p.channel, p.epoch, p.offset, p.data, p.conflated ?? 1));
client.on('subscribed', (e: SubscribedEvent) => console.log(e.channel, e.recovered, e.epoch, e.offset, e.result.snapshot?.length));
client.on('subscribed', (e) => {
  const resumed: boolean = e.wasRecovering;
  const n: number = e.recoveredCount;
  console.log(resumed && !e.recovered ? 'snapshot replaced the state' : n);
});
// A chart breaks its line between the two positions instead of drawing across the gap.
client.on('gap', (g: GapEvent) => console.log(g.channel, g.lastEpoch, g.lastOffset, g.epoch, g.firstOffset));
const onDevice = (d: Device) => {
  const online: boolean | null = d.online;
  const temp = d.metrics['temperature'];
  if (typeof temp === 'number') console.log(d.id, d.family, online, d.stale, temp.toFixed(1), d.metricTs['temperature']);
  console.log(d.ts, d.receivedAt, d.updates, d.attrs['fw'], d.tags['room']);
};
client.on('device', onDevice).on('deviceRemoved', ({ id }) => console.log('gone', id.length));
client.off('device', onDevice);
client.once('connected', (e) => console.log('first connect', e.session));

// A handler for every event, keyed by the event map.
const names: (keyof ClientEvents)[] = ['state', 'connecting', 'connected', 'disconnected', 'subscriptionState', 'error', 'publication', 'subscribed', 'gap', 'device', 'deviceRemoved'];
for (const name of names) client.on(name, (arg: ClientEvents[typeof name]) => console.log(name, arg));

// --- connect, state -------------------------------------------------------

await client.connect();
const state: ClientState = client.state;
const session: ConnectedEvent | null = client.session;
console.log(state, session?.tenant);
client.setToken('next-token');

// --- subscribe with every option -----------------------------------------

interface Temperature {
  celsius: number;
}
const since: Position = { epoch: 'e1', offset: 42 };
const subOptions: SubscribeOptions = { mode: 'latest', maxRateHz: 2, since };
const sub: Subscription<Temperature> = client.subscribe<Temperature>('sensors:kitchen', subOptions);
client.subscribe('devices', { mode: 'stream' });
client.subscribe('device:abc');

sub.on('state', ({ state }) => {
  const s: SubscriptionState = state;
  console.log(s);
});
sub.on('state', (e: SubscriptionStateEvent) => {
  if (e.from === 'subscribed' && e.to === 'subscribing') console.log('re-syncing', e.channel, e.code, e.reason);
});
sub.on('publication', (p: Publication<Temperature>) => console.log(p.data.celsius.toFixed(1), p.offset));
sub.on('subscribed', (e) => console.log(e.recovered, e.result.recovered, e.result.epoch));
sub.on('snapshot', (readings: Reading[]) => {
  for (const r of readings) {
    console.log(r.device, r.family, r.online, r.ts, r.received_at, r.metrics?.['t'], r.attrs, r.tags, r.stale);
  }
});
sub.on('lagged', (e: LaggedEvent) => console.log(e.channel, e.offset));
sub.on('gap', ({ lastOffset, firstOffset }) => console.log('no data between', lastOffset, firstOffset));
sub.on('error', (err) => console.log(err.code, err.reason));

const result: SubscribeResult = await sub.ready;
console.log(result.channel, result.epoch, result.offset, result.recovered, result.snapshot?.[0]?.device);
console.log(sub.client === client, sub.channel, sub.state, sub.position?.offset, sub.options.mode);

const found: Subscription | null = client.getSubscription('devices');
const all: Subscription[] = client.subscriptions();
console.log(found?.channel, all.length);

// --- publish, command, presence, history, ping ---------------------------

const { offset } = await client.publish('chat:room', { text: 'hi' });
console.log(offset.toFixed(0));
const { accepted } = await client.command('shelly-1', 'switch', { on: true });
await client.command('shelly-1', 'reboot');
console.log(accepted);
const listed: CommandsResult = await client.commands('shelly-1');
for (const c of listed.commands) {
  const spec: CommandSpec = c;
  if (listed.allowed && !spec.schema) await client.command(listed.device, spec.name, spec.args);
  console.log(spec.label, spec.output ?? '', listed.family);
}

const presence = await client.presence('devices');
for (const c of presence.clients) console.log(c.user, c.session, c.node, c.connected_at);

const historyOptions: HistoryOptions = { since, until: '2026-01-01T00:00:00Z', limit: 100 };
const history = await client.history('device:abc', historyOptions);
console.log(history.epoch, history.offset, history.complete, history.publications.map((p) => p.offset));
await client.history('device:abc');

const pong = await client.ping();
console.log(pong.time_ms.toFixed(0));

// --- device table and latency --------------------------------------------

const devices: Device[] = client.devices();
const one: Device | null = client.device('abc');
console.log(devices.length, one?.family, client.deviceCount());
const channel: string = deviceChannel('Living Room/Plug 2');
client.subscribe(channel, { mode: 'stream' });
const unwatch: () => void = client.watchDevices((batch: DeviceTableChange) => {
  for (const id of batch.changed) console.log(client.device(id)?.metrics);
  console.log(batch.removed.length);
});
unwatch();

const lat: LatencyStats = await client.latency();
console.log(lat.count, lat.p50 ?? 'n/a', lat.p99, lat.offsetMs, lat.rttMs, lat.reported, lat.pending);

// --- errors ----------------------------------------------------------------

try {
  await client.subscribe('forbidden').ready;
} catch (e) {
  const err = e as MqliveError;
  if (err.code === 4003) console.log('permission denied:', err.reason);
}

// --- unsubscribe, disconnect, close ---------------------------------------

const done: Promise<void> = sub.unsubscribe();
await done;
client.disconnect();
client.close();

// --- wrong usage is rejected ----------------------------------------------

// @ts-expect-error url is required
await createClient({ token: 't' });
// @ts-expect-error createClient needs its options
await createClient();
// @ts-expect-error timeout is a number of ms, not a string
await createClient({ url: 'ws://x', timeout: '5s' });
// @ts-expect-error getToken returns a string, not a number
await createClient({ url: 'ws://x', getToken: () => 42 });
// @ts-expect-error there is no 'message' event
client.on('message', () => {});
// @ts-expect-error 'lagged' is a subscription event, not a client event
client.on('lagged', () => {});
// @ts-expect-error a client state event's payload has no 'channel'
client.on('state', (e) => console.log(e.channel));
// @ts-expect-error 'paused' is not a client state
client.on('state', (e) => e.to === 'paused');
// @ts-expect-error mode is 'stream' or 'latest'
client.subscribe('devices', { mode: 'fast' });
// @ts-expect-error maxRateHz is a number
client.subscribe('devices', { maxRateHz: '2' });
// @ts-expect-error since is a Position, not an offset
client.subscribe('devices', { since: 42 });
// @ts-expect-error subscribe needs a channel
client.subscribe();
// @ts-expect-error publish needs the data
await client.publish('chat:room');
// @ts-expect-error command needs a name
await client.command('shelly-1');
// @ts-expect-error limit is a number
await client.history('devices', { limit: '10' });
// @ts-expect-error a typed subscription's data is Temperature
sub.on('publication', (p) => console.log(p.data.fahrenheit));
// @ts-expect-error state is read-only
client.state = 'connected';
// @ts-expect-error device() may return null
client.device('abc').id;
