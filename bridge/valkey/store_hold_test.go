package valkey_test

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/valkey"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// TestStoreHoldSource runs a coordinator's offline and online
// (state.SourceHolder, Zigbee2MQTT's bridge/state) on both stores: the
// same devices change, snapshots agree, a device heard while held is
// published stale, sweeps do not announce a held device twice, and a
// device silent past its interval stays stale after the release.
func TestStoreHoldSource(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	clock := newStoreTestClock()
	vk := valkey.NewStore(c, "", valkey.StoreOptions{Now: clock.Now})
	mem := state.NewMemory(state.Config{Now: clock.Now})
	stores := []state.Store{mem, vk}
	z2m := state.Meta{SourceKey: state.SourceKey("zigbee2mqtt", "zigbee2mqtt"), StaleAfter: time.Hour}
	apply := func(tenant, id string, meta state.Meta) []bool {
		var stale []bool
		for _, s := range stores {
			r := devices.Reading{Device: id, Family: "f", TS: clock.Now(), ReceivedAt: clock.Now()}
			require.NoError(t, s.Apply(ctx, tenant, &r, meta))
			stale = append(stale, r.Stale)
		}
		return stale
	}
	hold := func(tenant string, on bool) map[string]bool {
		var got []map[string]bool
		for _, s := range stores {
			rs, err := s.(state.SourceHolder).HoldSource(ctx, tenant, z2m.SourceKey, "bridge", on)
			require.NoError(t, err)
			m := map[string]bool{}
			for _, r := range rs {
				m[r.Device] = r.Stale
				require.Equal(t, clock.Now(), r.ReceivedAt)
			}
			got = append(got, m)
		}
		require.Equal(t, got[0], got[1], "memory and valkey announce the same changes")
		return got[1]
	}
	snapshot := func(tenant string) map[string]bool {
		var got []map[string]bool
		for _, s := range stores {
			rs, err := s.Snapshot(ctx, tenant, wire.Channel{Name: "devices", Kind: wire.KindDevices})
			require.NoError(t, err)
			m := map[string]bool{}
			for _, r := range rs {
				m[r.Device] = r.Stale
			}
			got = append(got, m)
		}
		require.Equal(t, got[0], got[1])
		return got[1]
	}
	sweep := func() []string {
		var got [][]string
		for _, s := range stores {
			rs, err := s.SweepStale(ctx)
			require.NoError(t, err)
			names := []string{}
			for _, r := range rs {
				names = append(names, r.Tenant+"/"+r.Reading.Device)
			}
			sort.Strings(names)
			got = append(got, names)
		}
		require.Equal(t, got[0], got[1])
		return got[1]
	}

	apply("acme", "bridge", z2m)
	apply("acme", "lamp", z2m)
	apply("acme", "sensor", state.Meta{SourceKey: z2m.SourceKey, StaleAfter: time.Minute})
	apply("acme", "plug", state.Meta{SourceKey: state.SourceKey("tasmota", ""), StaleAfter: time.Hour})
	apply("globex", "lamp", z2m)

	require.Equal(t, map[string]bool{"lamp": true, "sensor": true}, hold("acme", true))
	require.Empty(t, hold("acme", true), "a repeated offline changes nothing")
	require.Equal(t, map[string]bool{"bridge": false, "lamp": true, "sensor": true, "plug": false}, snapshot("acme"))
	require.Equal(t, map[string]bool{"lamp": false}, snapshot("globex"))
	require.Equal(t, []bool{true, true}, apply("acme", "lamp", z2m), "heard while held: published stale")
	require.Equal(t, []bool{true, true}, apply("acme", "new", z2m))
	require.Equal(t, []bool{false, false}, apply("acme", "bridge", z2m), "the coordinator itself is not held")

	clock.Add(2 * time.Minute) // sensor is now silent past its interval
	require.Empty(t, sweep(), "held devices were announced already")
	require.Equal(t, map[string]bool{"lamp": false, "new": false}, hold("acme", false))
	require.Equal(t, map[string]bool{"bridge": false, "lamp": false, "sensor": true, "new": false, "plug": false}, snapshot("acme"))
	require.Empty(t, sweep(), "sensor's staleness was announced once")
	require.Empty(t, hold("acme", false))

	// Released devices are swept again by their own silence.
	clock.Add(2 * time.Hour)
	require.Equal(t, []string{"acme/bridge", "acme/lamp", "acme/new", "acme/plug", "globex/lamp"}, sweep())
}
