package devices_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestZigbee2MQTTCommand(t *testing.T) {
	z := devices.Zigbee2MQTT{}
	m, err := z.Command("zigbee2mqtt", "kitchen/floor_light", "on", nil)
	require.NoError(t, err)
	require.Equal(t, "zigbee2mqtt/kitchen/floor_light/set", m.Topic)
	require.JSONEq(t, `{"state":"ON"}`, string(m.Payload))
	m, err = z.Command("acme/z2m", "lamp", "set", []byte(`{"brightness": 128, "transition": 2}`))
	require.NoError(t, err)
	require.Equal(t, "acme/z2m/lamp/set", m.Topic)
	require.JSONEq(t, `{"brightness":128,"transition":2}`, string(m.Payload))
	m, err = z.Command("zigbee2mqtt", "lamp", "get", []byte(`{"state":""}`))
	require.NoError(t, err)
	require.Equal(t, "zigbee2mqtt/lamp/get", m.Topic)
	for _, args := range []string{
		`{"state":"ON","brightness":254,"color_temp":370,"transition":1}`,
		`{"color":{"x":0.3,"y":0.3}}`, `{"color":{"hex":"#ff0000"}}`,
		`{"state_l2":"OFF","brightness_left":10}`, `{"position":50,"tilt":10}`,
		`{"occupied_heating_setpoint":21.5,"system_mode":"heat"}`, `{"brightness_step":-20}`,
	} {
		_, err = z.Command("zigbee2mqtt", "lamp", "set", []byte(args))
		require.NoError(t, err, args)
	}

	for _, c := range []struct{ device, name, args string }{
		{"bridge", "set", `{"a":1}`},
		{"bridge/request/permit_join", "on", ""},
		{"lamp/set", "on", ""},
		{"lamp/availability", "on", ""},
		{"lamp", "set", `[1]`},
		{"lamp", "set", `{}`},
		{"lamp", "set", `{"a":1e400}`},
		{"lamp", "on", `{"state":"OFF"}`},
		{"lamp", "reboot", ""},
		{"la+mp", "on", ""},
		// Only allowlisted attributes: not the raw ZCL converters, not
		// configuration, not device-specific options.
		{"lamp", "set", `{"write":{"cluster":"genBasic","payload":{"deviceEnabled":0}}}`},
		{"lamp", "get", `{"read":{"cluster":"genBasic","attributes":["modelId"]}}`},
		{"lamp", "set", `{"state":"ON","calibration":5}`},
		{"lamp", "set", `{"interlock":true}`},
		{"lamp", "set", `{"state_":"ON"}`},
		{"lamp", "set", `{"state_foo":"ON"}`},
		{"lamp", "set", `{"_l1":"ON"}`},
		{"lamp", "get", `{"power_on_behavior":""}`},
	} {
		_, err := z.Command("zigbee2mqtt", c.device, c.name, []byte(c.args))
		require.True(t, errors.Is(err, devices.ErrInvalidCommand), "%+v: %v", c, err)
	}
}

func TestTasmotaCommand(t *testing.T) {
	ta := devices.Tasmota{}
	for _, c := range []struct{ name, args, topic, payload string }{
		{"toggle", "", "cmnd/plug/Power", "TOGGLE"},
		{"Power2", `"OFF"`, "cmnd/plug/Power2", "OFF"},
		{"Power", "", "cmnd/plug/Power", ""},
		{"Dimmer", `50`, "cmnd/plug/Dimmer", "50"},
		{"Status", `8`, "cmnd/plug/Status", "8"},
	} {
		m, err := ta.Command("", "plug", c.name, []byte(c.args))
		require.NoError(t, err, c.name)
		require.Equal(t, c.topic, m.Topic)
		require.Equal(t, c.payload, string(m.Payload))
	}
	m, err := ta.Command("home", "plug", "on", nil)
	require.NoError(t, err)
	require.Equal(t, "home/cmnd/plug/Power", m.Topic)
	// A %topic% with '/' (https://tasmota.github.io/docs/MQTT/, Topic "kitchen/plug").
	m, err = ta.Command("", "kitchen/plug", "on", nil)
	require.NoError(t, err)
	require.Equal(t, "cmnd/kitchen/plug/Power", m.Topic)

	for _, c := range []struct{ device, name, args string }{
		{"a//b", "on", ""},
		{"%topic%", "on", ""},
		{"plug", "Backlog", `"Power ON; Reset 1"`},
		{"plug", "Reset", `"1"`},
		{"plug", "Upgrade", `"1"`},
		{"plug", "Power0", ""},
		{"plug", "Power33", ""},
		{"plug", "Dimmer", `"50; Reset 1"`},
		{"plug", "Dimmer", `{"a":1}`},
		{"plug", "Power", `"\u0000"`},
	} {
		_, err := ta.Command("", c.device, c.name, []byte(c.args))
		require.True(t, errors.Is(err, devices.ErrInvalidCommand), "%+v: %v", c, err)
	}
}
