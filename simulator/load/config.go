package load

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Workload is one measured scenario: Subscribers WebSockets spread evenly
// over Channels device channels, then one step per entry of Rates, each
// publishing at that many messages per second (in total, round-robin over
// the channels) for Step. With no Rates the sockets only connect and stay
// idle for Idle (a memory and connect-rate measurement).
type Workload struct {
	// Name labels the workload in the report ("W1"); optional.
	Name        string
	Subscribers int
	Channels    int
	Rates       []float64
	// Step is how long each rate is published; default 5s.
	Step time.Duration
	// P99Limit stops the sweep after the first step whose p99 latency
	// exceeds it; 0 means no limit. A step with loss always stops it.
	P99Limit time.Duration
	// Drain is how long after a step's last publication deliveries are
	// still awaited; later ones count as lost. Default 5s.
	Drain time.Duration
	// Idle is how long idle sockets stay connected before memory is read
	// (settling time); default 2s.
	Idle time.Duration
	// PayloadBytes is the MQTT payload size; default 256, at least 160 (the
	// stamps and a few realistic metrics).
	PayloadBytes int
	// BurstMax: steps at or below this rate also report the p99 of one
	// Subscribers-way burst (single-channel workloads); default 10.
	BurstMax float64
}

// The workloads of `make bench-load` (issue 10): a broadcast sweep, many
// small channels at a fixed rate, and idle sockets.
var (
	W1 = Workload{Name: "W1", Subscribers: 5000, Channels: 1,
		Rates: []float64{1, 2, 5, 10, 15, 20, 25, 30}, Step: 5 * time.Second, P99Limit: time.Second}
	W2 = Workload{Name: "W2", Subscribers: 5000, Channels: 1000,
		Rates: []float64{2000}, Step: 10 * time.Second}
	W3 = Workload{Name: "W3", Subscribers: 19500, Channels: 1000}
)

// Presets maps the names accepted by --workloads to their workloads.
var Presets = map[string]Workload{"w1": W1, "w2": W2, "w3": W3}

// Bounds keep a run on one machine and finite.
const (
	MaxSubscribers = 60000
	MaxRate        = 100000 // messages/s
	MaxStep        = 10 * time.Minute
	MaxTimeout     = 2 * time.Hour
	minPayload     = 160
)

// Config says what to load and where.
type Config struct {
	// BridgeBin, when set, is an mqlive binary the load generator starts
	// itself (--dev, free loopback ports, a fresh directory), once per
	// workload, and stops afterwards. Otherwise WSURL, MQTTURL and
	// TokenSecret name a running bridge.
	BridgeBin string
	// BridgePprof, with BridgeBin, serves the started bridge's profiler
	// (--pprof-addr) on this loopback host:port, so a workload can be
	// profiled while it runs (go tool pprof http://ADDR/debug/pprof/...).
	BridgePprof string
	// Reference, with BridgeBin, also runs every workload against the
	// reference server (ServeReference), right after mqlive and started
	// the same way, so the report compares the two in one sitting.
	Reference bool
	// ReferenceBin is the binary that serves the reference server when
	// run with ReferenceCommand: mqlive-sim itself. Default: this
	// process's executable.
	ReferenceBin string
	WSURL        string // ws://127.0.0.1:8080/ws
	MQTTURL      string // tcp://127.0.0.1:1883
	TokenSecret  string // the bridge's HS256 secret
	// ServerPID is the running bridge's process, for RSS and CPU figures;
	// 0 leaves them out. Set automatically with BridgeBin.
	ServerPID int
	// Tenant of the minted token; it must be the tenant of the source that
	// receives Base. Default "default".
	Tenant string
	// Base is the zigbee2mqtt base topic the bridge ingests; default
	// "zigbee2mqtt". Device i is <Base>/lg-<i>, channel device:lg-<i>.
	Base string

	Workloads []Workload
	// SourceIPs spreads the sockets over this many source addresses
	// 127.0.0.1.. so that 20k sockets do not exhaust the ephemeral ports of
	// one address; default 4.
	SourceIPs int
	// Concurrency is how many sockets connect at once; default 64.
	Concurrency int
	// Timeout bounds the whole run; default 15m.
	Timeout time.Duration
	Logger  *slog.Logger
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.Tenant == "" {
		c.Tenant = "default"
	}
	if c.Base == "" {
		c.Base = "zigbee2mqtt"
	}
	if c.SourceIPs == 0 {
		c.SourceIPs = 4
	}
	if c.Concurrency == 0 {
		c.Concurrency = 64
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Reference && c.ReferenceBin == "" {
		c.ReferenceBin, _ = os.Executable()
	}
	for i := range c.Workloads {
		c.Workloads[i] = c.Workloads[i].withDefaults()
	}
	return c
}

func (w Workload) withDefaults() Workload {
	if w.Step == 0 {
		w.Step = 5 * time.Second
	}
	if w.Drain == 0 {
		w.Drain = 5 * time.Second
	}
	if w.Idle == 0 {
		w.Idle = 2 * time.Second
	}
	if w.PayloadBytes == 0 {
		w.PayloadBytes = 256
	}
	if w.BurstMax == 0 {
		w.BurstMax = 10
	}
	w.Rates = append([]float64(nil), w.Rates...)
	return w
}

// validate checks a defaulted Config.
func (c Config) validate() error {
	var errs []error
	if c.BridgeBin == "" {
		if c.WSURL == "" || c.MQTTURL == "" || c.TokenSecret == "" {
			errs = append(errs, errors.New("give a bridge binary to start, or the WebSocket URL, MQTT URL and token secret of a running bridge"))
		}
	} else if c.WSURL != "" || c.MQTTURL != "" || c.ServerPID != 0 {
		errs = append(errs, errors.New("a started bridge has its own URLs and pid; do not give them with a bridge binary"))
	}
	if c.Reference && c.BridgeBin == "" {
		errs = append(errs, errors.New("the reference server is compared with a bridge the load generator starts: give a bridge binary"))
	}
	if c.Reference && c.ReferenceBin == "" {
		errs = append(errs, errors.New("reference: no binary to serve the reference server"))
	}
	if c.WSURL != "" {
		errs = append(errs, checkLoopbackURL("WebSocket URL", c.WSURL, "ws"))
	}
	if c.MQTTURL != "" {
		errs = append(errs, checkLoopbackURL("MQTT URL", c.MQTTURL, "tcp", "mqtt"))
	}
	if c.TokenSecret != "" && len(c.TokenSecret) < 32 {
		errs = append(errs, errors.New("token secret: HS256 secrets are at least 32 bytes"))
	}
	if c.ServerPID < 0 {
		errs = append(errs, errors.New("server pid: negative"))
	}
	if c.SourceIPs < 1 || c.SourceIPs > 250 {
		errs = append(errs, fmt.Errorf("source IPs: %d, want 1..250", c.SourceIPs))
	}
	if c.Concurrency < 1 || c.Concurrency > 1000 {
		errs = append(errs, fmt.Errorf("concurrency: %d, want 1..1000", c.Concurrency))
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout: %s, want at most %s", c.Timeout, MaxTimeout))
	}
	if strings.ContainsAny(c.Base, "#+") || strings.HasSuffix(c.Base, "/") {
		errs = append(errs, fmt.Errorf("base topic %q: no wildcards, no trailing /", c.Base))
	}
	if len(c.Workloads) == 0 {
		errs = append(errs, errors.New("no workload"))
	}
	for i, w := range c.Workloads {
		if err := w.validate(); err != nil {
			errs = append(errs, fmt.Errorf("workload %d (%s): %w", i+1, w.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (w Workload) validate() error {
	var errs []error
	if w.Subscribers < 1 || w.Subscribers > MaxSubscribers {
		errs = append(errs, fmt.Errorf("subscribers: %d, want 1..%d", w.Subscribers, MaxSubscribers))
	}
	if w.Channels < 1 || w.Channels > w.Subscribers {
		errs = append(errs, fmt.Errorf("channels: %d, want 1..subscribers", w.Channels))
	}
	for _, r := range w.Rates {
		if !(r > 0 && r <= MaxRate) {
			errs = append(errs, fmt.Errorf("rate %v: want (0, %d] messages/s", r, MaxRate))
		}
	}
	if w.Step <= 0 || w.Step > MaxStep || w.Drain <= 0 || w.Drain > MaxStep || w.Idle <= 0 || w.Idle > MaxStep {
		errs = append(errs, fmt.Errorf("step, drain and idle: want (0, %s]", MaxStep))
	}
	if w.P99Limit < 0 {
		errs = append(errs, errors.New("p99 limit: negative"))
	}
	if w.PayloadBytes < minPayload || w.PayloadBytes > 64<<10 {
		errs = append(errs, fmt.Errorf("payload: %d bytes, want %d..65536", w.PayloadBytes, minPayload))
	}
	return errors.Join(errs...)
}

// checkLoopbackURL accepts only URLs whose host is an IPv4 loopback
// address (or localhost): the load generator opens tens of thousands of
// sockets and must never aim them at another machine.
func checkLoopbackURL(what, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		return fmt.Errorf("%s %q: scheme %q, want %s", what, raw, u.Scheme, strings.Join(schemes, " or "))
	}
	if u.Port() == "" {
		return fmt.Errorf("%s %q: no port", what, raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s %q: the load generator runs on loopback only; want a 127.0.0.0/8 address", what, raw)
	}
	return nil
}

// loopbackHost rewrites localhost to 127.0.0.1, so that the sockets bound
// to 127.0.0.x source addresses dial IPv4.
func loopbackHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() != "localhost" {
		return raw
	}
	u.Host = net.JoinHostPort("127.0.0.1", u.Port())
	return u.String()
}
