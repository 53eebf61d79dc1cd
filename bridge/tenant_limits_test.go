package bridge_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

// TestLimitsFromConfig: the http limits of the configuration reach the
// node's WebSocket server.
func TestLimitsFromConfig(t *testing.T) {
	b := bridgetest.Start(t, func(c *bridge.Config) {
		c.HTTP.MaxSubscriptionsPerConnection = 2
		c.HTTP.MaxConnectionsPerUser = 1
		c.HTTP.TenantRequestRate, c.HTTP.TenantRequestBurst = 0.001, 6
	})
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "acme"))
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, nil)    // 1 of the tenant's 6
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:a"}, nil)   // 2
	_, rerr := c.Call(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:b"}) // 3
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeInvalidParams, rerr.Code)

	second := bridgetest.Dial(t, b.WSURL)
	_, rerr = second.Call(wire.MethodConnect, wire.ConnectParams{Token: b.Token(t, "alice", "acme")})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeRateLimited, rerr.Code)
	code, _ := second.WaitClosed(5 * time.Second)
	require.Equal(t, wire.CloseRateLimited, code)

	for range 3 { // 4, 5, 6
		c.MustCall(wire.MethodPing, nil, nil)
	}
	_, rerr = c.Call(wire.MethodPing, nil)
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeRateLimited, rerr.Code)
	require.Contains(t, rerr.Message, "http.tenant_request_rate")
}
