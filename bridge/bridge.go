package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/dedup"
	"github.com/mqlive/mqlive/bridge/embedded"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/ingest"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/webhook"
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
	key        string // state.SourceKey of its family and base, built once
}

// Bridge is one bridge node. Build it with New, then call Run.
type Bridge struct {
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry
	metrics  *metrics.Metrics
	mem      *state.Memory // the memory backplane's store; nil in a cluster
	bp       *backplane    // set before bpReady; read only after it
	bpReady  atomic.Bool
	bpHealth health
	hub      *hub.Hub
	router   *devices.Router
	sources  []source
	broker   *embedded.Broker
	ingest   ingester
	server   *ws.Server
	// metricsSrv serves /metrics on http.metrics_addr; nil: on the server.
	metricsSrv *sideServer
	// pprofSrv serves net/http/pprof on http.pprof_addr; nil: off.
	pprofSrv *sideServer
	mqttURL  string
	dedup    *dedup.Window
	started  time.Time
	// pipeCtx ends after ingest has stopped and its queued messages are
	// processed; the pipeline's retries watch it. Set in New, so that no
	// goroutine reads it before it is written.
	pipeCtx  context.Context
	stopPipe context.CancelFunc
	// lanes run the pipeline on several workers (cluster.ingest_workers >
	// 1); nil: on the MQTT client's goroutine. Set before ingest starts.
	lanes *lanes
	// watch keeps messages other nodes claimed (ingest mode lock).
	watch claimWatch
	// monitorWanted holds, per tenant, whether any node has a monitor
	// subscriber (a cluster refreshes it each second from presence).
	monitorWanted sync.Map // tenant → bool
	// hooks sends webhook events (webhooks.go); nil without webhooks.
	hooks *webhook.Dispatcher

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
	b.pipeCtx, b.stopPipe = context.WithCancel(context.Background())
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
	b.registry.MustRegister(newFamilyEvents(b.sources))
	if b.hooks, err = b.newHooks(); err != nil {
		return nil, err
	}
	b.hub = hub.New(hub.Config{
		QueueSize: cfg.HTTP.QueueSize, SlowConsumerTimeout: cfg.HTTP.SlowConsumerTimeout,
		MaxPerTenant: cfg.HTTP.MaxConnectionsPerTenant, MaxQueuedReplyBytes: cfg.HTTP.MaxQueuedReplyBytes,
		Metrics: b.metrics,
	})
	b.mqttURL = cfg.MQTT.URL
	if b.mqttURL == "" {
		b.broker, err = embedded.New(embedded.Config{Listen: cfg.MQTT.Listen, Logger: b.log, MaxPacketSize: embeddedMaxPacket, DataDir: cfg.MQTT.DataDir,
			Users: brokerUsers(cfg.MQTT.Users), TenantTopics: tenantTopics(b.router), Registerer: b.registry})
		if err != nil {
			return nil, err
		}
		b.mqttURL = b.broker.URL()
	}
	ingestCfg := ingest.Config{
		URL: b.mqttURL, ClientID: cfg.MQTT.ClientID, Username: cfg.MQTT.Username, Password: cfg.MQTT.Password,
		Filters: b.router.Filters(), Logger: b.log,
	}
	if ingestCfg.ClientID == "" {
		ingestCfg.ClientID = clientID(cfg.Node)
	}
	if cfg.Cluster.Backplane == BackplaneValkey && cfg.Cluster.Ingest == IngestShared {
		ingestCfg.SharedGroup = cfg.MQTT.SharedGroup
	}
	if b.broker != nil {
		b.ingest, err = b.inlineIngest()
	} else {
		b.ingest, err = ingest.New(ingestCfg, b.ingestMessage)
	}
	if err != nil {
		b.closeBroker()
		return nil, err
	}
	var publicMetrics http.Handler = metricsHandler(b.registry, cfg.HTTP.MetricsToken)
	if cfg.HTTP.MetricsAddr != "" {
		if b.metricsSrv, err = listenMetrics(cfg.HTTP.MetricsAddr, publicMetrics); err != nil {
			b.closeBroker()
			return nil, err
		}
		publicMetrics = nil
	}
	if cfg.HTTP.PprofAddr != "" {
		if b.pprofSrv, err = listenPprof(cfg.HTTP.PprofAddr); err != nil {
			if b.metricsSrv != nil {
				_ = b.metricsSrv.ln.Close()
			}
			b.closeBroker()
			return nil, err
		}
	}
	b.server, err = ws.New(cfg.HTTP.Addr, ws.Config{
		Node: cfg.Node, MaxFrameBytes: cfg.HTTP.MaxFrameBytes, PingInterval: cfg.HTTP.PingInterval,
		WriteTimeout: cfg.HTTP.WriteTimeout, MaxConnections: cfg.HTTP.MaxConnections,
		RequestRate: cfg.HTTP.RequestRate, RequestBurst: cfg.HTTP.RequestBurst,
		TenantRequestRate: cfg.HTTP.TenantRequestRate, TenantRequestBurst: cfg.HTTP.TenantRequestBurst,
		MaxConnectionsPerUser: cfg.HTTP.MaxConnectionsPerUser, MaxSubscriptions: cfg.HTTP.MaxSubscriptionsPerConnection,
		AllowedOrigins: cfg.HTTP.AllowedOrigins, DrainTimeout: cfg.HTTP.DrainTimeout,
		MaxPending: cfg.HTTP.MaxPending, MaxPendingPerAddress: cfg.HTTP.MaxPendingPerAddress, TrustedProxies: cfg.HTTP.TrustedProxies,
		Verifier: verifier, Hub: b.hub, Metrics: b.metrics,
		Command: b.command, Commands: b.commands, Ready: b.ready, Static: dashboard.FS(),
		Gatherer: publicMetrics,
		Logger:   b.log.With("component", "ws"),
		Routes:   b.mqttOverWebSocket(),
	})
	if err != nil {
		for _, s := range []*sideServer{b.metricsSrv, b.pprofSrv} {
			if s != nil {
				_ = s.ln.Close()
			}
		}
		b.closeBroker()
		return nil, err
	}
	if cfg.Cluster.Backplane != BackplaneValkey {
		b.mem = state.NewMemory(state.Config{
			HistorySize: cfg.State.HistorySize, HistoryTTL: cfg.State.HistoryTTL, MaxDevices: cfg.State.MaxDevices,
			MaxChannels: cfg.State.MaxChannels, MaxChannelBytes: int64(cfg.State.MaxChannelBytes), DeviceHistorySize: cfg.State.DeviceHistorySize,
			MaxTenantBytes: int64(cfg.State.MaxTenantBytes), MaxDeviceFields: cfg.State.MaxDeviceFields,
			MaxTagChannels: cfg.State.MaxTagChannels, IdentityTTL: cfg.State.IdentityTTL,
			OnEvict: func(tenant, reason string) { b.metrics.StateEvicted.WithLabelValues(tenant, reason).Inc() },
		})
		if cfg.State.Path != "" {
			n, err := b.mem.Load(cfg.State.Path)
			if err != nil {
				// A damaged file must not keep the node down: start empty,
				// and say so (the file is overwritten at the next save).
				b.log.Error("state file unreadable; starting with no devices", "path", cfg.State.Path, "err", err)
			} else if n > 0 {
				b.log.Info("state restored", "path", cfg.State.Path, "devices", n)
			}
		}
		b.install(b.memoryBackplane(b.mem))
	}
	return b, nil
}

// clientID derives the MQTT client id from the node name: stable across
// restarts (a persistent session resumes) and distinct per node. MQTT 3.1.1
// brokers must accept 23 characters of [0-9a-zA-Z] [MQTT-3.1.3-5]; every
// broker mqlive targets accepts longer ids and '-', '_' and '.'.
func clientID(node string) string {
	id := []byte("mqlive-")
	for i := 0; i < len(node) && len(id) < 64; i++ {
		c := node[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			id = append(id, c)
		default:
			id = append(id, '_')
		}
	}
	return string(id)
}

// install makes bp the node's backplane and opens the WebSocket and admin
// routes.
func (b *Bridge) install(bp *backplane) {
	b.bp = bp
	b.hub.SetUpstream(bp.fanout)
	b.server.Install(ws.Backplane{Store: bp.store, Fanout: bp.fanout, Presence: bp.presence, Control: bp.control, Nodes: bp.nodes})
	b.bpHealth.set(nil)
	b.metrics.BackplaneUp.Set(1)
	b.bpReady.Store(true)
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
		} else if sc.Family == "ttn" && len(sc.TTNTenants) > 0 {
			if h, err = devices.NewTTN(devices.TTNConfig{Tenants: sc.TTNTenants}); err != nil {
				return fmt.Errorf("sources[%d].ttn_tenants: %w", i, err)
			}
		} else if sc.Family == "tasmota" && (sc.FullTopic != "" || len(sc.StateText) > 0) {
			t, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: sc.FullTopic, StateText: sc.StateText})
			if err != nil {
				return fmt.Errorf("sources[%d].full_topic: %w", i, err)
			}
			h = t
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
		if len(sc.Devices) > 0 {
			src.base = "" // devices own root prefixes unless a base is given
		}
		if sc.Base != nil {
			src.base = *sc.Base
		}
		if src.staleAfter == 0 {
			if s, ok := h.(devices.Staler); ok {
				src.staleAfter = s.StaleAfter()
			}
		}
		src.key = state.SourceKey(h.Family(), src.base)
		b.sources = append(b.sources, src)
		mounts = append(mounts, devices.Mount{Tenant: src.tenant, Base: src.base, Handler: h, Devices: sc.Devices})
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
// disconnects, then the backplane and the embedded broker stop.
//
// A cluster node serves /healthz and /readyz (503) at once, and connects to
// Valkey with backoff; ingest and the WebSocket start once it is reachable.
func (b *Bridge) Run(ctx context.Context) error {
	b.started = time.Now()
	g, gctx := errgroup.WithContext(ctx)
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	defer stopBroker()
	ingestCtx, stopIngest := context.WithCancel(context.Background())
	defer stopIngest()
	defer b.stopPipe()
	bpCtx, stopBackplane := context.WithCancel(context.Background())
	defer stopBackplane()
	brokerDone := make(chan error, 1)
	if b.broker != nil {
		go func() { brokerDone <- b.broker.Run(brokerCtx) }()
	} else {
		brokerDone <- nil
	}
	ingestDone := make(chan error, 1)
	bpDone := make(chan error, 1)
	g.Go(func() error { return b.server.Run(gctx) })
	if b.broker != nil {
		// MQTT-over-WebSocket clients live on the HTTP server's
		// connections; it cannot shut down while the broker keeps them.
		g.Go(func() error { <-gctx.Done(); b.broker.CloseConns(); return nil })
	}
	g.Go(func() error { return b.hooks.Run(gctx) })
	for _, s := range []*sideServer{b.metricsSrv, b.pprofSrv} {
		if s != nil {
			g.Go(func() error { return s.Run(gctx) })
		}
	}
	g.Go(func() error {
		if !b.bpReady.Load() {
			bp, err := b.connectValkey(gctx)
			if err != nil {
				ingestDone <- nil
				bpDone <- nil
				if gctx.Err() != nil {
					return nil
				}
				return err
			}
			b.install(bp)
		}
		if b.bp.run != nil {
			go func() { bpDone <- b.bp.run(bpCtx) }()
		} else {
			bpDone <- nil
		}
		b.lanes = b.ingestLanes()
		go func() { ingestDone <- b.ingest.Run(ingestCtx) }()
		var jobs errgroup.Group
		jobs.Go(func() error { b.housekeeping(gctx); return nil })
		jobs.Go(func() error { b.heartbeat(gctx); return nil })
		if b.bp.claims != nil && b.cfg.Cluster.Ingest == IngestLock {
			jobs.Go(func() error { b.watchClaims(gctx); return nil })
		}
		if b.mem != nil && b.cfg.State.Path != "" {
			jobs.Go(func() error { return b.mem.Persist(gctx, b.cfg.State.Path, b.cfg.State.SaveInterval, b.log) })
		}
		select {
		case err := <-ingestDone:
			ingestDone <- err
			if err != nil && gctx.Err() == nil {
				return fmt.Errorf("ingest: %w", err)
			}
		case <-gctx.Done():
		}
		return jobs.Wait()
	})
	err := g.Wait()
	stopIngest()
	if ierr := <-ingestDone; ierr != nil && err == nil && !errors.Is(ierr, context.Canceled) {
		err = ierr
	}
	if b.lanes != nil {
		b.lanes.stop(5 * time.Second)
	}
	b.stopPipe()
	if b.bp != nil && b.bpReady.Load() {
		lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = b.bp.nodes.Leave(lctx, b.cfg.Node)
		cancel()
	}
	stopBackplane()
	if berr := <-bpDone; berr != nil && err == nil && !errors.Is(berr, context.Canceled) {
		err = berr
	}
	if b.bp != nil && b.bp.close != nil {
		b.bp.close()
	}
	stopBroker()
	if berr := <-brokerDone; berr != nil && err == nil && !errors.Is(berr, context.Canceled) {
		err = berr
	}
	return err
}

func (b *Bridge) ready() error {
	if !b.bpReady.Load() {
		return b.bpHealth.check()
	}
	if err := b.bpHealth.check(); err != nil {
		return err
	}
	if !b.ingest.Connected() {
		return errors.New("MQTT not connected")
	}
	return nil
}

// housekeeping runs once a second: gauges, backplane health, monitor
// interest, and (once per cluster, under a lease) the stale sweep.
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
		b.updateStateMetrics()
		b.checkBackplane(ctx)
		b.refreshMonitorInterest(ctx)
		b.sweep(ctx)
	}
}

// checkBackplane pings the backplane so /readyz reports an unreachable
// Valkey within a second.
func (b *Bridge) checkBackplane(ctx context.Context) {
	if b.bp.ping == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	err := b.bp.ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	if err != nil && b.bpHealth.ok.Load() {
		b.log.Warn("backplane unreachable; node not ready until it returns", "err", err)
	} else if err == nil && !b.bpHealth.ok.Load() {
		b.log.Info("backplane reachable again")
	}
	b.bpHealth.set(err)
	up := 1.0
	if err != nil {
		up = 0
	}
	b.metrics.BackplaneUp.Set(up)
}

// sweepLease is the lease that makes the stale and presence sweeps run on
// one node of the cluster at a time.
const sweepLease = "sweep"

// sweep marks silent devices stale and tells live dashboards, and removes
// presence entries of dead nodes; once per cluster.
func (b *Bridge) sweep(ctx context.Context) {
	held, err := b.bp.leases.Acquire(ctx, sweepLease, b.cfg.Node, 3*time.Second)
	if err != nil || !held {
		return
	}
	if counts, err := b.bp.store.DeviceCounts(ctx); err == nil {
		for tenant, n := range counts {
			b.metrics.StateDevices.WithLabelValues(tenant).Set(float64(n))
		}
	}
	stale, err := b.bp.store.SweepStale(ctx)
	if err != nil {
		b.metrics.BackplaneErrors.WithLabelValues("sweep").Inc()
		return
	}
	for i := range stale {
		b.metrics.StaleTransitions.WithLabelValues(stale[i].Tenant).Inc()
		b.hookStale(stale[i].Tenant, &stale[i].Reading)
		b.publishReading(ctx, stale[i].Tenant, &stale[i].Reading)
	}
	if b.bp.sweepPresence != nil {
		if err := b.bp.sweepPresence(ctx); err != nil {
			b.metrics.BackplaneErrors.WithLabelValues("presence_sweep").Inc()
		}
	}
}

// heartbeat registers the node in the node registry until ctx ends.
func (b *Bridge) heartbeat(ctx context.Context) {
	t := time.NewTicker(b.cfg.Cluster.Heartbeat)
	defer t.Stop()
	for {
		info := cluster.NodeInfo{Node: b.cfg.Node, StartedAt: b.started.UTC(), Connections: b.hub.Len(),
			HTTPAddr: b.server.Addr(), LastSeen: time.Now().UTC()}
		hctx, cancel := context.WithTimeout(ctx, b.cfg.Cluster.Heartbeat)
		if err := b.bp.nodes.Heartbeat(hctx, info); err != nil && ctx.Err() == nil {
			b.metrics.BackplaneErrors.WithLabelValues("heartbeat").Inc()
		}
		if nodes, err := b.bp.nodes.List(hctx); err == nil {
			b.metrics.ClusterNodes.Set(float64(len(nodes)))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// handleControl acts on a cluster control message on this node.
func (b *Bridge) handleControl(m cluster.ControlMessage) { b.server.HandleControl(m) }

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
