package bridge

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadLimits(t *testing.T) {
	path := writeConfig(t, `
auth: { jwt_secret: "`+testSecret+`" }
http:
  tenant_request_rate: 200
  tenant_request_burst: 300
  max_connections_per_user: 5
  max_subscriptions_per_connection: 64
`)
	cfg, err := Load([]string{"--config", path}, nil)
	require.NoError(t, err)
	require.Equal(t, 200.0, cfg.HTTP.TenantRequestRate)
	require.Equal(t, 300, cfg.HTTP.TenantRequestBurst)
	require.Equal(t, 5, cfg.HTTP.MaxConnectionsPerUser)
	require.Equal(t, 64, cfg.HTTP.MaxSubscriptionsPerConnection)

	def := DefaultConfig()
	require.Equal(t, 128, def.HTTP.MaxSubscriptionsPerConnection)
	require.Zero(t, def.HTTP.TenantRequestRate, "no tenant limit by default")
	require.Zero(t, def.HTTP.MaxConnectionsPerUser, "no user limit by default")
	c := DefaultConfig()
	c.HTTP.TenantRequestRate = 2.5
	c.ApplyDefaults()
	require.Equal(t, 5, c.HTTP.TenantRequestBurst, "twice the rate")
}

func TestValidateLimits(t *testing.T) {
	for want, mutate := range map[string]func(*HTTPConfig){
		"http.tenant_request_rate: NaN":                      func(h *HTTPConfig) { h.TenantRequestRate = math.NaN() },
		"http.tenant_request_rate: -1":                       func(h *HTTPConfig) { h.TenantRequestRate = -1 },
		"http.tenant_request_burst: is set without":          func(h *HTTPConfig) { h.TenantRequestBurst = 10 },
		"http.max_connections_per_user: -1 must be positive": func(h *HTTPConfig) { h.MaxConnectionsPerUser = -1 },
		"http.max_connections_per_user: 50 is more than":     func(h *HTTPConfig) { h.MaxConnectionsPerTenant, h.MaxConnectionsPerUser = 10, 50 },
		"http.max_subscriptions_per_connection: -2 must be ": func(h *HTTPConfig) { h.MaxSubscriptionsPerConnection = -2 },
	} {
		c := DefaultConfig()
		c.Auth.JWTSecret = testSecret
		mutate(&c.HTTP)
		require.ErrorContains(t, c.Validate(), want)
	}
}
