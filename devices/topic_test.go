package devices_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestValidFilter(t *testing.T) {
	valid := []string{"#", "+", "a", "a/b", "a/+", "a/#", "+/+", "+/#", "/", "//", "/a", "a/", "a//b", "$SYS/#", "sport/tennis/+/score", "ümlaut/ⓜ"}
	for _, f := range valid {
		require.NoError(t, devices.ValidFilter(f), f)
	}
	invalid := []string{"", "a#", "#/a", "a/#/b", "a/b#", "a+", "+a", "a/+b/c", "a\x00b", "\xff", strings.Repeat("a", 65536)}
	for _, f := range invalid {
		require.Error(t, devices.ValidFilter(f), "%q", f)
	}
}

func TestValidTopic(t *testing.T) {
	for _, topic := range []string{"a", "a/b", "/", "a//b", "$SYS/broker/load"} {
		require.NoError(t, devices.ValidTopic(topic), topic)
	}
	for _, topic := range []string{"", "a/+", "#", "a/#", "a+b", "x\x00", "\xc3\x28"} {
		require.Error(t, devices.ValidTopic(topic), "%q", topic)
	}
}

func TestValidBase(t *testing.T) {
	for _, b := range []string{"", "zigbee2mqtt", "acme/zigbee2mqtt", "$share-free/x"} {
		require.NoError(t, devices.ValidBase(b), b)
	}
	for _, b := range []string{"a/", "a/+", "#", "a\x00"} {
		require.Error(t, devices.ValidBase(b), "%q", b)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		filter, topic string
		want          bool
	}{
		// MQTT 3.1.1 §4.7.1.2 and §4.7.1.3 non-normative examples.
		{"sport/tennis/player1/#", "sport/tennis/player1", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
		{"sport/#", "sport", true},
		{"sport/tennis/+", "sport/tennis/player1", true},
		{"sport/tennis/+", "sport/tennis/player1/ranking", false},
		{"sport/+", "sport", false},
		{"sport/+", "sport/", true},
		{"+/+", "/finance", true},
		{"/+", "/finance", true},
		{"+", "/finance", false},
		{"#", "a/b/c", true},
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a/+/c", "a//c", true},
		{"a/b", "A/b", false},
		// [MQTT-4.7.2-1]: wildcards at the first level never match '$' topics.
		{"#", "$SYS/broker/load", false},
		{"+/broker/load", "$SYS/broker/load", false},
		{"+/#", "$SYS", false},
		{"$SYS/#", "$SYS/broker/load", true},
		{"$SYS/+/load", "$SYS/broker/load", true},
		{"a/+", "a/$x", true}, // only the first level is special
		// Invalid inputs match nothing.
		{"a/#/b", "a/x/b", false},
		{"a/+", "a/+", false},
		{"", "a", false},
		{"a", "", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, devices.Match(c.filter, c.topic), "Match(%q, %q)", c.filter, c.topic)
	}
}

func TestOverlap(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"zigbee2mqtt/#", "tele/+/+", false},
		{"zigbee2mqtt/#", "zigbee2mqtt/bridge/state", true},
		{"zigbee2mqtt/#", "zigbee2mqtt", true}, // "x/#" matches "x"
		{"acme/zigbee2mqtt/#", "zigbee2mqtt/#", false},
		{"#", "a/b", true},
		{"+/b", "a/+", true},
		{"+/b", "a/c", false},
		{"a/+", "a/+/c", false},
		{"a/+/#", "a/b", true}, // "a/b/#" matches "a/b"
		{"+", "/#", false},     // only through the empty topic
		{"a/+/#", "a/b/c", true},
		{"a/#", "a/+/c", true},
		{"a", "a", true},
		{"a", "b", false},
		{"tele/+/+", "stat/+/+", false},
		{"sensors/+/state", "sensors/+/status", false},
		// [MQTT-4.7.2-1]: a leading wildcard cannot share a '$' topic.
		{"#", "$SYS/#", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/+", true},
		{"#", "#", true},
		// Invalid filters overlap nothing.
		{"a/#/b", "a/x/b", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, devices.Overlap(c.a, c.b), "Overlap(%q, %q)", c.a, c.b)
		require.Equal(t, c.want, devices.Overlap(c.b, c.a), "Overlap(%q, %q)", c.b, c.a)
	}
}

// TestOverlapAgreesWithMatch checks Overlap against brute force: two
// filters overlap exactly when some topic of a small universe matches both.
func TestOverlapAgreesWithMatch(t *testing.T) {
	filters := []string{"#", "+", "a", "b", "$s", "a/#", "+/#", "+/+", "a/+", "+/b", "a/b", "$s/#", "$s/+", "a/b/#", "+/+/+", "a//b", "/#", "/+", "a/"}
	levels := []string{"a", "b", "$s", "", "c"}
	var topics []string
	for _, l1 := range levels {
		topics = append(topics, l1)
		for _, l2 := range levels {
			topics = append(topics, l1+"/"+l2)
			for _, l3 := range levels {
				topics = append(topics, l1+"/"+l2+"/"+l3)
			}
		}
	}
	for _, a := range filters {
		for _, b := range filters {
			brute := false
			for _, topic := range topics {
				if devices.Match(a, topic) && devices.Match(b, topic) {
					brute = true
					break
				}
			}
			require.Equal(t, brute, devices.Overlap(a, b), "Overlap(%q, %q)", a, b)
		}
	}
}

func TestTrimBase(t *testing.T) {
	cases := []struct {
		base, topic, rest string
		ok                bool
	}{
		{"", "tele/x/STATE", "tele/x/STATE", true},
		{"a/b", "a/b/c/d", "c/d", true},
		{"a/b", "a/b/", "", true},
		{"a/b", "a/b", "", false},
		{"a/b", "a/bc/d", "", false},
		{"a/b", "x/a/b/c", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		rest, ok := devices.TrimBase(c.base, c.topic)
		require.Equal(t, c.ok, ok, "TrimBase(%q, %q)", c.base, c.topic)
		require.Equal(t, c.rest, rest, "TrimBase(%q, %q)", c.base, c.topic)
	}
	require.Equal(t, "tele/+/+", devices.JoinBase("", "tele/+/+"))
	require.Equal(t, "home/tele/+/+", devices.JoinBase("home", "tele/+/+"))
}
