package client

import "github.com/mqlive/mqlive/bridge/wire/protocol"

// Protocol is the WebSocket subprotocol the client offers (PROTOCOL.md).
const Protocol = protocol.Subprotocol

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// URL is the bridge's WebSocket endpoint, e.g. ws://host/ws. Required.
	URL string
	// Token is the JWT sent in connect. When empty, GetToken is called.
	Token string
	// GetToken fetches a fresh token: before the first connect when Token
	// is empty, after the server said the token expired (4010), and ahead
	// of expires_at to refresh the session. It runs on its own goroutine
	// and may block. Nil means the token cannot be refreshed.
	GetToken func() (string, error)
	// Name is sent as connect's "client" param. Default "mqlive-go/0.1.0".
	Name string
	// MinReconnectDelay and MaxReconnectDelay bound the full-jitter
	// backoff, in milliseconds like every duration here. Defaults 500 ms and
	// 20 s (centrifuge's).
	MinReconnectDelay int64
	MaxReconnectDelay int64
	// Timeout bounds a connection attempt (dial to connect result) and every
	// request. Default 5 s.
	Timeout int64
	// MaxServerPingDelay is the slack added to the server's ping_interval_ms
	// before a silent connection is declared dead. Default 10 s.
	MaxServerPingDelay int64
	// ReportInterval is how often the client reports its delivery latency
	// histogram to the bridge (the report request), when it has new
	// samples. Default 10 s; negative disables reporting (the client still
	// measures: Client.Latency).
	ReportInterval int64
	// Transport and Codec are required.
	Transport Transport
	Codec     Codec
	// OnEvent receives every event on the actor goroutine; it must not
	// block. Nil drops events.
	OnEvent func(Event)
	// Rand replaces math/rand/v2 for the backoff jitter (tests).
	Rand func(n int64) int64
	// Clock supplies time; default SystemClock in native builds. Required
	// in js builds.
	Clock Clock
	// Table, when set, keeps the merged device table in the client: it is
	// fed from the snapshots and Readings of device channels and reported
	// as EvDevice/EvDeviceRemoved events and by Client.Devices. Go programs
	// get one from nativews.New. The browser SDK leaves it nil and keeps its
	// table in JavaScript (sdk-js/src/devices.js), where merging a Reading
	// costs no calls across the WebAssembly boundary and the table's code
	// stays out of the .wasm.
	Table Table
}

// Table is the client's device table; *DeviceTable implements it.
type Table interface {
	// Replace applies a subscribe result's snapshot (all: it covers the
	// whole tenant) and returns the devices set and the ids removed.
	Replace(snapshot Value, all bool) (set []Device, removed []string)
	// Apply merges one Reading and returns the device it changed.
	Apply(r Value) (Device, bool)
	// All returns every device, sorted by id.
	All() []Device
}

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name = "mqlive-go/0.1.0"
	}
	if c.MinReconnectDelay <= 0 {
		c.MinReconnectDelay = 500 * Millisecond
	}
	if c.MaxReconnectDelay <= 0 {
		c.MaxReconnectDelay = 20 * Second
	}
	if c.MaxReconnectDelay < c.MinReconnectDelay {
		c.MaxReconnectDelay = c.MinReconnectDelay
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * Second
	}
	if c.MaxServerPingDelay <= 0 {
		c.MaxServerPingDelay = 10 * Second
	}
	if c.ReportInterval == 0 {
		c.ReportInterval = 10 * Second
	}
	if c.Clock == nil {
		c.Clock = defaultClock()
	}
	if c.OnEvent == nil {
		c.OnEvent = func(Event) {}
	}
}

// State is the connection state.
type State uint8

// States. A client waiting to reconnect is StateConnecting with Attempt > 0.
const (
	StateDisconnected State = iota
	StateConnecting
	StateConnected
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateClosed:
		return "closed"
	}
	return "disconnected"
}

// SubState is a subscription's state. A subscription is subscribing from
// subscribe until the server's result, again whenever the connection is
// lost or a lagged asks for a re-sync, and unsubscribed once it is over.
type SubState uint8

// Subscription states.
const (
	SubUnsubscribed SubState = iota
	SubSubscribing
	SubSubscribed
)

func (s SubState) String() string {
	switch s {
	case SubSubscribing:
		return "subscribing"
	case SubSubscribed:
		return "subscribed"
	}
	return "unsubscribed"
}

// Position is a place in a channel's stream (PROTOCOL.md "Subscribe,
// recovery and snapshot").
type Position struct {
	Epoch  string
	Offset int64
}

// SubscribeOptions are the optional params of subscribe.
type SubscribeOptions struct {
	// Mode is "stream" (default) or "latest".
	Mode string
	// MaxRateHz caps a latest-mode subscription; 0 leaves it to the server.
	MaxRateHz float64
	// Since asks the server to recover publications after this position.
	Since *Position
}

// HistoryOptions are the optional params of history.
type HistoryOptions struct {
	Since *Position
	// Until is an RFC 3339 time; empty means none.
	Until string
	// Limit caps the result (server maximum 1000); 0 means the default.
	Limit int
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EvState: a transition From -> State (disconnected, connecting,
	// connected, closed; README "Connection states"), with Attempt, DelayMs
	// (until the next dial), Code/Reason (why: the close code of the last
	// connection, or the client-side error). From == State (connecting) only
	// when a further reconnect attempt is scheduled.
	EvState EventKind = iota + 1
	// EvConnected: Data is the connect result (session, node, user, tenant,
	// ping_interval_ms, expires_at).
	EvConnected
	// EvDisconnected: the client stopped for good (Code, Reason); it will not
	// reconnect by itself.
	EvDisconnected
	// EvError: Err, a non-fatal problem (bad frame, failed token fetch,
	// transport error).
	EvError
	// EvPublication: Channel, Data (the whole Publication: channel, epoch,
	// offset, data, conflated), Epoch, Offset.
	EvPublication
	// EvSubscribed: Channel, Recovered, WasRecovering (since was sent),
	// Count (publications recovered before it), Epoch, Offset, Data (the
	// subscribe result; its snapshot replaces the channel's state when
	// !Recovered). An EvGap precedes it when a resume lost data.
	EvSubscribed
	// EvSubscribeError: Channel, Err; the subscription was dropped.
	EvSubscribeError
	// EvLagged: Channel, Offset; the client re-subscribes with since.
	EvLagged
	// EvDevice: Device, the merged state after a change (only with a
	// Config.Table).
	EvDevice
	// EvDeviceRemoved: DeviceID, dropped by a "devices" snapshot (only with
	// a Config.Table).
	EvDeviceRemoved
	// EvGap: continuity of Channel was lost. LastEpoch/LastOffset is the
	// last publication delivered (or the since resumed from); Epoch/Offset
	// the first one delivered after the gap: a live publication of a new
	// epoch, or, when a re-subscribe answered recovered:false, the result's
	// offset+1 (the snapshot stands for the state up to the result's offset).
	EvGap
	// EvSubState: subscription Channel went SubFrom -> SubState, with
	// Code/Reason. Emitted on every transition: unsubscribed -> subscribing
	// (subscribe), subscribing -> subscribed (result), subscribed ->
	// subscribing (connection lost, lagged), any -> unsubscribed
	// (unsubscribe, refused, ended by the server, Close).
	EvSubState
)

// Event is one notification to the application.
type Event struct {
	Kind      EventKind
	State     State
	From      State
	SubState  SubState
	SubFrom   SubState
	Attempt   int
	DelayMs   int64
	Code      int
	Reason    string
	Err       error
	Channel   string
	Data      Value
	Recovered bool
	// WasRecovering: the subscribe carried since; Count: publications
	// recovered (delivered before the result).
	WasRecovering bool
	Count         int
	Epoch         string
	Offset        int64
	LastEpoch     string
	LastOffset    int64
	Device        Device
	DeviceID      string
}

// Done receives a request's result, or its error (always an *Error).
type Done func(result Value, err error)

// Client is one mqlive session with automatic reconnect and resubscribe.
type Client struct {
	cfg  Config
	q    *queue
	done chan struct{}
	a    actor
}

// New validates cfg and starts the client's actor goroutine. The client
// stays disconnected until Connect.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, &Error{Code: CodeInvalidParams, Message: "config: URL is required"}
	}
	if cfg.Transport == nil || cfg.Codec == nil {
		return nil, &Error{Code: CodeInvalidParams, Message: "config: Transport and Codec are required"}
	}
	cfg.defaults()
	if cfg.Clock == nil {
		return nil, &Error{Code: CodeInvalidParams, Message: "config: Clock is required"}
	}
	c := &Client{cfg: cfg, q: newQueue(), done: make(chan struct{})}
	c.a.init(c)
	go c.run()
	return c, nil
}

// post queues f for the actor; it never blocks. After Close it is a no-op.
func (c *Client) post(f func()) bool { return c.q.push(f) }

func (c *Client) run() {
	defer close(c.done)
	for range c.q.sig {
		for _, f := range c.q.take() {
			f()
		}
		if c.a.stopped {
			for _, f := range c.q.close() {
				f()
			}
			return
		}
	}
}

// Done is closed when the actor has exited after Close.
func (c *Client) Done() <-chan struct{} { return c.done }

// Connect starts connecting (and keeps reconnecting). done, if not nil,
// gets nil once connected or the error that stopped the client (4001,
// 4003, Disconnect, Close).
func (c *Client) Connect(done func(error)) {
	if !c.post(func() { c.a.connect(done) }) && done != nil {
		done(ErrClosed)
	}
}

// Disconnect closes the connection and stops reconnecting. Subscriptions
// are kept and replayed by the next Connect.
func (c *Client) Disconnect() {
	c.post(func() { c.a.disconnect(ErrDisconnected, 1000, "client disconnect") })
}

// Close disconnects and stops the actor; pending requests fail with
// ErrClosed. Done is closed afterwards.
func (c *Client) Close() { c.post(func() { c.a.close() }) }

// ReconnectNow skips the remaining backoff delay, e.g. when the browser
// reports it is back online.
func (c *Client) ReconnectNow() { c.post(func() { c.a.reconnectNow() }) }

// Offline closes the connection (state disconnected, reason "offline")
// and stops reconnecting until Online; subscriptions, pending Connect
// callbacks and queued requests are kept. Connect while offline waits for
// Online. The browser SDK calls it on the window's offline event.
func (c *Client) Offline() { c.post(func() { c.a.goOffline() }) }

// Online ends Offline and dials at once, without backoff, when the client
// wants to be connected; it also cuts short a backoff delay.
func (c *Client) Online() { c.post(func() { c.a.goOnline() }) }

// Check looks at the connection at once instead of waiting for a
// (possibly throttled) timer: a connected client that heard nothing for
// longer than twice the server's ping interval drops the connection and
// dials at once; a client waiting in backoff dials at once. sleptMs is
// time the page was suspended that the Clock may not count (a wall-clock
// jump on waking from sleep); 0 otherwise.
func (c *Client) Check(sleptMs int64) { c.post(func() { c.a.check(sleptMs) }) }

// SetHidden tells the client whether the page is hidden. While hidden its
// own watchdog never drops the connection (hidden tabs' timers are
// throttled): the server's WebSocket pings are the liveness signal. Showing
// the page again runs Check.
func (c *Client) SetHidden(hidden bool) {
	c.post(func() {
		c.a.hidden = hidden
		if !hidden {
			c.a.check(0)
		}
	})
}

// SetToken replaces the token used by the next connect.
func (c *Client) SetToken(token string) { c.post(func() { c.a.token = token }) }

// Subscribe adds channel to the desired set. It is replayed after every
// reconnect with since = the last position seen. done gets the first
// subscribe result, or the error that dropped the subscription.
func (c *Client) Subscribe(channel string, opts SubscribeOptions, done Done) {
	if !c.post(func() { c.a.subscribe(channel, opts, done) }) && done != nil {
		done(nil, ErrClosed)
	}
}

// Unsubscribe removes channel from the desired set.
func (c *Client) Unsubscribe(channel string, done Done) {
	if !c.post(func() { c.a.unsubscribe(channel, done) }) && done != nil {
		done(nil, ErrClosed)
	}
}

// Publish sends data (any JSON value of the Codec) to channel.
func (c *Client) Publish(channel string, data Value, done Done) {
	c.request(protocol.MethodPublish, done, func(p *obj) error {
		text, err := c.cfg.Codec.Stringify(data)
		if err != nil {
			return &Error{Code: CodeInvalidParams, Message: "publish data: " + err.Error()}
		}
		p.str("channel", channel).raw("data", text)
		return nil
	})
}

// History fetches a channel's stored publications.
func (c *Client) History(channel string, opts HistoryOptions, done Done) {
	c.request(protocol.MethodHistory, done, func(p *obj) error {
		p.str("channel", channel)
		if opts.Since != nil {
			p.sub("since", positionObj(*opts.Since))
		}
		if opts.Until != "" {
			p.str("until", opts.Until)
		}
		if opts.Limit > 0 {
			p.int("limit", int64(opts.Limit))
		}
		return nil
	})
}

// Presence lists the clients subscribed to channel, cluster-wide.
func (c *Client) Presence(channel string, done Done) {
	c.request(protocol.MethodPresence, done, func(p *obj) error { p.str("channel", channel); return nil })
}

// Command asks the bridge to send a command to a device; args may be nil.
func (c *Client) Command(device, name string, args Value, done Done) {
	c.request(protocol.MethodCommand, done, func(p *obj) error {
		p.str("device", device).str("name", name)
		if args != nil && args.Kind() != Missing {
			text, err := c.cfg.Codec.Stringify(args)
			if err != nil {
				return &Error{Code: CodeInvalidParams, Message: "command args: " + err.Error()}
			}
			p.raw("args", text)
		}
		return nil
	})
}

// Commands asks the bridge which commands a device accepts (name, label,
// output, fixed args or an args schema), so that a page sends generic
// commands and encodes no family's topics.
func (c *Client) Commands(device string, done Done) {
	c.request(protocol.MethodCommands, done, func(p *obj) error { p.str("device", device); return nil })
}

// Ping round-trips an application-level ping.
func (c *Client) Ping(done Done) { c.request(protocol.MethodPing, done, nil) }

// Devices passes a copy of the device table, sorted by id, to f on the
// actor goroutine; nil when the client keeps no table (Config.Table).
func (c *Client) Devices(f func([]Device)) {
	if !c.post(func() {
		if c.cfg.Table == nil {
			f(nil)
			return
		}
		f(c.cfg.Table.All())
	}) {
		f(nil)
	}
}

// request builds the params on the actor goroutine, so that the codec (the
// browser's JSON object) is used by one goroutine only; a build error fails
// the request.
func (c *Client) request(method string, done Done, build func(*obj) error) {
	if done == nil {
		done = func(Value, error) {}
	}
	if !c.post(func() {
		p := newObj()
		if build != nil {
			if err := build(p); err != nil {
				done(nil, err)
				return
			}
		}
		c.a.enqueue(method, p, done)
	}) {
		done(nil, ErrClosed)
	}
}

func positionObj(p Position) *obj { return newObj().str("epoch", p.Epoch).int("offset", p.Offset) }
