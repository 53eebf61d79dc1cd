// Type declarations for @mqlive/sdk (hand-written; the runtime is index.js).

// Method names and JSON-RPC/close codes (generated from bridge/wire/protocol).
export * from './protocol.js';

/** A place in a channel's stream (PROTOCOL.md). */
export interface Position {
  epoch: string;
  offset: number;
}

export interface ClientOptions {
  /** WebSocket endpoint of the bridge, e.g. `wss://host/ws`. */
  url: string;
  /** JWT sent in `connect`. */
  token?: string;
  /**
   * Fetches a fresh token: first connect without `token`, after 4010, and
   * before `expires_at`. Throw (or reject with) an `UnauthorizedError` to
   * stop the client in `disconnected` with code 4001 (no retry); any other
   * failure is retried with backoff.
   */
  getToken?: () => string | Promise<string>;
  /** Full-jitter backoff bounds in ms. Defaults 500 and 20000. */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** Connect attempt and request timeout in ms. Default 5000. */
  timeout?: number;
  /** Slack in ms over the server's ping interval before a silent connection is dropped. Default 10000. */
  maxServerPingDelay?: number;
  /**
   * How often in ms the client reports its delivery latency histogram to the
   * bridge (exported there as `mqlive_client_delivery_latency_seconds`), when
   * it has new samples. Default 10000; 0 disables reporting (the client still
   * measures, see `Client.latency()`).
   */
  reportInterval?: number;
  /** Sent as connect's `client` param. */
  name?: string;
  /**
   * Follow the page lifecycle (browsers only; default true): `offline`
   * closes the connection (state `disconnected`, reason `offline`) and stops
   * retrying until `online`, which reconnects at once; showing or resuming
   * the page, or waking from sleep, checks the connection at once and
   * reconnects if it is dead. `false` turns this off.
   */
  lifecycle?: boolean;
  /** Where to load mqlive.wasm from; default next to index.js. */
  wasmURL?: string | URL;
  /**
   * Resume across a page reload (off by default). `true` or an object: the
   * client keeps each subscription's last position in `sessionStorage` (or
   * `storage`) under `mqlive.resume.<key>` (key default `'default'`; use one
   * key per client on a page), saved at most every 250 ms and on
   * `pagehide`/`beforeunload`. A `subscribe()` without `since` then resumes
   * from the stored position, so a reloaded page gets `recovered: true`
   * instead of a snapshot when the bridge still has the history; a resume
   * answered `recovered: false` just replaces the position. Positions are
   * tied to the connection's tenant/user (another user's are dropped on
   * connect) and forgotten on `close()`, `unsubscribe()` and a 4001/4003
   * stop. Without a storage (Node, blocked storage) the option does nothing.
   */
  resume?: boolean | ResumeOptions;
}

export interface ResumeOptions {
  /** Names the stored record (`mqlive.resume.<key>`). Default `'default'`. */
  key?: string;
  /** Default `sessionStorage`; any Web Storage–like object works. */
  storage?: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  };
}

export type ClientState = 'disconnected' | 'connecting' | 'connected' | 'closed';

/**
 * A client state transition (README "Connection states"): `from` → `to`
 * (`state` is `to`). `from === to` (`connecting`) only when another
 * reconnect attempt is scheduled.
 */
export interface StateEvent {
  from: ClientState;
  to: ClientState;
  state: ClientState;
  /** Reconnect attempt (0 for the first connect). */
  attempt: number;
  /** Delay before the next dial in ms (0 when dialling now). */
  delayMs: number;
  /** Close or error code that ended the previous connection, 0 if none. */
  code: number;
  reason: string;
}

/** The bridge's connect result. */
export interface ConnectedEvent {
  session: string;
  node: string;
  user: string;
  tenant: string;
  ping_interval_ms: number;
  /** The token's `exp` (RFC 3339, UTC); always present, since the bridge requires `exp`. */
  expires_at: string;
}

/** A subscription state transition, on the Subscription (`state`) and the Client (`subscriptionState`). */
export interface SubscriptionStateEvent {
  channel: string;
  from: SubscriptionState;
  to: SubscriptionState;
  /** Same as `to`. */
  state: SubscriptionState;
  /** Close or error code behind the transition, 0 if none. */
  code: number;
  reason: string;
}

/** Throw it from `getToken` when the user may not connect: the client stops (code 4001) instead of retrying. */
export declare class UnauthorizedError extends Error {
  constructor(message?: string);
  readonly name: 'UnauthorizedError';
  readonly unauthorized: true;
}

export interface DisconnectedEvent {
  code: number;
  reason: string;
}

/** An Error with the JSON-RPC or close code (CodeForbidden, CloseSignedOut… from this module; client-side codes: 1 timeout, 2 connection lost, 3 disconnected, 4 closed, 5 no token, 6 unsubscribed, 7 malformed reply). */
export interface MqliveError extends Error {
  code: number;
  reason: string;
  /** Set on the client's 'error' when the server ended this channel's subscription (it is removed from `subscriptions()`). */
  channel?: string;
}

export interface Publication<T = unknown> {
  channel: string;
  epoch: string;
  offset: number;
  data: T;
  conflated?: number;
}

/** A Reading as the bridge sends it (PROTOCOL.md "Reading"). */
export interface Reading {
  device: string;
  family: string;
  online?: boolean;
  ts: string;
  received_at: string;
  metrics?: Record<string, number | boolean>;
  attrs?: Record<string, string>;
  tags?: Record<string, string>;
  stale: boolean;
}

export interface SubscribeResult {
  channel: string;
  epoch: string;
  offset: number;
  recovered: boolean;
  /** The channel's state when not `recovered` (possibly empty); null when recovered. */
  snapshot: Reading[] | null;
}

export interface SubscribedEvent {
  channel: string;
  /** The missed publications were delivered (before this event); false: `result.snapshot` replaces the state. */
  recovered: boolean;
  /** The subscribe resumed from a position (`since`): a reconnect, a `lagged`, or the `since` option. */
  wasRecovering: boolean;
  /** Publications recovered, i.e. delivered between the subscribe request and this event. */
  recoveredCount: number;
  epoch: string;
  offset: number;
  result: SubscribeResult;
}

/**
 * Continuity was lost: no publication was delivered after
 * (`lastEpoch`, `lastOffset`) and before (`epoch`, `firstOffset`). Fired
 * when a resume answered `recovered: false` (before that `subscribed`
 * event; `firstOffset` is the result's offset + 1, the snapshot stands for
 * the state up to the result's offset), or when a live publication brings
 * a new epoch (before it; `firstOffset` is its offset). Not fired when a
 * `lagged` or a reconnect was recovered in full.
 */
export interface GapEvent {
  channel: string;
  /** The last publication delivered before the gap (or the `since` resumed from). */
  lastEpoch: string;
  lastOffset: number;
  /** The first publication after the gap. */
  epoch: string;
  firstOffset: number;
}

export interface LaggedEvent {
  channel: string;
  offset: number;
}

/** The merged latest state of one device in the local device table. Times are ms since the epoch (0 unknown). */
export interface Device {
  id: string;
  family: string;
  /** null until a Reading said whether the device is online. */
  online: boolean | null;
  stale: boolean;
  ts: number;
  receivedAt: number;
  updates: number;
  metrics: Record<string, number | boolean>;
  metricTs: Record<string, number>;
  attrs: Record<string, string>;
  tags: Record<string, string>;
}

/**
 * End-to-end delivery latency seen by this client: from the bridge receiving
 * the MQTT message (a Reading's `received_at`, server clock) to the SDK
 * handing the publication to the page (client clock + estimated offset).
 * Only live publications of device channels (`devices`, `device:<id>`,
 * `tag:<k>=<v>`) are measured, not recovered ones or snapshots. All in ms.
 */
export interface LatencyStats {
  /** Publications measured since the client was created. */
  count: number;
  /** Median and 99th percentile, interpolated inside the histogram buckets the way Prometheus' histogram_quantile does; null while count is 0. */
  p50: number | null;
  p99: number | null;
  /**
   * Estimated server clock minus client clock, NTP-style from ping round
   * trips (the shortest of the last 8), and that round trip. Null until the
   * first ping (sent right after connect) returns.
   */
  offsetMs: number | null;
  rttMs: number | null;
  /** Samples the bridge has acknowledged in reports, and samples not yet reported. */
  reported: number;
  pending: number;
}

export interface ClientEvents {
  state: StateEvent;
  connecting: StateEvent;
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  subscriptionState: SubscriptionStateEvent;
  error: MqliveError;
  publication: Publication;
  subscribed: SubscribedEvent;
  gap: GapEvent;
  device: Device;
  deviceRemoved: { id: string };
}

export interface SubscriptionEvents<T> {
  state: SubscriptionStateEvent;
  publication: Publication<T>;
  subscribed: SubscribedEvent;
  snapshot: Reading[];
  lagged: LaggedEvent;
  gap: GapEvent;
  error: MqliveError;
}

export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

export interface SubscribeOptions {
  mode?: 'stream' | 'latest';
  maxRateHz?: number;
  since?: Position;
}

/** One command a device accepts (the `commands` method). */
export interface CommandSpec {
  /** The `command` name to send. */
  name: string;
  /** A short human label ("On", "Queue downlink"). */
  label: string;
  /** The boolean metric this command switches ("state", "switch:1.state"), if any. */
  output?: string;
  /** Fixed args to send as they are. */
  args?: unknown;
  /** JSON Schema of the args the user supplies (then `args` is absent). */
  schema?: Record<string, unknown>;
}

/** The result of `commands()`. */
export interface CommandsResult {
  device: string;
  family: string;
  /** Whether this token may send them (its `cmd` claim); the list is the same either way. */
  allowed: boolean;
  commands: CommandSpec[];
}

/** What `watchDevices` reports: ids merged or removed since the last call. */
export interface DeviceTableChange {
  changed: string[];
  removed: string[];
}

/** The result of `history()`. */
export interface HistoryResult {
  publications: Publication[];
  epoch: string;
  /** The channel's current offset. */
  offset: number;
  /** False when `limit` cut the list short. */
  complete: boolean;
}

export interface PresenceClient {
  user: string;
  session: string;
  node: string;
  /** RFC 3339. */
  connected_at: string;
}

export interface HistoryOptions {
  since?: Position;
  /** RFC 3339 time. */
  until?: string;
  limit?: number;
}

declare class Emitter<E> {
  on<K extends keyof E>(event: K, fn: (arg: E[K]) => void): this;
  off<K extends keyof E>(event: K, fn: (arg: E[K]) => void): this;
  once<K extends keyof E>(event: K, fn: (arg: E[K]) => void): this;
}

export declare class Subscription<T = unknown> extends Emitter<SubscriptionEvents<T>> {
  readonly client: Client;
  readonly channel: string;
  /** The options given to `subscribe()`. */
  readonly options: SubscribeOptions;
  readonly state: SubscriptionState;
  /** Last position seen, replayed as `since` after a reconnect. */
  readonly position: Position | null;
  /** Resolves with the first subscribe result; rejects if the server refuses the channel. */
  readonly ready: Promise<SubscribeResult>;
  /** Leaves the channel; resolves once the bridge confirmed (at once if not connected). */
  unsubscribe(): Promise<void>;
}

export declare class Client extends Emitter<ClientEvents> {
  readonly state: ClientState;
  /** The last connect result; null before the first connect. */
  readonly session: ConnectedEvent | null;
  /** Connects (and keeps reconnecting); resolves once connected, rejects with an MqliveError (code 4 after close()). */
  connect(): Promise<void>;
  disconnect(): void;
  /** Disconnects for good and releases the client; forgets the `resume` positions. */
  close(): void;
  setToken(token: string): void;
  /**
   * Subscribes to a channel and returns its handle at once (the existing one,
   * options unchanged, if the channel is already subscribed); attach handlers,
   * then await `ready`. The subscription is replayed after every reconnect.
   */
  subscribe<T = unknown>(channel: string, options?: SubscribeOptions): Subscription<T>;
  getSubscription(channel: string): Subscription | null;
  subscriptions(): Subscription[];
  publish(channel: string, data: unknown): Promise<{ offset: number }>;
  history(channel: string, options?: HistoryOptions): Promise<HistoryResult>;
  /** The clients subscribed to the channel, cluster-wide. */
  presence(channel: string): Promise<{ clients: PresenceClient[] }>;
  command(device: string, name: string, args?: unknown): Promise<{ accepted: boolean }>;
  /** The commands a device accepts, listed by the bridge from its family (README "Commands from the dashboard"). */
  commands(device: string): Promise<CommandsResult>;
  /** `time_ms` is the bridge's clock (Unix ms) when it answered. */
  ping(): Promise<{ time_ms: number }>;
  /** The local device table, sorted by id. */
  devices(): Device[];
  device(id: string): Device | null;
  /** How many devices the local table holds. */
  deviceCount(): number;
  /**
   * Calls fn with the ids merged or removed since its last call, at most once
   * per animation frame (every 16 ms without requestAnimationFrame). Returns unwatch.
   */
  watchDevices(fn: (batch: DeviceTableChange) => void): () => void;
  /** Client-side delivery latency statistics (see LatencyStats). */
  latency(): Promise<LatencyStats>;
}

/** The channel of one device: `device:` and the id, percent-encoded as the bridge does ('Living Room/Plug 2' → 'device:Living%20Room/Plug%202'). */
export declare function deviceChannel(id: string): string;
/** Loads the runtime if needed and creates a client; it does not connect until `connect()`. Rejects with a TypeError without `options.url`. */
export declare function createClient(options: ClientOptions): Promise<Client>;
/** Loads and starts the WebAssembly runtime once per page (memoised; a failed load can be retried). Resolves with the runtime's internal API. */
export declare function loadRuntime(options?: { wasmURL?: string | URL }): Promise<unknown>;
