package state

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// TestHoldSource: holding a source (its coordinator offline) marks its
// devices stale once, all but the coordinator and other sources' devices;
// a device heard meanwhile stays stale; releasing makes them fresh again
// once, except one silent past its stale interval, which stays stale.
func TestHoldSource(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	z2m := Meta{SourceKey: SourceKey("zigbee2mqtt", "zigbee2mqtt"), StaleAfter: time.Hour}
	other := Meta{SourceKey: SourceKey("tasmota", ""), StaleAfter: time.Hour}
	now := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "bridge", TS: now, Online: boolPtr(true)}, z2m)
	apply(t, m, "acme", devices.Reading{Device: "lamp", TS: now}, z2m)
	apply(t, m, "acme", devices.Reading{Device: "sensor", TS: now}, Meta{SourceKey: z2m.SourceKey, StaleAfter: time.Minute})
	apply(t, m, "acme", devices.Reading{Device: "plug", TS: now}, other)
	apply(t, m, "globex", devices.Reading{Device: "lamp", TS: now}, z2m)
	devs := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	staleOf := func(tenant string) map[string]bool {
		out := map[string]bool{}
		rs, err := m.Snapshot(context.Background(), tenant, devs)
		require.NoError(t, err)
		for _, r := range rs {
			out[r.Device] = r.Stale
		}
		return out
	}
	changed := func(rs []devices.Reading) map[string]bool {
		out := map[string]bool{}
		for _, r := range rs {
			out[r.Device] = r.Stale
		}
		return out
	}

	rs, err := m.HoldSource(context.Background(), "acme", z2m.SourceKey, "bridge", true)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"lamp": true, "sensor": true}, changed(rs))
	require.Equal(t, map[string]bool{"bridge": false, "lamp": true, "sensor": true, "plug": false}, staleOf("acme"))
	require.Equal(t, map[string]bool{"lamp": false}, staleOf("globex"), "another tenant is untouched")
	rs, _ = m.HoldSource(context.Background(), "acme", z2m.SourceKey, "bridge", true)
	require.Empty(t, rs, "a repeated offline changes nothing")
	m.Do("acme", func(tn *Tenant) { require.Empty(t, tn.SweepStale(), "held devices were announced already") })

	// Heard while held: merged, still stale; a new device of the source too.
	r := devices.Reading{Device: "lamp", TS: clk.Now(), Metrics: map[string]any{"brightness": 10.0}}
	m.Do("acme", func(tn *Tenant) { _, err = tn.Apply(&r, z2m) })
	require.NoError(t, err)
	require.True(t, r.Stale, "the Reading published for it says stale")
	apply(t, m, "acme", devices.Reading{Device: "new", TS: clk.Now()}, z2m)
	require.True(t, staleOf("acme")["new"])

	// sensor falls silent past its interval meanwhile: it stays stale.
	clk.Advance(2 * time.Minute)
	rs, err = m.HoldSource(context.Background(), "acme", z2m.SourceKey, "bridge", false)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"lamp": false, "new": false}, changed(rs))
	require.Equal(t, map[string]bool{"bridge": false, "lamp": false, "sensor": true, "new": false, "plug": false}, staleOf("acme"))
	m.Do("acme", func(tn *Tenant) { require.Empty(t, tn.SweepStale(), "sensor's staleness was announced once") })
	rs, _ = m.HoldSource(context.Background(), "acme", z2m.SourceKey, "bridge", false)
	require.Empty(t, rs)
}
