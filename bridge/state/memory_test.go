package state

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

func boolPtr(b bool) *bool { return &b }

func newTestMemory(clk *fakeClock, mutate ...func(*Config)) *Memory {
	cfg := Config{Now: clk.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	return NewMemory(cfg)
}

func apply(t *testing.T, m *Memory, tenant string, r devices.Reading, meta Meta) *Device {
	t.Helper()
	var d *Device
	var err error
	m.Do(tenant, func(tn *Tenant) { d, err = tn.Apply(&r, meta) })
	require.NoError(t, err)
	return d
}

func merged(m *Memory, tenant, id string) devices.Reading {
	var r devices.Reading
	m.Do(tenant, func(tn *Tenant) {
		if d, ok := tn.Device(id); ok {
			r = d.snapshot(tn.cfg.Now())
		}
	})
	return r
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.defaults()
	require.Equal(t, 1000, c.HistorySize)
	require.Equal(t, 100, c.DeviceHistorySize)
	require.Equal(t, 10*time.Minute, c.HistoryTTL)
	require.Equal(t, 100000, c.MaxDevices)
	require.NotNil(t, c.Now)
	small := Config{HistorySize: 10}
	small.defaults()
	require.Equal(t, 10, small.DeviceHistorySize, "a device channel never keeps more than any channel")
}

func TestApplyMergesMetricsLatestWins(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	t0 := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "th", Family: "z2m", TS: t0, ReceivedAt: t0,
		Metrics: map[string]any{"temperature": 21.5, "humidity": 48.0}, Attrs: map[string]string{"model": "A"}}, Meta{})
	apply(t, m, "acme", devices.Reading{Device: "th", Family: "z2m", TS: t0.Add(time.Second), ReceivedAt: t0.Add(time.Second),
		Metrics: map[string]any{"temperature": 22.0, "battery": 97.0}, Attrs: map[string]string{"fw": "1.2"}}, Meta{})
	r := merged(m, "acme", "th")
	require.Equal(t, map[string]any{"temperature": 22.0, "humidity": 48.0, "battery": 97.0}, r.Metrics)
	require.Equal(t, map[string]string{"model": "A", "fw": "1.2"}, r.Attrs)
	require.Equal(t, t0.Add(time.Second), r.TS)
	require.Equal(t, "z2m", r.Family)

	// Same device time: the later message still wins (ties are not older).
	apply(t, m, "acme", devices.Reading{Device: "th", TS: t0.Add(time.Second), Metrics: map[string]any{"temperature": 23.0}}, Meta{})
	require.Equal(t, 23.0, merged(m, "acme", "th").Metrics["temperature"])
}

func TestApplyOlderReadingNeverMovesBack(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	t0 := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "th", TS: t0, ReceivedAt: t0,
		Metrics: map[string]any{"temperature": 21.5}, Attrs: map[string]string{"model": "A"}}, Meta{})
	late := t0.Add(5 * time.Second)
	clk.Advance(5 * time.Second)
	d := apply(t, m, "acme", devices.Reading{Device: "th", TS: t0.Add(-time.Hour), ReceivedAt: late,
		Metrics: map[string]any{"temperature": 5.0, "humidity": 10.0}, Attrs: map[string]string{"model": "OLD"}}, Meta{})
	r := merged(m, "acme", "th")
	require.Equal(t, map[string]any{"temperature": 21.5}, r.Metrics, "an older Reading leaves metrics alone")
	require.Equal(t, map[string]string{"model": "A"}, r.Attrs)
	require.Equal(t, t0, r.TS)
	require.Equal(t, late, r.ReceivedAt, "it was still heard: received_at and last-seen move on")
	require.Equal(t, late, d.LastSeen)
}

func TestApplyOnlineOnlyFromAvailabilityInOrder(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	t0 := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "plug", TS: t0, Metrics: map[string]any{"power": 5.0}}, Meta{})
	require.Nil(t, merged(m, "acme", "plug").Online, "no availability signal yet")

	apply(t, m, "acme", devices.Reading{Device: "plug", TS: t0.Add(2 * time.Second), Online: boolPtr(true)}, Meta{})
	require.Equal(t, boolPtr(true), merged(m, "acme", "plug").Online)

	apply(t, m, "acme", devices.Reading{Device: "plug", TS: t0.Add(3 * time.Second), Metrics: map[string]any{"power": 6.0}}, Meta{})
	require.Equal(t, boolPtr(true), merged(m, "acme", "plug").Online, "a status message says nothing about availability")

	// An old LWT delivered late cannot override the newer birth.
	apply(t, m, "acme", devices.Reading{Device: "plug", TS: t0.Add(time.Second), Online: boolPtr(false)}, Meta{})
	require.Equal(t, boolPtr(true), merged(m, "acme", "plug").Online)

	apply(t, m, "acme", devices.Reading{Device: "plug", TS: t0.Add(4 * time.Second), Online: boolPtr(false)}, Meta{})
	require.Equal(t, boolPtr(false), merged(m, "acme", "plug").Online)
	require.Equal(t, 6.0, merged(m, "acme", "plug").Metrics["power"])

	// The merged state does not alias the caller's pointer.
	on := true
	apply(t, m, "acme", devices.Reading{Device: "plug", TS: t0.Add(5 * time.Second), Online: &on}, Meta{})
	on = false
	require.Equal(t, boolPtr(true), merged(m, "acme", "plug").Online)
}

func TestApplyMergesTags(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	t0 := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "th", TS: t0}, Meta{Tags: map[string]string{"site": "hq"}})
	apply(t, m, "acme", devices.Reading{Device: "th", TS: t0.Add(-time.Hour)}, Meta{Tags: map[string]string{"floor": "2"}})
	require.Equal(t, map[string]string{"site": "hq", "floor": "2"}, merged(m, "acme", "th").Tags,
		"tags come from configuration, whatever the device time")
	apply(t, m, "acme", devices.Reading{Device: "th", TS: t0, Tags: map[string]string{"room": "lab"}}, Meta{Tags: map[string]string{"site": "branch"}})
	require.Equal(t, map[string]string{"site": "branch", "floor": "2", "room": "lab"}, merged(m, "acme", "th").Tags,
		"tags the family put on the Reading merge too")
}

func TestApplyRecordsMeta(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	d := apply(t, m, "acme", devices.Reading{Device: "th", TS: clk.Now()}, Meta{Source: 3, StaleAfter: time.Minute})
	require.Equal(t, 3, d.Source)
	require.Equal(t, time.Minute, d.StaleAfter)
	require.Equal(t, clk.Now(), d.LastSeen)
}

func TestApplyMaxDevices(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk, func(c *Config) { c.MaxDevices = 2 })
	apply(t, m, "acme", devices.Reading{Device: "a", TS: clk.Now()}, Meta{})
	apply(t, m, "acme", devices.Reading{Device: "b", TS: clk.Now()}, Meta{})
	m.Do("acme", func(tn *Tenant) {
		d, err := tn.Apply(&devices.Reading{Device: "c", TS: clk.Now()}, Meta{})
		require.ErrorIs(t, err, ErrTooManyDevices)
		require.Nil(t, d)
		require.Equal(t, 2, tn.Len())
		_, ok := tn.Device("c")
		require.False(t, ok)
		// Known devices keep updating.
		_, err = tn.Apply(&devices.Reading{Device: "a", TS: clk.Now(), Metrics: map[string]any{"x": 1.0}}, Meta{})
		require.NoError(t, err)
	})
	// The limit is per tenant.
	apply(t, m, "other", devices.Reading{Device: "c", TS: clk.Now()}, Meta{})
}

func TestAppendOffsetsAndEpochs(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	devs := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	app := wire.Channel{Name: "app:x", Kind: wire.KindApp}
	m.Do("acme", func(tn *Tenant) {
		require.Equal(t, wire.StreamPosition{}, tn.Position(devs), "no epoch before the first publication")
		p1 := tn.Append(devs, []byte(`{"a":1}`), nil)
		p2 := tn.Append(devs, []byte(`{"a":2}`), nil)
		q1 := tn.Append(app, []byte(`"hi"`), nil)
		require.Equal(t, uint64(1), p1.Offset)
		require.Equal(t, uint64(2), p2.Offset)
		require.Equal(t, uint64(1), q1.Offset, "offsets count per channel")
		require.Equal(t, p1.Epoch, p2.Epoch)
		require.NotEqual(t, p1.Epoch, q1.Epoch, "every channel gets its own epoch")
		require.Equal(t, wire.StreamPosition{Epoch: p1.Epoch, Offset: 2}, tn.Position(devs))
		require.Equal(t, clk.Now(), p1.Time)

		var frame struct {
			Method string           `json:"method"`
			Params wire.Publication `json:"params"`
		}
		require.Nil(t, p2.Frame, "no frame until one is needed")
		p2.BuildFrame()
		require.NoError(t, json.Unmarshal(p2.Frame, &frame))
		require.Equal(t, wire.MethodMessage, frame.Method)
		require.Equal(t, p2.Publication.Offset, frame.Params.Offset)
		require.JSONEq(t, `{"a":2}`, string(frame.Params.Data))
	})
	var epochOther string
	m.Do("other", func(tn *Tenant) { epochOther = tn.Append(devs, []byte(`1`), nil).Epoch })
	var epochAcme string
	m.Do("acme", func(tn *Tenant) { epochAcme = tn.Position(devs).Epoch })
	require.NotEqual(t, epochAcme, epochOther, "tenants never share a channel")
	require.ElementsMatch(t, []string{"acme", "other"}, m.Tenants())
	// A new store (a restarted process) never reuses an epoch.
	m2 := newTestMemory(clk)
	m2.Do("acme", func(tn *Tenant) { require.NotEqual(t, epochAcme, tn.Append(devs, []byte(`1`), nil).Epoch) })
}

func TestDeviceChannelsKeepLessHistory(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk, func(c *Config) { c.HistorySize = 8; c.DeviceHistorySize = 3 })
	devs := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	dev := wire.Channel{Name: "device:a", Kind: wire.KindDevice, Arg: "a"}
	m.Do("acme", func(tn *Tenant) {
		for i := 0; i < 10; i++ {
			tn.Append(devs, []byte(`1`), nil)
			tn.Append(dev, []byte(`1`), nil)
		}
		pubs, _, complete := tn.History(devs, nil, time.Time{}, 100)
		require.Len(t, pubs, 8)
		require.False(t, complete)
		pubs, _, _ = tn.History(dev, nil, time.Time{}, 100)
		require.Len(t, pubs, 3)
	})
}

func TestTenantSinceAndHistoryUseTheClock(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk, func(c *Config) { c.HistoryTTL = time.Minute })
	ch := wire.Channel{Name: "app:x", Kind: wire.KindApp}
	var start wire.StreamPosition
	m.Do("acme", func(tn *Tenant) {
		tn.Append(ch, []byte(`0`), nil)
		start = tn.Position(ch)
		tn.Append(ch, []byte(`1`), nil)
		tn.Append(ch, []byte(`2`), nil)
		pubs, ok := tn.Since(ch, start)
		require.True(t, ok)
		require.Equal(t, []uint64{2, 3}, offsets(pubs))
	})
	clk.Advance(30 * time.Second)
	m.Do("acme", func(tn *Tenant) { tn.Append(ch, []byte(`3`), nil) })
	clk.Advance(45 * time.Second)
	m.Do("acme", func(tn *Tenant) {
		_, ok := tn.Since(ch, start)
		require.False(t, ok, "past the TTL the gap is not recoverable")
		pubs, epoch, complete := tn.History(ch, nil, time.Time{}, 10)
		require.Equal(t, []uint64{4}, offsets(pubs))
		require.False(t, complete)
		require.Equal(t, start.Epoch, epoch, "a channel with a live publication keeps its epoch")
	})
	clk.Advance(2 * time.Minute)
	m.Do("acme", func(tn *Tenant) {
		require.Equal(t, wire.StreamPosition{}, tn.Position(ch), "a channel whose history expired whole is gone")
		p := tn.Append(ch, []byte(`4`), nil)
		require.NotEqual(t, start.Epoch, p.Epoch, "published again, it starts a new epoch")
		require.Equal(t, uint64(1), p.Offset)
		_, ok := tn.Since(ch, wire.StreamPosition{Epoch: start.Epoch, Offset: 4})
		require.False(t, ok, "a client resuming the old epoch is not recovered")
	})
}

func TestSnapshotPerChannelKind(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	t0 := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "kitchen th", TS: t0, Metrics: map[string]any{"temperature": 21.0}}, Meta{Tags: map[string]string{"site": "hq", "room name": "a=b"}})
	apply(t, m, "acme", devices.Reading{Device: "plug", TS: t0, Metrics: map[string]any{"power": 5.0}}, Meta{Tags: map[string]string{"site": "branch office"}})
	apply(t, m, "acme", devices.Reading{Device: "lamp", TS: t0}, Meta{})
	apply(t, m, "other", devices.Reading{Device: "foreign", TS: t0}, Meta{Tags: map[string]string{"site": "hq"}})

	snap := func(name, deviceID string) []string {
		ch, err := wire.ParseChannel(name)
		require.NoError(t, err)
		var ids []string
		m.Do("acme", func(tn *Tenant) {
			for _, r := range tn.Snapshot(ch, deviceID) {
				ids = append(ids, r.Device)
			}
		})
		sort.Strings(ids)
		return ids
	}
	require.Equal(t, []string{"kitchen th", "lamp", "plug"}, snap("devices", ""))
	require.Equal(t, []string{"kitchen th"}, snap(wire.DeviceChannel("kitchen th"), "kitchen th"))
	require.Empty(t, snap("device:nobody", "nobody"))
	require.Equal(t, []string{"kitchen th"}, snap(wire.TagChannel("site", "hq"), ""))
	require.Equal(t, []string{"plug"}, snap(wire.TagChannel("site", "branch office"), ""))
	require.Equal(t, []string{"kitchen th"}, snap(wire.TagChannel("room name", "a=b"), ""),
		"tag keys and values are matched in their escaped form, as publishReading names them")
	require.Empty(t, snap(wire.TagChannel("site", "nowhere"), ""))
	require.Empty(t, snap("app:chat", ""))
	require.Empty(t, snap("user:alice", ""))
	require.Empty(t, snap("monitor", ""))
}

// TestSnapshotOutlivesLaterApplies: a snapshot shares the device's maps
// (copy-on-write), so it is taken under the tenant lock in one struct copy
// per device and serialised after it; a later Apply must never show
// through it.
func TestSnapshotOutlivesLaterApplies(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	apply(t, m, "acme", devices.Reading{Device: "a", TS: clk.Now(), Online: boolPtr(true), Metrics: map[string]any{"x": 1.0},
		Attrs: map[string]string{"m": "1"}}, Meta{Tags: map[string]string{"t": "1"}})
	var s []devices.Reading
	m.Do("acme", func(tn *Tenant) {
		s = tn.Snapshot(wire.Channel{Name: "devices", Kind: wire.KindDevices}, "")
	})
	require.Len(t, s, 1)
	clk.Advance(time.Second)
	apply(t, m, "acme", devices.Reading{Device: "a", TS: clk.Now(), Online: boolPtr(false), Metrics: map[string]any{"x": 2.0, "y": 3.0},
		Attrs: map[string]string{"m": "2"}}, Meta{Tags: map[string]string{"t": "2"}})
	require.Equal(t, map[string]any{"x": 1.0}, s[0].Metrics)
	require.Equal(t, map[string]string{"m": "1"}, s[0].Attrs)
	require.Equal(t, map[string]string{"t": "1"}, s[0].Tags)
	require.True(t, *s[0].Online)
	r := merged(m, "acme", "a")
	require.Equal(t, map[string]any{"x": 2.0, "y": 3.0}, r.Metrics)
	require.Equal(t, "2", r.Tags["t"])
}

func TestSnapshotAndSweepStale(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	t0 := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "slow", TS: t0}, Meta{StaleAfter: time.Minute, Tags: map[string]string{"site": "hq"}})
	apply(t, m, "acme", devices.Reading{Device: "never", TS: t0}, Meta{}) // no stale interval
	devs := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	staleOf := func(tn *Tenant) map[string]bool {
		out := map[string]bool{}
		for _, r := range tn.Snapshot(devs, "") {
			out[r.Device] = r.Stale
		}
		return out
	}
	m.Do("acme", func(tn *Tenant) {
		require.Empty(t, tn.SweepStale())
		require.Equal(t, map[string]bool{"slow": false, "never": false}, staleOf(tn))
	})
	clk.Advance(time.Minute)
	m.Do("acme", func(tn *Tenant) {
		require.Empty(t, tn.SweepStale(), "exactly the interval is not yet stale")
	})
	clk.Advance(time.Second)
	m.Do("acme", func(tn *Tenant) {
		require.Equal(t, map[string]bool{"slow": true, "never": false}, staleOf(tn), "the snapshot evaluates stale now")
		out := tn.SweepStale()
		require.Len(t, out, 1)
		require.Equal(t, "slow", out[0].Device)
		require.True(t, out[0].Stale)
		require.Equal(t, clk.Now(), out[0].ReceivedAt)
		require.Equal(t, t0, out[0].TS)
		require.Equal(t, map[string]string{"site": "hq"}, out[0].Tags)
		require.Empty(t, tn.SweepStale(), "a device becomes stale once")
	})
	clk.Advance(time.Hour)
	m.Do("acme", func(tn *Tenant) { require.Empty(t, tn.SweepStale()) })

	// A new message revives it; silence makes it stale again, once.
	apply(t, m, "acme", devices.Reading{Device: "slow", TS: clk.Now()}, Meta{StaleAfter: time.Minute})
	m.Do("acme", func(tn *Tenant) {
		require.False(t, staleOf(tn)["slow"])
		require.Empty(t, tn.SweepStale())
	})
	clk.Advance(2 * time.Minute)
	m.Do("acme", func(tn *Tenant) {
		require.Len(t, tn.SweepStale(), 1)
		require.Empty(t, tn.SweepStale())
	})
}

// TestConcurrentTenants runs many goroutines against several tenants at
// once; run with -race.
func TestConcurrentTenants(t *testing.T) {
	m := NewMemory(Config{HistorySize: 64})
	const tenants, workers, perWorker = 4, 16, 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant := fmt.Sprintf("t%d", w%tenants)
			ch := wire.Channel{Name: "devices", Kind: wire.KindDevices}
			for i := 0; i < perWorker; i++ {
				r := devices.Reading{Device: fmt.Sprintf("d%d", i%10), TS: time.Now(), Metrics: map[string]any{"n": float64(i)}}
				m.Do(tenant, func(tn *Tenant) {
					if _, err := tn.Apply(&r, Meta{Tags: map[string]string{"w": "x"}}); err != nil {
						panic(err)
					}
					tn.Append(ch, []byte(`{}`), &r)
					tn.Snapshot(ch, "")
					tn.History(ch, nil, time.Time{}, 10)
					tn.SweepStale()
				})
				if i%50 == 0 {
					m.Tenants()
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, m.Tenants(), tenants)
	for i := 0; i < tenants; i++ {
		m.Do(fmt.Sprintf("t%d", i), func(tn *Tenant) {
			require.Equal(t, 10, tn.Len())
			pos := tn.Position(wire.Channel{Name: "devices", Kind: wire.KindDevices})
			require.Equal(t, uint64(workers/tenants*perWorker), pos.Offset, "no offset lost or reused")
		})
	}
}
