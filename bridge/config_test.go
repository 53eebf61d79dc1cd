package bridge

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	host, err := os.Hostname()
	require.NoError(t, err)
	require.Equal(t, host, c.Node)
	require.False(t, c.Dev)
	require.Equal(t, LogConfig{Level: "info", Format: "text"}, c.Log)
	require.Equal(t, HTTPConfig{
		Addr:                    ":8080",
		MaxFrameBytes:           65536,
		PingInterval:            25 * time.Second,
		MaxConnections:          10000,
		MaxConnectionsPerTenant: 10000,
		RequestRate:             50,
		RequestBurst:            100,
		QueueSize:               256,
		WriteTimeout:            10 * time.Second,
		SlowConsumerTimeout:     10 * time.Second,
		DrainTimeout:            10 * time.Second,

		MaxSubscriptionsPerConnection: DefaultMaxSubscriptions,
	}, c.HTTP)
	require.Equal(t, MQTTConfig{Listen: ":1883"}, c.MQTT)
	require.Equal(t, AuthConfig{MaxTokenLifetime: 24 * time.Hour}, c.Auth)
	require.Equal(t, StateConfig{HistorySize: 1000, HistoryTTL: 10 * time.Minute, MaxDevices: 100000, SaveInterval: 30 * time.Second,
		MaxChannels: DefaultMaxChannels, MaxChannelBytes: DefaultMaxChannelBytes, MaxTenantBytes: DefaultMaxTenantBytes,
		MaxDeviceFields: DefaultMaxDeviceFields, MaxTagChannels: DefaultMaxTagChannels, IdentityTTL: DefaultIdentityTTL}, c.State)
	require.Equal(t, ClusterConfig{Backplane: "memory", KeyPrefix: "mqlive:", IngestLockWindow: 5 * time.Second, Heartbeat: 4 * time.Second}, c.Cluster)
	require.Empty(t, c.Sources)

	// No secret and no dev mode: the default alone must not start.
	require.ErrorContains(t, c.Validate(), "run with --dev")
	c.Dev = true
	require.NoError(t, c.Validate())
}

func TestApplyDefaultsKeepsSetValues(t *testing.T) {
	c := Config{
		Node:    "n1",
		HTTP:    HTTPConfig{Addr: "127.0.0.1:0", MaxConnections: 7, QueueSize: 3},
		State:   StateConfig{HistoryTTL: time.Second},
		Sources: []SourceConfig{{Family: "tasmota"}, {Family: "zigbee2mqtt", Tenant: "acme"}},
	}
	c.ApplyDefaults()
	require.Equal(t, "n1", c.Node)
	require.Equal(t, "127.0.0.1:0", c.HTTP.Addr)
	require.Equal(t, 7, c.HTTP.MaxConnections)
	require.Equal(t, 7, c.HTTP.MaxConnectionsPerTenant, "per-tenant limit defaults to the node limit")
	require.Equal(t, 3, c.HTTP.QueueSize)
	require.Equal(t, 65536, c.HTTP.MaxFrameBytes)
	require.Equal(t, time.Second, c.State.HistoryTTL)
	require.Equal(t, 1000, c.State.HistorySize)
	require.Equal(t, "default", c.Sources[0].Tenant)
	require.Equal(t, "acme", c.Sources[1].Tenant)
	require.Nil(t, c.Sources[0].Base, "nil base stays nil: the family default is resolved by the bridge")
}

func TestEnsureDevSecret(t *testing.T) {
	c := DefaultConfig()
	gen, err := c.EnsureDevSecret()
	require.NoError(t, err)
	require.False(t, gen, "not in dev mode")
	require.Empty(t, c.Auth.JWTSecret)

	c.Dev = true
	gen, err = c.EnsureDevSecret()
	require.NoError(t, err)
	require.True(t, gen)
	require.Len(t, c.Auth.JWTSecret, 64)
	require.Regexp(t, "^[0-9a-f]{64}$", c.Auth.JWTSecret)
	require.NoError(t, c.Validate())

	first := c.Auth.JWTSecret
	gen, err = c.EnsureDevSecret()
	require.NoError(t, err)
	require.False(t, gen, "a secret is already set")
	require.Equal(t, first, c.Auth.JWTSecret)

	other := DefaultConfig()
	other.Dev = true
	_, err = other.EnsureDevSecret()
	require.NoError(t, err)
	require.NotEqual(t, first, other.Auth.JWTSecret)

	withKey := DefaultConfig()
	withKey.Dev = true
	withKey.Auth.PublicKeyFile = "key.pem"
	gen, err = withKey.EnsureDevSecret()
	require.NoError(t, err)
	require.False(t, gen, "a public key is configured")
}

func TestRedacted(t *testing.T) {
	c := DefaultConfig()
	c.Auth.JWTSecret = "0123456789abcdef0123456789abcdef"
	c.MQTT.Password = "hunter2"
	c.MQTT.URL = "tcp://bob:s3cret@broker:1883"
	r := c.Redacted()
	require.Equal(t, "REDACTED", r.Auth.JWTSecret)
	require.Equal(t, "REDACTED", r.MQTT.Password)
	require.Equal(t, "tcp://bob:REDACTED@broker:1883", r.MQTT.URL)
	require.Equal(t, "hunter2", c.MQTT.Password, "the original is untouched")
}
