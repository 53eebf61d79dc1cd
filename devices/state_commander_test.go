package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestShellyCommandFollowsTheGeneration(t *testing.T) {
	s := devices.Shelly{}
	gen1 := devices.DeviceState{Reading: devices.Reading{Device: "shelly1pm-84CCA8A11111"},
		Topics: []string{"shellies/shelly1pm-84CCA8A11111/online", "shellies/shelly1pm-84CCA8A11111/relay/0/power"}}
	m, err := s.CommandWithState("shellies", gen1, "on", nil)
	require.NoError(t, err)
	require.Equal(t, "shellies/shelly1pm-84CCA8A11111/relay/0/command", m.Topic)
	require.Equal(t, "on", string(m.Payload))
	m, err = s.CommandWithState("shellies", gen1, "toggle", []byte(`{"channel":1}`))
	require.NoError(t, err)
	require.Equal(t, "shellies/shelly1pm-84CCA8A11111/relay/1/command", m.Topic)
	require.Equal(t, "toggle", string(m.Payload))

	gen2 := devices.DeviceState{Reading: devices.Reading{Device: "shellyplus1pm-a8032ab12345"},
		Topics: []string{"shellies/shellyplus1pm-a8032ab12345/events/rpc"}}
	m, err = s.CommandWithState("shellies", gen2, "on", nil)
	require.NoError(t, err)
	require.Equal(t, "shellies/shellyplus1pm-a8032ab12345/rpc", m.Topic)
	require.Contains(t, string(m.Payload), `"method":"Switch.Set","params":{"id":0,"on":true}`)
}

func TestESPHomeCommandFindsTheMainSwitch(t *testing.T) {
	e := devices.ESPHome{}
	st := devices.DeviceState{Reading: devices.Reading{Device: "garden"},
		Topics: []string{"esphome/garden/sensor/temperature/state", "esphome/garden/switch/relay/state"}}
	m, err := e.CommandWithState("esphome", st, "off", nil)
	require.NoError(t, err)
	require.Equal(t, "esphome/garden/switch/relay/command", m.Topic)
	require.Equal(t, "OFF", string(m.Payload))
	m, err = e.CommandWithState("esphome", st, "on", []byte(`{"switch":"pump"}`))
	require.NoError(t, err)
	require.Equal(t, "esphome/garden/switch/pump/command", m.Topic, "explicit args win")
}
