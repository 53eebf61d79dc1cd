package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// Result is what one workload measured.
type Result struct {
	Workload Workload
	// Server is what was measured: "mqlive", or "reference" for the
	// reference server (Config.Reference).
	Server  string
	Connect ConnectStats
	Steps   []Step
	// Passed is the index in Steps of the highest-rate step without loss
	// and within the p99 limit, or -1.
	Passed int
	// Stopped says why the sweep ended before its last rate; empty when
	// every step ran.
	Stopped string
	// LoadAvg is the machine's 1-minute load average when the workload
	// ended (-1: unknown); above the core count, the server and the load
	// generator were waiting for CPU.
	LoadAvg float64
}

// ConnectStats describes opening the sockets.
type ConnectStats struct {
	Sockets  int
	Duration time.Duration // first dial to last subscribe result
	// RSSBefore and RSSAfter are the server's VmRSS before the first
	// socket and once every socket is subscribed and Idle has passed;
	// -1 when the server's pid is unknown.
	RSSBefore, RSSAfter int64
	// ServerCPU and GenCPU are the CPU time the server and the load
	// generator spent over Duration; -1 when unknown. Per connect, they
	// are the figures that survive a shared machine: the rate depends on
	// what else runs, the CPU each connect costs much less.
	ServerCPU, GenCPU time.Duration
}

// PerConnect is cpu divided over the sockets, or -1 when unknown.
func (c ConnectStats) PerConnect(cpu time.Duration) time.Duration {
	if cpu < 0 || c.Sockets == 0 {
		return -1
	}
	return cpu / time.Duration(c.Sockets)
}

// Rate is sockets opened (upgrade, connect, subscribe) per second.
func (c ConnectStats) Rate() float64 { return float64(c.Sockets) / c.Duration.Seconds() }

// RSSPerSocket is the server's RSS growth per socket in bytes, or -1.
func (c ConnectStats) RSSPerSocket() float64 {
	if c.RSSBefore < 0 || c.RSSAfter < 0 {
		return -1
	}
	return float64(c.RSSAfter-c.RSSBefore) / float64(c.Sockets)
}

// Step is one rate of a sweep.
type Step struct {
	Rate     float64       // messages/s asked for
	Sent     int64         // publications
	Window   time.Duration // first publication to the end of the drain
	Expected int64         // deliveries owed: each publication times its channel's subscribers
	Received int64         // distinct deliveries within the window
	Dups     int64
	Lagged   int64 // lagged notifications during the step
	Dropped  int64 // sockets lost during the step
	P50, P99 time.Duration
	Max      time.Duration
	// ServerCPU and GenCPU are the bridge's and the load generator's CPU
	// over the window, in % of one core; -1 when unknown.
	ServerCPU, GenCPU float64
}

// Loss is the deliveries owed but not received in time.
func (s Step) Loss() int64 { return s.Expected - s.Received }

// PerSecond is deliveries per second over the window.
func (s Step) PerSecond() float64 { return float64(s.Received) / s.Window.Seconds() }

// GenPerDelivery is the load generator's CPU per delivery received (its
// publisher's share included), or -1 when unknown: what it costs the
// machine it shares with the server, independent of the rate.
func (s Step) GenPerDelivery() time.Duration {
	if s.GenCPU < 0 || s.Received == 0 {
		return -1
	}
	return time.Duration(s.GenCPU / 100 * float64(s.Window) / float64(s.Received))
}

// ErrConfig marks an invalid Config: nothing was started.
var ErrConfig = errors.New("invalid load configuration")

// Run measures every workload of cfg in turn, each against a freshly
// started bridge when cfg.BridgeBin is set. It returns the results of the
// workloads that completed and the first error.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	most := 0
	for _, w := range cfg.Workloads {
		most = max(most, w.Subscribers)
	}
	if err := raiseFileLimit(uint64(most + fdMargin)); err != nil {
		return nil, err
	}
	// The generator's live heap is its sockets' buffers; garbage is what
	// each connect and frame leaves. Collecting at 5× the live heap
	// instead of 2× takes most of its GC work (7% of its CPU in W3) off
	// the cores it shares with the server, for a few hundred MB more.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var results []Result
	for _, w := range cfg.Workloads {
		r, err := runWorkload(ctx, cfg, w, false)
		if err != nil {
			return results, fmt.Errorf("%s: %w", w.label(), err)
		}
		results = append(results, r)
		if !cfg.Reference {
			continue
		}
		if r, err = runWorkload(ctx, cfg, w, true); err != nil {
			return results, fmt.Errorf("%s against the reference server: %w", w.label(), err)
		}
		results = append(results, r)
	}
	return results, nil
}

// target is a bridge to measure: started here, or given.
type target struct {
	ws, mqtt, secret string
	pid              int
	started          *bridge
}

// runWorkload measures w once: against mqlive, or against the reference
// server when ref is set.
func runWorkload(ctx context.Context, cfg Config, w Workload, ref bool) (res Result, err error) {
	name := "mqlive"
	if ref {
		name = "reference"
	}
	log := cfg.Logger.With("workload", w.label(), "server", name)
	t := target{ws: loopbackHost(cfg.WSURL), mqtt: loopbackHost(cfg.MQTTURL), secret: cfg.TokenSecret, pid: cfg.ServerPID}
	if cfg.BridgeBin != "" {
		var b *bridge
		var serr error
		if ref {
			b, serr = startReference(ctx, cfg.ReferenceBin, cfg.BridgePprof, cfg.Base)
		} else {
			b, serr = startBridge(ctx, cfg.BridgeBin, cfg.BridgePprof, max(10000, w.Subscribers+100))
		}
		if serr != nil {
			return res, serr
		}
		defer func() { // err is the named result: a crashed bridge fails the workload
			if e := b.stop(); e != nil && err == nil {
				err = e
			}
		}()
		t = target{ws: b.ws, mqtt: b.mqtt, secret: b.secret, pid: b.pid(), started: b}
		log.Info("server started", "pid", t.pid, "ws", t.ws, "mqtt", t.mqtt)
	}
	token, err := mintToken(t.secret, cfg.Tenant, cfg.Timeout+time.Hour)
	if err != nil {
		return res, err
	}
	clock := time.Now()
	pub, err := newPublisher(ctx, t.mqtt, cfg.Base, clock, w.PayloadBytes)
	if err != nil {
		return res, err
	}
	defer pub.close()
	ds := dialers(cfg.SourceIPs)
	if err := prime(ctx, pub, ds[0], t.ws, token, w.Channels); err != nil {
		return res, err
	}

	f := newFleet(log, clock, w.Subscribers, len(w.Rates))
	defer f.close()
	res = Result{Workload: w, Server: name, Passed: -1, Connect: ConnectStats{Sockets: w.Subscribers, RSSBefore: -1, RSSAfter: -1, ServerCPU: -1, GenCPU: -1}}
	runtime.GC() // the load generator's own garbage should not compete with the connect phase
	if t.pid > 0 {
		if res.Connect.RSSBefore, err = procRSS(t.pid); err != nil {
			return res, fmt.Errorf("server RSS: %w", err)
		}
	}
	server, self := startCPU(t.pid), startCPU(os.Getpid())
	start := time.Now()
	err = f.connect(ctx, t.ws, token, ds, cfg.Concurrency, func(i int) string { return "device:" + deviceID(i%w.Channels) })
	res.Connect.Duration = time.Since(start)
	res.Connect.ServerCPU, res.Connect.GenCPU = server.used(), self.used()
	if err != nil {
		return res, fmt.Errorf("connecting %d sockets: %w", w.Subscribers, err)
	}
	if err := sleep(ctx, w.Idle); err != nil {
		return res, err
	}
	if t.pid > 0 {
		if res.Connect.RSSAfter, err = procRSS(t.pid); err != nil {
			return res, fmt.Errorf("server RSS: %w", err)
		}
	}
	log.Info("connected", "sockets", w.Subscribers, "seconds", res.Connect.Duration.Seconds(),
		"per_second", int(res.Connect.Rate()), "rss_per_socket_kib", res.Connect.RSSPerSocket()/1024,
		"server_cpu_per_connect", res.Connect.PerConnect(res.Connect.ServerCPU), "gen_cpu_per_connect", res.Connect.PerConnect(res.Connect.GenCPU))

	subsPerChannel := make([]int64, w.Channels)
	for i := range w.Subscribers {
		subsPerChannel[i%w.Channels]++
	}
	for k, rate := range w.Rates {
		if err := t.alive(); err != nil {
			return res, err
		}
		st, err := runStep(ctx, f, pub, t.pid, w, k+1, rate, subsPerChannel)
		if err != nil {
			return res, fmt.Errorf("step %v msg/s: %w", rate, err)
		}
		res.Steps = append(res.Steps, st)
		log.Info("step", "rate", rate, "sent", st.Sent, "expected", st.Expected, "received", st.Received,
			"loss", st.Loss(), "dups", st.Dups, "lagged", st.Lagged, "dropped", st.Dropped,
			"deliveries_per_s", int(st.PerSecond()), "p50", st.P50, "p99", st.P99, "max", st.Max,
			"server_cpu", fmt.Sprintf("%.0f%%", st.ServerCPU), "gen_cpu", fmt.Sprintf("%.0f%%", st.GenCPU))
		switch {
		case st.Loss() != 0 || st.Dups != 0:
			res.Stopped = fmt.Sprintf("at %s msg/s: %d lost, %d duplicated", num(rate), st.Loss(), st.Dups)
		case w.P99Limit > 0 && st.P99 > w.P99Limit:
			res.Stopped = fmt.Sprintf("at %s msg/s: p99 %s over %s", num(rate), ms(st.P99), ms(w.P99Limit))
		default:
			res.Passed = k
		}
		if res.Stopped != "" {
			break
		}
	}
	res.LoadAvg = loadAverage()
	if n := f.badFrames.Load(); n > 0 {
		return res, fmt.Errorf("%d frames did not parse as the load generator's deliveries", n)
	}
	return res, t.alive()
}

// alive fails when the started bridge has exited.
func (t target) alive() error {
	if t.started != nil {
		return t.started.exited()
	}
	return nil
}

// runStep publishes one rate and waits for its deliveries.
func runStep(ctx context.Context, f *fleet, pub *publisher, pid int, w Workload, step int, rate float64, subs []int64) (Step, error) {
	st := f.steps[step]
	lagged0, dropped0 := f.lagged.Load(), f.disconnects.Load()
	server, self := startCPU(pid), startCPU(os.Getpid())
	start := time.Now()
	perChannel, err := pub.run(ctx, rate, w.Step, w.Channels, step)
	s := Step{Rate: rate}
	for ch, n := range perChannel {
		s.Sent += n
		s.Expected += n * subs[ch]
	}
	if err != nil {
		return s, err
	}
	// Drain: wait until everything owed arrived, or Drain has passed.
	deadline := time.Now().Add(w.Drain)
	for st.received.Load() < s.Expected && time.Now().Before(deadline) {
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return s, err
		}
	}
	st.closed.Store(true)
	// The window is at least the step: n publications at rate r take
	// (n-1)/r, and a quick drain would otherwise inflate deliveries/s.
	if err := sleep(ctx, time.Until(start.Add(w.Step))); err != nil {
		return s, err
	}
	s.Window = time.Since(start)
	s.ServerCPU, s.GenCPU = server.percent(), self.percent()
	s.Received, s.Dups = st.received.Load(), st.dups.Load()
	s.Lagged, s.Dropped = f.lagged.Load()-lagged0, f.disconnects.Load()-dropped0
	s.P50, s.P99, s.Max = st.hist.quantile(0.50), st.hist.quantile(0.99), st.hist.maximum()
	return s, nil
}

// prime publishes one message per channel before any subscriber exists,
// so that the devices are known (first-message costs are not measured and
// subscribe results carry a snapshot), and waits until the last one is in
// its channel's snapshot.
func prime(ctx context.Context, pub *publisher, d *websocket.Dialer, ws, token string, channels int) error {
	for ch := range channels {
		pub.publish(ch, 0)
	}
	last := "device:" + deviceID(channels-1)
	deadline := time.Now().Add(30 * time.Second)
	hello, err := connectRequest(token)
	if err != nil {
		return err
	}
	sub, err := subscribeRequest(last)
	if err != nil {
		return err
	}
	for {
		conn, res, _, err := open(ctx, d, ws, hello, sub, nil)
		if err != nil {
			return fmt.Errorf("probe socket: %w", err)
		}
		conn.Close()
		if res.readings {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the priming publications did not reach the bridge's channels within 30s (is the zigbee2mqtt base topic right?)")
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// mintToken signs a token for the load generator's user with the bridge's
// HS256 secret (PROTOCOL.md "Tokens"): the default channel permissions
// include device:*.
func mintToken(secret, tenant string, ttl time.Duration) (string, error) {
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":    "mqlive-sim-load",
		"tenant": tenant,
		"iat":    now.Unix(),
		"exp":    now.Add(ttl).Unix(),
	}).SignedString([]byte(secret))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
