package devices_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// TestListedCommandsEncode: every command a family lists for a device
// encodes through the same family's command path, so a page that sends
// what `commands` returned never gets "invalid command" back.
func TestListedCommandsEncode(t *testing.T) {
	downlink := []byte(`{"f_port":1,"frm_payload":"AQ=="}`)
	cases := []struct {
		family devices.Handler
		base   string
		state  devices.DeviceState
		want   []string // name:output or name for each listed command
		filled map[string][]byte
	}{
		{devices.Zigbee2MQTT{}, "zigbee2mqtt",
			devices.DeviceState{Reading: devices.Reading{Device: "plug", Metrics: map[string]any{"state": true, "l2.state": false, "power": 3.0}}},
			[]string{"on:state", "off:state", "toggle:state", "set:l2.state", "set:l2.state", "set:l2.state", "set"},
			map[string][]byte{"set": []byte(`{"brightness":10}`)}},
		{devices.Tasmota{}, "",
			devices.DeviceState{Reading: devices.Reading{Device: "sonoff", Metrics: map[string]any{"state": true, "power2.state": true}}},
			[]string{"on:state", "off:state", "toggle:state", "Power2:power2.state", "Power2:power2.state", "Power2:power2.state"}, nil},
		{devices.Shelly{}, "shellies",
			devices.DeviceState{Reading: devices.Reading{Device: "shellyplus2pm-1", Metrics: map[string]any{"state": true, "switch:1.state": false, "input:0.state": true}},
				Topics: []string{"shellies/shellyplus2pm-1/events/rpc"}},
			[]string{"on:state", "off:state", "toggle:state", "on:switch:1.state", "off:switch:1.state", "toggle:switch:1.state"}, nil},
		{devices.Shelly{}, "shellies",
			devices.DeviceState{Reading: devices.Reading{Device: "shelly1-1", Metrics: map[string]any{"relay:1.state": false}},
				Topics: []string{"shellies/shelly1-1/relay/1/power"}},
			[]string{"on:relay:1.state", "off:relay:1.state", "toggle:relay:1.state"}, nil},
		{devices.ESPHome{}, "esphome",
			devices.DeviceState{Reading: devices.Reading{Device: "garden", Metrics: map[string]any{"state": false}},
				Topics: []string{"esphome/garden/switch/relay/state"}},
			[]string{"on:state", "off:state", "toggle:state"}, nil},
		{devices.TTN{}, "v3",
			devices.DeviceState{Reading: devices.Reading{Device: "tracker-1", Tags: map[string]string{"ttn_application": "app"}}},
			[]string{"downlink", "downlink_replace"},
			map[string][]byte{"downlink": downlink, "downlink_replace": downlink}},
		{devices.TTN{}, "v3", devices.DeviceState{Reading: devices.Reading{Device: "tracker-2"}}, nil, nil},
		{devices.ESPHome{}, "esphome", devices.DeviceState{Reading: devices.Reading{Device: "sensor", Metrics: map[string]any{"temperature": 20.0}}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.family.Family()+"/"+c.state.Reading.Device, func(t *testing.T) {
			list := c.family.(devices.CommandLister).Commands(c.base, c.state)
			var got []string
			for _, cmd := range list {
				key := cmd.Name
				if cmd.Output != "" {
					key += ":" + cmd.Output
				}
				got = append(got, key)
				require.NotEmpty(t, cmd.Label)
				args := []byte(cmd.Args)
				if len(cmd.Schema) > 0 {
					require.Empty(t, cmd.Args, "a command takes fixed args or a schema, not both")
					require.True(t, json.Valid(cmd.Schema))
					args = c.filled[cmd.Name]
				}
				var err error
				if sc, ok := c.family.(devices.StateCommander); ok {
					_, err = sc.CommandWithState(c.base, c.state, cmd.Name, args)
				} else {
					_, err = c.family.(devices.Commander).Command(c.base, c.state.Reading.Device, cmd.Name, args)
				}
				require.NoError(t, err, "%s %s", cmd.Name, args)
			}
			require.Equal(t, c.want, got)
		})
	}
}
