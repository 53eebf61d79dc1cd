package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// Broker is a broker in this process that delivers messages to a callback
// instead of over a connection (embedded.Broker).
type Broker interface {
	// Subscribe calls h for every message on a topic matching one of
	// filters, on the publisher's goroutine; retained is true only for
	// the retained messages replayed when the subscription starts.
	Subscribe(filters []string, h func(topic string, payload []byte, retained bool)) error
	// Publish publishes a message as the process.
	Publish(topic string, payload []byte, qos byte, retain bool) error
	// Close disconnects every client and returns once none is left
	// running, so that none can publish any more.
	Close() error
}

// InlineConfig configures an Inline.
type InlineConfig struct {
	// Broker is the broker in this process; required.
	Broker Broker
	// Filters are the topic filters to subscribe; at least one.
	Filters []string
	// Logger receives handler panics; nil means slog.Default().
	Logger *slog.Logger
}

// Inline takes messages from a broker in this process (the embedded
// broker) without a network hop: where a Client has the broker encode
// each message, write it to a socket, and paho read and decode it again,
// the broker hands an Inline the message it has already decoded. It has
// the Client's methods, so the bridge uses either.
//
// The Handler runs on the goroutine of the MQTT client that published the
// message, so the messages of one publisher reach it in the order they
// were sent, and several publishers' messages reach it at once: the
// Handler must be safe for concurrent use, and a Handler that waits (a
// full queue) holds back that publisher alone, whose socket then fills:
// back-pressure instead of memory, and nothing dropped.
//
// The subscription starts in NewInline, before the broker serves, so no
// message of a device that connects early is lost; a message that arrives
// before Run has started is held (its publisher waits) until Run starts.
// When Run's context ends, Run waits for the Handler calls in progress,
// stops calling it (a message that arrives after is counted in
// Stats.Dropped, as a Client that has disconnected never sees it), closes
// the broker so that devices stop publishing into it, and returns.
type Inline struct {
	br  Broker
	h   Handler
	log *slog.Logger

	ran atomic.Bool
	// started is closed by Run: the Handler may be called from then on.
	started chan struct{}
	// mu is held for reading across each Handler call and for writing by
	// Run's shutdown, which sets stopped: after it, no call starts.
	mu      sync.RWMutex
	stopped bool
	// quit is closed with stopped: a message waiting for Run to start
	// gives up.
	quit chan struct{}
	live atomic.Bool

	received, panics, dropped atomic.Uint64
}

// NewInline subscribes cfg.Filters on cfg.Broker and returns an Inline that
// calls h for every message once Run has started.
func NewInline(cfg InlineConfig, h Handler) (*Inline, error) {
	if h == nil {
		return nil, errors.New("ingest: nil handler")
	}
	if cfg.Broker == nil {
		return nil, errors.New("ingest: inline: no broker")
	}
	if len(cfg.Filters) == 0 {
		return nil, errors.New("ingest: at least one topic filter is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	in := &Inline{br: cfg.Broker, h: h, log: log.With("component", "ingest", "broker", "embedded"),
		started: make(chan struct{}), quit: make(chan struct{})}
	if err := cfg.Broker.Subscribe(cfg.Filters, in.deliver); err != nil {
		return nil, fmt.Errorf("ingest: inline subscribe: %w", err)
	}
	return in, nil
}

// deliver is the broker's callback. The payload is copied: the Handler
// owns its Message (doc.go), and the broker's buffer is shared with every
// other subscriber of the message.
func (in *Inline) deliver(topic string, payload []byte, retained bool) {
	if !in.live.Load() {
		select {
		case <-in.started:
		case <-in.quit:
		}
	}
	in.mu.RLock()
	defer in.mu.RUnlock()
	if in.stopped {
		// Only a publish already inside the broker when Run closed it:
		// counted, as the Client counts nothing it never received.
		in.dropped.Add(1)
		return
	}
	m := devices.Message{
		Topic:    topic,
		Payload:  append([]byte(nil), payload...),
		Retained: retained,
		// Duplicate stays false: a broker clears DUP on what it
		// forwards ([MQTT-4.3.1-1]); a Client sees it only on the
		// broker's own redelivery, which has no counterpart here.
		ReceivedAt: time.Now(),
	}
	in.received.Add(1)
	callHandler(in.h, m, &in.panics, in.log)
}

// Run lets the Handler be called until ctx is done, then closes the
// broker, waits for the Handler calls in progress and returns nil. It may
// be called once.
func (in *Inline) Run(ctx context.Context) error {
	if !in.ran.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	in.live.Store(true)
	close(in.started)
	in.log.Info("mqtt subscribed in process")
	<-ctx.Done()
	// The Handler calls in progress finish (their lanes keep draining)
	// before Lock returns; none starts after.
	in.mu.Lock()
	in.stopped = true
	close(in.quit)
	in.mu.Unlock()
	in.live.Store(false)
	// Then the devices go, so that the broker stops acknowledging what
	// nobody will process. Their wills (mochi publishes one for every
	// client the shutdown disconnects) are dropped, not ingested: a
	// fleet of 100,000 would otherwise be marked offline one message at
	// a time while the node stops. Run's caller stops the broker too;
	// Close is idempotent.
	err := in.br.Close()
	if n := in.dropped.Load(); n > 0 {
		in.log.Info("messages that arrived while ingest stopped were not processed", "messages", n)
	}
	if err != nil {
		return fmt.Errorf("ingest: inline: %w", err)
	}
	return nil
}

// Connected reports whether Run is delivering messages.
func (in *Inline) Connected() bool {
	select {
	case <-in.started:
	default:
		return false
	}
	in.mu.RLock()
	defer in.mu.RUnlock()
	return !in.stopped
}

// Publish publishes one message to the broker (a command to a device). The
// broker takes it before Publish returns, so ctx only refuses a publish
// when it is already done.
func (in *Inline) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ingest: publish %s: %w", topic, err)
	}
	if !in.Connected() {
		return fmt.Errorf("ingest: publish %s: %w", topic, ErrNotConnected)
	}
	if err := in.br.Publish(topic, payload, qos, retain); err != nil {
		return fmt.Errorf("ingest: publish %s: %w", topic, err)
	}
	return nil
}

// Stats returns the counters: one connection once Run has started, no
// reconnects (there is no connection to lose), and the messages received.
func (in *Inline) Stats() Stats {
	st := Stats{Received: in.received.Load(), HandlerPanics: in.panics.Load(), Dropped: in.dropped.Load()}
	select {
	case <-in.started:
		st.Connects = 1
	default:
	}
	return st
}
