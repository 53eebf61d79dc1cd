package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// stub is a minimal Handler for registry and router error paths; the real
// families are exercised everywhere else.
type stub struct {
	family, base string
	filters      []string
}

func (s stub) Family() string      { return s.family }
func (s stub) DefaultBase() string { return s.base }
func (s stub) Filters(base string) []string {
	out := make([]string, len(s.filters))
	for i, f := range s.filters {
		out[i] = devices.JoinBase(base, f)
	}
	return out
}
func (s stub) Decode(string, devices.Message) ([]devices.Reading, error) { return nil, nil }

func TestValidFamily(t *testing.T) {
	for _, id := range []string{"a", "zigbee2mqtt", "tasmota", "my_family_2", "0"} {
		require.NoError(t, devices.ValidFamily(id), id)
	}
	for _, id := range []string{"", "Zigbee", "a-b", "a.b", "a b", "ü", string(make([]byte, 65))} {
		require.Error(t, devices.ValidFamily(id), "%q", id)
	}
	long := "a123456789012345678901234567890123456789012345678901234567890123" // 64 bytes
	require.NoError(t, devices.ValidFamily(long))
	require.Error(t, devices.ValidFamily(long+"x"))
}

func TestBuiltinRegistry(t *testing.T) {
	r, err := devices.NewRegistry(devices.Builtin()...)
	require.NoError(t, err)
	require.Equal(t, []string{"esphome", "homeassistant", "homie", "owntracks", "shelly", "tasmota", "ttn", "zigbee2mqtt"}, r.Families())
	h, ok := r.Handler("zigbee2mqtt")
	require.True(t, ok)
	require.Equal(t, "zigbee2mqtt", h.Family())
	_, ok = r.Handler("nope")
	require.False(t, ok)

	for topic, family := range map[string]string{
		"zigbee2mqtt/kitchen/lamp":              "zigbee2mqtt",
		"zigbee2mqtt/kitchen/lamp/availability": "zigbee2mqtt",
		"tele/plug1/SENSOR":                     "tasmota",
		"stat/plug1/POWER2":                     "tasmota",
	} {
		h, ok := r.Lookup(topic)
		require.True(t, ok, topic)
		require.Equal(t, family, h.Family(), topic)
	}
	for _, topic := range []string{"cmnd/plug1/POWER", "other/x", "$SYS/broker/uptime", ""} {
		_, ok := r.Lookup(topic)
		require.False(t, ok, topic)
	}
	var want []string
	for _, h := range devices.Builtin() {
		want = append(want, h.Filters(h.DefaultBase())...)
	}
	require.ElementsMatch(t, want, r.Filters())
	require.Subset(t, r.Filters(), []string{"zigbee2mqtt/#", "tele/#", "stat/#"})

	// Families is a copy.
	fs := r.Families()
	fs[0] = "mutated"
	require.Equal(t, []string{"esphome", "homeassistant", "homie", "owntracks", "shelly", "tasmota", "ttn", "zigbee2mqtt"}, r.Families())
}

func TestNewRegistryErrors(t *testing.T) {
	cases := map[string][]devices.Handler{
		"nil handler":          {nil},
		"invalid id":           {stub{family: "Bad-Id", filters: []string{"x/#"}}},
		"empty id":             {stub{family: "", filters: []string{"x/#"}}},
		"duplicate id":         {devices.Tasmota{}, devices.Tasmota{}},
		"duplicate id stub":    {stub{family: "a", filters: []string{"a/#"}}, stub{family: "a", filters: []string{"b/#"}}},
		"malformed filter":     {stub{family: "a", filters: []string{"a/#/b"}}},
		"no filters":           {stub{family: "a"}},
		"bad default base":     {stub{family: "a", base: "x/+", filters: []string{"#"}}},
		"overlapping":          {devices.Zigbee2MQTT{}, stub{family: "other", base: "zigbee2mqtt", filters: []string{"+/state"}}},
		"overlap with tasmota": {devices.Tasmota{}, stub{family: "t2", filters: []string{"tele/#"}}},
	}
	for name, hs := range cases {
		_, err := devices.NewRegistry(hs...)
		require.Error(t, err, name)
	}
	_, err := devices.NewRegistry(devices.Zigbee2MQTT{}, stub{family: "other", base: "zigbee2mqtt", filters: []string{"+/state"}})
	require.ErrorContains(t, err, "zigbee2mqtt")
	require.ErrorContains(t, err, "other")
}

func TestEmptyRegistry(t *testing.T) {
	r, err := devices.NewRegistry()
	require.NoError(t, err)
	require.Empty(t, r.Families())
	_, ok := r.Lookup("a/b")
	require.False(t, ok)
}
