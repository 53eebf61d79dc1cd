package valkey_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vk "github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/valkey"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// limits are the limits both stores get in these tests.
type limits struct {
	fields, tags int
	identity     time.Duration
	channelBytes int64
}

// bothStores runs fn on the memory store and on a Valkey store on a real
// redis-server, with the same limits and clock.
func bothStores(t *testing.T, l limits, fn func(t *testing.T, s state.Store, clock *storeTestClock)) {
	t.Run("memory", func(t *testing.T) {
		clock := newStoreTestClock()
		fn(t, state.NewMemory(state.Config{MaxDeviceFields: l.fields, MaxTagChannels: l.tags, IdentityTTL: l.identity,
			MaxChannelBytes: l.channelBytes, Now: clock.Now}), clock)
	})
	t.Run("valkey", func(t *testing.T) {
		_, c := storeTestRedis(t)
		clock := newStoreTestClock()
		fn(t, valkey.NewStore(c, "", valkey.StoreOptions{MaxDeviceFields: l.fields, MaxTagChannels: l.tags, IdentityTTL: l.identity,
			MaxChannelBytes: l.channelBytes, Now: clock.Now}), clock)
	})
}

func dbsize(t *testing.T, c vk.Client) int64 {
	t.Helper()
	n, err := c.Do(storeTestCtx(t), c.B().Dbsize().Build()).AsInt64()
	require.NoError(t, err)
	return n
}

func TestStoreReadsCreateNothing(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	s := valkey.NewStore(c, "", valkey.StoreOptions{})
	for _, name := range []string{"devices", "device:kitchen", wire.TagChannel("app", "x"), "app:chat"} {
		ch := mustChannel(t, name)
		pos, err := s.Position(ctx, "t", ch)
		require.NoError(t, err)
		require.Equal(t, wire.StreamPosition{}, pos)
		_, pos, ok, err := s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: "abc", Offset: 3})
		require.NoError(t, err)
		require.False(t, ok)
		require.Equal(t, wire.StreamPosition{}, pos)
		page, err := s.History(ctx, "t", ch, state.HistoryQuery{})
		require.NoError(t, err)
		require.Empty(t, page.Publications)
		require.Equal(t, "", page.Epoch)
		snap, err := s.Snapshot(ctx, "t", ch)
		require.NoError(t, err)
		require.Empty(t, snap)
	}
	_, ok, err := s.Device(ctx, "t", "kitchen")
	require.NoError(t, err)
	require.False(t, ok)
	require.Zero(t, dbsize(t, c), "no read creates a key")
}

// TestStoreChannelsExpire checks that Valkey frees idle channels by
// itself: the stream HistoryTTL after its last publication, the epoch
// MetaTTL after it; published again, the channel starts a new epoch.
func TestStoreChannelsExpire(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	s := valkey.NewStore(c, "", valkey.StoreOptions{HistoryTTL: 200 * time.Millisecond, MetaTTL: 600 * time.Millisecond})
	ch := mustChannel(t, "app:idle")
	for i := 0; i < 3; i++ {
		_, err := s.Append(ctx, "t", ch, []byte(`1`), nil)
		require.NoError(t, err)
	}
	old, err := s.Position(ctx, "t", ch)
	require.NoError(t, err)
	require.Equal(t, uint64(3), old.Offset)
	exists := func(key string) bool {
		n, err := c.Do(ctx, c.B().Exists().Key(key).Build()).AsInt64()
		require.NoError(t, err)
		return n == 1
	}
	waitFor(t, 5*time.Second, func() bool { return !exists("mqlive:{t:app:idle}:s") })
	_, _, ok, err := s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: old.Epoch, Offset: 1})
	require.NoError(t, err)
	require.False(t, ok, "the expired publications are gone")
	waitFor(t, 5*time.Second, func() bool { return dbsize(t, c) == 0 })
	pos, err := s.Position(ctx, "t", ch)
	require.NoError(t, err)
	require.Equal(t, wire.StreamPosition{}, pos)
	p, err := s.Append(ctx, "t", ch, []byte(`1`), nil)
	require.NoError(t, err)
	require.NotEqual(t, old.Epoch, p.Epoch)
	require.Equal(t, uint64(1), p.Offset)
	_, _, ok, err = s.Since(ctx, "t", ch, old)
	require.NoError(t, err)
	require.False(t, ok, "a client resuming the old epoch gets a snapshot")
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStoreChannelBytesBoth(t *testing.T) {
	bothStores(t, limits{channelBytes: 100}, func(t *testing.T, s state.Store, _ *storeTestClock) {
		ctx := storeTestCtx(t)
		ch := mustChannel(t, "app:b")
		data := []byte(`"` + strings.Repeat("x", 38) + `"`)
		for i := 0; i < 10; i++ {
			_, err := s.Append(ctx, "t", ch, data, nil)
			require.NoError(t, err)
		}
		page, err := s.History(ctx, "t", ch, state.HistoryQuery{})
		require.NoError(t, err)
		require.Equal(t, []uint64{9, 10}, offsets(page.Publications), "100 bytes hold two publications of 40")
		require.False(t, page.Complete)
		big := []byte(`"` + strings.Repeat("y", 198) + `"`)
		_, err = s.Append(ctx, "t", ch, big, nil)
		require.NoError(t, err)
		page, err = s.History(ctx, "t", ch, state.HistoryQuery{})
		require.NoError(t, err)
		require.Equal(t, []uint64{11}, offsets(page.Publications), "the newest is kept even alone too large")
		_, err = s.Append(ctx, "t", ch, data, nil)
		require.NoError(t, err)
		page, err = s.History(ctx, "t", ch, state.HistoryQuery{})
		require.NoError(t, err)
		require.Equal(t, []uint64{12}, offsets(page.Publications))
	})
}

func TestStoreFieldLimitBoth(t *testing.T) {
	bothStores(t, limits{fields: 3}, func(t *testing.T, s state.Store, clock *storeTestClock) {
		ctx := storeTestCtx(t)
		t0 := clock.Now()
		require.NoError(t, s.Apply(ctx, "t", &devices.Reading{Device: "d", TS: t0, ReceivedAt: t0,
			Metrics: map[string]any{"a": 1.0, "b": 1.0}, Attrs: map[string]string{"x": "1"}}, state.Meta{}))
		r := devices.Reading{Device: "d", TS: t0.Add(time.Second), ReceivedAt: t0,
			Metrics: map[string]any{"a": 2.0, "c": 2.0}, Attrs: map[string]string{"x": "2", "y": "2"}}
		err := s.Apply(ctx, "t", &r, state.Meta{})
		require.ErrorIs(t, err, state.ErrFieldLimit)
		reasons, merged := state.LimitReasons(err)
		require.Equal(t, []string{"field_limit"}, reasons)
		require.True(t, merged)
		require.Equal(t, map[string]any{"a": 2.0}, r.Metrics, "refused fields leave the published Reading")
		require.Equal(t, map[string]string{"x": "2"}, r.Attrs)
		info, ok, err := s.Device(ctx, "t", "d")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, map[string]any{"a": 2.0, "b": 1.0}, info.Reading.Metrics)
		require.Equal(t, map[string]string{"x": "2"}, info.Reading.Attrs)
		// An older Reading is not merged, but its new fields are refused too.
		r = devices.Reading{Device: "d", TS: t0, ReceivedAt: t0, Metrics: map[string]any{"z": 1.0}}
		require.ErrorIs(t, s.Apply(ctx, "t", &r, state.Meta{}), state.ErrFieldLimit)
		require.Empty(t, r.Metrics)
		// Per device.
		require.NoError(t, s.Apply(ctx, "t", &devices.Reading{Device: "e", TS: t0, ReceivedAt: t0,
			Metrics: map[string]any{"a": 1.0, "b": 1.0, "c": 1.0}}, state.Meta{}))
	})
}

func TestStoreFieldLimitCountsOldHashes(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	clock := newStoreTestClock()
	s := valkey.NewStore(c, "", valkey.StoreOptions{MaxDeviceFields: 2, Now: clock.Now})
	require.NoError(t, s.Apply(ctx, "t", &devices.Reading{Device: "d", TS: clock.Now(), Metrics: map[string]any{"a": 1.0, "b": 1.0}}, state.Meta{}))
	// A hash written before the field count was stored.
	require.NoError(t, c.Do(ctx, c.B().Hdel().Key("mqlive:{t}:d:d").Field("nf").Build()).Error())
	r := devices.Reading{Device: "d", TS: clock.Now(), Metrics: map[string]any{"c": 1.0}}
	require.ErrorIs(t, s.Apply(ctx, "t", &r, state.Meta{}), state.ErrFieldLimit)
}

func TestStoreTagLimitBoth(t *testing.T) {
	bothStores(t, limits{tags: 3}, func(t *testing.T, s state.Store, clock *storeTestClock) {
		ctx := storeTestCtx(t)
		t0 := clock.Now()
		conf := map[string]string{"site": "hq"}
		tags := func(app string) map[string]string { return map[string]string{"site": "hq", "app": app} }
		apply := func(dev, app string) error {
			return s.Apply(ctx, "t", &devices.Reading{Device: dev, TS: t0, ReceivedAt: t0, Tags: tags(app)}, state.Meta{Tags: conf})
		}
		require.NoError(t, apply("d0", "app0"))
		require.NoError(t, apply("d1", "app1"))
		r := devices.Reading{Device: "d2", TS: t0, ReceivedAt: t0, Tags: tags("app2"), Metrics: map[string]any{"v": 1.0}}
		err := s.Apply(ctx, "t", &r, state.Meta{Tags: conf})
		require.ErrorIs(t, err, state.ErrTagLimit)
		require.Equal(t, conf, r.Tags, "no tag channel app=app2 is published")
		snap, err := s.Snapshot(ctx, "t", mustChannel(t, wire.TagChannel("app", "app2")))
		require.NoError(t, err)
		require.Empty(t, snap)
		info, _, err := s.Device(ctx, "t", "d2")
		require.NoError(t, err)
		require.Equal(t, map[string]any{"v": 1.0}, info.Reading.Metrics, "the rest is merged")
		require.Equal(t, conf, info.Reading.Tags)
		require.NoError(t, apply("d3", "app0"), "existing pairs are shared")
		require.NoError(t, apply("d1", "app2"), "a device moving off a pair only it held frees it")
		require.NoError(t, apply("d2", "app2"))
		require.ErrorIs(t, apply("d4", "app1"), state.ErrTagLimit, "app1 was freed, but app2 took its place")
	})
}

func TestStoreIdentityPerSourceBoth(t *testing.T) {
	bothStores(t, limits{identity: time.Hour}, func(t *testing.T, s state.Store, clock *storeTestClock) {
		ctx := storeTestCtx(t)
		tasmota := state.Meta{Source: 0, SourceKey: state.SourceKey("tasmota", "tasmota"), Topic: "tele/kitchen/SENSOR", Tags: map[string]string{"site": "hq"}}
		ha := state.Meta{Source: 1, SourceKey: state.SourceKey("homeassistant", "homeassistant"), Topic: "homeassistant/switch/kitchen/config"}
		t0 := clock.Now()
		require.NoError(t, s.Apply(ctx, "t", &devices.Reading{Device: "kitchen", Family: "tasmota", TS: t0, ReceivedAt: t0,
			Metrics: map[string]any{"power": 5.0}, Tags: map[string]string{"site": "hq"}}, tasmota))
		clock.Add(time.Minute)
		err := s.Apply(ctx, "t", &devices.Reading{Device: "kitchen", Family: "homeassistant", TS: clock.Now(), ReceivedAt: clock.Now(),
			Metrics: map[string]any{"power": 0.0}}, ha)
		require.ErrorIs(t, err, state.ErrIdentityConflict)
		reasons, merged := state.LimitReasons(err)
		require.Equal(t, []string{"identity_conflict"}, reasons)
		require.False(t, merged)
		info, ok, err := s.Device(ctx, "t", "kitchen")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, 0, info.Source, "the command route stays with the owner")
		require.Equal(t, tasmota.SourceKey, info.SourceKey)
		require.Equal(t, "tasmota", info.Reading.Family)
		require.Equal(t, map[string]any{"power": 5.0}, info.Reading.Metrics)
		// Another tenant, another device; the owner at a new index keeps it.
		require.NoError(t, s.Apply(ctx, "u", &devices.Reading{Device: "kitchen", TS: t0, ReceivedAt: t0}, ha))
		moved := tasmota
		moved.Source = 3
		require.NoError(t, s.Apply(ctx, "t", &devices.Reading{Device: "kitchen", Family: "tasmota", TS: clock.Now(), ReceivedAt: clock.Now()}, moved))
		// Silent past the identity TTL, the id passes to the source that
		// speaks, with a fresh state.
		clock.Add(2 * time.Hour)
		require.NoError(t, s.Apply(ctx, "t", &devices.Reading{Device: "kitchen", Family: "homeassistant", TS: clock.Now(), ReceivedAt: clock.Now(),
			Attrs: map[string]string{"name": "k"}}, ha))
		info, _, err = s.Device(ctx, "t", "kitchen")
		require.NoError(t, err)
		require.Equal(t, ha.SourceKey, info.SourceKey)
		require.Equal(t, 1, info.Source)
		require.Nil(t, info.Reading.Metrics, "nothing of the previous owner is kept")
		require.Nil(t, info.Reading.Tags)
		counts, err := s.DeviceCounts(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]int{"t": 1, "u": 1}, counts)
	})
}

func TestStoreAdoptsDevicesWithoutSourceKey(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	s := valkey.NewStore(c, "", valkey.StoreOptions{})
	require.NoError(t, s.Apply(ctx, "t", &devices.Reading{Device: "d", TS: time.Now()}, state.Meta{SourceKey: "tasmota:tasmota"}))
	// A hash written before the source key was stored.
	require.NoError(t, c.Do(ctx, c.B().Hdel().Key("mqlive:{t}:d:d").Field("sk").Build()).Error())
	require.NoError(t, s.Apply(ctx, "t", &devices.Reading{Device: "d", TS: time.Now()}, state.Meta{SourceKey: "shelly:shellies"}))
	info, _, err := s.Device(ctx, "t", "d")
	require.NoError(t, err)
	require.Equal(t, "shelly:shellies", info.SourceKey)
	require.ErrorIs(t, s.Apply(ctx, "t", &devices.Reading{Device: "d", TS: time.Now()}, state.Meta{SourceKey: "tasmota:tasmota"}), state.ErrIdentityConflict)
}
