package devices_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestRouterTenants(t *testing.T) {
	plant, err := devices.NewJSON(devices.JSONConfig{Name: "plant_sensors", Pattern: "sensors/{device}/state",
		Availability: &devices.JSONAvailability{Pattern: "sensors/{device}/status"}})
	require.NoError(t, err)
	r, err := devices.NewRouter(
		devices.Mount{Tenant: "acme", Base: "acme/zigbee2mqtt", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "globex", Base: "globex/zigbee2mqtt", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "acme", Base: "", Handler: devices.Tasmota{}},
		devices.Mount{Tenant: "acme", Base: "plant1", Handler: plant},
		devices.Mount{Tenant: "initech", Base: "$share-less/z", Handler: devices.Zigbee2MQTT{}},
	)
	require.NoError(t, err)
	cases := []struct {
		topic, tenant, family string
	}{
		{"acme/zigbee2mqtt/kitchen/lamp", "acme", "zigbee2mqtt"},
		{"acme/zigbee2mqtt", "acme", "zigbee2mqtt"}, // "x/#" matches "x"; the handler rejects it
		{"globex/zigbee2mqtt/kitchen/lamp/availability", "globex", "zigbee2mqtt"},
		{"tele/plug/STATE", "acme", "tasmota"},
		{"stat/plug/RESULT", "acme", "tasmota"},
		{"tele/kitchen/plug/STATE", "acme", "tasmota"}, // a %topic% with '/'
		{"tele/plug", "acme", "tasmota"},               // "tele/#" matches it; the handler rejects it
		{"plant1/sensors/p7/state", "acme", "plant_sensors"},
		{"plant1/sensors/p7/status", "acme", "plant_sensors"},
		{"$share-less/z/dev", "initech", "zigbee2mqtt"},
	}
	for _, c := range cases {
		m, ok := r.Lookup(c.topic)
		require.True(t, ok, c.topic)
		require.Equal(t, c.tenant, m.Tenant, c.topic)
		require.Equal(t, c.family, m.Handler.Family(), c.topic)
	}
	for _, topic := range []string{"", "zigbee2mqtt/x", "cmnd/plug/POWER", "plant1/sensors/p7", "plant1/sensors/p7/state/x", "other"} {
		_, ok := r.Lookup(topic)
		require.False(t, ok, topic)
	}
	require.Equal(t, []string{
		"acme/zigbee2mqtt/#", "globex/zigbee2mqtt/#", "tele/#", "stat/#",
		"plant1/sensors/+/state", "plant1/sensors/+/status", "$share-less/z/#",
	}, r.Filters())
	require.Len(t, r.Mounts(), 5)
}

func TestRouterRejectsOverlap(t *testing.T) {
	_, err := devices.NewRouter(
		devices.Mount{Tenant: "acme", Base: "shared", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "globex", Base: "shared/sub", Handler: devices.Zigbee2MQTT{}},
	)
	require.Error(t, err)
	require.ErrorContains(t, err, `tenant "acme"`)
	require.ErrorContains(t, err, `tenant "globex"`)

	// The same source twice is also an overlap: a message would have two owners.
	_, err = devices.NewRouter(
		devices.Mount{Tenant: "acme", Handler: devices.Tasmota{}},
		devices.Mount{Tenant: "acme", Handler: devices.Tasmota{}},
	)
	require.Error(t, err)

	// An empty base for Zigbee2MQTT claims everything but '$' topics.
	_, err = devices.NewRouter(
		devices.Mount{Tenant: "a", Base: "", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "b", Base: "", Handler: devices.Tasmota{}},
	)
	require.Error(t, err)
}

func TestRouterErrors(t *testing.T) {
	for name, m := range map[string]devices.Mount{
		"nil handler":    {Tenant: "a"},
		"bad base":       {Tenant: "a", Base: "x/#", Handler: devices.Tasmota{}},
		"trailing slash": {Tenant: "a", Base: "x/", Handler: devices.Tasmota{}},
		"bad family":     {Tenant: "a", Handler: stub{family: "A", filters: []string{"x"}}},
		"bad filter":     {Tenant: "a", Handler: stub{family: "a", filters: []string{"x/#/y"}}},
	} {
		_, err := devices.NewRouter(m)
		require.Error(t, err, name)
	}
}

// TestRouterLookupAgreesWithMatch checks the trie against Match on many
// non-overlapping filters.
func TestRouterLookupAgreesWithMatch(t *testing.T) {
	var mounts []devices.Mount
	for i := 0; i < 20; i++ {
		mounts = append(mounts, devices.Mount{Tenant: fmt.Sprint("t", i), Base: fmt.Sprintf("site%d/z", i), Handler: devices.Zigbee2MQTT{}})
		mounts = append(mounts, devices.Mount{Tenant: fmt.Sprint("t", i), Base: fmt.Sprintf("site%d/t", i), Handler: devices.Tasmota{}})
	}
	r, err := devices.NewRouter(mounts...)
	require.NoError(t, err)
	topics := []string{"site3/z/dev", "site3/z", "site3/t/tele/x/SENSOR", "site3/t/tele/x", "site19/t/stat/a/POWER", "site20/z/a", "site1/x/y", "$SYS/x"}
	for _, topic := range topics {
		want := -1
		for i, m := range mounts {
			for _, f := range m.Handler.Filters(m.Base) {
				if devices.Match(f, topic) {
					want = i
				}
			}
		}
		got, ok := r.Lookup(topic)
		require.Equal(t, want >= 0, ok, topic)
		if ok {
			require.Equal(t, mounts[want].Tenant, got.Tenant, topic)
			require.Equal(t, mounts[want].Base, got.Base, topic)
		}
	}
}

func TestRouterLookupDoesNotAllocate(t *testing.T) {
	r, err := devices.NewRouter(
		devices.Mount{Tenant: "acme", Base: "acme/zigbee2mqtt", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "acme", Handler: devices.Tasmota{}},
	)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := r.Lookup("tele/plug_42/SENSOR"); !ok {
			t.Fatal("no match")
		}
	})
	require.Zero(t, allocs)
}

func TestRouterLookupIndex(t *testing.T) {
	r, err := devices.NewRouter(
		devices.Mount{Tenant: "a", Base: "a/z2m", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "b", Base: "b/z2m", Handler: devices.Zigbee2MQTT{}},
	)
	require.NoError(t, err)
	i, ok := r.LookupIndex("b/z2m/lamp")
	require.True(t, ok)
	require.Equal(t, 1, i)
	m, ok := r.Lookup("b/z2m/lamp")
	require.True(t, ok)
	require.Equal(t, "b", m.Tenant)
	_, ok = r.LookupIndex("c/z2m/lamp")
	require.False(t, ok)
}

// TestRouterDevices: sources whose devices own a root prefix (ESPHome's
// topic_prefix defaults to the node name, Shelly Gen2's to the device id)
// list them, and sit beside other families at the root without overlap.
func TestRouterDevices(t *testing.T) {
	r, err := devices.NewRouter(
		devices.Mount{Tenant: "acme", Base: "zigbee2mqtt", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "acme", Base: "", Handler: devices.Tasmota{}},
		devices.Mount{Tenant: "acme", Base: "", Handler: devices.ESPHome{}, Devices: []string{"c3-debug", "esp32-dht22"}},
		devices.Mount{Tenant: "globex", Base: "", Handler: devices.Shelly{}, Devices: []string{"shellyplus1pm-a8032ab12345"}},
		devices.Mount{Tenant: "globex", Base: "site", Handler: devices.ESPHome{}, Devices: []string{"garden"}},
	)
	require.NoError(t, err)
	require.Equal(t, []string{"zigbee2mqtt/#", "tele/#", "stat/#", "c3-debug/#", "esp32-dht22/#",
		"shellyplus1pm-a8032ab12345/#", "site/garden/#"}, r.Filters())
	for topic, want := range map[string]string{
		"c3-debug/sensor/temperature/state":          "acme esphome",
		"esp32-dht22/status":                         "acme esphome",
		"shellyplus1pm-a8032ab12345/status/switch:0": "globex shelly",
		"shellyplus1pm-a8032ab12345/events/rpc":      "globex shelly",
		"site/garden/binary_sensor/motion/state":     "globex esphome",
		"zigbee2mqtt/c3-debug":                       "acme zigbee2mqtt",
		"tele/c3-debug/STATE":                        "acme tasmota",
	} {
		m, ok := r.Lookup(topic)
		require.True(t, ok, topic)
		require.Equal(t, want, m.Tenant+" "+m.Handler.Family(), topic)
	}
	for _, topic := range []string{"other-node/status", "c3-debugx/status", "garden/status"} {
		_, ok := r.Lookup(topic)
		require.False(t, ok, topic)
	}

	// What a listed node publishes besides its state is ignored, not
	// rejected: the logger, command echoes, components not decoded.
	e := devices.ESPHome{}
	for _, topic := range []string{"c3-debug/debug", "c3-debug/switch/relay/command", "c3-debug/light/l/brightness/command",
		"c3-debug/text_sensor/version/state", "c3-debug/climate/ac/mode/state"} {
		v, _ := decodeErr(t, e, "", topic, "x")
		require.Equal(t, "ignored", v, topic)
	}
	s := devices.Shelly{}
	for _, topic := range []string{"shellyplus1pm-a8032ab12345/rpc", "shellyplus1pm-a8032ab12345/command/switch:0", "shellyplus1pm-a8032ab12345/debug/log"} {
		v, _ := decodeErr(t, s, "", topic, "x")
		require.Equal(t, "ignored", v, topic)
	}
}

// TestRouterTasmotaDevices: with %topic% first in its FullTopic, a Tasmota
// device owns a root prefix too, and a source lists them (its filter would
// otherwise be "#").
func TestRouterTasmotaDevices(t *testing.T) {
	ta, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: "%topic%/%prefix%/"})
	require.NoError(t, err)
	require.Equal(t, []string{"#"}, ta.Filters(""))
	r, err := devices.NewRouter(
		devices.Mount{Tenant: "acme", Base: "zigbee2mqtt", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "acme", Handler: ta, Devices: []string{"kitchen/plug", "tasmota_3D5E26"}})
	require.NoError(t, err)
	require.Equal(t, []string{"zigbee2mqtt/#", "kitchen/plug/#", "tasmota_3D5E26/#"}, r.Filters())
	m, ok := r.Lookup("kitchen/plug/tele/STATE")
	require.True(t, ok)
	rd := decodeOne(t, m.Handler, m.Base, "kitchen/plug/tele/STATE", `{"POWER":"ON"}`)
	require.Equal(t, "kitchen/plug", rd.Device)
	require.Equal(t, map[string]any{"state": true}, rd.Metrics)

	_, err = devices.NewRouter(devices.Mount{Handler: devices.Tasmota{}, Devices: []string{"plug"}})
	require.ErrorContains(t, err, "devices need a full_topic that starts with %topic%")
}

func TestRouterDevicesRefused(t *testing.T) {
	for name, c := range map[string]struct {
		mounts []devices.Mount
		msg    string
	}{
		"family without root devices": {[]devices.Mount{{Handler: devices.Zigbee2MQTT{}, Base: "", Devices: []string{"lamp"}}}, "does not take devices"},
		"wildcard":                    {[]devices.Mount{{Handler: devices.ESPHome{}, Devices: []string{"node/+"}}}, "wildcards"},
		"hash":                        {[]devices.Mount{{Handler: devices.ESPHome{}, Devices: []string{"#"}}}, "wildcards"},
		"empty":                       {[]devices.Mount{{Handler: devices.ESPHome{}, Devices: []string{""}}}, "empty"},
		"empty level":                 {[]devices.Mount{{Handler: devices.ESPHome{}, Devices: []string{"a//b"}}}, "empty topic level"},
		"dot level":                   {[]devices.Mount{{Handler: devices.Shelly{}, Devices: []string{"a/.."}}}, `".." level`},
		"placeholder":                 {[]devices.Mount{{Handler: devices.ESPHome{}, Devices: []string{"%topic%"}}}, "placeholder"},
		"dollar":                      {[]devices.Mount{{Handler: devices.ESPHome{}, Devices: []string{"$SYS"}}}, "'$'"},
		"esphome node with levels":    {[]devices.Mount{{Handler: devices.ESPHome{}, Devices: []string{"home/kitchen-node"}}}, `set base "home" and list "kitchen-node"`},
		"shelly id below shellies":    {[]devices.Mount{{Handler: devices.Shelly{}, Devices: []string{"shellies/plug"}}}, `use base "shellies"`},
		"twice":                       {[]devices.Mount{{Handler: devices.ESPHome{}, Devices: []string{"a", "a"}}}, "twice"},
		"overlap with another source": {[]devices.Mount{
			{Tenant: "a", Handler: devices.Zigbee2MQTT{}, Base: "zigbee2mqtt"},
			{Tenant: "b", Handler: devices.ESPHome{}, Devices: []string{"zigbee2mqtt"}}}, "overlaps"},
		"same device in two tenants": {[]devices.Mount{
			{Tenant: "a", Handler: devices.ESPHome{}, Devices: []string{"node"}},
			{Tenant: "b", Handler: devices.Shelly{}, Devices: []string{"node"}}}, "overlaps"},
	} {
		_, err := devices.NewRouter(c.mounts...)
		require.Error(t, err, name)
		require.ErrorContains(t, err, c.msg, name)
	}
}
