package devices_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestCheckDeviceID(t *testing.T) {
	for _, id := range []string{
		"plug", "kitchen/floor_light", "shellyplus1pm-a8032ab12345", "Living Room", "0x00158d0001a2b3c4",
		"acme@ttn/eui-70b3d57ed005d1b4", "grp/edge/dev", "Küche", "50%", "50%25 off", "20% 30%", "a.b", "..a", "x$y",
		strings.Repeat("a", devices.MaxDeviceIDLen),
	} {
		require.NoError(t, devices.CheckDeviceID(id), "%q", id)
	}
	cases := map[string]string{
		"":                                  devices.ReasonDeviceIDEmptyLevel,
		"a//b":                              devices.ReasonDeviceIDEmptyLevel,
		"/a":                                devices.ReasonDeviceIDEmptyLevel,
		"a/":                                devices.ReasonDeviceIDEmptyLevel,
		".":                                 devices.ReasonDeviceIDDotLevel,
		"a/../b":                            devices.ReasonDeviceIDDotLevel,
		"a/.":                               devices.ReasonDeviceIDDotLevel,
		"line\nforged=1":                    devices.ReasonDeviceIDControl,
		"bell\a":                            devices.ReasonDeviceIDControl,
		"del\x7f":                           devices.ReasonDeviceIDControl,
		"c1\u0085":                          devices.ReasonDeviceIDControl,
		"sep\u2028":                         devices.ReasonDeviceIDControl,
		"evil\u202egnp.exe":                 devices.ReasonDeviceIDControl,
		"iso\u2066x\u2069":                  devices.ReasonDeviceIDControl,
		"%topic%":                           devices.ReasonDeviceIDPlaceholder,
		"kitchen_%hostname%":                devices.ReasonDeviceIDPlaceholder,
		"tasmota_%06X":                      devices.ReasonDeviceIDPlaceholder,
		"node-${name}":                      devices.ReasonDeviceIDPlaceholder,
		"{{ device }}":                      devices.ReasonDeviceIDPlaceholder,
		strings.Repeat("a", 257):            devices.ReasonDeviceIDTooLong,
		"\xff":                              devices.ReasonInvalidUTF8,
		strings.Repeat("ab/", 100) + "last": devices.ReasonDeviceIDTooLong,
	}
	for id, want := range cases {
		err := devices.CheckDeviceID(id)
		var de *devices.DecodeError
		require.True(t, errors.As(err, &de), "%q: %v", id, err)
		require.Equal(t, want, de.Reason, "%q", id)
		// The message quotes the id: no raw control character reaches a log line.
		require.NotContains(t, err.Error(), "\n", "%q", id)
		require.NotContains(t, err.Error(), "\u202e", "%q", id)
	}
}

// TestDecodeChecksEveryFamily decodes, for every family, a message whose
// topic names a device with a bad id, through devices.Decode (the bridge's
// one entry point): each is refused with its reason, whatever the family.
func TestDecodeChecksEveryFamily(t *testing.T) {
	cases := []struct {
		h            devices.Handler
		base, topic  string
		payload      string
		reason       string
		goodTopicFor string // the same message with a good id decodes
	}{
		{devices.Tasmota{}, "", "tele/%topic%/LWT", "Online", devices.ReasonDeviceIDPlaceholder, "tele/plug/LWT"},
		{devices.Tasmota{}, "", "tele/a/../b/LWT", "Online", devices.ReasonDeviceIDDotLevel, "tele/a/b/LWT"},
		{devices.Zigbee2MQTT{}, "zigbee2mqtt", "zigbee2mqtt/lamp\u202e/availability", "online", devices.ReasonDeviceIDControl, "zigbee2mqtt/lamp/availability"},
		{devices.ESPHome{}, "esphome", "esphome/node\x1b[31m/status", "online", devices.ReasonDeviceIDControl, "esphome/node/status"},
		{devices.Shelly{}, "shellies", "shellies/a//b/online", "true", devices.ReasonDeviceIDEmptyLevel, "shellies/a/b/online"},
		{devices.OwnTracks{}, "owntracks", "owntracks/%user%/phone", `{"_type":"location","lat":1,"lon":2,"tst":1700000000}`, devices.ReasonDeviceIDPlaceholder, "owntracks/user/phone"},
		{devices.Shelly{}, "shellies", "shellies/" + strings.Repeat("x/", 130) + "online", "true", devices.ReasonDeviceIDTooLong, "shellies/x/online"},
	}
	for _, c := range cases {
		m := devices.Message{Topic: c.topic, Payload: []byte(c.payload), ReceivedAt: received}
		rs, err := devices.Decode(c.h, c.base, m)
		require.Nil(t, rs, c.topic)
		verdict, reason := devices.Verdict(err)
		require.Equal(t, "rejected", verdict, "%q: %v", c.topic, err)
		require.Equal(t, c.reason, reason, "%q", c.topic)

		m.Topic = c.goodTopicFor
		rs, err = devices.Decode(c.h, c.base, m)
		require.NoError(t, err, c.goodTopicFor)
		require.Len(t, rs, 1, c.goodTopicFor)
	}
}

func FuzzCheckDeviceID(f *testing.F) {
	for _, s := range []string{"plug", "a//b", "..", "%topic%", "tasmota_%06X", "${x}", "{{", "a\nb", "\u202e", "50%25", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := devices.CheckDeviceID(id)
		if err == nil {
			// What passes is bounded, UTF-8 and free of control characters.
			if len(id) > devices.MaxDeviceIDLen || !utf8.ValidString(id) || strings.ContainsAny(id, "\x00\n\r\x1b\u202e") || id == "" {
				t.Fatalf("accepted %q", id)
			}
			return
		}
		var de *devices.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("%q: %T %v", id, err, err)
		}
		switch de.Reason {
		case devices.ReasonDeviceIDEmptyLevel, devices.ReasonDeviceIDDotLevel, devices.ReasonDeviceIDControl,
			devices.ReasonDeviceIDPlaceholder, devices.ReasonDeviceIDTooLong, devices.ReasonInvalidUTF8:
		default:
			t.Fatalf("%q: reason %q outside the fixed set", id, de.Reason)
		}
	})
}
