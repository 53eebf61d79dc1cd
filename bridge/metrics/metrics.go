package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the bridge's collectors.
type Metrics struct {
	// Ingest.
	IngestMessages   *prometheus.CounterVec   // family, tenant, verdict
	IngestRejected   *prometheus.CounterVec   // family, tenant, reason
	IngestDecode     *prometheus.HistogramVec // family
	MQTTConnected    prometheus.Gauge
	MQTTReconnects   prometheus.Counter
	StateDevices     *prometheus.GaugeVec   // tenant
	StaleTransitions *prometheus.CounterVec // tenant

	// Delivery.
	Publications *prometheus.CounterVec // kind
	FanoutTime   prometheus.Histogram

	// Connections.
	Connections   *prometheus.GaugeVec   // tenant
	Subscriptions *prometheus.GaugeVec   // tenant
	Connects      prometheus.Counter     // upgrades accepted
	Disconnects   *prometheus.CounterVec // code
	Rejected      *prometheus.CounterVec // reason: connection refused before or at connect
	Conflated     prometheus.Counter
	Lagged        prometheus.Counter
	SlowConsumers prometheus.Counter
	Recoveries    *prometheus.CounterVec // outcome: recovered, snapshot
	FramesIn      prometheus.Counter
	FramesOut     prometheus.Counter
	BytesIn       prometheus.Counter
	BytesOut      prometheus.Counter
	RateLimited   prometheus.Counter
	Limited       *prometheus.CounterVec // limit: tenant_rate, subscriptions
	Requests      *prometheus.CounterVec // method, code ("0" for success)
	QueueDepth    prometheus.Histogram
	// DedupSuppressed counts QoS 1 redeliveries dropped, by family and tenant.
	DedupSuppressed *prometheus.CounterVec
	// IngestClaimedElsewhere counts messages another node claimed first
	// (cluster.ingest "lock"), by family and tenant.
	IngestClaimedElsewhere *prometheus.CounterVec
	// IngestTakenOver counts messages processed by a node that had lost
	// their claim to a node that did not finish them.
	IngestTakenOver *prometheus.CounterVec
	// BackplaneErrors counts failed backplane operations by operation.
	BackplaneErrors *prometheus.CounterVec
	// BackplaneUp is 1 while the node reaches its backplane.
	BackplaneUp prometheus.Gauge
	// ClusterNodes is the number of live nodes the registry lists.
	ClusterNodes prometheus.Gauge
	// Commands counts dashboard commands by family, tenant and outcome
	// (sent, refused, failed).
	Commands *prometheus.CounterVec
	// ClientLatency is the end-to-end latency that browser SDKs report.
	ClientLatency *ClientLatency
	// ClientReports counts latency reports by outcome (accepted, invalid).
	ClientReports *prometheus.CounterVec
	// StateLimited counts Readings merged and published without the fields
	// or tags a state limit refused, by tenant and reason (field_limit,
	// tag_limit).
	StateLimited *prometheus.CounterVec
	// StateEvicted counts channel histories evicted from memory, by tenant
	// and reason (expired, channel_limit, tenant_bytes).
	StateEvicted *prometheus.CounterVec
	// StateHistoryBytes and StateChannels are the data bytes and the
	// number of a tenant's channel histories on a memory backplane, to
	// watch against state.max_tenant_bytes and state.max_channels.
	StateHistoryBytes *prometheus.GaugeVec
	StateChannels     *prometheus.GaugeVec
}

// New builds the metrics and registers them, plus the Go runtime and
// process collectors, with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		IngestMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ingest_messages_total",
			Help: "MQTT messages received, by the family that took them, tenant and verdict (decoded, ignored, rejected).",
		}, []string{"family", "tenant", "verdict"}),
		IngestRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ingest_rejected_total",
			Help: "MQTT messages rejected, by family, tenant and reason.",
		}, []string{"family", "tenant", "reason"}),
		IngestDecode: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mqlive_ingest_decode_duration_seconds",
			Help:    "Time to decode one MQTT message into Readings.",
			Buckets: []float64{1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 2e-3, 1e-2},
		}, []string{"family"}),
		MQTTConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mqlive_mqtt_connected",
			Help: "1 when the bridge's MQTT ingest connection is up.",
		}),
		MQTTReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_mqtt_reconnects_total",
			Help: "MQTT ingest reconnections after a lost connection.",
		}),
		StateDevices: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mqlive_state_devices",
			Help: "Devices known, by tenant.",
		}, []string{"tenant"}),
		StaleTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_state_stale_transitions_total",
			Help: "Devices that became stale (silent longer than their interval).",
		}, []string{"tenant"}),
		Publications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_fanout_publications_total",
			Help: "Publications appended to channels, by channel kind.",
		}, []string{"kind"}),
		FanoutTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mqlive_fanout_duration_seconds",
			Help:    "Time to hand one publication to every local subscriber's queue.",
			Buckets: []float64{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1},
		}),
		Connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mqlive_ws_connections",
			Help: "Open dashboard sessions (after connect), by tenant.",
		}, []string{"tenant"}),
		Subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mqlive_ws_subscriptions",
			Help: "Active channel subscriptions, by tenant.",
		}, []string{"tenant"}),
		Connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_ws_upgrades_total",
			Help: "WebSocket upgrades accepted.",
		}),
		Disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ws_disconnects_total",
			Help: "WebSocket connections closed, by close code sent or received.",
		}, []string{"code"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ws_rejected_total",
			Help: "Connections refused, by reason (limit, subprotocol, origin, auth).",
		}, []string{"reason"}),
		Conflated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_hub_conflated_total",
			Help: "Publications merged into a later one for a latest-mode subscriber.",
		}),
		Lagged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_hub_lagged_total",
			Help: "lagged notifications sent to stream-mode subscribers whose queue overflowed.",
		}),
		SlowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_hub_slow_consumer_disconnects_total",
			Help: "Stream-mode clients closed with 4009 for staying too slow.",
		}),
		Recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_hub_recoveries_total",
			Help: "Subscribe outcomes: recovered from history, or snapshot.",
		}, []string{"outcome"}),
		FramesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_ws_frames_received_total", Help: "WebSocket frames received from clients.",
		}),
		FramesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_ws_frames_sent_total", Help: "WebSocket frames sent to clients.",
		}),
		BytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_ws_received_bytes_total", Help: "Payload bytes received from clients.",
		}),
		BytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_ws_sent_bytes_total", Help: "Payload bytes sent to clients.",
		}),
		RateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mqlive_ws_rate_limited_total", Help: "Client requests refused with 4029 by the per-connection rate limit.",
		}),
		Limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ws_limited_total",
			Help: "Client requests refused by a limit other than the per-connection rate: tenant_rate (4029), subscriptions (-32602, the per-connection cap).",
		}, []string{"limit"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ws_requests_total",
			Help: "Client requests by method and result code (0 = success).",
		}, []string{"method", "code"}),
		QueueDepth: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mqlive_hub_queue_depth",
			Help:    "Frames a socket writer found waiting when it woke up.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		DedupSuppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ingest_dedup_suppressed_total",
			Help: "MQTT QoS 1 redeliveries (DUP flag, same topic and payload within the window) dropped, by family and tenant.",
		}, []string{"family", "tenant"}),
		IngestClaimedElsewhere: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ingest_claimed_elsewhere_total",
			Help: "MQTT messages skipped because another node claimed them first (cluster ingest mode lock), by family and tenant.",
		}, []string{"family", "tenant"}),
		IngestTakenOver: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_ingest_taken_over_total",
			Help: "MQTT messages this node processed after the node that claimed them did not finish within its lease (it died), by family and tenant.",
		}, []string{"family", "tenant"}),
		BackplaneErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_backplane_errors_total",
			Help: "Failed backplane (Valkey) operations, by operation.",
		}, []string{"op"}),
		BackplaneUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mqlive_backplane_up",
			Help: "1 while the node reaches its backplane (always 1 for memory).",
		}),
		ClusterNodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mqlive_cluster_nodes",
			Help: "Live nodes in the node registry.",
		}),
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_commands_total",
			Help: "Dashboard commands by device family, tenant and outcome (sent, refused, failed).",
		}, []string{"family", "tenant", "outcome"}),
		ClientLatency: newClientLatency(),
		ClientReports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_client_reports_total",
			Help: "Latency reports received from clients, by outcome (accepted, invalid).",
		}, []string{"outcome"}),
		StateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_state_limited_total",
			Help: "Readings merged and published without the new fields (field_limit) or tag channels (tag_limit) a state limit refused, by tenant and reason.",
		}, []string{"tenant", "reason"}),
		StateEvicted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_state_channels_evicted_total",
			Help: "Channel histories evicted from a memory backplane, by tenant and reason (expired, channel_limit, tenant_bytes).",
		}, []string{"tenant", "reason"}),
		StateHistoryBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mqlive_state_history_bytes",
			Help: "Data bytes of a tenant's channel histories on a memory backplane (bounded by state.max_tenant_bytes), by tenant.",
		}, []string{"tenant"}),
		StateChannels: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mqlive_state_channels",
			Help: "Channel histories a tenant keeps on a memory backplane (bounded by state.max_channels), by tenant.",
		}, []string{"tenant"}),
	}
	reg.MustRegister(
		m.IngestMessages, m.IngestRejected, m.IngestDecode, m.MQTTConnected, m.MQTTReconnects,
		m.StateDevices, m.StaleTransitions, m.Publications, m.FanoutTime,
		m.Connections, m.Subscriptions, m.Connects, m.Disconnects, m.Rejected,
		m.Conflated, m.Lagged, m.SlowConsumers, m.Recoveries,
		m.FramesIn, m.FramesOut, m.BytesIn, m.BytesOut, m.RateLimited, m.Limited, m.Requests, m.QueueDepth,
		m.ClientLatency, m.ClientReports, m.Commands, m.DedupSuppressed,
		m.IngestClaimedElsewhere, m.IngestTakenOver, m.BackplaneErrors, m.BackplaneUp, m.ClusterNodes,
		m.StateLimited, m.StateEvicted, m.StateHistoryBytes, m.StateChannels,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
