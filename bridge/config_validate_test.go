package bridge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// validConfig is a minimal config that passes Validate.
func validConfig() Config {
	c := DefaultConfig()
	c.Auth.JWTSecret = testSecret
	return c
}

func strPtr(s string) *string { return &s }

func TestValidateAccepts(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(keyFile, []byte("x"), 0o600))
	for name, mut := range map[string]func(*Config){
		"defaults with secret": func(*Config) {},
		"zero values mean defaults": func(c *Config) {
			c.HTTP = HTTPConfig{}
			c.State = StateConfig{}
			c.Log = LogConfig{}
			c.MQTT = MQTTConfig{}
		},
		"port 0":          func(c *Config) { c.HTTP.Addr = "127.0.0.1:0"; c.MQTT.Listen = "[::1]:0" },
		"public key file": func(c *Config) { c.Auth = AuthConfig{PublicKeyFile: keyFile, Issuer: "i", Audience: "a"} },
		"dev without key": func(c *Config) { c.Auth = AuthConfig{}; c.Dev = true },
		"every mqtt scheme": func(c *Config) {
			c.MQTT.URL = "mqtts://user:pw@broker.example:8883"
		},
		"origins": func(c *Config) {
			c.HTTP.AllowedOrigins = []string{"https://dash.example.com", "http://localhost:5173", "https://x.example/"}
		},
		"sources": func(c *Config) {
			c.Sources = []SourceConfig{
				{Family: "zigbee2mqtt", Tenant: "acme", Base: strPtr("acme/zigbee2mqtt")},
				{Family: "zigbee2mqtt", Tenant: "acme", Base: strPtr("acme/z2m-2")},
				{Family: "zigbee2mqtt", Tenant: "beta-co_2"},
				{Family: "tasmota", Base: strPtr(""), Tags: map[string]string{"site": "hq", "floor": "2"}, Stale: time.Minute},
				{Family: "json", JSON: &devices.JSONConfig{Name: "plants", Pattern: "plants/{device}"}},
				{Family: "json", Tenant: "acme", JSON: &devices.JSONConfig{Name: "plants", Pattern: "plants/{device}"}},
				{Family: "json", JSON: &devices.JSONConfig{Pattern: "th/{device}/state"}},
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			mut(&c)
			require.NoError(t, c.Validate())
		})
	}

	for _, scheme := range []string{"tcp", "ssl", "ws", "wss", "mqtt", "mqtts"} {
		c := validConfig()
		c.MQTT.URL = scheme + "://broker:1"
		require.NoError(t, c.Validate(), scheme)
	}
}

func TestValidateRejects(t *testing.T) {
	jsonCfg := &devices.JSONConfig{Pattern: "x/{device}"}
	for name, tc := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"node":             {func(c *Config) { c.Node = "node a" }, `node: "node a" is not 1-64 printable ASCII`},
		"log level":        {func(c *Config) { c.Log.Level = "verbose" }, `log.level: "verbose" is not one of debug, info, warn, error`},
		"log format":       {func(c *Config) { c.Log.Format = "xml" }, `log.format: "xml" is not one of text, json`},
		"http addr":        {func(c *Config) { c.HTTP.Addr = "localhost" }, `http.addr: "localhost" is not host:port`},
		"http port":        {func(c *Config) { c.HTTP.Addr = ":http" }, `http.addr: port "http" of ":http" is not a number`},
		"http port range":  {func(c *Config) { c.HTTP.Addr = ":70000" }, `is not a number from 0 to 65535`},
		"mqtt listen":      {func(c *Config) { c.MQTT.Listen = "1883" }, `mqtt.listen: "1883" is not host:port`},
		"mqtt scheme":      {func(c *Config) { c.MQTT.URL = "http://broker:1883" }, `mqtt.url: scheme "http" is not one of tcp, ssl, ws, wss, mqtt, mqtts`},
		"mqtt no scheme":   {func(c *Config) { c.MQTT.URL = "broker:1883" }, `mqtt.url: scheme "broker"`},
		"mqtt no host":     {func(c *Config) { c.MQTT.URL = "tcp://u:pw@" }, `mqtt.url: "tcp://u:REDACTED@" has no host`},
		"mqtt bad url":     {func(c *Config) { c.MQTT.URL = "tcp://u:secret@[::1" }, `mqtt.url: cannot parse (missing ']' in host)`},
		"frame":            {func(c *Config) { c.HTTP.MaxFrameBytes = -1 }, `http.max_frame_bytes: -1 must be positive`},
		"ping":             {func(c *Config) { c.HTTP.PingInterval = -time.Second }, `http.ping_interval: -1s must be a positive duration`},
		"conns":            {func(c *Config) { c.HTTP.MaxConnections = -5 }, `http.max_connections: -5`},
		"tenant conns":     {func(c *Config) { c.HTTP.MaxConnectionsPerTenant = -5 }, `http.max_connections_per_tenant: -5`},
		"rate":             {func(c *Config) { c.HTTP.RequestRate = -1 }, `http.request_rate: -1 must be a positive number`},
		"burst":            {func(c *Config) { c.HTTP.RequestBurst = -1 }, `http.request_burst`},
		"queue":            {func(c *Config) { c.HTTP.QueueSize = -1 }, `http.queue_size`},
		"write timeout":    {func(c *Config) { c.HTTP.WriteTimeout = -1 }, `http.write_timeout`},
		"slow consumer":    {func(c *Config) { c.HTTP.SlowConsumerTimeout = -1 }, `http.slow_consumer_timeout`},
		"drain":            {func(c *Config) { c.HTTP.DrainTimeout = -1 }, `http.drain_timeout`},
		"origin path":      {func(c *Config) { c.HTTP.AllowedOrigins = []string{"https://x.example/app"} }, `http.allowed_origins[0]: "https://x.example/app" is not an origin`},
		"origin bare":      {func(c *Config) { c.HTTP.AllowedOrigins = []string{"ok.example"} }, `http.allowed_origins[0]`},
		"history size":     {func(c *Config) { c.State.HistorySize = -1 }, `state.history_size`},
		"history ttl":      {func(c *Config) { c.State.HistoryTTL = -1 }, `state.history_ttl`},
		"max devices":      {func(c *Config) { c.State.MaxDevices = -1 }, `state.max_devices`},
		"no key":           {func(c *Config) { c.Auth.JWTSecret = "" }, `auth: no jwt_secret or public_key_file; set auth.jwt_secret (MQLIVE_JWT_SECRET, 32+ bytes), or auth.public_key_file, or run with --dev`},
		"short secret":     {func(c *Config) { c.Auth.JWTSecret = strings.Repeat("s", 31) }, `auth.jwt_secret: is 31 bytes; use at least 32`},
		"short secret dev": {func(c *Config) { c.Dev = true; c.Auth.JWTSecret = "short" }, `auth.jwt_secret: is 5 bytes`},
		"both keys":        {func(c *Config) { c.Auth.PublicKeyFile = "k.pem" }, `auth: both jwt_secret and public_key_file are set; keep only one`},
		"missing key file": {func(c *Config) { c.Auth = AuthConfig{PublicKeyFile: "/nonexistent/k.pem"} }, `auth.public_key_file: stat /nonexistent/k.pem`},
		"empty family":     {func(c *Config) { c.Sources = []SourceConfig{{Tenant: "a"}} }, `sources[0].family: is required`},
		"bad family":       {func(c *Config) { c.Sources = []SourceConfig{{Family: "Zigbee"}} }, `sources[0].family: family id "Zigbee"`},
		"bad tenant":       {func(c *Config) { c.Sources = []SourceConfig{{Family: "tasmota", Tenant: "ACME"}} }, `sources[0].tenant: "ACME" is not 1-64 characters of [a-z0-9_-]`},
		"long tenant": {func(c *Config) { c.Sources = []SourceConfig{{Family: "tasmota", Tenant: strings.Repeat("a", 65)}} },
			`sources[0].tenant`},
		"bad base": {func(c *Config) { c.Sources = []SourceConfig{{Family: "tasmota", Base: strPtr("a/+/b")}} }, `sources[0].base:`},
		"tag key":  {func(c *Config) { c.Sources = []SourceConfig{{Family: "tasmota", Tags: map[string]string{"a=b": "c"}}} }, `sources[0].tags: key "a=b" must be non-empty and contain no '='`},
		"tag value": {func(c *Config) {
			c.Sources = []SourceConfig{{Family: "tasmota", Tags: map[string]string{"site": "h q"}}}
		}, `sources[0].tags: "site": "tag:site=h q" cannot be a channel name`},
		"stale":         {func(c *Config) { c.Sources = []SourceConfig{{Family: "tasmota", Stale: -time.Second}} }, `sources[0].stale`},
		"json missing":  {func(c *Config) { c.Sources = []SourceConfig{{Family: "json"}} }, `sources[0].json: family json needs a json block`},
		"json misplace": {func(c *Config) { c.Sources = []SourceConfig{{Family: "tasmota", JSON: jsonCfg}} }, `sources[0].json: only family json takes a json block`},
		"json invalid": {func(c *Config) {
			c.Sources = []SourceConfig{{Family: "json", JSON: &devices.JSONConfig{Pattern: "no-device-here"}}}
		}, `sources[0].json: json family json: pattern`},
		"json name clash": {func(c *Config) {
			c.Sources = []SourceConfig{
				{Family: "json", JSON: &devices.JSONConfig{Name: "th", Pattern: "a/{device}"}},
				{Family: "json", Tenant: "b", JSON: &devices.JSONConfig{Name: "th", Pattern: "b/{device}"}},
			}
		}, `sources[1].json.name: "th" is also the name of sources[0].json with another format`},
		"duplicate": {func(c *Config) {
			c.Sources = []SourceConfig{{Family: "tasmota"}, {Family: "tasmota", Tenant: "default"}}
		}, `sources[1]: repeats sources[0] (same family, tenant and base); remove one`},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			tc.mut(&c)
			err := c.Validate()
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "invalid config:\n  "), err.Error())
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig()
	c.HTTP.Addr = "x"
	c.MQTT.Listen = "y"
	c.Log.Level = "loud"
	err := c.Validate()
	require.ErrorContains(t, err, "http.addr")
	require.ErrorContains(t, err, "mqtt.listen")
	require.ErrorContains(t, err, "log.level")
	require.Equal(t, 4, len(strings.Split(err.Error(), "\n")), err.Error())
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	for _, u := range []string{"tcp://u:hunter2@[::1", "tcp://u:hunter2@", "http://u:hunter2@broker:1"} {
		c := validConfig()
		c.MQTT.URL = u
		err := c.Validate()
		require.Error(t, err, u)
		require.NotContains(t, err.Error(), "hunter2", u)
	}
	c := validConfig()
	c.Auth.JWTSecret = "hunter2"
	require.NotContains(t, c.Validate().Error(), "hunter2")
}
