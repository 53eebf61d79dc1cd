package devices_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestShellyCommands(t *testing.T) {
	s := devices.Shelly{}
	cases := []struct {
		base, device, name, args string
		topic, payload           string
	}{
		// Gen2 RPC (https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Switch#switchset).
		{"", "shellyplus1pm-a8032ab12345", "on", "", "shellyplus1pm-a8032ab12345/rpc",
			`{"id":%d,"src":"mqlive","method":"Switch.Set","params":{"id":0,"on":true}}`},
		{"shellies", "shellypro4pm-f008d1d8b8b8", "off", `{"channel":3}`, "shellies/shellypro4pm-f008d1d8b8b8/rpc",
			`{"id":%d,"src":"mqlive","method":"Switch.Set","params":{"id":3,"on":false}}`},
		{"shellies", "hall/plug", "toggle", "", "shellies/hall/plug/rpc",
			`{"id":%d,"src":"mqlive","method":"Switch.Toggle","params":{"id":0}}`},
		{"", "hall/plug", "toggle", "", "shellies/hall/plug/rpc",
			`{"id":%d,"src":"mqlive","method":"Switch.Toggle","params":{"id":0}}`},
		{"", "shellyplus2pm-1", "Switch.Set", `{"id":1,"on":true,"toggle_after":30}`, "shellyplus2pm-1/rpc",
			`{"id":%d,"src":"mqlive","method":"Switch.Set","params":{"id":1,"on":true,"toggle_after":30}}`},
		{"", "shellyplus2pm-1", "Cover.GoToPosition", `{"pos":40}`, "shellyplus2pm-1/rpc",
			`{"id":%d,"src":"mqlive","method":"Cover.GoToPosition","params":{"id":0,"pos":40}}`},
		{"", "shellyplus2pm-1", "Cover.Stop", ``, "shellyplus2pm-1/rpc",
			`{"id":%d,"src":"mqlive","method":"Cover.Stop","params":{"id":0}}`},
		// Gen1 (https://shelly-api-docs.shelly.cloud/gen1/#shelly1-shelly1pm-mqtt).
		{"", "shelly1pm-B929CC", "relay", `"on"`, "shellies/shelly1pm-B929CC/relay/0/command", "on"},
		{"shellies", "shelly25-AABBCC", "relay", `{"channel":1,"turn":"toggle"}`, "shellies/shelly25-AABBCC/relay/1/command", "toggle"},
		{"shellies", "shelly25-AABBCC", "roller", `"stop"`, "shellies/shelly25-AABBCC/roller/0/command", "stop"},
		{"shellies", "shelly25-AABBCC", "roller", `{"pos":70}`, "shellies/shelly25-AABBCC/roller/0/command/pos", "70"},
		{"home", "shelly1-1", "announce", ``, "home/shelly1-1/command", "announce"},
		{"", "shelly1-1", "update", ``, "shellies/shelly1-1/command", "update"},
	}
	for _, c := range cases {
		m, err := s.Command(c.base, c.device, c.name, []byte(c.args))
		require.NoError(t, err, "%s %s", c.name, c.args)
		require.Equal(t, c.topic, m.Topic, c.name)
		if c.payload[0] == '{' {
			// The request id is a hash of the request: stable, and
			// ignored by the device except to echo it.
			var id int
			_, err := fmtSscanID(string(m.Payload), &id)
			require.NoError(t, err, string(m.Payload))
			require.JSONEq(t, sprintfID(c.payload, id), string(m.Payload))
			again, _ := s.Command(c.base, c.device, c.name, []byte(c.args))
			require.Equal(t, m, again, "Command is pure")
		} else {
			require.Equal(t, c.payload, string(m.Payload))
		}
		// The device never mistakes a command for status.
		if matchesShelly(s, c.base, m.Topic) {
			v, _ := decodeErr(t, s, c.base, m.Topic, string(m.Payload))
			require.Equal(t, "ignored", v, m.Topic)
		}
	}

	for _, c := range []struct{ device, name, args string }{
		{"x", "on", `{"state":"ON"}`},
		{"x", "on", `"ON"`},
		{"x", "on", `{"channel":100}`},
		{"x", "Switch.Set", `{"id":0}`},
		{"x", "Switch.Set", `{"id":0,"on":"yes"}`},
		{"x", "Switch.Set", `[true]`},
		{"x", "Shelly.Reboot", ``},
		{"x", "Sys.SetConfig", `{"config":{}}`},
		{"x", "Cover.GoToPosition", `{"pos":40,"script":"x"}`},
		{"x", "relay", `"blink"`},
		{"x", "relay", `{"turn":"on","pos":3}`},
		{"x", "relay", `{"channel":-1,"turn":"on"}`},
		{"x", "roller", `{"pos":101}`},
		{"x", "roller", `{"pos":50,"go":"open"}`},
		{"x", "announce", `"now"`},
		{"a/b", "relay", `"on"`},
		{"x", "update_fw", ``},
	} {
		_, err := s.Command("shellies", c.device, c.name, []byte(c.args))
		require.True(t, errors.Is(err, devices.ErrInvalidCommand), "%s %s: %v", c.name, c.args, err)
	}
}

func fmtSscanID(payload string, id *int) (int, error) {
	return fmt.Sscanf(payload, `{"id":%d,`, id)
}

func sprintfID(format string, id int) string { return fmt.Sprintf(format, id) }
