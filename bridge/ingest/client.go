package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqlive/mqlive/devices"
)

// Handler receives every message the Client gets from the broker. It is
// called from paho's goroutine, one message at a time, and must not block
// long (see doc.go).
type Handler func(m devices.Message)

// Sentinel errors.
var (
	ErrNotConnected = errors.New("ingest: not connected")
	ErrAlreadyRun   = errors.New("ingest: client already run")
)

// disconnectQuiesce is how long Disconnect waits for in-flight work (ms).
const disconnectQuiesce = 250

// Stats are the Client's counters since New.
type Stats struct {
	// Connects counts successful connections, the first one included.
	Connects uint64
	// Reconnects counts successful connections after the first.
	Reconnects uint64
	// Lost counts connections lost without a Disconnect of ours.
	Lost uint64
	// Received counts messages handed to the Handler.
	Received uint64
	// HandlerPanics counts messages whose Handler call panicked.
	HandlerPanics uint64
	// Dropped counts messages an Inline was handed after Run had begun
	// to stop, and did not pass on; a Client never has any.
	Dropped uint64
}

// Client is an MQTT subscriber. Create it with New.
type Client struct {
	cfg  Config
	h    Handler
	log  *slog.Logger
	subs map[string]byte

	ran     atomic.Bool
	stopped <-chan struct{}             // closed when Run returns; set before connecting
	paho    atomic.Pointer[paho.Client] // set by Run before connecting
	fatal   chan error                  // a refused subscription; buffered
	cycle   chan uint64                 // connection number left unsubscribed; buffered

	// readyGen is the connection number (Connects) whose subscriptions
	// were acknowledged; Connected compares it with connects so that a
	// stale acknowledgement from an earlier connection never counts.
	readyGen atomic.Uint64

	connects, lost, received, panics atomic.Uint64
}

// New validates cfg and returns a Client that calls h for every message.
func New(cfg Config, h Handler) (*Client, error) {
	if h == nil {
		return nil, errors.New("ingest: nil handler")
	}
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:   cfg,
		h:     h,
		log:   cfg.Logger.With("component", "ingest", "broker", RedactURL(cfg.URL), "client_id", cfg.ClientID),
		subs:  cfg.subscriptionFilters(),
		fatal: make(chan error, 1),
		cycle: make(chan uint64, 1),
	}, nil
}

// ClientID returns the MQTT client id in use (generated when not configured).
func (c *Client) ClientID() string { return c.cfg.ClientID }

// Run connects to the broker, retrying with exponential backoff and jitter
// until ctx is done, subscribes, and keeps the connection up (paho
// reconnects; every connect subscribes again). It returns nil after
// disconnecting cleanly when ctx is done, or an error when the broker
// refuses a subscription, which is a configuration problem (ACL, shared
// subscriptions unsupported) that retrying will not fix.
func (c *Client) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	// onConnect goroutines watch stopped so that none outlives Run.
	stopped := make(chan struct{})
	defer close(stopped)
	c.stopped = stopped
	cl := paho.NewClient(c.options())
	c.paho.Store(&cl)
	defer c.paho.Store(nil)

	for {
		if err := c.connectLoop(ctx, cl); err != nil {
			return nil // ctx done before a connection: nothing to close
		}
		err := c.stayConnected(ctx)
		cl.Disconnect(disconnectQuiesce)
		if !errors.Is(err, errCycle) {
			c.log.Info("mqtt disconnected")
			return err
		}
		// Connected but not subscribed: paho only resubscribes on a new
		// connection, so make one rather than stay up deaf.
		c.log.Warn("mqtt subscription not established; reconnecting")
		select {
		case <-time.After(time.Second): // no tight loop if it keeps failing
		case <-ctx.Done():
			return nil
		}
	}
}

// errCycle asks Run for a new connection.
var errCycle = errors.New("ingest: reconnect to subscribe again")

// stayConnected waits while paho keeps the connection up (reconnecting as
// needed). It returns nil when ctx is done, the fatal error of a refused
// subscription, or errCycle when the current connection could not
// subscribe.
func (c *Client) stayConnected(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-c.fatal:
			return err
		case gen := <-c.cycle:
			if gen == c.connects.Load() { // else a later connection has subscribed since
				return errCycle
			}
		}
	}
}

// options builds paho's options; see doc.go for the choices.
func (c *Client) options() *paho.ClientOptions {
	o := paho.NewClientOptions().
		AddBroker(c.cfg.URL).
		SetClientID(c.cfg.ClientID).
		SetUsername(c.cfg.Username).
		SetPassword(c.cfg.Password).
		SetCleanSession(c.cfg.generated).
		SetOrderMatters(true).
		SetKeepAlive(c.cfg.KeepAlive).
		SetConnectTimeout(c.cfg.ConnectTimeout).
		// Our own loop retries the first connection, so that it backs off
		// exponentially and stops with ctx; paho's ConnectRetry sleeps a
		// fixed interval that a context cannot interrupt.
		SetConnectRetry(false).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(c.cfg.MaxReconnectInterval).
		SetDefaultPublishHandler(c.onMessage).
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(c.onLost)
	if c.cfg.TLS != nil {
		o.SetTLSConfig(c.cfg.TLS)
	}
	return o
}

// connectLoop makes the first connection. It returns ctx.Err() when ctx
// ends first.
func (c *Client) connectLoop(ctx context.Context, cl paho.Client) error {
	backoff := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		tok := cl.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			// An attempt is bounded by ConnectTimeout; wait for it so that
			// no paho goroutine outlives Run, then undo it if it succeeded.
			<-tok.Done()
			if tok.Error() == nil {
				cl.Disconnect(disconnectQuiesce)
			}
			return ctx.Err()
		}
		err := tok.Error()
		if err == nil {
			return nil
		}
		wait := backoff/2 + rand.N(backoff/2+1) // jitter spreads a fleet's retries
		c.log.Warn("mqtt connect failed; retrying", "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "error", redactErr(err, c.cfg.URL))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		backoff = min(backoff*2, c.cfg.MaxReconnectInterval)
	}
}

// onConnect runs in its own goroutine after every successful connect.
func (c *Client) onConnect(cl paho.Client) {
	gen := c.connects.Add(1)
	c.log.Info("mqtt connected", "connects", gen)
	if !c.subscribe(cl, gen) {
		return
	}
	for {
		cur := c.readyGen.Load()
		if cur >= gen || c.readyGen.CompareAndSwap(cur, gen) {
			break
		}
	}
	c.log.Info("mqtt subscribed", "filters", len(c.subs), "shared_group", c.cfg.SharedGroup)
}

// subscribeAttempts bounds retries of a SUBSCRIBE the broker answered with
// a transient code.
const subscribeAttempts = 5

// subscribe subscribes every filter on connection number gen and reports
// whether the broker granted all of them.
func (c *Client) subscribe(cl paho.Client, gen uint64) bool {
	for attempt := 1; attempt <= subscribeAttempts; attempt++ {
		// A nil callback routes every message to the default handler,
		// once, even when it matches several filters.
		tok := cl.SubscribeMultiple(c.subs, nil)
		timeout := time.NewTimer(c.cfg.ConnectTimeout)
		select {
		case <-tok.Done():
			timeout.Stop()
		case <-timeout.C:
			c.log.Warn("mqtt subscribe timed out", "connects", gen)
			c.reconnect(cl, gen)
			return false
		case <-c.stopped:
			timeout.Stop()
			return false
		}
		if err := tok.Error(); err != nil {
			c.log.Warn("mqtt subscribe failed", "connects", gen, "error", redactErr(err, c.cfg.URL))
			c.reconnect(cl, gen)
			return false
		}
		st, ok := tok.(*paho.SubscribeToken)
		if !ok {
			return true
		}
		retry := false
		for filter, code := range st.Result() {
			switch {
			case code < 0x80: // granted QoS [MQTT-3.9.3]
			case code == 0x91:
				// "Packet identifier in use" (MQTT 5 §3.9.3): mochi
				// answers so when a resumed session still holds an
				// inflight message under the id paho picked; paho
				// picks another id on the next try.
				retry = true
			default:
				// 0x80 is MQTT 3.1.1's only failure code: ACL denial,
				// invalid or unsupported ($share) filter. Retrying will
				// not fix configuration.
				err := fmt.Errorf("ingest: broker refused subscription %q (return code %#x)", filter, code)
				c.log.Error("mqtt subscribe refused", "filter", filter, "code", code)
				select {
				case c.fatal <- err:
				default:
				}
				return false
			}
		}
		if !retry {
			return true
		}
		c.log.Debug("mqtt subscribe: packet identifier in use; retrying", "attempt", attempt)
		select { // let the session's inflight messages drain
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		case <-c.stopped:
			return false
		}
	}
	c.log.Warn("mqtt subscribe kept failing with a transient code", "connects", gen)
	c.reconnect(cl, gen)
	return false
}

// reconnect asks Run for a new connection when connection number gen is up
// but its subscriptions failed. A connection that is already gone needs
// nothing: paho reconnects, and the next onConnect subscribes.
func (c *Client) reconnect(cl paho.Client, gen uint64) {
	if !cl.IsConnectionOpen() {
		return
	}
	select {
	case c.cycle <- gen:
	default:
	}
}

func (c *Client) onLost(_ paho.Client, err error) {
	c.lost.Add(1)
	c.log.Warn("mqtt connection lost; reconnecting", "error", redactErr(err, c.cfg.URL))
}

// onMessage is paho's default publish handler; with OrderMatters it runs on
// paho's router goroutine, one message at a time.
func (c *Client) onMessage(_ paho.Client, pm paho.Message) {
	m := devices.Message{
		Topic:      pm.Topic(),
		Payload:    append([]byte(nil), pm.Payload()...), // the Handler owns its copy
		Retained:   pm.Retained(),
		Duplicate:  pm.Duplicate(),
		ReceivedAt: time.Now(),
	}
	c.received.Add(1)
	callHandler(c.h, m, &c.panics, c.log)
}

// callHandler calls h with m; a panic is recovered, logged and counted in
// panics, so that one bad message cannot take the node down.
func callHandler(h Handler, m devices.Message, panics *atomic.Uint64, log *slog.Logger) {
	defer func() {
		if r := recover(); r != nil {
			panics.Add(1)
			log.Error("ingest handler panicked", "topic", m.Topic, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	h(m)
}

// Connected reports whether the client is connected and its subscriptions
// of the current connection are acknowledged (readiness).
func (c *Client) Connected() bool {
	p := c.paho.Load()
	if p == nil || !(*p).IsConnectionOpen() {
		return false
	}
	gen := c.connects.Load()
	return gen > 0 && c.readyGen.Load() == gen
}

// Publish sends one message and waits until the broker has it (QoS 1, 2) or
// it is written (QoS 0), or ctx is done. It returns ErrNotConnected when
// Run is not running or the connection is down, rather than queueing a
// command that would be delivered late.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	if qos > 2 {
		return fmt.Errorf("ingest: publish %s: invalid qos %d", topic, qos)
	}
	p := c.paho.Load()
	if p == nil || !(*p).IsConnectionOpen() {
		return fmt.Errorf("ingest: publish %s: %w", topic, ErrNotConnected)
	}
	tok := (*p).Publish(topic, qos, retain, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("ingest: publish %s: %w", topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest: publish %s: %w", topic, ctx.Err())
	}
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	n := c.connects.Load()
	return Stats{
		Connects:      n,
		Reconnects:    max(n, 1) - 1,
		Lost:          c.lost.Load(),
		Received:      c.received.Load(),
		HandlerPanics: c.panics.Load(),
	}
}
