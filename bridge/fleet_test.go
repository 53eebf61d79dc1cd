package bridge_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

// TestStateHistoryMetrics: the memory a tenant's histories hold is
// exported, so an operator can size state.max_tenant_bytes.
func TestStateHistoryMetrics(t *testing.T) {
	b := bridgetest.Start(t)
	payload := []byte(`{"temperature":21.5}`)
	b.Publish(t, "zigbee2mqtt/metrics-th", payload)
	bridgetest.Eventually(t, 10*time.Second, func() error {
		m := metricsOf(b)
		// devices and device:metrics-th, each holding the Reading once.
		if n := testutil.ToFloat64(m.StateChannels.WithLabelValues(bridge.DefaultTenant)); n < 2 {
			return errorf("channels %v", n)
		}
		if n := testutil.ToFloat64(m.StateHistoryBytes.WithLabelValues(bridge.DefaultTenant)); n < float64(2*len(payload)) {
			return errorf("history bytes %v", n)
		}
		return nil
	})
}

func TestDeviceHistorySizeConfig(t *testing.T) {
	c := bridge.DefaultConfig()
	c.Auth.JWTSecret = bridgetest.Secret
	c.State.DeviceHistorySize = 10
	require.NoError(t, c.Validate())
	c.State.DeviceHistorySize = c.State.HistorySize + 1
	require.ErrorContains(t, c.Validate(), "state.device_history_size")
	c.State.DeviceHistorySize = -1
	require.ErrorContains(t, c.Validate(), "state.device_history_size")
}

// TestSingleTenantIngestUsesEveryCore: with the embedded broker and one
// tenant, ingest runs on one lane per CPU; ingest_workers: 1 keeps one
// lane, never none: messages come on every publisher's goroutine at once
// (inline delivery), and only a lane keeps one device's in order.
func TestSingleTenantIngestUsesEveryCore(t *testing.T) {
	b := bridgetest.Start(t)
	require.Equal(t, runtime.GOMAXPROCS(0), bridge.Lanes(b.Bridge))
	one := bridgetest.Start(t, func(c *bridge.Config) { c.Cluster.IngestWorkers = 1 })
	require.Equal(t, 1, bridge.Lanes(one.Bridge))
	// Messages still arrive in order per topic.
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", bridge.DefaultTenant))
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "device:lane-th"}, nil)
	for i := 0; i < 50; i++ {
		b.Publish(t, "zigbee2mqtt/lane-th", []byte(`{"temperature":`+strconv.Itoa(i)+`}`))
	}
	for i := 0; i < 50; i++ {
		p, ok := c.NextMessage(10 * time.Second)
		require.True(t, ok)
		require.Equal(t, float64(i), reading(t, p).Metrics["temperature"])
	}
}

// TestLaneKeyNamesTheDevice: every topic of one device maps to one lane.
func TestLaneKeyNamesTheDevice(t *testing.T) {
	for _, c := range []struct{ topic, base, want string }{
		{"zigbee2mqtt/lamp", "zigbee2mqtt", "zigbee2mqtt/lamp"},
		{"zigbee2mqtt/lamp/availability", "zigbee2mqtt", "zigbee2mqtt/lamp"},
		{"z2m/home/lamp/availability", "z2m/home", "z2m/home/lamp"},
		{"esphome/plug/status", "esphome", "esphome/plug"},
		{"esphome/plug/sensor/power/state", "esphome", "esphome/plug"},
		{"tele/plug/LWT", "", "tele/plug"},
		{"tele/plug/SENSOR", "", "tele/plug"},
		{"owntracks/alice/phone", "owntracks", "owntracks/alice"},
		{"zigbee2mqtt", "zigbee2mqtt", "zigbee2mqtt"},
		{"plain", "", "plain"},
		{"other/base/x", "zigbee2mqtt", "other/base"},
	} {
		require.Equal(t, c.want, bridge.LaneKey(c.topic, c.base), c.topic)
	}
}
