package bridge_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

// TestBusyTenantDoesNotStallAnother: while one tenant's state is held (as
// by a long snapshot), another tenant's readings keep flowing; the held
// tenant's arrive once it is released.
func TestBusyTenantDoesNotStallAnother(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	globex := bridgetest.Dial(t, b.WSURL)
	globex.Connect(b.Token(t, "g", "globex"))
	globex.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	acme := bridgetest.Dial(t, b.WSURL)
	acme.Connect(b.Token(t, "a", "acme"))
	acme.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)

	release := bridge.HoldTenant(b.Bridge, "acme")
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	b.Publish(t, "acme/zigbee2mqtt/held", []byte(`{"temperature":1}`))
	b.Publish(t, "globex/zigbee2mqtt/free", []byte(`{"temperature":2}`))
	p, ok := globex.NextMessage(5 * time.Second)
	require.True(t, ok, "globex's reading is not held up by acme's busy state")
	require.Equal(t, "free", reading(t, p).Device)
	_, ok = acme.NextMessage(200 * time.Millisecond)
	require.False(t, ok, "acme's reading waits for its state")

	release()
	released = true
	p, ok = acme.NextMessage(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, "held", reading(t, p).Device)
}
