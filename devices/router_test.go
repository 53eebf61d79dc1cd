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
	for _, topic := range []string{"", "zigbee2mqtt/x", "tele/plug", "tele/plug/STATE/x", "plant1/sensors/p7", "plant1/sensors/p7/state/x", "other"} {
		_, ok := r.Lookup(topic)
		require.False(t, ok, topic)
	}
	require.Equal(t, []string{
		"acme/zigbee2mqtt/#", "globex/zigbee2mqtt/#", "tele/+/+", "stat/+/+",
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
