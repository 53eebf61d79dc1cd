package bridge

import (
	"os"
	"time"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/devices"
)

// Config is everything a bridge node needs to start. It is a plain value:
// Load fills it from defaults, a YAML file, MQLIVE_* environment variables
// and flags, in that order of precedence.
//
// A zero value in any field means the default stated in its comment, so a
// Config built by hand works after ApplyDefaults; DefaultConfig returns the
// same defaults filled in.
type Config struct {
	// Node is the node name reported to clients and used in presence;
	// default: the host name. MQLIVE_NODE, --node.
	Node string `yaml:"node"`
	// Dev enables dev mode: a missing jwt_secret is generated at start and a
	// dashboard URL with a token is printed. MQLIVE_DEV, --dev.
	Dev bool `yaml:"dev"`
	// Log configures logging.
	Log LogConfig `yaml:"log"`
	// HTTP configures the dashboard, WebSocket and admin listener.
	HTTP HTTPConfig `yaml:"http"`
	// MQTT configures the upstream broker, or the embedded one.
	MQTT MQTTConfig `yaml:"mqtt"`
	// Auth configures token verification.
	Auth AuthConfig `yaml:"auth"`
	// State configures latest state and channel history.
	State StateConfig `yaml:"state"`
	// Sources lists what to ingest; empty means every built-in family
	// (devices.Builtin) at its default base topic, tenant "default".
	Sources []SourceConfig `yaml:"sources"`
	// Cluster chooses where state, fan-out, presence and control live.
	Cluster ClusterConfig `yaml:"cluster"`
	// Webhooks lists the HTTP receivers of device, source and command
	// events (README "Webhooks"); empty: none.
	Webhooks []WebhookConfig `yaml:"webhooks"`
}

// Backplanes.
const (
	BackplaneMemory = "memory"
	BackplaneValkey = "valkey"
)

// Ingest modes of a cluster.
const (
	// IngestLock: every node subscribes every source and a per-message
	// lock in Valkey (SET NX PX within cluster.ingest_lock_window) lets
	// exactly one of them process each message. A node that dies loses
	// nothing the others received.
	IngestLock = "lock"
	// IngestShared: MQTT shared subscriptions ($share/<group>/…) hand each
	// message to one node. Cheaper, but brokers strand or drop the
	// in-flight messages of a member that dies.
	IngestShared = "shared"
)

// ClusterConfig configures the backplane (README "Running as a cluster").
type ClusterConfig struct {
	// Backplane is "memory" (one node; the default) or "valkey".
	// MQLIVE_CLUSTER_BACKPLANE.
	Backplane string `yaml:"backplane"`
	// Valkey says how to reach Valkey (or Redis 7+); used when Backplane is
	// "valkey".
	Valkey ValkeyConfig `yaml:"valkey"`
	// KeyPrefix starts every Valkey key and topic; default "mqlive:". Two
	// clusters may share one Valkey with different prefixes.
	KeyPrefix string `yaml:"key_prefix"`
	// Ingest is how nodes share the MQTT traffic: "lock" (default) or
	// "shared" (see IngestLock, IngestShared).
	Ingest string `yaml:"ingest"`
	// IngestLockWindow is how long a message's lock is held in "lock"
	// mode; an identical message (same topic and payload) within it is
	// processed once. Default 5s.
	IngestLockWindow time.Duration `yaml:"ingest_lock_window"`
	// IngestWorkers is how many messages a node processes at once, each
	// waiting on its own Valkey round trips; messages of one topic stay in
	// order (they share a worker). Default 8 with backplane valkey and
	// ingest "lock", else 0: with the embedded broker one worker per
	// tenant, or per CPU for one tenant (1: one worker); otherwise the
	// MQTT client's goroutine, as 1. With "shared" more than 1 acknowledges a QoS 1
	// message to the broker before it is processed, so a node that dies
	// loses what its workers held.
	IngestWorkers int `yaml:"ingest_workers"`
	// Heartbeat is how often a node reports itself alive; it counts as
	// gone, with its presence entries, after two missed heartbeats.
	// Default 4s.
	Heartbeat time.Duration `yaml:"heartbeat"`
}

// ValkeyConfig is the connection to Valkey.
type ValkeyConfig struct {
	// Addrs are host:port seeds: one standalone server, several nodes of a
	// Valkey/Redis Cluster (found automatically), or the sentinels when
	// SentinelMaster is set. Default ["127.0.0.1:6379"].
	// MQLIVE_VALKEY_ADDRS (comma-separated).
	Addrs []string `yaml:"addrs"`
	// Username for ACL authentication; empty sends none.
	Username string `yaml:"username"`
	// Password; empty sends none. MQLIVE_VALKEY_PASSWORD.
	Password string `yaml:"password"`
	// SentinelMaster names the Sentinel master set; empty: no Sentinel.
	SentinelMaster string `yaml:"sentinel_master"`
	// TLS connects with TLS using the system roots; default false.
	TLS bool `yaml:"tls"`
}

// LogConfig configures the process logger.
type LogConfig struct {
	// Level is "debug", "info", "warn" or "error"; default "info".
	// MQLIVE_LOG_LEVEL, --log-level.
	Level string `yaml:"level"`
	// Format is "text" or "json"; default "text".
	Format string `yaml:"format"`
}

// HTTPConfig configures the HTTP listener and WebSocket sessions.
type HTTPConfig struct {
	// Addr is the listen address, host:port; default ":8080". Port 0 picks
	// a free port. MQLIVE_HTTP_ADDR, --http-addr.
	Addr string `yaml:"addr"`
	// MaxFrameBytes is the inbound WebSocket frame limit; larger frames
	// close the connection with 1009. Default 65536.
	MaxFrameBytes int `yaml:"max_frame_bytes"`
	// PingInterval is how often the server pings; default 25s.
	PingInterval time.Duration `yaml:"ping_interval"`
	// MaxConnections is the WebSocket connection limit of this node;
	// default 10000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerTenant limits one tenant on this node; default (0)
	// is MaxConnections.
	MaxConnectionsPerTenant int `yaml:"max_connections_per_tenant"`
	// RequestRate is the sustained client requests per second per
	// connection (token bucket); default 50.
	RequestRate float64 `yaml:"request_rate"`
	// RequestBurst is the token bucket size; default 100.
	RequestBurst int `yaml:"request_burst"`
	// QueueSize is the per-socket outbound queue length; default 256.
	QueueSize int `yaml:"queue_size"`
	// WriteTimeout bounds one WebSocket write; default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// SlowConsumerTimeout: a stream client lagging continuously for longer
	// than this is closed with 4009; default 10s.
	SlowConsumerTimeout time.Duration `yaml:"slow_consumer_timeout"`
	// DrainTimeout bounds the graceful drain on shutdown; default 10s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// AllowedOrigins lists the browser origins ("https://dash.example.com")
	// allowed to open a WebSocket; empty allows any origin.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxQueuedReplyBytes bounds the responses, notices and recovered
	// publications waiting for one slow socket, in bytes; past it the
	// socket is closed with 4009. Default (0) is 4 MiB
	// (hub.DefaultMaxQueuedReplyBytes).
	MaxQueuedReplyBytes int `yaml:"max_queued_reply_bytes"`
	// MaxPending bounds the sockets of this node that are upgraded but
	// have not completed connect (they do not count against
	// MaxConnections); beyond it upgrades get HTTP 503. Default (0) is 1000.
	MaxPending int `yaml:"max_pending"`
	// MaxPendingPerAddress bounds them per client address (IPv6 per /64);
	// default (0) is 50.
	MaxPendingPerAddress int `yaml:"max_pending_per_address"`
	// TrustedProxies lists the reverse proxies (IP addresses or CIDR
	// prefixes) whose X-Forwarded-For names the client address for
	// MaxPendingPerAddress; empty: X-Forwarded-For is ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MetricsAddr, when set, serves /metrics on its own listener at this
	// host:port (e.g. "127.0.0.1:9091") instead of on Addr; default empty:
	// /metrics on Addr, where it names every tenant to anyone who reaches
	// the port. MQLIVE_METRICS_ADDR, --metrics-addr.
	MetricsAddr string `yaml:"metrics_addr"`
	// PprofAddr, when set, serves Go's profiler (net/http/pprof,
	// /debug/pprof/) on its own listener at this loopback host:port, e.g.
	// "127.0.0.1:6060"; default empty: off. MQLIVE_PPROF_ADDR, --pprof-addr.
	PprofAddr string `yaml:"pprof_addr"`
	// TenantRequestRate is the sustained requests per second that all
	// connections of one tenant on this node share (a token bucket), beside
	// each connection's RequestRate; a request over it gets error 4029 and
	// the connection stays open. Per node (README "Limits per tenant and
	// per connection"). Default 0: no tenant limit.
	TenantRequestRate float64 `yaml:"tenant_request_rate"`
	// TenantRequestBurst is the tenant bucket's size; default (0) twice
	// TenantRequestRate.
	TenantRequestBurst int `yaml:"tenant_request_burst"`
	// MaxConnectionsPerUser bounds the connections of one user (the
	// token's sub) of a tenant on this node; one more is refused with
	// error 4029 and close 4029. Default 0: no limit.
	MaxConnectionsPerUser int `yaml:"max_connections_per_user"`
	// MaxSubscriptionsPerConnection bounds the channels one connection
	// subscribes; a subscribe past it gets error -32602 and the
	// connection stays open. Default 128.
	MaxSubscriptionsPerConnection int `yaml:"max_subscriptions_per_connection"`
	// MetricsToken, when set, is required on /metrics (wherever it is
	// served) as "Authorization: Bearer <token>", at least 16 bytes;
	// default empty: no token. MQLIVE_METRICS_TOKEN.
	MetricsToken string `yaml:"metrics_token"`
}

// MQTTConfig configures the MQTT side.
type MQTTConfig struct {
	// URL of the upstream broker (tcp, ssl, ws, wss, mqtt or mqtts scheme);
	// empty starts the embedded broker on Listen. MQLIVE_MQTT_URL,
	// --mqtt-url.
	URL string `yaml:"url"`
	// Listen is the embedded broker's address, host:port; default ":1883".
	// Without Users its host is replaced by 127.0.0.1 (loopback only).
	// Ignored when URL is set. MQLIVE_MQTT_LISTEN, --mqtt-listen.
	Listen string `yaml:"listen"`
	// ClientID is the MQTT client id; default (empty) is "mqlive-" plus
	// Node, so a restarted node resumes its persistent session (clean
	// session off) and gets the QoS 1 messages the broker kept for it. Two
	// nodes must not share one; give each node its own Node name.
	ClientID string `yaml:"client_id"`
	// SharedGroup is the "$share" group of shared subscriptions
	// (cluster.ingest "shared"); default "mqlive" then, else unused.
	// MQLIVE_MQTT_SHARED_GROUP.
	SharedGroup string `yaml:"shared_group"`
	// DataDir is where the embedded broker keeps retained messages and
	// persistent sessions across restarts; default empty: in memory only
	// (dev mode: ".mqlive/broker").
	DataDir string `yaml:"data_dir"`
	// Username for the upstream broker; empty sends none.
	Username string `yaml:"username"`
	// Password for the upstream broker; empty sends none.
	Password string `yaml:"password"`
	// Users may connect to the embedded broker, each with a bcrypt
	// password hash, a tenant and publish/subscribe filters. Empty (the
	// default): the embedded broker listens on loopback only and admits
	// anonymous clients from this machine. See MQTTUser.
	Users []MQTTUser `yaml:"users"`
}

// AuthConfig configures token verification (PROTOCOL.md "Tokens (JWT)").
// Exactly one of JWTSecret and PublicKeyFile is set, or neither in dev mode.
type AuthConfig struct {
	// JWTSecret is the HS256 shared secret, at least 32 bytes; empty in dev
	// mode means one is generated at start. MQLIVE_JWT_SECRET, --jwt-secret
	// (visible in ps: prefer JWTSecretFile).
	JWTSecret string `yaml:"jwt_secret"`
	// JWTSecretFile names a file holding JWTSecret (trailing white space
	// dropped); Load reads it into JWTSecret, and setting both is an
	// error. Default empty. MQLIVE_JWT_SECRET_FILE, --jwt-secret-file.
	JWTSecretFile string `yaml:"jwt_secret_file"`
	// PublicKeyFile is a PEM public key for RS256, ES256 or EdDSA tokens,
	// the alternative to JWTSecret; empty means none.
	PublicKeyFile string `yaml:"public_key_file"`
	// Issuer, when set, must equal the tokens' iss claim.
	Issuer string `yaml:"issuer"`
	// Audience, when set, must be in the tokens' aud claim.
	Audience string `yaml:"audience"`
	// MaxTokenLifetime caps exp - iat and makes iat required; it is also
	// how long a sign-out is kept. Zero means the default 24h; negative
	// turns the cap off (sign-outs are then kept 30 days).
	MaxTokenLifetime time.Duration `yaml:"max_token_lifetime"`
}

// StateConfig configures latest state and channel history.
type StateConfig struct {
	// HistorySize is the number of publications kept per channel;
	// default 1000.
	HistorySize int `yaml:"history_size"`
	// DeviceHistorySize is the number of publications kept per device:<id>
	// channel (there is one per device, so it sizes the memory of a
	// fleet); default 100, at most HistorySize.
	DeviceHistorySize int `yaml:"device_history_size"`
	// HistoryTTL: older publications are not recoverable; default 10m.
	HistoryTTL time.Duration `yaml:"history_ttl"`
	// MaxDevices is the device limit per tenant; default 100000.
	MaxDevices int `yaml:"max_devices"`
	// Path is the file where a memory backplane saves the latest state of
	// every device, on shutdown and every SaveInterval, and loads it at
	// start, so a restarted node shows its whole fleet at once. Default
	// empty: not saved (dev mode: ".mqlive/state.json").
	Path string `yaml:"path"`
	// SaveInterval is how often Path is written; default 30s.
	SaveInterval time.Duration `yaml:"save_interval"`
	// MaxChannels is the number of channel histories a tenant keeps on a
	// memory backplane; a new channel past it evicts the least recently
	// published one (a client resuming it gets a snapshot). Default
	// 200000. Valkey expires idle channels by TTL instead.
	MaxChannels int `yaml:"max_channels"`
	// MaxChannelBytes bounds the data bytes of one channel's history, both
	// backplanes (the newest publication is always kept); default 1048576.
	MaxChannelBytes int `yaml:"max_channel_bytes"`
	// MaxTenantBytes bounds the data bytes of all of a tenant's histories
	// on a memory backplane; past it the least recently published channels
	// are evicted. Default 268435456 (256 MiB).
	MaxTenantBytes int `yaml:"max_tenant_bytes"`
	// MaxDeviceFields bounds the metrics plus attrs kept per device; a
	// Reading's new fields past it are dropped (the rest is merged and
	// published), counted in mqlive_state_limited_total. Default 256.
	MaxDeviceFields int `yaml:"max_device_fields"`
	// MaxTagChannels bounds the distinct tag key=value pairs (each a tag
	// channel) of a tenant's devices; a decoded tag (e.g. a TTN
	// application id) past it is dropped; configured tags are never
	// dropped. Default 1000.
	MaxTagChannels int `yaml:"max_tag_channels"`
	// IdentityTTL: a device id belongs to the source (family and base)
	// that created it; a Reading for it from another source is refused
	// (identity_conflict) until the device has been silent this long, and
	// then the other source takes it over afresh. Default 24h.
	IdentityTTL time.Duration `yaml:"identity_ttl"`
}

// SourceConfig is one device family ingested for one tenant.
type SourceConfig struct {
	// Family is a registered family id ("zigbee2mqtt", "tasmota", "json").
	// Required.
	Family string `yaml:"family"`
	// Tenant receives the source's devices; default "default".
	Tenant string `yaml:"tenant"`
	// Base is the base topic; nil means the family's default base, and ""
	// means no prefix at all.
	Base *string `yaml:"base"`
	// Tags are added to every Reading of the source; empty adds none.
	Tags map[string]string `yaml:"tags"`
	// Stale marks a device stale after this long without a message; 0 means
	// the family's default.
	Stale time.Duration `yaml:"stale"`
	// JSON configures the json family; required for family "json" and
	// refused for any other.
	JSON *devices.JSONConfig `yaml:"json"`
	// StateFilters, for family homeassistant only, are absolute topic
	// filters where the state topics named by discovery configs live when
	// they are outside the base (e.g. "esphome-node/#"); empty means only
	// state topics under the base are decoded.
	StateFilters []string `yaml:"state_filters"`
	// TTNTenants, for family ttn only, are the The Things Stack tenant ids
	// (v3/<app>@<tenant>/devices/…) whose uplinks the source accepts;
	// messages of any other TTS tenant on the broker are dropped and
	// counted (reason foreign_tenant). Empty accepts every TTS tenant.
	TTNTenants []string `yaml:"ttn_tenants"`
	// Devices, for families whose device owns a topic prefix (esphome:
	// the node name; shelly: a Gen2/Gen3 device id; tasmota with a
	// full_topic starting with %topic%), names the devices
	// whose topics are "<base>/<id>/…": the source subscribes
	// "<base>/<id>/#" per id instead of the family's filters, so it sits
	// beside other sources at the broker's root. With devices, base
	// defaults to "" (the root). Empty means the family's filters.
	Devices []string `yaml:"devices"`
	// FullTopic, for family tasmota only, is the devices' FullTopic as
	// written in Tasmota ("tasmota/%topic%/%prefix%/"); empty means
	// Tasmota's default "%prefix%/%topic%/".
	FullTopic string `yaml:"full_topic"`
	// StateText, for family tasmota only, is Tasmota's StateText1..4 (off,
	// on, toggle, hold) when changed on the devices; empty entries keep
	// the defaults OFF, ON, TOGGLE, HOLD.
	StateText []string `yaml:"state_text"`
}

// Defaults, named so tests and docs agree with DefaultConfig.
const (
	DefaultHTTPAddr            = ":8080"
	DefaultMQTTListen          = ":1883"
	DefaultTenant              = "default"
	DefaultMaxFrameBytes       = 64 << 10
	DefaultPingInterval        = 25 * time.Second
	DefaultMaxConnections      = 10000
	DefaultRequestRate         = 50
	DefaultRequestBurst        = 100
	DefaultMaxSubscriptions    = 128
	DefaultQueueSize           = 256
	DefaultWriteTimeout        = 10 * time.Second
	DefaultSlowConsumerTimeout = 10 * time.Second
	DefaultDrainTimeout        = 10 * time.Second
	DefaultHistorySize         = 1000
	DefaultHistoryTTL          = 10 * time.Minute
	DefaultMaxDevices          = 100000
	DefaultSaveInterval        = 30 * time.Second
	DefaultMaxChannels         = 200000
	DefaultMaxChannelBytes     = 1 << 20
	DefaultMaxTenantBytes      = 256 << 20
	DefaultMaxDeviceFields     = 256
	DefaultMaxTagChannels      = 1000
	DefaultIdentityTTL         = 24 * time.Hour
	DefaultKeyPrefix           = "mqlive:"
	DefaultValkeyAddr          = "127.0.0.1:6379"
	DefaultSharedGroup         = "mqlive"
	DefaultIngestLockWindow    = 5 * time.Second
	DefaultHeartbeat           = 4 * time.Second
	DefaultIngestWorkers       = 8
	DefaultLogLevel            = "info"
	DefaultLogFormat           = "text"
)

// DefaultConfig returns the configuration of a node started with no file, no
// environment and no flags (apart from the node name, which is the host
// name). Dev is false and no secret is set, so it does not Validate as is.
func DefaultConfig() Config {
	c := Config{}
	c.ApplyDefaults()
	return c
}

// ApplyDefaults replaces every zero field that has a default by that
// default. Sources are left alone (empty means all built-ins, resolved by the
// bridge), apart from an empty tenant, which becomes "default".
func (c *Config) ApplyDefaults() {
	if c.Node == "" {
		c.Node = defaultNode()
	}
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Log.Format, DefaultLogFormat)

	h := &c.HTTP
	setDefault(&h.Addr, DefaultHTTPAddr)
	setDefault(&h.MaxFrameBytes, DefaultMaxFrameBytes)
	setDefault(&h.PingInterval, DefaultPingInterval)
	setDefault(&h.MaxConnections, DefaultMaxConnections)
	setDefault(&h.MaxConnectionsPerTenant, h.MaxConnections)
	setDefault(&h.RequestRate, DefaultRequestRate)
	setDefault(&h.RequestBurst, DefaultRequestBurst)
	setDefault(&h.MaxSubscriptionsPerConnection, DefaultMaxSubscriptions)
	if h.TenantRequestRate > 0 {
		setDefault(&h.TenantRequestBurst, max(1, int(2*h.TenantRequestRate)))
	}
	setDefault(&h.QueueSize, DefaultQueueSize)
	setDefault(&h.WriteTimeout, DefaultWriteTimeout)
	setDefault(&h.SlowConsumerTimeout, DefaultSlowConsumerTimeout)
	setDefault(&h.DrainTimeout, DefaultDrainTimeout)

	setDefault(&c.MQTT.Listen, DefaultMQTTListen)
	setDefault(&c.Auth.MaxTokenLifetime, auth.DefaultMaxLifetime)

	s := &c.State
	setDefault(&s.HistorySize, DefaultHistorySize)
	setDefault(&s.HistoryTTL, DefaultHistoryTTL)
	setDefault(&s.MaxDevices, DefaultMaxDevices)
	setDefault(&s.SaveInterval, DefaultSaveInterval)
	setDefault(&s.MaxChannels, DefaultMaxChannels)
	setDefault(&s.MaxChannelBytes, DefaultMaxChannelBytes)
	setDefault(&s.MaxTenantBytes, DefaultMaxTenantBytes)
	setDefault(&s.MaxDeviceFields, DefaultMaxDeviceFields)
	setDefault(&s.MaxTagChannels, DefaultMaxTagChannels)
	setDefault(&s.IdentityTTL, DefaultIdentityTTL)

	cl := &c.Cluster
	setDefault(&cl.Backplane, BackplaneMemory)
	setDefault(&cl.KeyPrefix, DefaultKeyPrefix)
	setDefault(&cl.IngestLockWindow, DefaultIngestLockWindow)
	setDefault(&cl.Heartbeat, DefaultHeartbeat)
	if cl.Backplane == BackplaneValkey {
		if len(cl.Valkey.Addrs) == 0 {
			cl.Valkey.Addrs = []string{DefaultValkeyAddr}
		}
		setDefault(&cl.Ingest, IngestLock)
		if cl.Ingest == IngestLock {
			setDefault(&cl.IngestWorkers, DefaultIngestWorkers)
		}
		if cl.Ingest == IngestShared {
			setDefault(&c.MQTT.SharedGroup, DefaultSharedGroup)
		}
	}
	if c.Dev {
		setDefault(&s.Path, ".mqlive/state.json")
		if c.MQTT.URL == "" {
			setDefault(&c.MQTT.DataDir, ".mqlive/broker")
		}
	}

	for i := range c.Sources {
		setDefault(&c.Sources[i].Tenant, DefaultTenant)
	}
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// defaultNode is the host name, or "mqlive" when the host has none.
func defaultNode() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "mqlive"
}
