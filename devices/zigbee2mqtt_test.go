package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestZigbee2MQTTFixtures(t *testing.T) {
	devicestest.Fixtures(t, devices.Zigbee2MQTT{}, "testdata/zigbee2mqtt")
}

func TestZigbee2MQTTMapping(t *testing.T) {
	z := devices.Zigbee2MQTT{}
	r := decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/hall/light",
		`{"state_l1":"ON","state_l2":"OFF","color":{"x":0.3,"y":0.31,"hue":null},"color_mode":"xy","illuminance":22000,"illuminance_lux":158,"battery":"100.00","water_leak":false,"action":"","scenes":[1,2]}`)
	require.Equal(t, "hall/light", r.Device)
	require.Equal(t, map[string]any{
		"l1.state": true, "l2.state": false, "color.x": 0.3, "color.y": 0.31,
		"illuminance": 158.0, "illuminance_raw": 22000.0, "battery": 100.0, "water_leak": false,
	}, r.Metrics)
	require.Equal(t, map[string]string{"color_mode": "xy", "action": ""}, r.Attrs)
	require.Nil(t, r.Online, "telemetry says nothing about availability")
	require.Equal(t, received, r.TS)

	// Zigbee2MQTT 2.x: illuminance is already lux.
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/x", `{"illuminance":158}`)
	require.Equal(t, map[string]any{"illuminance": 158.0}, r.Metrics)

	// Voltage rule: mains V stays V; battery devices and values >= 1000 are mV.
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/x", `{"voltage":230.5,"power":10}`)
	require.Equal(t, 230.5, r.Metrics["voltage"])
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/x", `{"voltage":3005}`)
	require.Equal(t, 3.005, r.Metrics["voltage"])
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/x", `{"voltage":2900,"battery":80,"power":1}`)
	require.Equal(t, 2.9, r.Metrics["voltage"])

	// Non-ON/OFF states are text.
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/door/lock", `{"state":"LOCK"}`)
	require.Equal(t, map[string]string{"state": "LOCK"}, r.Attrs)
	require.Empty(t, r.Metrics)

	// A numeric string that is not finite is an invalid number, not text.
	_, why := decodeErr(t, z, "zigbee2mqtt", "zigbee2mqtt/x", `{"battery":"NaN"}`)
	require.Equal(t, devices.ReasonInvalidNumber, why)
	// Text in a canonical field that is not a number stays text.
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/x", `{"battery":"low"}`)
	require.Equal(t, map[string]string{"battery": "low"}, r.Attrs)

	// Unparseable last_seen falls back to the receive time.
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/x", `{"last_seen":"never","temperature":1}`)
	require.Equal(t, received, r.TS)

	// Without a friendly_name the topic is the IEEE address.
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/0x00158d0001a2b3c4", `{"device":{"friendlyName":"0x00158d0001a2b3c4","ieeeAddr":"0x00158d0001a2b3c4","networkAddress":4711}}`)
	require.Equal(t, "4711", r.Attrs["device.network_address"])
}

func TestZigbee2MQTTTopics(t *testing.T) {
	z := devices.Zigbee2MQTT{}
	r := decodeOne(t, z, "acme/zigbee2mqtt", "acme/zigbee2mqtt/a/b/c/availability", "online")
	require.Equal(t, "a/b/c", r.Device)
	require.True(t, *r.Online)
	r = decodeOne(t, z, "", "garden/sensor", `{"temperature":12}`)
	require.Equal(t, "garden/sensor", r.Device)

	v, why := decodeErr(t, z, "zigbee2mqtt", "other/x", `{}`)
	require.Equal(t, "rejected", v)
	require.Equal(t, devices.ReasonInvalidTopic, why)
	_, why = decodeErr(t, z, "zigbee2mqtt", "zigbee2mqtt//availability", `online`)
	require.Equal(t, devices.ReasonInvalidTopic, why)
	v, _ = decodeErr(t, z, "zigbee2mqtt", "zigbee2mqtt/bridge", `online`)
	require.Equal(t, "ignored", v)
	_, why = decodeErr(t, z, "zigbee2mqtt", "zigbee2mqtt/x/availability", `{"state":1}`)
	require.Equal(t, devices.ReasonInvalidPayload, why)
}

func FuzzZigbee2MQTT(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("zigbee2mqtt/dev", p.Data)
		}
	}
	f.Add("zigbee2mqtt/kitchen/lamp", []byte(`{"state":"ON","brightness":215,"color":{"x":0.3,"y":0.3},"last_seen":1767322980000}`))
	f.Add("zigbee2mqtt/kitchen/lamp/availability", []byte(`{"state":"online"}`))
	f.Add("zigbee2mqtt/kitchen/lamp/availability", []byte(`offline`))
	f.Add("zigbee2mqtt/bridge/state", []byte(`online`))
	f.Add("zigbee2mqtt/bridge/state", []byte(`{"state":"offline"}`))
	f.Add("zigbee2mqtt/bridge/state", []byte(`{"state":1}`))
	f.Add("zigbee2mqtt/a/set/state", []byte(`ON`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, devices.Zigbee2MQTT{}, "zigbee2mqtt", topic, payload)
	})
}

// TestZigbee2MQTTCoordinator: <base>/bridge/state is the availability of
// the coordinator device "bridge", in the JSON and legacy plain forms
// (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html,
// zigbee2mqtt/bridge/state), and only it is the coordinator's signal.
func TestZigbee2MQTTCoordinator(t *testing.T) {
	z := devices.Zigbee2MQTT{}
	for payload, want := range map[string]bool{`{"state":"online"}`: true, `{"state":"offline"}`: false, `online`: true, `offline`: false} {
		r := decodeOne(t, z, "acme/zigbee2mqtt", "acme/zigbee2mqtt/bridge/state", payload)
		require.Equal(t, devices.Z2MCoordinator, r.Device)
		online, ok := z.CoordinatorOnline(&r)
		require.True(t, ok, payload)
		require.Equal(t, want, online, payload)
	}
	// A device's own availability is not the coordinator's.
	r := decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/kitchen/lamp/availability", `offline`)
	_, ok := z.CoordinatorOnline(&r)
	require.False(t, ok)
	// Nor is a state message, even of a device called bridge by another family.
	r = decodeOne(t, z, "zigbee2mqtt", "zigbee2mqtt/lamp", `{"state":"ON"}`)
	_, ok = z.CoordinatorOnline(&r)
	require.False(t, ok)
	_, ok = z.CoordinatorOnline(&devices.Reading{Device: "bridge", Family: "tasmota", Online: r.Online})
	require.False(t, ok)
	v, _ := decodeErr(t, z, "zigbee2mqtt", "zigbee2mqtt/bridge/info", `{"version":"1.35.0"}`)
	require.Equal(t, "ignored", v)
}
