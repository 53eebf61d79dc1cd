package simulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqlive/mqlive/devices"
)

const (
	connectTimeout = 5 * time.Second
	// leaveTimeout bounds the offline message and DISCONNECT sent when a
	// device stops; the run's context is already done by then.
	leaveTimeout = 2 * time.Second
	maxBackoff   = 5 * time.Second
)

// device is one simulated device and its MQTT connection. Its fields are
// used by its own goroutine only, except conn (mu) and lost (a channel).
type device struct {
	sim      *Simulator
	family   string
	name     string
	base     string
	sampler  devices.Sampler
	clientID string
	log      *slog.Logger

	payload *rand.Rand // Sample values only: the deterministic part
	control *rand.Rand // jitter, churn and bad rounds

	client paho.Client
	lost   chan struct{} // signalled when paho loses the connection

	mu   sync.Mutex
	conn *dropConn // the current connection, so that churn can drop it

	skew time.Duration // this device's clock error (Config.Skew)
}

// stopReason says why serve returned.
type stopReason int

const (
	stopDone  stopReason = iota // ctx done or Count reached: leave politely
	stopLost                    // the broker dropped the connection
	stopChurn                   // the device dropped itself (LWT)
)

func newDevice(s *Simulator, family string, index int, name string, sampler devices.Sampler, base string) *device {
	seed := uint64(s.cfg.Seed)
	d := &device{
		sim:      s,
		family:   family,
		name:     name,
		base:     base,
		sampler:  sampler,
		clientID: fmt.Sprintf("%s-%d", s.idPrefix, len(s.devices)),
		log:      s.log.With("family", family, "device", name),
		payload:  rand.New(rand.NewPCG(seed, streamKey(family, index, "payload"))),
		control:  rand.New(rand.NewPCG(seed, streamKey(family, index, "control"))),
		lost:     make(chan struct{}, 1),
	}
	opts := paho.NewClientOptions().
		AddBroker(s.cfg.URL).
		SetClientID(d.clientID).
		SetUsername(s.cfg.Username).
		SetPassword(s.cfg.Password).
		SetCleanSession(true).
		// The device loop reconnects itself, so that a dropped device stays
		// away for as long as churn says and every connect is observed.
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(connectTimeout).
		SetKeepAlive(30 * time.Second).
		SetCustomOpenConnectionFn(d.dial).
		SetConnectionLostHandler(func(paho.Client, error) {
			select {
			case d.lost <- struct{}{}:
			default:
			}
		})
	if lwt, ok := sampler.Availability(base, name, false); ok {
		opts.SetBinaryWill(lwt.Topic, lwt.Payload, 1, lwt.Retained) // [MQTT-3.1.2-8]
	}
	d.client = paho.NewClient(opts)
	if s.cfg.Skew > 0 {
		d.skew = time.Duration(d.control.Int64N(int64(2*s.cfg.Skew)+1)) - s.cfg.Skew
	}
	return d
}

// dial opens the TCP (or TLS) connection for paho and keeps it, so that
// drop can close it without an MQTT DISCONNECT.
func (d *device) dial(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
	secure := u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts"
	host := u.Host
	if u.Port() == "" {
		port := "1883"
		if secure {
			port = "8883"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	conn := &dropConn{Conn: raw, raw: raw}
	if secure {
		tc := tls.Client(raw, &tls.Config{ServerName: u.Hostname()})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		conn.Conn = tc
	}
	d.mu.Lock()
	d.conn = conn
	d.mu.Unlock()
	return conn, nil
}

// errDropped is what paho reads from a connection the device dropped.
var errDropped = errors.New("simulator: connection dropped (churn)")

// dropConn lets a device drop its connection the way a power cut does.
// paho ignores read errors that say "use of closed network connection",
// taking them for its own Disconnect, so after a drop the error is
// replaced by errDropped and paho reports the connection lost.
type dropConn struct {
	net.Conn
	raw     net.Conn // the TCP connection under TLS, closed without close_notify
	dropped atomic.Bool
}

func (c *dropConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && c.dropped.Load() {
		err = errDropped
	}
	return n, err
}

func (c *dropConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && c.dropped.Load() {
		err = errDropped
	}
	return n, err
}

func (c *dropConn) drop() {
	c.dropped.Store(true)
	_ = c.raw.Close()
}

// run is the device's life: connect, report, churn, until ctx is done or
// Count rounds are published.
func (d *device) run(ctx context.Context) {
	cfg := d.sim.cfg
	// Spread the fleet over the first interval instead of reporting in
	// lockstep.
	if !sleep(ctx, time.Duration(d.control.Int64N(int64(cfg.Interval)))) {
		return
	}
	// Whatever ends the run, no paho goroutine may outlive it; Disconnect
	// of a disconnected client does nothing.
	defer d.client.Disconnect(250)
	rounds := 0
	for {
		if !d.connect(ctx) {
			return
		}
		switch d.serve(ctx, &rounds) {
		case stopDone:
			d.leave()
			return
		case stopLost:
			d.log.Warn("device lost its connection; reconnecting")
		case stopChurn:
			away := time.Duration(1+d.control.IntN(5)) * cfg.Interval
			d.log.Debug("device dropped offline", "back_in", away)
			if !sleep(ctx, away) {
				return
			}
		}
	}
}

// connect connects with backoff until it succeeds or ctx is done, then
// publishes the birth message. It reports whether the device is online.
func (d *device) connect(ctx context.Context) bool {
	backoff := 200 * time.Millisecond
	for {
		select { // a loss of the previous connection is history now
		case <-d.lost:
		default:
		}
		tok := d.client.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			<-tok.Done() // bounded by connectTimeout; run's deferred Disconnect undoes a success
			return false
		}
		if err := tok.Error(); err != nil {
			d.sim.stats.connectErrors.Add(1)
			if d.sim.warnedConnect.CompareAndSwap(false, true) {
				// Once per fleet: a broker that is down would otherwise
				// produce one warning per device and retry.
				d.log.Warn("cannot connect to the broker; devices keep retrying", "url", d.sim.cfg.URL, "error", err)
			} else {
				d.log.Debug("device connect failed", "error", err)
			}
			// Jitter from the global source: retries depend on the broker,
			// not on the seed, and must not disturb the seeded streams.
			if !sleep(ctx, backoff/2+rand.N(backoff/2+1)) {
				return false
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		d.sim.stats.connects.Add(1)
		d.log.Debug("device online")
		d.announce(ctx)
		if birth, ok := d.sampler.Availability(d.base, d.name, true); ok {
			d.publish(ctx, birth, 1)
		}
		return true
	}
}

// serve publishes rounds until it is time to stop or the connection goes.
func (d *device) serve(ctx context.Context, rounds *int) stopReason {
	cfg := d.sim.cfg
	timer := time.NewTimer(d.delay())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return stopDone
		case <-d.lost:
			return stopLost
		case <-d.sim.stormSignal():
			d.drop(ctx)
			return stopChurn
		case <-timer.C:
		}
		if cfg.Churn > 0 && d.control.Float64() < cfg.Churn {
			d.drop(ctx)
			return stopChurn
		}
		now := time.Now()
		if !cfg.Start.IsZero() {
			now = cfg.Start.Add(time.Duration(*rounds) * cfg.Interval)
		}
		now = now.Add(d.skew)
		msgs := d.sampler.Sample(d.base, d.name, now, d.payload)
		if cfg.Bad > 0 && d.control.Float64() < cfg.Bad && len(msgs) > 0 {
			msgs[0].Payload = badPayload(d.control, msgs[0].Payload)
			d.sim.stats.bad.Add(1)
		}
		for _, m := range msgs {
			d.publish(ctx, m, cfg.QoS)
		}
		*rounds++
		if cfg.Count > 0 && *rounds >= cfg.Count {
			return stopDone
		}
		timer.Reset(d.delay())
	}
}

// delay is the interval with ±10% jitter.
func (d *device) delay() time.Duration {
	iv := d.sim.cfg.Interval
	return iv - iv/10 + time.Duration(d.control.Int64N(int64(iv/5)+1))
}

// publish sends m and, for QoS 1, waits for the broker's PUBACK so that a
// device's messages stay in order and Count rounds are really delivered.
func (d *device) publish(ctx context.Context, m devices.Message, qos byte) {
	tok := d.client.Publish(m.Topic, qos, m.Retained, m.Payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			d.sim.stats.publishErrors.Add(1)
			d.log.Debug("device publish failed", "topic", m.Topic, "error", err)
			return
		}
		d.sim.stats.published.Add(1)
	case <-ctx.Done():
	}
}

// drop closes the TCP connection without a DISCONNECT, as a device losing
// power does, so that the broker publishes the Will [MQTT-3.1.2-8], and
// waits until paho has noticed.
func (d *device) drop(ctx context.Context) {
	d.sim.stats.drops.Add(1)
	d.mu.Lock()
	if d.conn != nil {
		d.conn.drop()
	}
	d.mu.Unlock()
	select {
	case <-d.lost:
	case <-ctx.Done():
	}
}

// leave announces the device offline before run disconnects cleanly:
// after a DISCONNECT the broker discards the Will [MQTT-3.1.2-10], so the
// offline message is published explicitly.
func (d *device) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	if off, ok := d.sampler.Availability(d.base, d.name, false); ok && d.client.IsConnectionOpen() {
		d.publish(ctx, off, 1)
	}
}

// badPayloads are malformed payloads a broken device or a hostile client
// could send; each trips a different rejection reason.
var badPayloads = [][]byte{
	[]byte(`{"temperature":1e999}`),          // number outside float64
	[]byte("{\"temperature\":\"\xff\xfe\"}"), // invalid UTF-8
	[]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`), // too deep
	nil, // truncated good payload, see badPayload
}

func badPayload(rnd *rand.Rand, good []byte) []byte {
	b := badPayloads[rnd.IntN(len(badPayloads))]
	if b == nil {
		return append([]byte(nil), good[:len(good)/2]...)
	}
	return b
}

// sleep waits for d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// announce publishes, before the birth, the metadata a learning family
// needs to read the device's messages (Home Assistant discovery configs,
// Homie attributes), as real devices do when they connect. The values
// come from a stream of their own so that the seeded telemetry is
// unchanged.
func (d *device) announce(ctx context.Context) {
	l, ok := d.sampler.(devices.Learner)
	if !ok {
		return
	}
	filters := l.LearnFilters(d.base)
	meta := rand.New(rand.NewPCG(uint64(d.sim.cfg.Seed), streamKey(d.family, 0, "meta:"+d.name)))
	for _, m := range d.sampler.Sample(d.base, d.name, time.Now(), meta) {
		for _, f := range filters {
			if devices.Match(f, m.Topic) {
				d.publish(ctx, m, 1)
				break
			}
		}
	}
}
