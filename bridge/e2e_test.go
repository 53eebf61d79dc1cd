package bridge_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

func strp(s string) *string { return &s }

// twoTenants configures acme and globex, each with its own Zigbee2MQTT and
// Tasmota sources.
func twoTenants(c *bridge.Config) {
	c.Sources = []bridge.SourceConfig{
		{Family: "zigbee2mqtt", Tenant: "acme", Base: strp("acme/zigbee2mqtt"), Tags: map[string]string{"site": "hq"}},
		{Family: "tasmota", Tenant: "acme", Base: strp("acme")},
		{Family: "zigbee2mqtt", Tenant: "globex", Base: strp("globex/zigbee2mqtt")},
		{Family: "tasmota", Tenant: "globex", Base: strp("globex")},
	}
}

func reading(t *testing.T, p wire.Publication) devices.Reading {
	t.Helper()
	var r devices.Reading
	require.NoError(t, json.Unmarshal(p.Data, &r))
	return r
}

// nextReading waits for the next message on channel and decodes it.
func nextReading(t *testing.T, c *bridgetest.Client, channel string) (wire.Publication, devices.Reading) {
	t.Helper()
	for {
		p, ok := c.NextMessage(5 * time.Second)
		require.True(t, ok, "no message on %s", channel)
		if p.Channel == channel {
			return p, reading(t, p)
		}
	}
}

func TestEndToEndZigbee2MQTTAndTasmota(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	c := bridgetest.Dial(t, b.WSURL)
	res := c.Connect(b.Token(t, "alice", "acme"))
	require.Equal(t, "acme", res.Tenant)
	require.Equal(t, "alice", res.User)
	require.Equal(t, int64(25000), res.PingIntervalMS)
	var sub wire.SubscribeResult
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, &sub)
	require.False(t, sub.Recovered)
	require.Empty(t, sub.Snapshot)

	// A real Zigbee2MQTT state message of an Aqara WSDCGQ11LM
	// (zigbee2mqtt.io/devices/WSDCGQ11LM.html).
	b.Publish(t, "acme/zigbee2mqtt/kitchen th", []byte(`{"battery":97,"humidity":48.2,"linkquality":120,"pressure":1003.2,"temperature":21.5,"voltage":3005}`))
	p, r := nextReading(t, c, "devices")
	require.Equal(t, "kitchen th", r.Device)
	require.Equal(t, "zigbee2mqtt", r.Family)
	require.Equal(t, 21.5, r.Metrics["temperature"])
	require.Equal(t, 48.2, r.Metrics["humidity"])
	require.Equal(t, 97.0, r.Metrics["battery"])
	require.Equal(t, 120.0, r.Metrics["linkquality"])
	require.InDelta(t, 3.005, r.Metrics["voltage"], 1e-9, "Zigbee2MQTT reports mV; canonical is V")
	require.Equal(t, "hq", r.Tags["site"])
	require.Equal(t, uint64(1), p.Offset)
	require.False(t, r.ReceivedAt.IsZero())

	// A real Tasmota SENSOR telemetry message with an AM2301 and ENERGY
	// (tasmota.github.io/docs/JSON-Status-Responses).
	b.Publish(t, "acme/tele/plug-1/SENSOR", []byte(`{"Time":"2026-11-23T17:00:00","ENERGY":{"TotalStartTime":"2019-12-18T21:05:15","Total":1.234,"Yesterday":0.5,"Today":0.1,"Period":0,"Power":45,"ApparentPower":50,"ReactivePower":20,"Factor":0.9,"Voltage":230,"Current":0.196},"AM2301":{"Temperature":22.1,"Humidity":40.5},"TempUnit":"C"}`))
	_, r = nextReading(t, c, "devices")
	require.Equal(t, "plug-1", r.Device)
	require.Equal(t, "tasmota", r.Family)
	require.Equal(t, 45.0, r.Metrics["power"])
	require.Equal(t, 230.0, r.Metrics["voltage"])
	require.Equal(t, 0.196, r.Metrics["current"])
	require.Equal(t, 1.234, r.Metrics["energy"])
	require.Equal(t, 22.1, r.Metrics["temperature"])
	require.Equal(t, time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC), r.TS.UTC())

	// Availability in the LWT form marks the device offline.
	b.Publish(t, "acme/tele/plug-1/LWT", []byte("Offline"))
	_, r = nextReading(t, c, "devices")
	require.NotNil(t, r.Online)
	require.False(t, *r.Online)

	// A device channel carries one device; its snapshot holds the merged state.
	var dsub wire.SubscribeResult
	c.MustCall("subscribe", wire.SubscribeParams{Channel: wire.DeviceChannel("kitchen th")}, &dsub)
	require.Equal(t, "device:kitchen%20th", dsub.Channel)
	require.Len(t, dsub.Snapshot, 1)
	var snap devices.Reading
	require.NoError(t, json.Unmarshal(dsub.Snapshot[0], &snap))
	require.Equal(t, 21.5, snap.Metrics["temperature"])
	b.Publish(t, "acme/zigbee2mqtt/kitchen th/availability", []byte(`{"state":"online"}`))
	_, r = nextReading(t, c, "device:kitchen%20th")
	require.True(t, *r.Online)
	require.Empty(t, r.Metrics, "an availability message carries no metrics")
}

func TestLatencyPublishToSocket(t *testing.T) {
	b := bridgetest.Start(t)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	var worst time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		b.Publish(t, "zigbee2mqtt/lat", []byte(fmt.Sprintf(`{"temperature":%d}`, i)))
		_, r := nextReading(t, c, "devices")
		require.Equal(t, float64(i), r.Metrics["temperature"])
		worst = max(worst, time.Since(start))
	}
	t.Logf("worst MQTT publish → WebSocket delivery over 20 messages: %v", worst)
	require.Less(t, worst, time.Second)
}

func metricsOf(b *bridgetest.Bridge) *metrics.Metrics { return bridge.MetricsOf(b.Bridge) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
