package ws_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
)

// TestSubscriptionCap: with the default cap, the 129th channel of one
// connection is refused with -32602 and a message naming the limit; the
// connection stays open and keeps its channels, a re-subscribe of a held
// channel is allowed, and after an unsubscribe the next channel fits.
func TestSubscriptionCap(t *testing.T) {
	ls := startLimits(t, ws.Config{RequestRate: 10000, RequestBurst: 10000})
	c := bridgetest.Dial(t, ls.url)
	c.Connect(bridgetest.Token(t, "alice", "acme"))
	for i := range ws.DefaultMaxSubscriptions {
		c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:d" + strconv.Itoa(i)}, nil)
	}
	_, rerr := c.Call(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeInvalidParams, rerr.Code)
	require.Contains(t, rerr.Message, "too many subscriptions on this connection (http.max_subscriptions_per_connection is 128)")
	require.Equal(t, 1.0, testutil.ToFloat64(ls.m.Limited.WithLabelValues("subscriptions")))

	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:d7"}, nil) // re-sync of a held channel
	c.MustCall(wire.MethodPing, nil, nil)                                             // still open
	c.MustCall(wire.MethodUnsubscribe, wire.ChannelParams{Channel: "device:d7"}, nil)
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, nil)
	_, rerr = c.Call(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:d7"})
	require.NotNil(t, rerr, "full again")
	require.Equal(t, 2.0, testutil.ToFloat64(ls.m.Limited.WithLabelValues("subscriptions")))
	require.Len(t, ls.hub.Sessions(), 1)
	require.Equal(t, ws.DefaultMaxSubscriptions, ls.hub.Sessions()[0].NumSubs())

	// Another connection has a cap of its own.
	o := bridgetest.Dial(t, ls.url)
	o.Connect(bridgetest.Token(t, "alice", "acme"))
	o.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, nil)
}

// TestTenantRequestRate: all connections of a tenant on the node share
// one bucket: once it is empty, any of them gets 4029 (the connection
// stays open, however many it gets), another tenant is not affected, and
// the bucket refills.
func TestTenantRequestRate(t *testing.T) {
	ls := startLimits(t, ws.Config{RequestRate: 10000, RequestBurst: 10000, TenantRequestRate: 1, TenantRequestBurst: 4})
	alice := bridgetest.Dial(t, ls.url)
	alice.Connect(bridgetest.Token(t, "alice", "acme"))
	bob := bridgetest.Dial(t, ls.url)
	bob.Connect(bridgetest.Token(t, "bob", "acme"))
	other := bridgetest.Dial(t, ls.url)
	other.Connect(bridgetest.Token(t, "carol", "globex"))

	for range 3 {
		alice.MustCall(wire.MethodPing, nil, nil)
	}
	bob.MustCall(wire.MethodPing, nil, nil)
	refused := 0
	for range 150 {
		if _, rerr := bob.Call(wire.MethodPing, nil); rerr != nil {
			require.Equal(t, wire.CodeRateLimited, rerr.Code)
			require.Contains(t, rerr.Message, "tenant's request rate")
			refused++
		}
	}
	require.GreaterOrEqual(t, refused, 140, "the shared bucket is empty (it refills at 1/s)")
	_, rerr := alice.Call(wire.MethodPing, nil)
	require.NotNil(t, rerr, "alice shares bob's bucket")
	require.Equal(t, float64(refused+1), testutil.ToFloat64(ls.m.Limited.WithLabelValues("tenant_rate")))

	for range 4 {
		other.MustCall(wire.MethodPing, nil, nil)
	}
	// Still open, and served again once the bucket refills.
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if _, rerr := bob.Call(wire.MethodPing, nil); rerr != nil {
			return rerr
		}
		return nil
	})
	require.Zero(t, testutil.ToFloat64(ls.m.RateLimited), "the per-connection limit was never hit")
}

// TestMaxConnectionsPerUser: a user's connection past the limit is
// refused with error 4029 and close 4029; other users and the same sub in
// another tenant are not; a closed connection frees its place.
func TestMaxConnectionsPerUser(t *testing.T) {
	ls := startLimits(t, ws.Config{MaxConnectionsPerUser: 2})
	tok := bridgetest.Token(t, "alice", "acme")
	c1 := bridgetest.Dial(t, ls.url)
	c1.Connect(tok)
	c2 := bridgetest.Dial(t, ls.url)
	c2.Connect(tok)
	c3 := bridgetest.Dial(t, ls.url)
	_, rerr := c3.Call(wire.MethodConnect, wire.ConnectParams{Token: tok})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeRateLimited, rerr.Code)
	require.Contains(t, rerr.Message, "too many connections for this user on the node (http.max_connections_per_user is 2)")
	code, closed := c3.WaitClosed(5 * time.Second)
	require.True(t, closed)
	require.Equal(t, wire.CloseRateLimited, code)
	require.Equal(t, 1.0, testutil.ToFloat64(ls.m.Rejected.WithLabelValues("user_limit")))

	bridgetest.Dial(t, ls.url).Connect(bridgetest.Token(t, "bob", "acme"))
	bridgetest.Dial(t, ls.url).Connect(bridgetest.Token(t, "alice", "globex"))

	c1.Close()
	bridgetest.Eventually(t, 5*time.Second, func() error {
		c := bridgetest.Dial(t, ls.url)
		defer c.Close()
		if _, rerr := c.Call(wire.MethodConnect, wire.ConnectParams{Token: tok}); rerr != nil {
			return fmt.Errorf("still refused: %v", rerr)
		}
		return nil
	})
}
