// Type declarations for @mqlive/sdk (hand-written; the runtime is index.js).

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
  /** Fetches a fresh token: first connect without `token`, after 4010, and before `expires_at`. */
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
  /** Where to load mqlive.wasm from; default next to index.js. */
  wasmURL?: string | URL;
}

export type ClientState = 'disconnected' | 'connecting' | 'connected' | 'closed';

export interface StateEvent {
  state: ClientState;
  /** Reconnect attempt (0 for the first connect). */
  attempt: number;
  /** Delay before the next dial in ms (0 when dialling now). */
  delayMs: number;
  /** Close or error code that ended the previous connection, 0 if none. */
  code: number;
  reason: string;
}

export interface ConnectedEvent {
  session: string;
  node: string;
  user: string;
  tenant: string;
  ping_interval_ms: number;
  expires_at?: string;
}

export interface DisconnectedEvent {
  code: number;
  reason: string;
}

/** An Error with the JSON-RPC or close code (client-side codes: 1 timeout, 2 connection lost, 3 disconnected, 4 closed, 5 no token, 6 unsubscribed, 7 malformed reply). */
export interface MqliveError extends Error {
  code: number;
  reason: string;
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
  snapshot?: Reading[];
}

export interface SubscribedEvent {
  channel: string;
  recovered: boolean;
  epoch: string;
  offset: number;
  result: SubscribeResult;
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
  error: MqliveError;
  publication: Publication;
  subscribed: SubscribedEvent;
  device: Device;
  deviceRemoved: { id: string };
}

export interface SubscriptionEvents<T> {
  state: { state: SubscriptionState };
  publication: Publication<T>;
  subscribed: SubscribedEvent;
  snapshot: Reading[];
  lagged: LaggedEvent;
  error: MqliveError;
}

export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

export interface SubscribeOptions {
  mode?: 'stream' | 'latest';
  maxRateHz?: number;
  since?: Position;
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
  readonly state: SubscriptionState;
  /** Last position seen, replayed as `since` after a reconnect. */
  readonly position: Position | null;
  /** Resolves with the first subscribe result; rejects if the server refuses the channel. */
  readonly ready: Promise<SubscribeResult>;
  unsubscribe(): Promise<void>;
}

export declare class Client extends Emitter<ClientEvents> {
  readonly state: ClientState;
  readonly session: ConnectedEvent | null;
  connect(): Promise<void>;
  disconnect(): void;
  close(): void;
  setToken(token: string): void;
  subscribe<T = unknown>(channel: string, options?: SubscribeOptions): Subscription<T>;
  getSubscription(channel: string): Subscription | null;
  subscriptions(): Subscription[];
  publish(channel: string, data: unknown): Promise<{ offset: number }>;
  history(channel: string, options?: HistoryOptions): Promise<{ publications: Publication[]; epoch: string; complete: boolean }>;
  presence(channel: string): Promise<{ clients: { user: string; session: string; node: string; connected_at: string }[] }>;
  command(device: string, name: string, args?: unknown): Promise<{ accepted: boolean }>;
  ping(): Promise<Record<string, unknown>>;
  /** The local device table, sorted by id. */
  devices(): Device[];
  device(id: string): Device | null;
  /** Client-side delivery latency statistics (see LatencyStats). */
  latency(): Promise<LatencyStats>;
}

export declare function createClient(options: ClientOptions): Promise<Client>;
export declare function loadRuntime(options?: { wasmURL?: string | URL }): Promise<unknown>;
