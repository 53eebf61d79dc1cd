package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/dedup"
	"github.com/mqlive/mqlive/bridge/embedded"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/ingest"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
	"github.com/mqlive/mqlive/dashboard"
	"github.com/mqlive/mqlive/devices"
)

// embeddedMaxPacket lets oversized payloads reach the decoders, which
// reject and count them (mqlive_ingest_rejected_total{reason="too_large"}),
// instead of the broker silently dropping the publisher.
const embeddedMaxPacket = 8 << 20

// A QoS 1 redelivery is recognised for this long after the original; the
// broker retries within seconds of a lost PUBACK.
const (
	dedupWindow = 30 * time.Second
	dedupSize   = 100000
)

// maxDeviceID bounds a device id in bytes; longer ids are rejected.
const maxDeviceID = 256

// source is one configured source, resolved.
type source struct {
	tenant     string
	base       string
	handler    devices.Handler
	tags       map[string]string
	staleAfter time.Duration
}

// Bridge is one bridge node. Build it with New, then call Run.
type Bridge struct {
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry
	metrics  *metrics.Metrics
	store    *state.Memory
	hub      *hub.Hub
	router   *devices.Router
	sources  []source
	broker   *embedded.Broker
	ingest   *ingest.Client
	server   *ws.Server
	mqttURL  string
	dedup    *dedup.Window

	statsMu   sync.Mutex
	lastStats ingest.Stats
}

// Option adjusts a Bridge built by New.
type Option func(*Bridge)

// WithLogger sets the logger; default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(b *Bridge) { b.log = l } }

// New validates cfg, binds the HTTP listener and (without mqtt.url) the
// embedded broker, so that a taken port fails here with a clear message,
// and wires every component. Nothing runs until Run.
func New(cfg Config, opts ...Option) (*Bridge, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Bridge{cfg: cfg, log: slog.Default(), registry: prometheus.NewRegistry()}
	for _, o := range opts {
		o(b)
	}
	b.metrics = metrics.New(b.registry)
	b.dedup = dedup.New(dedupWindow, dedupSize)
	verifier, err := cfg.Auth.Verifier()
	if err != nil {
		return nil, err
	}
	if err := b.buildSources(); err != nil {
		return nil, err
	}
	b.store = state.NewMemory(state.Config{
		HistorySize: cfg.State.HistorySize, HistoryTTL: cfg.State.HistoryTTL, MaxDevices: cfg.State.MaxDevices,
	})
	b.hub = hub.New(hub.Config{
		QueueSize: cfg.HTTP.QueueSize, SlowConsumerTimeout: cfg.HTTP.SlowConsumerTimeout,
		MaxPerTenant: cfg.HTTP.MaxConnectionsPerTenant, Metrics: b.metrics,
	})
	b.mqttURL = cfg.MQTT.URL
	if b.mqttURL == "" {
		b.broker, err = embedded.New(embedded.Config{Listen: cfg.MQTT.Listen, Logger: b.log, MaxPacketSize: embeddedMaxPacket})
		if err != nil {
			return nil, err
		}
		b.mqttURL = b.broker.URL()
	}
	b.ingest, err = ingest.New(ingest.Config{
		URL: b.mqttURL, ClientID: cfg.MQTT.ClientID, Username: cfg.MQTT.Username, Password: cfg.MQTT.Password,
		Filters: b.router.Filters(), Logger: b.log,
	}, b.handleMessage)
	if err != nil {
		b.closeBroker()
		return nil, err
	}
	b.server, err = ws.New(cfg.HTTP.Addr, ws.Config{
		Node: cfg.Node, MaxFrameBytes: cfg.HTTP.MaxFrameBytes, PingInterval: cfg.HTTP.PingInterval,
		WriteTimeout: cfg.HTTP.WriteTimeout, MaxConnections: cfg.HTTP.MaxConnections,
		RequestRate: cfg.HTTP.RequestRate, RequestBurst: cfg.HTTP.RequestBurst,
		AllowedOrigins: cfg.HTTP.AllowedOrigins, DrainTimeout: cfg.HTTP.DrainTimeout,
		Verifier: verifier, Hub: b.hub, Store: b.store, Metrics: b.metrics,
		Command: b.command, Ready: b.ready, Static: dashboard.FS(),
		Gatherer: promhttp.HandlerFor(b.registry, promhttp.HandlerOpts{Registry: b.registry}),
		Logger:   b.log.With("component", "ws"),
	})
	if err != nil {
		b.closeBroker()
		return nil, err
	}
	return b, nil
}

func (b *Bridge) closeBroker() {
	if b.broker != nil {
		_ = b.broker.Close()
	}
}

func (b *Bridge) buildSources() error {
	confs := b.cfg.Sources
	if len(confs) == 0 {
		for _, h := range Families() {
			base := h.DefaultBase()
			confs = append(confs, SourceConfig{Family: h.Family(), Tenant: DefaultTenant, Base: &base})
		}
	}
	reg, err := devices.NewRegistry(Families()...)
	if err != nil {
		return err
	}
	mounts := make([]devices.Mount, 0, len(confs))
	for i, sc := range confs {
		var h devices.Handler
		if sc.Family == "json" {
			j, err := devices.NewJSON(*sc.JSON)
			if err != nil {
				return fmt.Errorf("sources[%d]: %w", i, err)
			}
			h = j
		} else if sc.Family == "homeassistant" && len(sc.StateFilters) > 0 {
			ha, err := devices.NewHomeAssistant(devices.HomeAssistantConfig{StateFilters: sc.StateFilters})
			if err != nil {
				return fmt.Errorf("sources[%d].state_filters: %w", i, err)
			}
			h = ha
		} else {
			var ok bool
			if h, ok = reg.Handler(sc.Family); !ok {
				return fmt.Errorf("sources[%d].family: unknown family %q; known: %v and json", i, sc.Family, reg.Families())
			}
		}
		src := source{tenant: sc.Tenant, handler: h, tags: sc.Tags, staleAfter: sc.Stale}
		if src.tenant == "" {
			src.tenant = DefaultTenant
		}
		src.base = h.DefaultBase()
		if sc.Base != nil {
			src.base = *sc.Base
		}
		if src.staleAfter == 0 {
			if s, ok := h.(devices.Staler); ok {
				src.staleAfter = s.StaleAfter()
			}
		}
		b.sources = append(b.sources, src)
		mounts = append(mounts, devices.Mount{Tenant: src.tenant, Base: src.base, Handler: h})
	}
	b.router, err = devices.NewRouter(mounts...)
	if err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	return nil
}

// HTTPAddr is the bound HTTP address.
func (b *Bridge) HTTPAddr() string { return b.server.Addr() }

// MQTTURL is the broker the bridge ingests from (the embedded one's URL
// when mqtt.url is empty).
func (b *Bridge) MQTTURL() string { return b.mqttURL }

// Config is the effective configuration.
func (b *Bridge) Config() Config { return b.cfg }

// Registry is the bridge's Prometheus registry (for tests and embedding).
func (b *Bridge) Registry() *prometheus.Registry { return b.registry }

// Run runs every component until ctx ends or one fails, then shuts down in
// reverse order: the HTTP server drains its clients first, then ingest
// disconnects, then the embedded broker stops.
func (b *Bridge) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	defer stopBroker()
	ingestCtx, stopIngest := context.WithCancel(context.Background())
	defer stopIngest()
	brokerDone := make(chan error, 1)
	if b.broker != nil {
		go func() { brokerDone <- b.broker.Run(brokerCtx) }()
	} else {
		brokerDone <- nil
	}
	ingestDone := make(chan error, 1)
	go func() { ingestDone <- b.ingest.Run(ingestCtx) }()
	g.Go(func() error { return b.server.Run(gctx) })
	g.Go(func() error { b.housekeeping(gctx); return nil })
	g.Go(func() error {
		select {
		case err := <-ingestDone:
			ingestDone <- err
			if err != nil && gctx.Err() == nil {
				return fmt.Errorf("ingest: %w", err)
			}
		case <-gctx.Done():
		}
		return nil
	})
	err := g.Wait()
	stopIngest()
	if ierr := <-ingestDone; ierr != nil && err == nil && !errors.Is(ierr, context.Canceled) {
		err = ierr
	}
	stopBroker()
	if berr := <-brokerDone; berr != nil && err == nil && !errors.Is(berr, context.Canceled) {
		err = berr
	}
	return err
}

func (b *Bridge) ready() error {
	if !b.ingest.Connected() {
		return errors.New("MQTT not connected")
	}
	return nil
}

// housekeeping marks silent devices stale and refreshes gauges once a second.
func (b *Bridge) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.updateMQTTMetrics()
		for _, tenant := range b.store.Tenants() {
			var stale []devices.Reading
			n := 0
			b.store.Do(tenant, func(t *state.Tenant) {
				stale = t.SweepStale()
				n = t.Len()
			})
			b.metrics.StateDevices.WithLabelValues(tenant).Set(float64(n))
			for i := range stale {
				b.metrics.StaleTransitions.WithLabelValues(tenant).Inc()
				b.publishReading(tenant, &stale[i])
			}
		}
	}
}

func (b *Bridge) updateMQTTMetrics() {
	connected := 0.0
	if b.ingest.Connected() {
		connected = 1
	}
	b.metrics.MQTTConnected.Set(connected)
	st := b.ingest.Stats()
	b.statsMu.Lock()
	if d := st.Reconnects - b.lastStats.Reconnects; d > 0 {
		b.metrics.MQTTReconnects.Add(float64(d))
	}
	b.lastStats = st
	b.statsMu.Unlock()
}

// handleMessage is the ingest pipeline for one MQTT message: route it to
// its source, decode it, merge and publish every Reading. It runs on the
// ingest goroutine and never blocks on a client.
func (b *Bridge) handleMessage(m devices.Message) {
	// Mounts were built in source order, so the index is the source.
	idx, ok := b.router.LookupIndex(m.Topic)
	if !ok {
		b.metrics.IngestMessages.WithLabelValues("none", "none", "rejected").Inc()
		b.metrics.IngestRejected.WithLabelValues("none", "none", devices.ReasonNoHandler).Inc()
		return
	}
	src := &b.sources[idx]
	family := src.handler.Family()
	if b.dedup.Duplicate(m.Topic, m.Payload, m.Duplicate, m.ReceivedAt) {
		b.metrics.DedupSuppressed.WithLabelValues(family, src.tenant).Inc()
		return
	}
	start := time.Now()
	readings, err := safeDecode(src.handler, src.base, m)
	b.metrics.IngestDecode.WithLabelValues(family).Observe(time.Since(start).Seconds())
	if err == nil {
		err = checkReadings(readings, family)
	}
	verdict, reason := devices.Verdict(err)
	b.metrics.IngestMessages.WithLabelValues(family, src.tenant, verdict).Inc()
	if reason != "" {
		b.metrics.IngestRejected.WithLabelValues(family, src.tenant, reason).Inc()
		b.log.Debug("message rejected", "topic", m.Topic, "family", family, "reason", reason, "err", err)
	}
	b.monitor(src.tenant, family, m, verdict, reason, err, len(readings))
	if err != nil {
		return
	}
	for i := range readings {
		r := &readings[i]
		if len(src.tags) > 0 {
			if r.Tags == nil {
				r.Tags = make(map[string]string, len(src.tags))
			}
			for k, v := range src.tags {
				r.Tags[k] = v
			}
		}
		r.Stale = false
		var applyErr error
		b.store.Do(src.tenant, func(t *state.Tenant) {
			_, applyErr = t.Apply(r, state.Meta{Source: idx, StaleAfter: src.staleAfter, Tags: src.tags, Topic: m.Topic})
		})
		if applyErr != nil {
			b.metrics.IngestRejected.WithLabelValues(family, src.tenant, "device_limit").Inc()
			continue
		}
		b.publishReading(src.tenant, r)
	}
}

// safeDecode turns a decoder panic into a rejection: bad input must never
// crash a node (ARCHITECTURE.md "Reliability rules").
func safeDecode(h devices.Handler, base string, m devices.Message) (rs []devices.Reading, err error) {
	defer func() {
		if p := recover(); p != nil {
			rs, err = nil, devices.Reject(devices.ReasonInvalidPayload, "decoder panic: %v", p)
		}
	}()
	return h.Decode(base, m)
}

// checkReadings enforces what every Reading must satisfy before it can be
// published, whatever the decoder: an id within bounds, the right family,
// finite numbers.
func checkReadings(rs []devices.Reading, family string) error {
	for i := range rs {
		r := &rs[i]
		if r.Device == "" || len(r.Device) > maxDeviceID || !utf8.ValidString(r.Device) {
			return devices.Reject(devices.ReasonInvalidTopic, "device id is empty, longer than %d bytes or not UTF-8", maxDeviceID)
		}
		r.Family = family
		for k, v := range r.Metrics {
			switch x := v.(type) {
			case float64:
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return devices.Reject(devices.ReasonInvalidNumber, "metric %s is not finite", k)
				}
			case bool:
			default:
				return devices.Reject(devices.ReasonInvalidPayload, "metric %s is %T, not a number or bool", k, v)
			}
		}
	}
	return nil
}

// publishReading appends a Reading to every channel that covers its device
// and delivers it, in one tenant critical section so offsets and delivery
// order agree.
func (b *Bridge) publishReading(tenant string, r *devices.Reading) {
	data, err := json.Marshal(r)
	if err != nil {
		b.log.Error("marshal reading", "device", r.Device, "err", err)
		return
	}
	chans := make([]wire.Channel, 0, 2+len(r.Tags))
	chans = append(chans, wire.Channel{Name: "devices", Kind: wire.KindDevices},
		wire.Channel{Name: wire.DeviceChannel(r.Device), Kind: wire.KindDevice})
	for k, v := range r.Tags {
		chans = append(chans, wire.Channel{Name: wire.TagChannel(k, v), Kind: wire.KindTag, TagKey: wire.EscapeID(k), TagValue: wire.EscapeID(v)})
	}
	b.store.Do(tenant, func(t *state.Tenant) {
		for _, ch := range chans {
			pub := t.Append(ch, data, r)
			b.hub.Deliver(tenant, pub)
		}
	})
	for _, ch := range chans {
		b.metrics.Publications.WithLabelValues(string(ch.Kind)).Inc()
	}
}

// monitorEvent is the data of a monitor channel publication.
type monitorEvent struct {
	Topic      string    `json:"topic"`
	Payload    string    `json:"payload,omitempty"`
	PayloadB64 []byte    `json:"payload_base64,omitempty"`
	Truncated  bool      `json:"truncated,omitempty"`
	Size       int       `json:"size"`
	Retained   bool      `json:"retained,omitempty"`
	Family     string    `json:"family"`
	Verdict    string    `json:"verdict"`
	Reason     string    `json:"reason,omitempty"`
	Error      string    `json:"error,omitempty"`
	Readings   int       `json:"readings"`
	ReceivedAt time.Time `json:"received_at"`
}

const monitorMaxPayload = 4 << 10

// monitor publishes the raw message and its verdict to the tenant's
// monitor channel, only when an admin watches it.
func (b *Bridge) monitor(tenant, family string, m devices.Message, verdict, reason string, err error, n int) {
	if !b.hub.HasSubscribers(tenant, "monitor") {
		return
	}
	ev := monitorEvent{Topic: m.Topic, Size: len(m.Payload), Retained: m.Retained, Family: family,
		Verdict: verdict, Reason: reason, Readings: n, ReceivedAt: m.ReceivedAt}
	if err != nil {
		ev.Error = err.Error()
	}
	p := m.Payload
	if len(p) > monitorMaxPayload {
		p, ev.Truncated = p[:monitorMaxPayload], true
	}
	if utf8.Valid(p) {
		ev.Payload = string(p)
	} else {
		ev.PayloadB64 = p
	}
	data, jerr := json.Marshal(ev)
	if jerr != nil {
		return
	}
	b.publishMonitor(tenant, data)
}

func (b *Bridge) publishMonitor(tenant string, data []byte) {
	ch := wire.Channel{Name: "monitor", Kind: wire.KindMonitor}
	b.store.Do(tenant, func(t *state.Tenant) {
		b.hub.Deliver(tenant, t.Append(ch, data, nil))
	})
	b.metrics.Publications.WithLabelValues(string(wire.KindMonitor)).Inc()
}

// command encodes a dashboard command through the device's family and
// publishes it to the broker. Every command is counted and shown on the
// tenant's monitor channel, sent or not.
func (b *Bridge) command(ctx context.Context, id *auth.Identity, p wire.CommandParams) (err error) {
	var (
		src   int
		found bool
		ds    devices.DeviceState
	)
	b.store.Do(id.Tenant, func(t *state.Tenant) {
		if d, ok := t.Device(p.Device); ok {
			src, found = d.Source, true
			ds = devices.DeviceState{Reading: d.Snapshot(time.Now()), Topics: d.Topics()}
		}
	})
	family := "none"
	var msg devices.Message
	defer func() {
		outcome := "sent"
		var we *wire.Error
		switch {
		case errors.As(err, &we):
			outcome = "refused"
		case err != nil:
			outcome = "failed"
		}
		b.metrics.Commands.WithLabelValues(family, id.Tenant, outcome).Inc()
		b.monitorCommand(id, family, p, msg, outcome, err)
	}()
	if !id.CanCommand(p.Device) {
		return wire.NewError(wire.CodeForbidden, "permission denied: token may not command this device")
	}
	if !found {
		return wire.NewError(wire.CodeInvalidParams, "invalid params: unknown device")
	}
	s := b.sources[src]
	family = s.handler.Family()
	if sc, ok := s.handler.(devices.StateCommander); ok {
		msg, err = sc.CommandWithState(s.base, ds, p.Name, p.Args)
	} else if cmdr, ok := s.handler.(devices.Commander); ok {
		msg, err = cmdr.Command(s.base, p.Device, p.Name, p.Args)
	} else {
		return wire.NewError(wire.CodeInvalidParams, "invalid params: family "+family+" does not accept commands")
	}
	if err != nil {
		return wire.NewError(wire.CodeInvalidParams, "invalid params: "+err.Error())
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.ingest.Publish(cctx, msg.Topic, msg.Payload, 1, false); err != nil {
		return fmt.Errorf("command %s/%s: %w", p.Device, p.Name, err)
	}
	b.log.Info("command sent", "tenant", id.Tenant, "user", id.User, "device", p.Device, "name", p.Name, "topic", msg.Topic)
	return nil
}

// commandEvent is the data of a monitor publication for a command.
type commandEvent struct {
	Command  string          `json:"command"`
	Device   string          `json:"device"`
	Args     json.RawMessage `json:"args,omitempty"`
	User     string          `json:"user"`
	Family   string          `json:"family"`
	Topic    string          `json:"topic,omitempty"`
	Payload  string          `json:"payload,omitempty"`
	Verdict  string          `json:"verdict"`
	Error    string          `json:"error,omitempty"`
	IssuedAt time.Time       `json:"issued_at"`
}

func (b *Bridge) monitorCommand(id *auth.Identity, family string, p wire.CommandParams, msg devices.Message, outcome string, err error) {
	if !b.hub.HasSubscribers(id.Tenant, "monitor") {
		return
	}
	ev := commandEvent{Command: p.Name, Device: p.Device, User: id.User, Family: family,
		Topic: msg.Topic, Verdict: outcome, IssuedAt: time.Now().UTC()}
	if json.Valid(p.Args) {
		ev.Args = p.Args
	}
	if utf8.Valid(msg.Payload) {
		ev.Payload = string(msg.Payload)
	}
	if err != nil {
		ev.Error = err.Error()
	}
	data, jerr := json.Marshal(ev)
	if jerr != nil {
		return
	}
	b.publishMonitor(id.Tenant, data)
}
