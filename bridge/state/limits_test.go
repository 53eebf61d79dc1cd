package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

func tryApply(m *Memory, tenant string, r *devices.Reading, meta Meta) error {
	var err error
	m.Do(tenant, func(tn *Tenant) { _, err = tn.Apply(r, meta) })
	return err
}

func channelsOf(m *Memory, tenant string) (n int, bytes int64) {
	m.Do(tenant, func(tn *Tenant) { n, bytes = tn.Channels(), tn.HistoryBytes() })
	return n, bytes
}

func TestReadsCreateNothing(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMemory(clk)
	chans := []wire.Channel{
		{Name: "devices", Kind: wire.KindDevices},
		{Name: "device:kitchen", Kind: wire.KindDevice, Arg: "kitchen"},
		{Name: wire.TagChannel("app", "x"), Kind: wire.KindTag, TagKey: "app", TagValue: "x"},
		{Name: "app:chat", Kind: wire.KindApp},
	}
	read := func(tenant string, devs int) {
		for _, ch := range chans {
			pos, err := m.Position(ctx, tenant, ch)
			require.NoError(t, err)
			require.Equal(t, wire.StreamPosition{}, pos, "a channel never published to has no epoch, as in Valkey")
			pubs, pos, ok, err := m.Since(ctx, tenant, ch, wire.StreamPosition{Epoch: "abc", Offset: 3})
			require.NoError(t, err)
			require.Empty(t, pubs)
			require.False(t, ok)
			require.Equal(t, wire.StreamPosition{}, pos)
			_, _, ok, _ = m.Since(ctx, tenant, ch, wire.StreamPosition{})
			require.True(t, ok, "nothing was missed since the empty position")
			page, err := m.History(ctx, tenant, ch, HistoryQuery{Since: &wire.StreamPosition{Epoch: "abc", Offset: 1}})
			require.NoError(t, err)
			require.Equal(t, HistoryPage{}, page)
			snap, err := m.Snapshot(ctx, tenant, ch)
			require.NoError(t, err)
			if ch.Kind == wire.KindDevices {
				require.Len(t, snap, devs)
			} else {
				require.Empty(t, snap)
			}
		}
		_, ok, err := m.Device(ctx, tenant, "kitchen")
		require.NoError(t, err)
		require.False(t, ok)
	}
	read("acme", 0)
	require.Empty(t, m.Tenants(), "reads of an unknown tenant create no tenant")

	require.NoError(t, m.Apply(ctx, "acme", &devices.Reading{Device: "d", TS: clk.Now()}, Meta{}))
	read("acme", 1)
	n, _ := channelsOf(m, "acme")
	require.Zero(t, n, "reads create no channel")
}

func TestExpiredChannelsAreEvictedAndFreed(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	var evicted []string
	m := newTestMemory(clk, func(c *Config) {
		c.HistoryTTL = time.Minute
		c.OnEvict = func(tenant, reason string) { evicted = append(evicted, tenant+"/"+reason) }
	})
	a := wire.Channel{Name: "app:a", Kind: wire.KindApp}
	b := wire.Channel{Name: "app:b", Kind: wire.KindApp}
	for i := 0; i < 5; i++ {
		_, err := m.Append(ctx, "acme", a, []byte(`"0123456789"`), nil)
		require.NoError(t, err)
	}
	old, err := m.Position(ctx, "acme", a)
	require.NoError(t, err)
	_, err = m.Append(ctx, "acme", b, []byte(`1`), nil)
	require.NoError(t, err)

	// Expired publications are freed, not only skipped.
	clk.Advance(45 * time.Second)
	_, err = m.Append(ctx, "acme", a, []byte(`"x"`), nil)
	require.NoError(t, err)
	clk.Advance(30 * time.Second)
	_, err = m.Append(ctx, "acme", a, []byte(`"y"`), nil)
	require.NoError(t, err)
	m.Do("acme", func(tn *Tenant) {
		h := tn.channels["app:a"]
		require.Equal(t, 2, h.n(), "the five expired publications are dropped from the ring")
		require.Equal(t, int64(len(`"x"`)+len(`"y"`)), h.bytes)
		require.Nil(t, tn.channels["app:b"], "b's whole history expired: evicted on a's append")
	})
	require.Equal(t, []string{"acme/expired"}, evicted)

	// An idle tenant is swept with the stale sweep.
	clk.Advance(2 * time.Minute)
	_, err = m.SweepStale(ctx)
	require.NoError(t, err)
	n, bytes := channelsOf(m, "acme")
	require.Zero(t, n)
	require.Zero(t, bytes)
	require.Equal(t, []string{"acme/expired", "acme/expired"}, evicted)

	// Published again, the channel starts a new epoch: a client resuming
	// the old one is not recovered (it gets a snapshot).
	p, err := m.Append(ctx, "acme", a, []byte(`1`), nil)
	require.NoError(t, err)
	require.NotEqual(t, old.Epoch, p.Epoch)
	require.Equal(t, uint64(1), p.Offset)
	_, _, ok, err := m.Since(ctx, "acme", a, old)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestChannelLimitEvictsLeastRecentlyPublished(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	var evicted []string
	m := newTestMemory(clk, func(c *Config) {
		c.MaxChannels = 3
		c.OnEvict = func(_, reason string) { evicted = append(evicted, reason) }
	})
	for _, name := range []string{"a", "b", "c", "a", "d", "e"} {
		_, err := m.Append(ctx, "acme", wire.Channel{Name: "app:" + name, Kind: wire.KindApp}, []byte(`1`), nil)
		require.NoError(t, err)
	}
	var names []string
	m.Do("acme", func(tn *Tenant) {
		for name := range tn.channels {
			names = append(names, name)
		}
	})
	require.ElementsMatch(t, []string{"app:a", "app:d", "app:e"}, names, "b then c were the least recently published")
	require.Equal(t, []string{"channel_limit", "channel_limit"}, evicted)
	// Tag channels minted from topics count against the same limit.
	for i := 0; i < 50; i++ {
		_, err := m.Append(ctx, "acme", wire.Channel{Name: wire.TagChannel("app", fmt.Sprint(i)), Kind: wire.KindTag}, []byte(`1`), nil)
		require.NoError(t, err)
	}
	n, _ := channelsOf(m, "acme")
	require.Equal(t, 3, n)
}

func TestHistoryBytesPerChannelAndTenant(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	var evicted []string
	m := newTestMemory(clk, func(c *Config) {
		c.MaxChannelBytes = 100
		c.MaxTenantBytes = 250
		c.OnEvict = func(_, reason string) { evicted = append(evicted, reason) }
	})
	data := []byte(`"` + strings.Repeat("x", 38) + `"`) // 40 bytes
	a := wire.Channel{Name: "app:a", Kind: wire.KindApp}
	for i := 0; i < 10; i++ {
		_, err := m.Append(ctx, "acme", a, data, nil)
		require.NoError(t, err)
	}
	page, err := m.History(ctx, "acme", a, HistoryQuery{})
	require.NoError(t, err)
	require.Len(t, page.Publications, 2, "100 bytes hold two publications of 40")
	require.False(t, page.Complete)
	_, bytes := channelsOf(m, "acme")
	require.Equal(t, int64(80), bytes)

	// The newest publication is kept even when it alone is too large.
	big := []byte(`"` + strings.Repeat("y", 198) + `"`)
	_, err = m.Append(ctx, "acme", wire.Channel{Name: "app:big", Kind: wire.KindApp}, big, nil)
	require.NoError(t, err)
	n, bytes := channelsOf(m, "acme")
	require.Equal(t, int64(200), bytes, "80 + 200 > 250: the least recently published channel went")
	require.Equal(t, 1, n)
	require.Equal(t, []string{"tenant_bytes"}, evicted)
	pos, err := m.Position(ctx, "acme", a)
	require.NoError(t, err)
	require.Equal(t, wire.StreamPosition{}, pos)
	_, err = m.Append(ctx, "acme", wire.Channel{Name: "app:c", Kind: wire.KindApp}, data, nil)
	require.NoError(t, err)
	n, bytes = channelsOf(m, "acme")
	require.Equal(t, int64(240), bytes)
	require.Equal(t, 2, n)
}

func TestFieldLimitRefusesNewFields(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk, func(c *Config) { c.MaxDeviceFields = 3 })
	t0 := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "d", TS: t0, Metrics: map[string]any{"a": 1.0, "b": 1.0}, Attrs: map[string]string{"x": "1"}}, Meta{})
	r := devices.Reading{Device: "d", TS: t0.Add(time.Second), Metrics: map[string]any{"a": 2.0, "c": 2.0}, Attrs: map[string]string{"x": "2", "y": "2"}}
	err := tryApply(m, "acme", &r, Meta{})
	require.ErrorIs(t, err, ErrFieldLimit)
	require.ErrorIs(t, err, ErrLimit)
	reasons, mergedOK := LimitReasons(err)
	require.Equal(t, []string{"field_limit"}, reasons)
	require.True(t, mergedOK, "known fields are still merged")
	require.Equal(t, map[string]any{"a": 2.0}, r.Metrics, "the refused field is removed from the Reading that is published")
	require.Equal(t, map[string]string{"x": "2"}, r.Attrs)
	got := merged(m, "acme", "d")
	require.Equal(t, map[string]any{"a": 2.0, "b": 1.0}, got.Metrics)
	require.Equal(t, map[string]string{"x": "2"}, got.Attrs)
	// The limit is per device.
	apply(t, m, "acme", devices.Reading{Device: "e", TS: t0, Metrics: map[string]any{"a": 1.0, "b": 1.0, "c": 1.0}}, Meta{})
}

func TestTagLimitRefusesNewTagChannels(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk, func(c *Config) { c.MaxTagChannels = 3 })
	t0 := clk.Now()
	conf := map[string]string{"site": "hq"}
	withConf := func(tags map[string]string) map[string]string {
		out := map[string]string{"site": "hq"}
		for k, v := range tags {
			out[k] = v
		}
		return out
	}
	for i := 0; i < 2; i++ {
		apply(t, m, "acme", devices.Reading{Device: fmt.Sprint("d", i), TS: t0, Tags: withConf(map[string]string{"app": fmt.Sprint("app", i)})}, Meta{Tags: conf})
	}
	// The configured tag counts, but is never refused; app2 is one too many.
	r := devices.Reading{Device: "d2", TS: t0, Tags: withConf(map[string]string{"app": "app2"}), Metrics: map[string]any{"v": 1.0}}
	err := tryApply(m, "acme", &r, Meta{Tags: conf})
	require.ErrorIs(t, err, ErrTagLimit)
	require.Equal(t, map[string]string{"site": "hq"}, r.Tags, "no tag channel app=app2 is published")
	require.Equal(t, map[string]any{"v": 1.0}, merged(m, "acme", "d2").Metrics, "the rest is merged")
	// Existing tag values are shared freely.
	apply(t, m, "acme", devices.Reading{Device: "d3", TS: t0, Tags: withConf(map[string]string{"app": "app0"})}, Meta{Tags: conf})
	// A device moving from app1 to app2 frees app1 and takes its place.
	apply(t, m, "acme", devices.Reading{Device: "d1", TS: t0, Tags: withConf(map[string]string{"app": "app2"})}, Meta{Tags: conf})
	apply(t, m, "acme", devices.Reading{Device: "d2", TS: t0, Tags: withConf(map[string]string{"app": "app2"})}, Meta{Tags: conf})
}

func TestDeviceIdentityIsPerSource(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMemory(clk, func(c *Config) { c.IdentityTTL = time.Hour })
	tasmota := Meta{Source: 0, SourceKey: SourceKey("tasmota", "tasmota"), Topic: "tele/kitchen/SENSOR"}
	ha := Meta{Source: 1, SourceKey: SourceKey("homeassistant", "homeassistant"), Topic: "homeassistant/switch/kitchen/config"}
	apply(t, m, "acme", devices.Reading{Device: "kitchen", Family: "tasmota", TS: clk.Now(), Metrics: map[string]any{"power": 5.0}}, tasmota)

	r := devices.Reading{Device: "kitchen", Family: "homeassistant", TS: clk.Now().Add(time.Second), Metrics: map[string]any{"power": 0.0}}
	err := tryApply(m, "acme", &r, ha)
	require.ErrorIs(t, err, ErrIdentityConflict)
	reasons, mergedOK := LimitReasons(err)
	require.Equal(t, []string{"identity_conflict"}, reasons)
	require.False(t, mergedOK)
	info, ok, err := m.Device(ctx, "acme", "kitchen")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 0, info.Source, "the command route stays with the owner")
	require.Equal(t, tasmota.SourceKey, info.SourceKey)
	require.Equal(t, "tasmota", info.Reading.Family)
	require.Equal(t, map[string]any{"power": 5.0}, info.Reading.Metrics)
	// The same id in another tenant is another device.
	apply(t, m, "other", devices.Reading{Device: "kitchen", TS: clk.Now()}, ha)
	// The owner moving to another index (a source removed before it) keeps it.
	moved := tasmota
	moved.Source = 3
	apply(t, m, "acme", devices.Reading{Device: "kitchen", Family: "tasmota", TS: clk.Now()}, moved)

	// Silent past the identity TTL, the id passes to the source that
	// speaks, with a fresh state.
	clk.Advance(2 * time.Hour)
	apply(t, m, "acme", devices.Reading{Device: "kitchen", Family: "homeassistant", TS: clk.Now(), Attrs: map[string]string{"name": "k"}}, ha)
	info, _, _ = m.Device(ctx, "acme", "kitchen")
	require.Equal(t, ha.SourceKey, info.SourceKey)
	require.Equal(t, 1, info.Source)
	require.Nil(t, info.Reading.Metrics, "nothing of the previous owner is kept")

	// Ownership survives a save and load; a device saved without a key is
	// adopted by the first source that speaks.
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, m.Save(path))
	m2 := newTestMemory(clk, func(c *Config) { c.IdentityTTL = time.Hour })
	_, err = m2.Load(path)
	require.NoError(t, err)
	require.ErrorIs(t, tryApply(m2, "acme", &devices.Reading{Device: "kitchen", TS: clk.Now()}, tasmota), ErrIdentityConflict)
	m2.Do("acme", func(tn *Tenant) { tn.devices["kitchen"].SourceKey = "" })
	apply(t, m2, "acme", devices.Reading{Device: "kitchen", TS: clk.Now()}, tasmota)
	info, _, _ = m2.Device(ctx, "acme", "kitchen")
	require.Equal(t, tasmota.SourceKey, info.SourceKey)
}

func TestLimitReasons(t *testing.T) {
	r, ok := LimitReasons(nil)
	require.Empty(t, r)
	require.True(t, ok)
	r, ok = LimitReasons(errors.Join(ErrTagLimit, ErrFieldLimit))
	require.Equal(t, []string{"tag_limit", "field_limit"}, r)
	require.True(t, ok)
	r, ok = LimitReasons(fmt.Errorf("apply: %w", ErrTooManyDevices))
	require.Equal(t, []string{"device_limit"}, r)
	require.False(t, ok)
	r, ok = LimitReasons(errors.New("connection refused"))
	require.Empty(t, r)
	require.False(t, ok)
	require.False(t, errors.Is(errors.New("x"), ErrLimit))
}
