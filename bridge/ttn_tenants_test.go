package bridge_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// TestTTNTenantsDropOtherTenants: a ttn source with ttn_tenants takes the
// uplinks of its TTS tenant and drops another TTS tenant's on the same
// broker: counted as rejected (foreign_tenant), no Reading, and nothing of
// it on the mqlive tenant's monitor. The uplink is the data-formats page's
// (https://www.thethingsindustries.com/docs/integrations/data-formats/).
func TestTTNTenantsDropOtherTenants(t *testing.T) {
	b := bridgetest.Start(t, func(c *bridge.Config) {
		c.Sources = []bridge.SourceConfig{{Family: "ttn", Tenant: "acme", TTNTenants: []string{"acme"}}}
	})
	dash := bridgetest.Dial(t, b.WSURL)
	dash.Connect(b.Token(t, "alice", "acme"))
	dash.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	admin := bridgetest.Dial(t, b.WSURL)
	admin.Connect(b.Token(t, "root", "acme", func(c *auth.Claims) { c.Admin = true }))
	admin.MustCall("subscribe", wire.SubscribeParams{Channel: "monitor"}, nil)

	up := func(app, device string) []byte {
		return []byte(`{"end_device_ids":{"device_id":"` + device + `","application_ids":{"application_id":"` + app + `"}},` +
			`"received_at":"2020-02-12T15:15:46.014773143Z","uplink_message":{"f_cnt":1,"decoded_payload":{"temperature":1.0}}}`)
	}
	b.Publish(t, "v3/app1@ttn/devices/theirs/up", up("app1", "theirs"))
	b.Publish(t, "v3/app1/devices/untenanted/up", up("app1", "untenanted"))
	b.Publish(t, "v3/app1@acme/devices/ours/up", up("app1", "ours"))

	_, r := nextReading(t, dash, "devices")
	require.Equal(t, "ours", r.Device, "only the accepted tenant's device becomes a Reading")
	require.Equal(t, "acme", r.Tags["ttn_tenant"])
	p, ok := admin.NextMessage(5 * time.Second)
	require.True(t, ok)
	require.Contains(t, string(p.Data), `"topic":"v3/app1@acme/devices/ours/up"`)
	_, ok = admin.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "another TTS tenant's messages are not on this tenant's monitor")

	m := metricsOf(b)
	require.Equal(t, 2.0, testutil.ToFloat64(m.IngestRejected.WithLabelValues("ttn", "acme", devices.ReasonForeignTenant)))
	var res wire.SubscribeResult
	dash.MustCall("subscribe", wire.SubscribeParams{Channel: "device:theirs"}, &res)
	require.Empty(t, res.Snapshot, "no device was created for another tenant's uplink")
}
