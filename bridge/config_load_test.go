package bridge

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// writeConfig writes a YAML config file and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mqlive.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// TestLoadKeySpellings pins the YAML keys, variables and flags that tools
// outside this repository use.
func TestLoadKeySpellings(t *testing.T) {
	path := writeConfig(t, `
node: node-a
dev: false
log: { level: debug, format: json }
http:
  addr: "127.0.0.1:9090"
  max_frame_bytes: 1024
  ping_interval: 5s
  max_connections: 50
  max_connections_per_tenant: 20
  request_rate: 2.5
  request_burst: 7
  queue_size: 16
  write_timeout: 2s
  slow_consumer_timeout: 3s
  drain_timeout: 4s
  allowed_origins: ["https://dash.example.com", "http://localhost:5173"]
  tenant_request_rate: 9.5
  tenant_request_burst: 12
  max_connections_per_user: 3
  max_subscriptions_per_connection: 32
mqtt: { url: "tcp://broker:1883", listen: ":1884", client_id: cid, username: u, password: p }
auth: { jwt_secret: "`+testSecret+`", issuer: iss, audience: aud, max_token_lifetime: 2h }
state: { history_size: 10, history_ttl: 1m, max_devices: 99 }
sources:
  - { family: zigbee2mqtt, tenant: acme, base: "acme/zigbee2mqtt" }
  - family: tasmota
    base: ""
    tags: { site: hq }
    stale: 2m
  - family: json
    tenant: plants
    json:
      name: plant_sensors
      pattern: "sensors/{device}/state"
      fields: { temperature: env.temp_c }
`)
	c, err := Load([]string{"--config", path}, nil)
	require.NoError(t, err)
	require.Equal(t, "node-a", c.Node)
	require.Equal(t, LogConfig{Level: "debug", Format: "json"}, c.Log)
	require.Equal(t, HTTPConfig{
		Addr:                    "127.0.0.1:9090",
		MaxFrameBytes:           1024,
		PingInterval:            5 * time.Second,
		MaxConnections:          50,
		MaxConnectionsPerTenant: 20,
		RequestRate:             2.5,
		RequestBurst:            7,
		QueueSize:               16,
		WriteTimeout:            2 * time.Second,
		SlowConsumerTimeout:     3 * time.Second,
		DrainTimeout:            4 * time.Second,
		AllowedOrigins:          []string{"https://dash.example.com", "http://localhost:5173"},

		TenantRequestRate: 9.5, TenantRequestBurst: 12, MaxConnectionsPerUser: 3, MaxSubscriptionsPerConnection: 32,
	}, c.HTTP)
	require.Equal(t, MQTTConfig{URL: "tcp://broker:1883", Listen: ":1884", ClientID: "cid", Username: "u", Password: "p"}, c.MQTT)
	require.Equal(t, AuthConfig{JWTSecret: testSecret, Issuer: "iss", Audience: "aud", MaxTokenLifetime: 2 * time.Hour}, c.Auth)
	require.Equal(t, StateConfig{HistorySize: 10, HistoryTTL: time.Minute, MaxDevices: 99, SaveInterval: 30 * time.Second,
		MaxChannels: DefaultMaxChannels, MaxChannelBytes: DefaultMaxChannelBytes, MaxTenantBytes: DefaultMaxTenantBytes,
		MaxDeviceFields: DefaultMaxDeviceFields, MaxTagChannels: DefaultMaxTagChannels, IdentityTTL: DefaultIdentityTTL}, c.State)

	require.Len(t, c.Sources, 3)
	base := "acme/zigbee2mqtt"
	require.Equal(t, SourceConfig{Family: "zigbee2mqtt", Tenant: "acme", Base: &base}, c.Sources[0])
	empty := ""
	require.Equal(t, SourceConfig{Family: "tasmota", Tenant: "default", Base: &empty,
		Tags: map[string]string{"site": "hq"}, Stale: 2 * time.Minute}, c.Sources[1])
	require.Equal(t, "plants", c.Sources[2].Tenant)
	require.Nil(t, c.Sources[2].Base, "absent base: the family default")
	require.Equal(t, &devices.JSONConfig{Name: "plant_sensors", Pattern: "sensors/{device}/state",
		Fields: map[string]string{"temperature": "env.temp_c"}}, c.Sources[2].JSON)
}

func TestLoadPrecedence(t *testing.T) {
	path := writeConfig(t, `
node: from-file
http: { addr: ":1001" }
mqtt: { url: "tcp://file:1883", listen: ":2001" }
auth: { jwt_secret: "file-secret-file-secret-file-secret" }
log: { level: warn }
`)
	// File only.
	c, err := Load([]string{"--config", path}, nil)
	require.NoError(t, err)
	require.Equal(t, "from-file", c.Node)
	require.Equal(t, ":1001", c.HTTP.Addr)
	require.Equal(t, "tcp://file:1883", c.MQTT.URL)
	require.Equal(t, ":2001", c.MQTT.Listen)
	require.Equal(t, "file-secret-file-secret-file-secret", c.Auth.JWTSecret)
	require.Equal(t, "warn", c.Log.Level)
	require.Equal(t, 25*time.Second, c.HTTP.PingInterval, "defaults fill what the file leaves out")

	// Environment beats the file; MQLIVE_CONFIG names the file.
	env := []string{
		"MQLIVE_CONFIG=" + path,
		"MQLIVE_HTTP_ADDR=:1002",
		"MQLIVE_MQTT_URL=ssl://env:8883",
		"MQLIVE_MQTT_LISTEN=:2002",
		"MQLIVE_JWT_SECRET=env-secret-env-secret-env-secret-xx",
		"MQLIVE_LOG_LEVEL=error",
		"MQLIVE_NODE=from-env",
		"PATH=/usr/bin",
		"MQLIVE_HTTP_ADDR_UNRELATED=x",
	}
	c, err = Load(nil, env)
	require.NoError(t, err)
	require.Equal(t, "from-env", c.Node)
	require.Equal(t, ":1002", c.HTTP.Addr)
	require.Equal(t, "ssl://env:8883", c.MQTT.URL)
	require.Equal(t, ":2002", c.MQTT.Listen)
	require.Equal(t, "env-secret-env-secret-env-secret-xx", c.Auth.JWTSecret)
	require.Equal(t, "error", c.Log.Level)

	// Flags beat both.
	c, err = Load([]string{
		"--http-addr", ":1003", "--mqtt-url=wss://flag:443/mqtt", "--mqtt-listen", ":2003",
		"--jwt-secret", "flag-secret-flag-secret-flag-secret", "--log-level", "debug", "--node", "from-flag",
	}, env)
	require.NoError(t, err)
	require.Equal(t, "from-flag", c.Node)
	require.Equal(t, ":1003", c.HTTP.Addr)
	require.Equal(t, "wss://flag:443/mqtt", c.MQTT.URL)
	require.Equal(t, ":2003", c.MQTT.Listen)
	require.Equal(t, "flag-secret-flag-secret-flag-secret", c.Auth.JWTSecret)
	require.Equal(t, "debug", c.Log.Level)

	// --config beats MQLIVE_CONFIG.
	other := writeConfig(t, "node: other-file\ndev: true\n")
	c, err = Load([]string{"--config", other}, []string{"MQLIVE_CONFIG=" + path})
	require.NoError(t, err)
	require.Equal(t, "other-file", c.Node)

	// An empty flag value still overrides: --mqtt-url "" selects the
	// embedded broker even when the file names one.
	c, err = Load([]string{"--config", path, "--mqtt-url", ""}, nil)
	require.NoError(t, err)
	require.Empty(t, c.MQTT.URL)
}

func TestLoadDev(t *testing.T) {
	c, err := Load(nil, nil)
	require.ErrorContains(t, err, "auth: no jwt_secret or public_key_file")
	require.ErrorContains(t, err, "--dev")

	c, err = Load([]string{"--dev"}, nil)
	require.NoError(t, err)
	require.True(t, c.Dev)
	require.Empty(t, c.Auth.JWTSecret, "Load does not generate; EnsureDevSecret does")

	c, err = Load(nil, []string{"MQLIVE_DEV=true"})
	require.NoError(t, err)
	require.True(t, c.Dev)

	path := writeConfig(t, "dev: true\n")
	_, err = Load([]string{"--config", path, "--dev=false"}, nil)
	require.ErrorContains(t, err, "run with --dev", "the flag turns dev mode off again")

	_, err = Load(nil, []string{"MQLIVE_DEV=yes please"})
	require.ErrorContains(t, err, `MQLIVE_DEV: "yes please" is not a boolean`)
}

func TestLoadFlagErrors(t *testing.T) {
	_, err := Load([]string{"--nope"}, nil)
	require.ErrorContains(t, err, "flag provided but not defined: -nope")
	require.ErrorContains(t, err, "run with -h")

	_, err = Load([]string{"--dev", "extra"}, nil)
	require.ErrorContains(t, err, `unexpected argument "extra"`)

	_, err = Load([]string{"-h"}, nil)
	require.ErrorIs(t, err, flag.ErrHelp)
	u := Usage()
	for _, f := range []string{"-config", "-dev", "-http-addr", "-mqtt-url", "-mqtt-listen", "-jwt-secret", "-log-level", "-node",
		"MQLIVE_CONFIG", "MQLIVE_HTTP_ADDR", "MQLIVE_MQTT_URL", "MQLIVE_MQTT_LISTEN", "MQLIVE_JWT_SECRET"} {
		require.Contains(t, u, f)
	}
}

func TestLoadUnknownKey(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml string
		want []string
	}{
		"top level": {"dev: true\nfoo: 1\n", []string{"mqlive.yaml:2: foo: unknown key \"foo\"", "known keys: auth, cluster, dev, http, log, mqtt, node, sources, state"}},
		"typo":      {"dev: true\nhttp:\n  adr: \":80\"\n", []string{`mqlive.yaml:3: http.adr: unknown key "adr"; did you mean "addr"?`}},
		"in source": {"dev: true\nsources:\n  - family: tasmota\n    tenat: acme\n", []string{`mqlive.yaml:4: sources[0].tenat: unknown key "tenat"; did you mean "tenant"?`}},
		"in json": {"dev: true\nsources:\n  - family: json\n    json:\n      pattern: a/{device}\n      feilds: {}\n",
			[]string{`mqlive.yaml:6: sources[0].json.feilds: unknown key "feilds"; did you mean "fields"?`}},
		"two of them": {"dev: true\nhttp: {addr: \":1\", bogus: 1}\nmqtt: {uri: x}\n",
			[]string{`:2: http.bogus: unknown key`, `:3: mqtt.uri: unknown key "uri"; did you mean "url"?`}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load([]string{"--config", writeConfig(t, tc.yaml)}, nil)
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestLoadBadValues(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml string
		want string
	}{
		"duration number":  {"http: {ping_interval: 25}", `:1: http.ping_interval: cannot use "25" as a duration; write it like "25s"`},
		"duration garbage": {"state:\n  history_ttl: soon", `:2: state.history_ttl: cannot use "soon" as a duration`},
		"int":              {"http: {queue_size: many}", `http.queue_size: cannot use "many" as a whole number`},
		"bool":             {"dev: maybe", `:1: dev: cannot use "maybe" as a boolean; write true or false`},
		"float":            {"http: {request_rate: fast}", `http.request_rate: cannot use "fast" as a number`},
		"list":             {"http: {allowed_origins: 3}", `http.allowed_origins: expected a list, got "3"`},
		"mapping":          {"http: 8080", `:1: http: expected a mapping of keys (`},
		"sources mapping":  {"sources: {family: tasmota}", `sources: expected a list, got a mapping`},
		"tags list":        {"sources: [{family: tasmota, tags: [a, b]}]", `sources[0].tags: expected a mapping, got a list`},
		"bad yaml":         {"http: {addr: [", "yaml: line"},
		"two documents":    {"dev: true\n---\ndev: false\n", "more than one YAML document"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load([]string{"--config", writeConfig(t, tc.yaml)}, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}

	_, err := Load([]string{"--config", filepath.Join(t.TempDir(), "absent.yaml")}, nil)
	require.ErrorContains(t, err, "config file: open")
}

func TestLoadFileEdgeCases(t *testing.T) {
	// An empty file, or one with only comments, is the defaults.
	for _, y := range []string{"", "# nothing here\n", "---\n"} {
		c, err := Load([]string{"--config", writeConfig(t, y), "--dev"}, nil)
		require.NoError(t, err)
		require.Equal(t, ":8080", c.HTTP.Addr)
	}

	// A null section keeps its defaults; anchors and merge keys work.
	c, err := Load([]string{"--config", writeConfig(t, `
dev: true
http:
log: &l { level: debug }
sources:
  - &s { family: tasmota, tenant: a }
  - { <<: *s, tenant: b }
`)}, nil)
	require.NoError(t, err)
	require.Equal(t, ":8080", c.HTTP.Addr)
	require.Equal(t, "debug", c.Log.Level)
	require.Len(t, c.Sources, 2)
	require.Equal(t, "b", c.Sources[1].Tenant)
	require.Equal(t, "tasmota", c.Sources[1].Family)

	// A relative public key file is relative to the config file.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pub.pem"), []byte("x"), 0o600))
	cfgPath := filepath.Join(dir, "mqlive.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("auth: {public_key_file: pub.pem}\n"), 0o600))
	c, err = Load([]string{"--config", cfgPath}, nil)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "pub.pem"), c.Auth.PublicKeyFile)
}

func TestLoadValidates(t *testing.T) {
	_, err := Load([]string{"--dev", "--http-addr", "8080"}, nil)
	require.ErrorContains(t, err, `http.addr: "8080" is not host:port`)
	require.True(t, strings.HasPrefix(err.Error(), "invalid config:"), err.Error())
}

func TestLoadCluster(t *testing.T) {
	path := writeConfig(t, `
auth: {jwt_secret: "`+testSecret+`"}
mqtt: {url: "tcp://mosquitto:1883", shared_group: g1}
cluster:
  backplane: valkey
  valkey:
    addrs: ["10.0.0.1:6379", "10.0.0.2:6379"]
    username: u
    password: p
    sentinel_master: mymaster
    tls: true
  key_prefix: "acme:"
  ingest: shared
`)
	c, err := Load([]string{"--config", path}, nil)
	require.NoError(t, err)
	require.Equal(t, ClusterConfig{Backplane: "valkey", KeyPrefix: "acme:", Ingest: "shared",
		IngestLockWindow: 5 * time.Second, Heartbeat: 4 * time.Second,
		Valkey: ValkeyConfig{Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379"}, Username: "u", Password: "p", SentinelMaster: "mymaster", TLS: true}}, c.Cluster)
	require.Equal(t, "g1", c.MQTT.SharedGroup)

	// The environment names tools outside the project use.
	c, err = Load(nil, []string{"MQLIVE_JWT_SECRET=" + testSecret, "MQLIVE_MQTT_URL=tcp://b:1883",
		"MQLIVE_CLUSTER_BACKPLANE=valkey", "MQLIVE_VALKEY_ADDRS=127.0.0.1:7000, 127.0.0.1:7001",
		"MQLIVE_VALKEY_PASSWORD=secret", "MQLIVE_MQTT_SHARED_GROUP=grp"})
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1:7000", "127.0.0.1:7001"}, c.Cluster.Valkey.Addrs)
	require.Equal(t, "secret", c.Cluster.Valkey.Password)
	require.Equal(t, "lock", c.Cluster.Ingest, "lock is the cluster default: it survives a node's death")
	require.Equal(t, 8, c.Cluster.IngestWorkers)
	require.Equal(t, "grp", c.MQTT.SharedGroup)

	// Shared ingest gets the default group.
	c, err = Load(nil, []string{"MQLIVE_JWT_SECRET=" + testSecret, "MQLIVE_MQTT_URL=tcp://b:1883", "MQLIVE_CLUSTER_BACKPLANE=valkey"})
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1:6379"}, c.Cluster.Valkey.Addrs)
}

func TestClusterNeedsExternalBroker(t *testing.T) {
	_, err := Load(nil, []string{"MQLIVE_JWT_SECRET=" + testSecret, "MQLIVE_CLUSTER_BACKPLANE=valkey"})
	require.ErrorContains(t, err, "cluster.backplane: valkey needs an external MQTT broker: set mqtt.url")
	_, err = Load(nil, []string{"MQLIVE_JWT_SECRET=" + testSecret, "MQLIVE_CLUSTER_BACKPLANE=redis"})
	require.ErrorContains(t, err, `cluster.backplane: "redis" is not one of memory, valkey`)
	_, err = Load(nil, []string{"MQLIVE_JWT_SECRET=" + testSecret, "MQLIVE_MQTT_URL=tcp://b:1883", "MQLIVE_CLUSTER_BACKPLANE=valkey", "MQLIVE_MQTT_SHARED_GROUP=a/b"})
	require.ErrorContains(t, err, "mqtt.shared_group")
}

func TestClientIDFromNode(t *testing.T) {
	require.Equal(t, "mqlive-node-a", clientID("node-a"))
	require.Equal(t, "mqlive-host_1", clientID("host:1"))
}
