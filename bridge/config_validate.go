package bridge

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/ingest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// JSONFamily is the id of the configurable family, the one that needs a
// json block in its source.
const JSONFamily = "json"

// devSecretBytes is the entropy of a generated dev secret (RFC 7518 §3.2:
// at least the hash size).
const devSecretBytes = 32

// mqttSchemes are the URL schemes the MQTT client understands.
var mqttSchemes = map[string]bool{"tcp": true, "ssl": true, "ws": true, "wss": true, "mqtt": true, "mqtts": true}

// EnsureDevSecret generates a random HS256 secret (32 bytes from
// crypto/rand, hex-encoded) when dev mode is on and neither a secret nor a
// public key is configured. It reports whether it generated one; the caller
// prints the dashboard URL with a token signed by it.
func (c *Config) EnsureDevSecret() (generated bool, err error) {
	if !c.Dev || c.Auth.JWTSecret != "" || c.Auth.PublicKeyFile != "" {
		return false, nil
	}
	b := make([]byte, devSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return false, fmt.Errorf("generate dev jwt secret: %w", err)
	}
	c.Auth.JWTSecret = hex.EncodeToString(b)
	return true, nil
}

// Validate checks every field and returns all problems at once, each naming
// its key (`http.addr: …`) and saying what to do. Zero values are accepted
// wherever they mean a default.
func (c *Config) Validate() error {
	var v validator
	if c.Node != "" {
		if len(c.Node) > 64 || strings.IndexFunc(c.Node, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
			v.addf("node", "%q is not 1-64 printable ASCII characters without spaces; set a short name like \"node-a\"", c.Node)
		}
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		v.addf("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		v.addf("log.format", "%q is not one of text, json", c.Log.Format)
	}
	c.validateHTTP(&v)
	c.validateMetrics(&v)
	c.validateMQTT(&v)
	c.validateAuth(&v)

	v.nonNegative("state.history_size", c.State.HistorySize)
	v.nonNegative("state.device_history_size", c.State.DeviceHistorySize)
	if c.State.DeviceHistorySize > c.State.HistorySize && c.State.HistorySize > 0 {
		v.addf("state.device_history_size", "%d is more than state.history_size (%d)", c.State.DeviceHistorySize, c.State.HistorySize)
	}
	v.nonNegativeDuration("state.history_ttl", c.State.HistoryTTL)
	v.nonNegative("state.max_devices", c.State.MaxDevices)
	v.nonNegativeDuration("state.save_interval", c.State.SaveInterval)
	v.nonNegative("state.max_channels", c.State.MaxChannels)
	v.nonNegative("state.max_channel_bytes", c.State.MaxChannelBytes)
	v.nonNegative("state.max_tenant_bytes", c.State.MaxTenantBytes)
	v.nonNegative("state.max_device_fields", c.State.MaxDeviceFields)
	v.nonNegative("state.max_tag_channels", c.State.MaxTagChannels)
	v.nonNegativeDuration("state.identity_ttl", c.State.IdentityTTL)
	if s := c.State; s.MaxTenantBytes > 0 && s.MaxChannelBytes > s.MaxTenantBytes {
		v.addf("state.max_channel_bytes", "%d is more than state.max_tenant_bytes (%d); one channel cannot hold more than its tenant", s.MaxChannelBytes, s.MaxTenantBytes)
	}
	c.validateCluster(&v)

	c.validateSources(&v)
	c.validateWebhooks(&v)
	return v.err()
}

func (c *Config) validateHTTP(v *validator) {
	h := &c.HTTP
	v.hostPort("http.addr", h.Addr)
	v.nonNegative("http.max_frame_bytes", h.MaxFrameBytes)
	v.nonNegativeDuration("http.ping_interval", h.PingInterval)
	v.nonNegative("http.max_connections", h.MaxConnections)
	v.nonNegative("http.max_connections_per_tenant", h.MaxConnectionsPerTenant)
	if h.RequestRate < 0 || math.IsNaN(h.RequestRate) || math.IsInf(h.RequestRate, 0) {
		v.addf("http.request_rate", "%v must be a positive number of requests per second (0 means the default 50)", h.RequestRate)
	}
	v.nonNegative("http.request_burst", h.RequestBurst)
	c.validateLimits(v)
	v.nonNegative("http.queue_size", h.QueueSize)
	v.nonNegativeDuration("http.write_timeout", h.WriteTimeout)
	v.nonNegativeDuration("http.slow_consumer_timeout", h.SlowConsumerTimeout)
	v.nonNegativeDuration("http.drain_timeout", h.DrainTimeout)
	v.nonNegative("http.max_queued_reply_bytes", h.MaxQueuedReplyBytes)
	v.nonNegative("http.max_pending", h.MaxPending)
	v.nonNegative("http.max_pending_per_address", h.MaxPendingPerAddress)
	for i, p := range h.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err != nil {
			v.addf(fmt.Sprintf("http.trusted_proxies[%d]", i), "%q is not an IP address or CIDR prefix, e.g. \"10.0.0.0/8\"", p)
		}
	}
	for i, o := range h.AllowedOrigins {
		key := fmt.Sprintf("http.allowed_origins[%d]", i)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			v.addf(key, "%q is not an origin; write scheme://host[:port], e.g. \"https://dash.example.com\"", o)
		}
	}
}

func (c *Config) validateMQTT(v *validator) {
	m := &c.MQTT
	v.hostPort("mqtt.listen", m.Listen)
	c.validateMQTTUsers(v)
	if m.URL == "" {
		return
	}
	u, err := url.Parse(m.URL)
	switch {
	case err != nil:
		// The url.Error would repeat the URL, password included.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		v.addf("mqtt.url", "cannot parse (%s); write it like \"tcp://broker:1883\"", ingest.Redact(err.Error(), m.URL))
	case !mqttSchemes[u.Scheme]:
		v.addf("mqtt.url", "scheme %q is not one of tcp, ssl, ws, wss, mqtt, mqtts; write it like \"tcp://broker:1883\"", u.Scheme)
	case u.Host == "":
		v.addf("mqtt.url", "%q has no host; write it like \"tcp://broker:1883\"", redactURL(m.URL))
	}
}

func (c *Config) validateCluster(v *validator) {
	cl := &c.Cluster
	switch cl.Backplane {
	case "", BackplaneMemory:
	case BackplaneValkey:
		if c.MQTT.URL == "" {
			v.addf("cluster.backplane", "valkey needs an external MQTT broker: set mqtt.url (MQLIVE_MQTT_URL); an embedded broker per node is not a cluster, each node would only see the devices connected to it")
		}
		for i, a := range cl.Valkey.Addrs {
			v.hostPort(fmt.Sprintf("cluster.valkey.addrs[%d]", i), a)
		}
		if c.State.Path != "" && !c.Dev {
			v.addf("state.path", "is for the memory backplane; with valkey the state lives in Valkey")
		}
	default:
		v.addf("cluster.backplane", "%q is not one of memory, valkey", cl.Backplane)
	}
	switch cl.Ingest {
	case "", IngestLock, IngestShared:
	default:
		v.addf("cluster.ingest", "%q is not one of lock, shared", cl.Ingest)
	}
	if g := c.MQTT.SharedGroup; g != "" && (strings.ContainsAny(g, "/+#") || strings.TrimSpace(g) != g) {
		v.addf("mqtt.shared_group", "%q must be one topic level without '/', '+', '#' or spaces", g)
	}
	if cl.KeyPrefix != "" && strings.ContainsAny(cl.KeyPrefix, "{} \t\n") {
		v.addf("cluster.key_prefix", "%q must not contain braces (Valkey hash tags) or whitespace", cl.KeyPrefix)
	}
	v.nonNegativeDuration("cluster.ingest_lock_window", cl.IngestLockWindow)
	v.nonNegativeDuration("cluster.heartbeat", cl.Heartbeat)
	v.nonNegative("cluster.ingest_workers", cl.IngestWorkers)
	if cl.IngestWorkers > 256 {
		v.addf("cluster.ingest_workers", "%d is more than 256", cl.IngestWorkers)
	}
}

func (c *Config) validateAuth(v *validator) {
	a := &c.Auth
	switch {
	case a.JWTSecret != "" && a.PublicKeyFile != "":
		v.addf("auth", "both jwt_secret and public_key_file are set; keep only one")
	case a.JWTSecret != "" && len(a.JWTSecret) < auth.MinHMACSecretBytes:
		v.addf("auth.jwt_secret", "is %d bytes; use at least %d random bytes (e.g. `openssl rand -hex 32`)", len(a.JWTSecret), auth.MinHMACSecretBytes)
	case a.PublicKeyFile != "":
		if _, err := os.Stat(a.PublicKeyFile); err != nil {
			v.addf("auth.public_key_file", "%v; point it at a PEM public key", err)
		}
	case a.JWTSecret == "" && !c.Dev:
		v.addf("auth", "no jwt_secret or public_key_file; set auth.jwt_secret (MQLIVE_JWT_SECRET, 32+ bytes), or auth.public_key_file, or run with --dev")
	}
	if a.MaxTokenLifetime > maxTokenLifetime {
		v.addf("auth.max_token_lifetime", "%s is more than %s; issue shorter tokens and refresh them", a.MaxTokenLifetime, maxTokenLifetime)
	}
}

// maxTokenLifetime bounds auth.max_token_lifetime: a sign-out is kept
// that long on every node.
const maxTokenLifetime = 30 * 24 * time.Hour

func (c *Config) validateSources(v *validator) {
	type sourceKey struct{ family, tenant, base string }
	seen := map[sourceKey]int{}
	jsonByName := map[string]int{} // json family name → first source using it
	for i, s := range c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		if s.Family == "" {
			v.addf(key+".family", "is required; name a device family such as zigbee2mqtt, tasmota or json")
		} else if err := devices.ValidFamily(s.Family); err != nil {
			v.addf(key+".family", "%v", err)
		}
		if s.Tenant != "" && !auth.ValidTenant(s.Tenant) {
			v.addf(key+".tenant", "%q is not 1-64 characters of [a-z0-9_-]", s.Tenant)
		}
		if s.Base != nil {
			if err := devices.ValidBase(*s.Base); err != nil {
				v.addf(key+".base", "%v", err)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(s.Tags)) {
			if k == "" || strings.Contains(k, "=") {
				v.addf(key+".tags", "key %q must be non-empty and contain no '='", k)
				continue
			}
			// Every tag is a subscribable channel tag:<key>=<value>.
			ch := "tag:" + k + "=" + s.Tags[k]
			if _, err := wire.ParseChannel(ch); err != nil {
				v.addf(key+".tags", "%q: %q cannot be a channel name (%v); use printable ASCII without spaces, '#' or '+', at most %d bytes in all", k, ch, err, wire.MaxChannelLen)
			}
		}
		v.nonNegativeDuration(key+".stale", s.Stale)
		family := s.Family
		switch {
		case s.Family == JSONFamily && s.JSON == nil:
			v.addf(key+".json", "family json needs a json block (name, pattern, fields)")
		case s.Family != JSONFamily && s.JSON != nil:
			v.addf(key+".json", "only family json takes a json block; remove it or set family: json")
		case s.JSON != nil:
			h, err := devices.NewJSON(*s.JSON)
			if err != nil {
				v.addf(key+".json", "%v", err)
				break
			}
			family = h.Family()
			if j, ok := jsonByName[family]; ok && !reflect.DeepEqual(c.Sources[j].JSON, s.JSON) {
				v.addf(key+".json.name", "%q is also the name of sources[%d].json with another format; give each json format its own name", family, j)
			} else if !ok {
				jsonByName[family] = i
			}
		}
		if len(s.StateFilters) > 0 {
			if s.Family != "homeassistant" {
				v.addf(key+".state_filters", "only family homeassistant takes state_filters; remove them")
			} else if _, err := devices.NewHomeAssistant(devices.HomeAssistantConfig{StateFilters: s.StateFilters}); err != nil {
				v.addf(key+".state_filters", "%v; write MQTT topic filters such as \"esphome-node/#\"", err)
			}
		}
		v.ttnTenants(key, s)
		v.sourceDevices(key, s)
		tenant := s.Tenant
		if tenant == "" {
			tenant = DefaultTenant
		}
		base := "\x00default"
		if s.Base != nil {
			base = *s.Base
		}
		sk := sourceKey{family, tenant, base + "\x00" + strings.Join(s.Devices, "\x00")}
		if j, dup := seen[sk]; dup {
			v.addf(key, "repeats sources[%d] (same family, tenant and base); remove one", j)
		} else {
			seen[sk] = i
		}
	}
}

// sourceDevices checks the source options of families whose devices own
// a topic prefix (devices) and of tasmota (full_topic, state_text).
func (v *validator) sourceDevices(key string, s SourceConfig) {
	if len(s.Devices) > 0 {
		h, known := familyHandler(s.Family)
		if s.Family == "tasmota" {
			t, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: s.FullTopic})
			h, known = t, err == nil // a bad full_topic is reported below
		}
		if known {
			if err := devices.CheckDevices(h, s.Devices); err != nil {
				v.addf(key+".devices", "%v; list each device's own topic prefix, such as \"c3-debug\" (families: esphome, shelly, tasmota with a full_topic starting with %%topic%%)", err)
			}
		}
	}
	if s.FullTopic != "" || len(s.StateText) > 0 {
		if s.Family != "tasmota" {
			v.addf(key+".full_topic", "only family tasmota takes full_topic and state_text; remove them")
		} else if _, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: s.FullTopic, StateText: s.StateText}); err != nil {
			v.addf(key+".full_topic", "%v", err)
		}
	}
}

// familyHandler returns the built-in handler of family, if any.
func familyHandler(family string) (devices.Handler, bool) {
	for _, h := range Families() {
		if h.Family() == family {
			return h, true
		}
	}
	return nil, false
}

// validator collects problems in the order they are found.
type validator struct{ errs []error }

func (v *validator) addf(key, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid config:\n  %w", joinLines(v.errs))
}

func (v *validator) nonNegative(key string, n int) {
	if n < 0 {
		v.addf(key, "%d must be positive (0 means the default)", n)
	}
}

func (v *validator) nonNegativeDuration(key string, d time.Duration) {
	if d < 0 {
		v.addf(key, "%v must be a positive duration like \"10s\" (0 means the default)", d)
	}
}

// hostPort accepts "" (the default), "host:port" and ":port"; port 0 asks
// the system for a free port.
func (v *validator) hostPort(key, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.addf(key, "%q is not host:port (%v); write it like \":8080\" or \"127.0.0.1:8080\"", addr, err)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.addf(key, "port %q of %q is not a number from 0 to 65535", port, addr)
	}
}

// joinedLines is errors.Join with one problem per indented line.
type joinedLines []error

func joinLines(errs []error) error { return joinedLines(errs) }

func (j joinedLines) Error() string {
	parts := make([]string, len(j))
	for i, e := range j {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n  ")
}

func (j joinedLines) Unwrap() []error { return j }

// redactURL hides a password in a URL's user info, for messages and logs
// (also in a URL url.Parse refuses).
func redactURL(s string) string { return ingest.RedactURL(s) }
