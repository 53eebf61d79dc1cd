package bridge_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// TestZigbee2MQTTBridgeOfflineMarksDevicesStale runs Zigbee2MQTT's
// coordinator availability through the bridge and its embedded broker:
// <base>/bridge/state offline (the JSON form, then the legacy plain form
// of https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html)
// shows every device of that base stale (not offline) to a dashboard, the
// coordinator itself offline; another base and another tenant are
// untouched; online makes them fresh again.
func TestZigbee2MQTTBridgeOfflineMarksDevicesStale(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	lamp := wire.DeviceChannel("kitchen/lamp")
	dash := bridgetest.Dial(t, b.WSURL)
	dash.Connect(b.Token(t, "alice", "acme"))
	dash.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	globex := bridgetest.Dial(t, b.WSURL)
	globex.Connect(b.Token(t, "bob", "globex"))
	globex.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)

	for _, d := range []string{"kitchen/lamp", "hall/sensor"} {
		b.Publish(t, "acme/zigbee2mqtt/"+d, []byte(`{"temperature":21.5,"linkquality":120}`))
		_, r := nextReading(t, dash, "devices")
		require.False(t, r.Stale)
	}
	b.Publish(t, "acme/tele/plug/STATE", []byte(`{"POWER":"ON"}`)) // another source of the tenant
	nextReading(t, dash, "devices")
	b.Publish(t, "globex/zigbee2mqtt/lamp", []byte(`{"temperature":20}`))
	nextReading(t, globex, "devices")

	for _, offline := range []string{`{"state":"offline"}`, `offline`} {
		b.Publish(t, "acme/zigbee2mqtt/bridge/state", []byte(offline))
		got := map[string]devices.Reading{}
		for len(got) < 3 {
			_, r := nextReading(t, dash, "devices")
			got[r.Device] = r
		}
		require.NotNil(t, got["bridge"].Online, offline)
		require.False(t, *got["bridge"].Online, "the coordinator is a device of its own, offline")
		require.False(t, got["bridge"].Stale)
		for _, d := range []string{"kitchen/lamp", "hall/sensor"} {
			require.True(t, got[d].Stale, "%s is stale while the coordinator is offline", d)
			require.Nil(t, got[d].Online, "%s is not said to be offline", d)
		}
		var snap wire.SubscribeResult
		dash.MustCall("subscribe", wire.SubscribeParams{Channel: lamp}, &snap)
		require.Len(t, snap.Snapshot, 1)
		require.True(t, snapshotReading(t, snap.Snapshot[0]).Stale, "a new subscriber sees it stale too")
		dash.MustCall("unsubscribe", wire.ChannelParams{Channel: lamp}, nil)

		// A device heard while its coordinator is offline (a retained
		// state delivered late) stays stale.
		b.Publish(t, "acme/zigbee2mqtt/hall/sensor", []byte(`{"temperature":22}`))
		_, r := nextReading(t, dash, "devices")
		require.Equal(t, "hall/sensor", r.Device)
		require.True(t, r.Stale)

		b.Publish(t, "acme/zigbee2mqtt/bridge/state", []byte(`{"state":"online"}`))
		got = map[string]devices.Reading{}
		for len(got) < 3 {
			_, r := nextReading(t, dash, "devices")
			got[r.Device] = r
		}
		require.True(t, *got["bridge"].Online)
		for _, d := range []string{"kitchen/lamp", "hall/sensor"} {
			require.False(t, got[d].Stale, "%s is fresh once the coordinator is back", d)
		}
		require.NotContains(t, got, "plug", "another source of the tenant is untouched")
	}
	_, ok := globex.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "another tenant's devices are untouched")
	var snap wire.SubscribeResult
	dash.MustCall("subscribe", wire.SubscribeParams{Channel: lamp}, &snap)
	require.False(t, snapshotReading(t, snap.Snapshot[0]).Stale)
}

func snapshotReading(t *testing.T, data json.RawMessage) devices.Reading {
	t.Helper()
	var r devices.Reading
	require.NoError(t, json.Unmarshal(data, &r))
	return r
}
