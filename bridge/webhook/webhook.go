package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Event types an endpoint may ask for.
const (
	EventDeviceOnline   = "device.online"
	EventDeviceOffline  = "device.offline"
	EventDeviceStale    = "device.stale"
	EventSourceRejected = "source.rejected"
	EventCommandResult  = "command.result"
)

// EventTypes lists every event type, in documentation order.
var EventTypes = []string{EventDeviceOnline, EventDeviceOffline, EventDeviceStale, EventSourceRejected, EventCommandResult}

// Defaults of an Endpoint's zero fields.
const (
	DefaultQueueSize         = 1000
	DefaultWorkers           = 2
	DefaultTimeout           = 10 * time.Second
	DefaultMaxAttempts       = 10
	DefaultMaxRetryTime      = 5 * time.Minute
	DefaultInitialBackoff    = time.Second
	DefaultMaxBackoff        = time.Minute
	DefaultRejectedThreshold = 10
	DefaultRejectedWindow    = time.Minute
	// MinSecretBytes is the shortest secret accepted: 128 bits.
	MinSecretBytes = 16
)

// Endpoint is one webhook receiver. A zero numeric field means the default
// of the same name.
type Endpoint struct {
	// Name labels the endpoint's metrics and logs: 1-64 of [a-z0-9_-].
	Name string
	// URL is the http or https address deliveries are POSTed to.
	URL string
	// Secret keys the HMAC-SHA256 signature, at least MinSecretBytes.
	Secret string
	// Events are the event types wanted; empty: all of them.
	Events []string
	// Tenants are the tenants whose events are wanted; empty: all.
	Tenants []string
	// QueueSize bounds the events waiting for delivery; when full, the
	// oldest is dropped.
	QueueSize int
	// Workers deliver in parallel; each holds one event through its
	// retries.
	Workers int
	// Timeout bounds one attempt, connection and response included.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one event, the first included.
	MaxAttempts int
	// MaxRetryTime bounds the time from the first attempt to the start of
	// the last one.
	MaxRetryTime time.Duration
	// InitialBackoff is the wait before the second attempt; each further
	// wait doubles, up to MaxBackoff, and is drawn at random from its upper
	// half (jitter), so receivers recovering from an outage are not hit by
	// every sender at once.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// RejectedThreshold and RejectedWindow define a source.rejected burst:
	// at least RejectedThreshold rejected messages of one source within
	// RejectedWindow of its first rejection give one event, sent when the
	// window ends, with the counts by reason.
	RejectedThreshold int
	RejectedWindow    time.Duration
}

var nameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

func (e *Endpoint) defaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defD := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&e.QueueSize, DefaultQueueSize)
	def(&e.Workers, DefaultWorkers)
	def(&e.MaxAttempts, DefaultMaxAttempts)
	def(&e.RejectedThreshold, DefaultRejectedThreshold)
	defD(&e.Timeout, DefaultTimeout)
	defD(&e.MaxRetryTime, DefaultMaxRetryTime)
	defD(&e.InitialBackoff, DefaultInitialBackoff)
	defD(&e.MaxBackoff, DefaultMaxBackoff)
	defD(&e.RejectedWindow, DefaultRejectedWindow)
}

// Check returns every problem of e, each a short sentence without the
// endpoint's key (the caller names it).
func (e *Endpoint) Check() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !nameRE.MatchString(e.Name) {
		add("name: %q is not 1-64 characters of [a-z0-9_-]", e.Name)
	}
	if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("url: %q is not an http or https URL like \"https://hooks.example.com/mqlive\"", redactURL(e.URL))
	}
	if len(e.Secret) < MinSecretBytes {
		add("secret: is %d bytes; use at least %d random bytes (e.g. `openssl rand -hex 32`)", len(e.Secret), MinSecretBytes)
	}
	for _, ev := range e.Events {
		if !slices.Contains(EventTypes, ev) {
			add("events: %q is not one of %v", ev, EventTypes)
		}
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"queue_size", e.QueueSize}, {"workers", e.Workers}, {"max_attempts", e.MaxAttempts}, {"rejected_threshold", e.RejectedThreshold}} {
		if n.v < 0 {
			add("%s: %d must be positive (0 means the default)", n.key, n.v)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"timeout", e.Timeout}, {"max_retry_time", e.MaxRetryTime}, {"initial_backoff", e.InitialBackoff}, {"max_backoff", e.MaxBackoff}, {"rejected_window", e.RejectedWindow}} {
		if d.v < 0 {
			add("%s: %v must be a positive duration like \"10s\" (0 means the default)", d.key, d.v)
		}
	}
	if e.Workers > 64 {
		add("workers: %d is more than 64", e.Workers)
	}
	if e.InitialBackoff > 0 && e.MaxBackoff > 0 && e.InitialBackoff > e.MaxBackoff {
		add("initial_backoff: %v is more than max_backoff (%v)", e.InitialBackoff, e.MaxBackoff)
	}
	return errs
}

// redactURL drops user info from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User("REDACTED")
	return u.String()
}

// Config configures a Dispatcher.
type Config struct {
	Endpoints []Endpoint
	// Node is reported in every event; default empty.
	Node string
	// Registerer receives the metrics; nil: not registered.
	Registerer prometheus.Registerer
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Transport sends the requests; nil: a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Event is the JSON body of a delivery.
type Event struct {
	// ID is unique per event and the same in every attempt.
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Tenant    string    `json:"tenant"`
	Node      string    `json:"node,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// Dispatcher sends events to the endpoints that want them.
type Dispatcher struct {
	node    string
	log     *slog.Logger
	eps     []*endpoint
	metrics *metrics
	runOnce sync.Once
}

// ErrNoEndpoints is returned by New for an empty endpoint list.
var ErrNoEndpoints = errors.New("webhook: no endpoints")

// New checks the endpoints and builds a Dispatcher; nothing is sent until
// Run.
func New(cfg Config) (*Dispatcher, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, ErrNoEndpoints
	}
	d := &Dispatcher{node: cfg.Node, log: cfg.Logger, metrics: newMetrics()}
	if d.log == nil {
		d.log = slog.Default()
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	seen := map[string]bool{}
	for i := range cfg.Endpoints {
		e := cfg.Endpoints[i]
		if errs := e.Check(); len(errs) > 0 {
			return nil, fmt.Errorf("webhook %d: %w", i, errors.Join(errs...))
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("webhook %d: name %q is used twice", i, e.Name)
		}
		seen[e.Name] = true
		e.defaults()
		d.eps = append(d.eps, newEndpoint(e, tr, d.metrics, d.log))
	}
	if cfg.Registerer != nil {
		if err := d.metrics.register(cfg.Registerer, d.eps); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Wants reports whether any endpoint wants events of type typ of tenant;
// callers skip building an event nobody wants.
func (d *Dispatcher) Wants(tenant, typ string) bool {
	if d == nil {
		return false
	}
	for _, e := range d.eps {
		if e.wants(tenant, typ) {
			return true
		}
	}
	return false
}

// Emit queues an event for every endpoint that wants it. It never blocks.
func (d *Dispatcher) Emit(tenant, typ string, data any) {
	if d == nil {
		return
	}
	var ev *Event
	for _, e := range d.eps {
		if !e.wants(tenant, typ) {
			continue
		}
		if ev == nil {
			ev = &Event{ID: newID(), Type: typ, Tenant: tenant, Node: d.node, CreatedAt: time.Now().UTC(), Data: data}
		}
		e.enqueue(ev)
	}
}

// Rejected counts one rejected message of a source (family and base) of
// tenant toward the source.rejected burst of every endpoint that wants it.
// It never blocks.
func (d *Dispatcher) Rejected(tenant, family, base, reason string) {
	if d == nil {
		return
	}
	for _, e := range d.eps {
		if e.wants(tenant, EventSourceRejected) {
			e.bursts.add(tenant, family, base, reason, time.Now())
		}
	}
}

// Run delivers until ctx ends; then it stops every worker (an attempt in
// flight is cancelled) and returns. It may be called once.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d == nil {
		return nil
	}
	ran := false
	d.runOnce.Do(func() { ran = true })
	if !ran {
		return errors.New("webhook: Run called twice")
	}
	var wg sync.WaitGroup
	for _, e := range d.eps {
		for range e.cfg.Workers {
			wg.Add(1)
			go func() { defer wg.Done(); e.work(ctx) }()
		}
		wg.Add(1)
		go func() { defer wg.Done(); e.flushBursts(ctx, d) }()
	}
	wg.Wait()
	for _, e := range d.eps {
		// Keep-alive connections would outlive the dispatcher.
		e.client.CloseIdleConnections()
	}
	return nil
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "evt_" + hex.EncodeToString(b)
}
