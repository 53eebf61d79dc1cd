package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestESPHomeConformance(t *testing.T) { devicestest.Run(t, devices.ESPHome{}) }

func TestESPHomeFixtures(t *testing.T) {
	devicestest.Fixtures(t, devices.ESPHome{}, "testdata/esphome")
}

// TestESPHomeOverlap checks the claim of the default base: next to every
// shipped family at its default base, the ESPHome source is accepted.
func TestESPHomeOverlap(t *testing.T) {
	_, err := devices.NewRegistry(devices.Builtin()...) // ESPHome{} is one of them
	require.NoError(t, err)
	// With base "" it would claim zigbee2mqtt/status: refused.
	_, err = devices.NewRouter(
		devices.Mount{Base: "zigbee2mqtt", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Base: "", Handler: devices.ESPHome{}})
	require.Error(t, err)
}

func TestESPHomeTopics(t *testing.T) {
	e := devices.ESPHome{}
	for _, topic := range []string{"esphome/n/sensor/x", "esphome/n/sensor//state", "esphome/n/sensor/x/y/state"} {
		_, why := decodeErr(t, e, "esphome", topic, `1`)
		require.Equal(t, devices.ReasonInvalidTopic, why, topic)
	}
	_, why := decodeErr(t, e, "esphome", "esphome/n/sensor/t/state", `1e400`)
	require.Equal(t, devices.ReasonInvalidNumber, why)
	_, why = decodeErr(t, e, "esphome", "esphome/n/light/l/state", `{"state":"MAYBE"}`)
	require.Equal(t, devices.ReasonInvalidPayload, why)
	r := decodeOne(t, e, "site/esphome", "site/esphome/n/sensor/n_temperature/state", `-3.25`)
	require.Equal(t, map[string]any{"temperature": -3.25}, r.Metrics)
}

func TestESPHomeCommand(t *testing.T) {
	e := devices.ESPHome{}
	m, err := e.Command("esphome", "plug-1", "on", nil)
	require.NoError(t, err)
	require.Equal(t, "esphome/plug-1/switch/plug_1/command", m.Topic)
	require.Equal(t, "ON", string(m.Payload))
	m, err = e.Command("", "plug-1", "toggle", []byte(`{"switch":"relay"}`))
	require.NoError(t, err)
	require.Equal(t, "plug-1/switch/relay/command", m.Topic)
	require.Equal(t, "TOGGLE", string(m.Payload))
	m, err = e.Command("esphome", "plug-1", "off", []byte(`"usb_port"`))
	require.NoError(t, err)
	require.Equal(t, "esphome/plug-1/switch/usb_port/command", m.Topic)
	require.Equal(t, "OFF", string(m.Payload))
	for _, args := range []string{`{"switch":"a/b"}`, `{"switch":"X"}`, `{"switch":1}`, `{"switch":"a","x":1}`, `[1]`} {
		_, err = e.Command("esphome", "plug-1", "on", []byte(args))
		require.ErrorIs(t, err, devices.ErrInvalidCommand, args)
	}
	_, err = e.Command("esphome", "a/b", "on", nil)
	require.ErrorIs(t, err, devices.ErrInvalidCommand)
}

func FuzzESPHome(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("esphome/n/light/l/state", p.Data)
		}
	}
	f.Add("esphome/n/sensor/temperature/state", []byte(`21.5`))
	f.Add("esphome/n/sensor/temperature/state", []byte(`nan`))
	f.Add("esphome/n/binary_sensor/door/state", []byte(`ON`))
	f.Add("esphome/n/switch/relay/state", []byte(`OFF`))
	f.Add("esphome/n/status", []byte(`online`))
	f.Add("esphome/n/light/l/state", []byte(`{"state":"ON","brightness":255,"color":{"r":1}}`))
	f.Add("c3-debug/debug", []byte(`[D][sensor:094]: 'temperature': Sending state 21.5`))
	f.Add("c3-debug/switch/relay/command", []byte(`ON`))
	f.Add("c3-debug/text_sensor/version/state", []byte(`2024.6.1`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, devices.ESPHome{}, "esphome", topic, payload)
		fuzzDecode(t, devices.ESPHome{}, "", topic, payload) // a node listed in a source's devices
	})
}
