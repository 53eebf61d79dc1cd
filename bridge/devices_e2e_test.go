package bridge_test

import (
	"encoding/json"
	"strings"
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

// rootSources puts ESPHome nodes and a Shelly Gen2 device at their default
// topic prefixes (the broker's root) beside Zigbee2MQTT and a Tasmota
// source with its own FullTopic and StateText, in two tenants.
func rootSources(c *bridge.Config) {
	c.Sources = []bridge.SourceConfig{
		{Family: "zigbee2mqtt", Tenant: "acme"},
		{Family: "esphome", Tenant: "acme", Devices: []string{"c3-debug", "esp32-dht22"}},
		{Family: "shelly", Tenant: "globex", Devices: []string{"shellyplus1pm-a8032ab12345"}},
		{Family: "tasmota", Tenant: "acme", FullTopic: "tasmota/%topic%/%prefix%/", StateText: []string{"AUS", "AN"}},
	}
}

// TestDevicesAtTheRootEndToEnd publishes on a real broker what the devices
// publish at their root prefixes and expects each Reading in its own
// tenant only; a root topic of a node that is not listed reaches nobody.
func TestDevicesAtTheRootEndToEnd(t *testing.T) {
	b := bridgetest.Start(t, rootSources)
	acme := bridgetest.Dial(t, b.WSURL)
	acme.Connect(b.Token(t, "alice", "acme"))
	acme.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	globex := bridgetest.Dial(t, b.WSURL)
	globex.Connect(b.Token(t, "bob", "globex"))
	globex.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)

	// ESPHome's default topic_prefix is the node name (esphome.io/components/mqtt.html).
	b.Publish(t, "c3-debug/sensor/temperature/state", []byte("21.5"))
	_, r := nextReading(t, acme, "devices")
	require.Equal(t, "c3-debug", r.Device)
	require.Equal(t, "esphome", r.Family)
	require.Equal(t, 21.5, r.Metrics["temperature"])
	b.Publish(t, "c3-debug/debug", []byte("[D][sensor:094]: 'temperature': Sending state 21.50000"))

	// A Gen2 device's default topic_prefix is its id; its full status.
	b.Publish(t, "shellyplus1pm-a8032ab12345/status", []byte(`{"switch:0":{"id":0,"output":true,"apower":12.5},"sys":{"uptime":109,"unixtime":1654694407}}`))
	_, r = nextReading(t, globex, "devices")
	require.Equal(t, "shellyplus1pm-a8032ab12345", r.Device)
	require.Equal(t, "shelly", r.Family)
	require.Equal(t, map[string]any{"state": true, "power": 12.5, "uptime": 109.0}, r.Metrics)

	// Tasmota's FullTopic tasmota/%topic%/%prefix%/, a %topic% with '/' and StateText2 "AN".
	b.Publish(t, "tasmota/kitchen/plug/stat/POWER", []byte("AN"))
	_, r = nextReading(t, acme, "devices")
	require.Equal(t, "kitchen/plug", r.Device)
	require.Equal(t, "tasmota", r.Family)
	require.Equal(t, true, r.Metrics["state"])

	// Zigbee2MQTT is untouched beside them.
	b.Publish(t, "zigbee2mqtt/lamp", []byte(`{"state":"ON"}`))
	_, r = nextReading(t, acme, "devices")
	require.Equal(t, "lamp", r.Device)

	// A node that is not listed is not subscribed: the debug log before
	// and this make no Reading, the next Reading is the listed node's.
	b.Publish(t, "other-node/sensor/temperature/state", []byte("30"))
	b.Publish(t, "esp32-dht22/sensor/humidity/state", []byte("48.2"))
	_, r = nextReading(t, acme, "devices")
	require.Equal(t, "esp32-dht22", r.Device)
	require.Equal(t, 48.2, r.Metrics["humidity"])
	_, ok := acme.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "the debug log and the unlisted node made no Reading")
	_, ok = globex.NextMessage(50 * time.Millisecond)
	require.False(t, ok, "nothing of acme reached globex")
}

// TestBadDeviceIDsAreCountedNotPublished: ids derived from topics that
// have an unexpanded placeholder, an empty or a dot level, a control
// character, or more than 256 bytes are rejected by reason, and never
// become a device, a Reading or a metric label.
func TestBadDeviceIDsAreCountedNotPublished(t *testing.T) {
	b := bridgetest.Start(t, rootSources)
	acme := bridgetest.Dial(t, b.WSURL)
	acme.Connect(b.Token(t, "alice", "acme"))
	acme.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	admin := bridgetest.Dial(t, b.WSURL)
	admin.Connect(b.Token(t, "root", "acme", func(c *auth.Claims) { c.Admin = true }))
	admin.MustCall("subscribe", wire.SubscribeParams{Channel: "monitor"}, nil)
	cases := []struct{ topic, family, reason string }{
		{"tasmota/%topic%/tele/LWT", "tasmota", devices.ReasonDeviceIDPlaceholder},
		{"tasmota/tasmota_%06X/tele/LWT", "tasmota", devices.ReasonDeviceIDPlaceholder},
		{"tasmota/a/../b/tele/LWT", "tasmota", devices.ReasonDeviceIDDotLevel},
		{"tasmota/a//b/tele/LWT", "tasmota", devices.ReasonDeviceIDEmptyLevel},
		{"tasmota/evil\u202etxt.exe/tele/LWT", "tasmota", devices.ReasonDeviceIDControl},
		{"tasmota/line\nforged/tele/LWT", "tasmota", devices.ReasonDeviceIDControl},
		{"tasmota/" + strings.Repeat("x", 300) + "/tele/LWT", "tasmota", devices.ReasonDeviceIDTooLong},
		{"zigbee2mqtt/./availability", "zigbee2mqtt", devices.ReasonDeviceIDDotLevel},
	}
	for _, c := range cases {
		b.Publish(t, c.topic, []byte("online"))
	}
	keys := make([]rejectKey, len(cases))
	for i, c := range cases {
		keys[i] = rejectKey{c.family, c.reason}
	}
	waitRejected(t, b, "acme", keys)
	// The admin monitor shows every refused message, its topic escaped.
	for range cases {
		p, ok := admin.NextMessage(5 * time.Second)
		require.True(t, ok)
		require.Equal(t, "monitor", p.Channel)
		var ev struct{ Topic, Verdict, Reason, Error string }
		require.NoError(t, json.Unmarshal(p.Data, &ev))
		require.Equal(t, "rejected", ev.Verdict)
		require.True(t, devices.DeviceIDReason(ev.Reason), ev.Reason)
		require.True(t, strings.HasPrefix(ev.Topic, `"`), "escaped: %s", ev.Topic)
		require.False(t, strings.ContainsAny(ev.Topic+ev.Error, "\n\u202e"), "%q %q", ev.Topic, ev.Error)
	}
	b.Publish(t, "tasmota/good/tele/LWT", []byte("Online"))
	_, r := nextReading(t, acme, "devices")
	require.Equal(t, "good", r.Device, "no Reading was emitted for any bad id")

	// No metric carries an id: every label value is from the fixed sets.
	families, err := b.Registry().Gather()
	require.NoError(t, err)
	for _, mf := range families {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				v := l.GetValue()
				require.False(t, strings.ContainsAny(v, "%\n\u202e") || strings.Contains(v, "..") || len(v) > 256,
					"metric %s label %s=%q", mf.GetName(), l.GetName(), v)
			}
		}
	}
}

// rejectKey is one rejected message's family and reason.
type rejectKey struct{ family, reason string }

// waitRejected waits until the bridge counted, for each family and reason
// in keys, as many rejected messages of tenant as keys lists.
func waitRejected(t *testing.T, b *bridgetest.Bridge, tenant string, keys []rejectKey) {
	t.Helper()
	want := map[rejectKey]float64{}
	for _, k := range keys {
		want[k]++
	}
	m := metricsOf(b)
	for k, n := range want {
		bridgetest.Eventually(t, 5*time.Second, func() error {
			if got := testutil.ToFloat64(m.IngestRejected.WithLabelValues(k.family, tenant, k.reason)); got != n {
				return errorf("%s %s: rejected %v, want %v", k.family, k.reason, got, n)
			}
			return nil
		})
	}
}
