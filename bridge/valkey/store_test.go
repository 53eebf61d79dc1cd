package valkey_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vk "github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/valkey"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// storeTestClock is a clock that moves only when the test says so.
type storeTestClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStoreTestClock() *storeTestClock {
	return &storeTestClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *storeTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *storeTestClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// storeTestClient dials addrs (one standalone server or cluster seeds).
func storeTestClient(t testing.TB, addrs ...string) vk.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := valkey.Dial(ctx, valkey.Config{Addrs: addrs})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// storeTestRedis starts a redis-server and returns it with a client.
func storeTestRedis(t testing.TB) (*bridgetest.Process, vk.Client) {
	t.Helper()
	p := bridgetest.StartRedis(t)
	return p, storeTestClient(t, p.Addr)
}

func storeTestCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustChannel(t testing.TB, name string) wire.Channel {
	t.Helper()
	ch, err := wire.ParseChannel(name)
	require.NoError(t, err)
	return ch
}

// offsets lists the offsets of pubs.
func offsets(pubs []*state.Publication) []uint64 {
	out := make([]uint64, len(pubs))
	for i, p := range pubs {
		out[i] = p.Offset
	}
	return out
}

func TestStoreAppendPosition(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	s := valkey.NewStore(c, "", valkey.StoreOptions{})
	ch := mustChannel(t, "app:chat")

	pos, err := s.Position(ctx, "t1", ch)
	require.NoError(t, err)
	require.Equal(t, wire.StreamPosition{}, pos)
	n, err := c.Do(ctx, c.B().Dbsize().Build()).AsInt64()
	require.NoError(t, err)
	require.Zero(t, n, "Position must not create state")

	var epoch string
	for i := 1; i <= 3; i++ {
		data := []byte(fmt.Sprintf(`{"n":%d}`, i))
		p, err := s.Append(ctx, "t1", ch, data, nil)
		require.NoError(t, err)
		require.Equal(t, uint64(i), p.Offset)
		require.Equal(t, "app:chat", p.Channel)
		require.Equal(t, data, []byte(p.Data))
		if i == 1 {
			epoch = p.Epoch
			require.Len(t, epoch, 12)
		}
		require.Equal(t, epoch, p.Epoch)
		require.Equal(t, state.NewPublication(ch.Name, epoch, uint64(i), data, nil, p.Time).Frame, p.Frame)
	}
	pos, err = s.Position(ctx, "t1", ch)
	require.NoError(t, err)
	require.Equal(t, wire.StreamPosition{Epoch: epoch, Offset: 3}, pos)

	// Another tenant's channel of the same name is another channel.
	pos, err = s.Position(ctx, "t2", ch)
	require.NoError(t, err)
	require.Equal(t, wire.StreamPosition{}, pos)

	// Keys have the documented layout and TTLs.
	ttl, err := c.Do(ctx, c.B().Pttl().Key("mqlive:{t1:app:chat}:m").Build()).AsInt64()
	require.NoError(t, err)
	require.InDelta(t, float64(7*24*time.Hour/time.Millisecond), float64(ttl), float64(time.Minute/time.Millisecond))
	ttl, err = c.Do(ctx, c.B().Pttl().Key("mqlive:{t1:app:chat}:s").Build()).AsInt64()
	require.NoError(t, err)
	require.InDelta(t, float64(10*time.Minute/time.Millisecond), float64(ttl), float64(time.Minute/time.Millisecond))
}

func TestStoreSince(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	clock := newStoreTestClock()
	s := valkey.NewStore(c, "x:", valkey.StoreOptions{HistorySize: 4, HistoryTTL: time.Minute, Now: clock.Now})
	ch := mustChannel(t, "devices")

	var made []*state.Publication
	for i := 1; i <= 4; i++ {
		r := &devices.Reading{Device: fmt.Sprint("d", i), Family: "f", TS: clock.Now()}
		data, _ := json.Marshal(r)
		p, err := s.Append(ctx, "t", ch, data, r)
		require.NoError(t, err)
		made = append(made, p)
		clock.Add(time.Second)
	}
	epoch := made[0].Epoch

	pubs, pos, ok, err := s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 1})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, wire.StreamPosition{Epoch: epoch, Offset: 4}, pos)
	require.Equal(t, []uint64{2, 3, 4}, offsets(pubs))
	for i, p := range pubs {
		want := made[i+1]
		require.Equal(t, want.Frame, p.Frame)
		require.True(t, want.Time.Equal(p.Time))
		require.NotNil(t, p.Reading, "devices publications carry their Reading")
		require.Equal(t, want.Reading.Device, p.Reading.Device)
	}

	pubs, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 4})
	require.NoError(t, err)
	require.True(t, ok)
	require.Empty(t, pubs)
	_, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: "other", Offset: 1})
	require.NoError(t, err)
	require.False(t, ok, "another epoch")
	_, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 9})
	require.NoError(t, err)
	require.False(t, ok, "an offset from the future")
	_, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 0})
	require.NoError(t, err)
	require.True(t, ok, "everything still held")

	// Trimmed: size 4, so after two more appends offset 2 is gone.
	for i := 0; i < 2; i++ {
		_, err := s.Append(ctx, "t", ch, []byte(`{}`), nil)
		require.NoError(t, err)
	}
	_, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 1})
	require.NoError(t, err)
	require.False(t, ok, "offset 2 was trimmed")
	pubs, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 2})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []uint64{3, 4, 5, 6}, offsets(pubs))

	// Expired: offset 3 was made 4 s before the last one; move the clock
	// so that it is past the TTL and the later ones are not.
	clock.Add(time.Minute - 1500*time.Millisecond)
	_, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 2})
	require.NoError(t, err)
	require.False(t, ok, "offset 3 is older than the history TTL")
	pubs, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 4})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []uint64{5, 6}, offsets(pubs))

	// FLUSHALL: a new epoch on the next append; the old position is not
	// recoverable, never a silent gap.
	require.NoError(t, c.Do(ctx, c.B().Flushall().Build()).Error())
	_, pos, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 6})
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, wire.StreamPosition{}, pos)
	p, err := s.Append(ctx, "t", ch, []byte(`{}`), nil)
	require.NoError(t, err)
	require.NotEqual(t, epoch, p.Epoch)
	require.Equal(t, uint64(1), p.Offset)
	_, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: epoch, Offset: 6})
	require.NoError(t, err)
	require.False(t, ok)

	// Meta lost but stream kept (eviction): a new epoch, and the old
	// stream does not mix into it.
	require.NoError(t, c.Do(ctx, c.B().Del().Key("x:{t:devices}:m").Build()).Error())
	p2, err := s.Append(ctx, "t", ch, []byte(`{"b":1}`), nil)
	require.NoError(t, err)
	require.NotEqual(t, p.Epoch, p2.Epoch)
	pubs, _, ok, err = s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: p2.Epoch, Offset: 0})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []uint64{1}, offsets(pubs))
	require.JSONEq(t, `{"b":1}`, string(pubs[0].Data))
}

func TestStoreDeviceHistorySize(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	s := valkey.NewStore(c, "", valkey.StoreOptions{HistorySize: 10, DeviceHistorySize: 2})
	dev, app := mustChannel(t, wire.DeviceChannel("a b")), mustChannel(t, "app:x")
	for i := 0; i < 5; i++ {
		_, err := s.Append(ctx, "t", dev, []byte(`{}`), nil)
		require.NoError(t, err)
		_, err = s.Append(ctx, "t", app, []byte(`{}`), nil)
		require.NoError(t, err)
	}
	for ch, want := range map[wire.Channel]int{dev: 2, app: 5} {
		page, err := s.History(ctx, "t", ch, state.HistoryQuery{})
		require.NoError(t, err)
		require.Len(t, page.Publications, want, ch.Name)
		require.Equal(t, want == 5, page.Complete, ch.Name)
	}
}

// TestStoreHistoryMatchesMemory runs the same appends and queries on the
// memory store and on Valkey with one clock and compares the pages.
func TestStoreHistoryMatchesMemory(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	clock := newStoreTestClock()
	start := clock.Now()
	mem := state.NewMemory(state.Config{HistorySize: 20, HistoryTTL: time.Minute, Now: clock.Now})
	vk := valkey.NewStore(c, "", valkey.StoreOptions{HistorySize: 20, HistoryTTL: time.Minute, Now: clock.Now})
	ch := mustChannel(t, "app:h")
	empty := mustChannel(t, "app:empty")
	for i := 1; i <= 30; i++ {
		data := []byte(fmt.Sprintf(`{"i":%d}`, i))
		_, err := mem.Append(ctx, "t", ch, data, nil)
		require.NoError(t, err)
		_, err = vk.Append(ctx, "t", ch, data, nil)
		require.NoError(t, err)
		clock.Add(2 * time.Second)
	}
	// Offsets 11..30 are held, made at start+20s .. start+58s; now is
	// start+60s, so with the 1m TTL none has expired yet.
	memPos, _ := mem.Position(ctx, "t", ch)
	vkPos, _ := vk.Position(ctx, "t", ch)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	type query struct {
		name    string
		q       state.HistoryQuery
		since   uint64 // with the channel's own epoch when > 0
		badSinc bool
		later   time.Duration // move the clock first
	}
	queries := []query{
		{name: "all"},
		{name: "limit", q: state.HistoryQuery{Limit: 5}},
		{name: "reverse limit", q: state.HistoryQuery{Limit: 5, Reverse: true}},
		{name: "reverse before", q: state.HistoryQuery{Limit: 5, Reverse: true, Before: 20}},
		{name: "reverse before all", q: state.HistoryQuery{Reverse: true, Before: 15}},
		{name: "forward before", q: state.HistoryQuery{Before: 14}},
		{name: "since held", since: 15},
		{name: "since held limit", since: 15, q: state.HistoryQuery{Limit: 3}},
		{name: "since trimmed", since: 5},
		{name: "since last", since: 30},
		{name: "since other epoch", badSinc: true},
		{name: "since reverse", since: 25, q: state.HistoryQuery{Reverse: true}},
		{name: "from", q: state.HistoryQuery{From: at(40)}},
		{name: "from mid second", q: state.HistoryQuery{From: at(40).Add(time.Millisecond / 2)}},
		{name: "until", q: state.HistoryQuery{Until: at(30)}},
		{name: "until mid second", q: state.HistoryQuery{Until: at(30).Add(-time.Microsecond)}},
		{name: "from until", q: state.HistoryQuery{From: at(30), Until: at(44)}},
		{name: "from until reverse limit", q: state.HistoryQuery{From: at(30), Until: at(44), Reverse: true, Limit: 3}},
		{name: "from before", q: state.HistoryQuery{From: at(10), Before: 16}},
		{name: "before 1", q: state.HistoryQuery{Before: 1}},
		{name: "expired", later: 15 * time.Second},
		{name: "expired limit", q: state.HistoryQuery{Limit: 4}},
		{name: "expired reverse", q: state.HistoryQuery{Reverse: true}},
		{name: "expired since", since: 12},
		{name: "expired from", q: state.HistoryQuery{From: at(56)}},
	}
	for _, tc := range queries {
		t.Run(tc.name, func(t *testing.T) {
			clock.Add(tc.later)
			mq, vq := tc.q, tc.q
			if tc.since > 0 {
				mq.Since = &wire.StreamPosition{Epoch: memPos.Epoch, Offset: tc.since}
				vq.Since = &wire.StreamPosition{Epoch: vkPos.Epoch, Offset: tc.since}
			}
			if tc.badSinc {
				mq.Since = &wire.StreamPosition{Epoch: "nope", Offset: 12}
				vq.Since = mq.Since
			}
			want, err := mem.History(ctx, "t", ch, mq)
			require.NoError(t, err)
			got, err := vk.History(ctx, "t", ch, vq)
			require.NoError(t, err)
			require.Equal(t, offsets(want.Publications), offsets(got.Publications))
			require.Equal(t, want.Complete, got.Complete, "complete")
			require.Equal(t, want.Offset, got.Offset)
			require.Equal(t, vkPos.Epoch, got.Epoch)
			for i := range want.Publications {
				require.Equal(t, string(want.Publications[i].Data), string(got.Publications[i].Data))
				require.True(t, want.Publications[i].Time.Equal(got.Publications[i].Time))
			}
		})
	}
	t.Run("channel never published", func(t *testing.T) {
		got, err := vk.History(ctx, "t", empty, state.HistoryQuery{})
		require.NoError(t, err)
		require.Empty(t, got.Publications)
		require.True(t, got.Complete)
		require.Zero(t, got.Offset)
	})
}

// TestStoreApplyMatchesMemory applies one sequence of Readings to both
// stores and compares every device after each step.
func TestStoreApplyMatchesMemory(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	clock := newStoreTestClock()
	mem := state.NewMemory(state.Config{MaxDevices: 3, Now: clock.Now})
	vk := valkey.NewStore(c, "", valkey.StoreOptions{MaxDevices: 3, Now: clock.Now})
	t0 := time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)
	on, off := true, false
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		r    devices.Reading
		meta state.Meta
		err  error
	}
	steps := []step{
		{r: devices.Reading{Device: "a/1 x", Family: "tasmota", TS: at(10), ReceivedAt: at(11),
			Metrics: map[string]any{"temperature": 21.5, "relay": true}, Attrs: map[string]string{"fw": "1"},
			Tags: map[string]string{"room": "kitchen"}}, meta: state.Meta{Topic: "tele/a/STATE", Source: 2, StaleAfter: time.Minute, Tags: map[string]string{"site": "hq", "room": "cfg"}}},
		// Older in device time: metrics and attrs stay, tags, source,
		// family and received_at move on.
		{r: devices.Reading{Device: "a/1 x", Family: "tasmota2", TS: at(5), ReceivedAt: at(12),
			Metrics: map[string]any{"temperature": 3.0, "humidity": 40.0}, Attrs: map[string]string{"fw": "0"},
			Tags: map[string]string{"floor": "2"}}, meta: state.Meta{Topic: "tele/a/SENSOR", Source: 1}},
		// Same device time: applies.
		{r: devices.Reading{Device: "a/1 x", Family: "tasmota", TS: at(10), ReceivedAt: at(13),
			Metrics: map[string]any{"humidity": 41.25}}, meta: state.Meta{Topic: "tele/a/STATE", Source: 2, StaleAfter: time.Minute}},
		// Newer, with an availability signal.
		{r: devices.Reading{Device: "a/1 x", Family: "tasmota", TS: at(20), ReceivedAt: at(21), Online: &on,
			Metrics: map[string]any{"temperature": 22.0}, Attrs: map[string]string{"fw": "2", "ip": "10.0.0.2"}}, meta: state.Meta{Topic: "tele/a/LWT"}},
		// An old LWT does not override the newer birth.
		{r: devices.Reading{Device: "a/1 x", Family: "tasmota", TS: at(15), ReceivedAt: at(22), Online: &off}, meta: state.Meta{Topic: "tele/a/LWT"}},
		// A newer one does, and within the same µs the ns decide.
		{r: devices.Reading{Device: "a/1 x", Family: "tasmota", TS: at(30).Add(700), ReceivedAt: at(31), Online: &off}, meta: state.Meta{Topic: "tele/a/LWT"}},
		{r: devices.Reading{Device: "a/1 x", Family: "tasmota", TS: at(30).Add(300), ReceivedAt: at(32),
			Metrics: map[string]any{"temperature": -1.0}}, meta: state.Meta{Topic: "t/1"}},
		{r: devices.Reading{Device: "b", Family: "shelly", ReceivedAt: at(1)}, meta: state.Meta{}},
		{r: devices.Reading{Device: "c{x}", Family: "shelly", TS: at(1), ReceivedAt: at(1), Online: &on}, meta: state.Meta{Topic: "c"}},
		{r: devices.Reading{Device: "d", Family: "shelly", TS: at(1), ReceivedAt: at(1)}, err: state.ErrTooManyDevices},
		{r: devices.Reading{Device: "b", Family: "shelly", TS: at(2), ReceivedAt: at(2), Metrics: map[string]any{"power": 0.1}}, meta: state.Meta{Topic: "b/x"}},
	}
	// Ten more topics: newest first, at most 8, a repeated one moves up.
	for i := 0; i < 10; i++ {
		steps = append(steps, step{r: devices.Reading{Device: "a/1 x", Family: "tasmota", TS: at(40 + i), ReceivedAt: at(40 + i)},
			meta: state.Meta{Topic: fmt.Sprint("topic/", i%9), Source: i}})
	}
	for i, st := range steps {
		clock.Add(time.Second)
		r := st.r
		errMem := mem.Apply(ctx, "t", &r, st.meta)
		errVk := vk.Apply(ctx, "t", &r, st.meta)
		require.ErrorIs(t, errMem, st.err, "step %d", i)
		require.ErrorIs(t, errVk, st.err, "step %d", i)
		for _, id := range []string{"a/1 x", "b", "c{x}", "d"} {
			want, okMem, err := mem.Device(ctx, "t", id)
			require.NoError(t, err)
			got, okVk, err := vk.Device(ctx, "t", id)
			require.NoError(t, err)
			require.Equal(t, okMem, okVk, "step %d device %s", i, id)
			require.Equal(t, want, got, "step %d device %s", i, id)
		}
	}
	counts, err := vk.DeviceCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"t": 3}, counts)
	info, ok, err := vk.Device(ctx, "t", "a/1 x")
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, info.Topics, 8)
	require.Equal(t, "topic/0", info.Topics[0])
	require.Equal(t, 41.25, info.Reading.Metrics["humidity"])
	require.Equal(t, map[string]string{"room": "cfg", "site": "hq", "floor": "2"}, info.Reading.Tags)
}

func TestStoreSnapshot(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	clock := newStoreTestClock()
	vk := valkey.NewStore(c, "", valkey.StoreOptions{Now: clock.Now})
	mem := state.NewMemory(state.Config{Now: clock.Now})
	ts := time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)
	apply := func(id string, tags map[string]string, staleAfter time.Duration) {
		r := devices.Reading{Device: id, Family: "f", TS: ts, ReceivedAt: ts, Metrics: map[string]any{"v": 1.0}}
		meta := state.Meta{Tags: tags, StaleAfter: staleAfter}
		require.NoError(t, vk.Apply(ctx, "t", &r, meta))
		require.NoError(t, mem.Apply(ctx, "t", &r, meta))
	}
	apply("kitchen th", map[string]string{"room": "kitchen", "floor": "2=3"}, 10*time.Second)
	apply("hall", map[string]string{"room": "hall"}, 0)
	apply("a/b", map[string]string{"floor": "2=3"}, time.Hour)
	other := devices.Reading{Device: "x", Family: "f", TS: ts}
	require.NoError(t, vk.Apply(ctx, "u", &other, state.Meta{Tags: map[string]string{"room": "kitchen"}}))

	byID := func(rs []devices.Reading) []devices.Reading {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Device < rs[j].Device })
		return rs
	}
	check := func(name string, n int) {
		t.Helper()
		ch := mustChannel(t, name)
		want, err := mem.Snapshot(ctx, "t", ch)
		require.NoError(t, err)
		got, err := vk.Snapshot(ctx, "t", ch)
		require.NoError(t, err)
		require.Len(t, got, n, name)
		require.Equal(t, byID(want), byID(got), name)
	}
	check("devices", 3)
	check(wire.DeviceChannel("kitchen th"), 1)
	check(wire.DeviceChannel("a/b"), 1)
	check(wire.DeviceChannel("nope"), 0)
	check(wire.TagChannel("room", "kitchen"), 1)
	check(wire.TagChannel("floor", "2=3"), 2)
	check("tag:fl%6For=2%3D3", 0) // not the canonical escape of the key
	check("app:x", 0)
	check("monitor", 0)

	// Stale is evaluated at snapshot time.
	clock.Add(11 * time.Second)
	check("devices", 3)
	got, err := vk.Snapshot(ctx, "t", mustChannel(t, wire.DeviceChannel("kitchen th")))
	require.NoError(t, err)
	require.True(t, got[0].Stale)
}

func TestStoreSweepStale(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := storeTestCtx(t)
	clock := newStoreTestClock()
	vk := valkey.NewStore(c, "", valkey.StoreOptions{Now: clock.Now})
	mem := state.NewMemory(state.Config{Now: clock.Now})
	ts := time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)
	apply := func(tenant, id string, staleAfter time.Duration) {
		r := devices.Reading{Device: id, Family: "f", TS: ts, ReceivedAt: ts, Tags: map[string]string{"k": id}}
		meta := state.Meta{StaleAfter: staleAfter}
		require.NoError(t, vk.Apply(ctx, tenant, &r, meta))
		require.NoError(t, mem.Apply(ctx, tenant, &r, meta))
	}
	sweep := func() ([]state.TenantReading, []state.TenantReading) {
		want, err := mem.SweepStale(ctx)
		require.NoError(t, err)
		got, err := vk.SweepStale(ctx)
		require.NoError(t, err)
		for _, rs := range [][]state.TenantReading{want, got} {
			sort.Slice(rs, func(i, j int) bool { return rs[i].Tenant+rs[i].Reading.Device < rs[j].Tenant+rs[j].Reading.Device })
		}
		return want, got
	}
	apply("t1", "fast", 10*time.Second)
	apply("t1", "slow", time.Minute)
	apply("t1", "never", 0)
	apply("t2", "fast", 10*time.Second)

	clock.Add(10 * time.Second) // exactly the interval: not yet stale
	want, got := sweep()
	require.Empty(t, got)
	require.Equal(t, want, got)

	clock.Add(time.Millisecond)
	want, got = sweep()
	require.Len(t, got, 2)
	require.Equal(t, want, got)
	require.Equal(t, "fast", got[0].Reading.Device)
	require.True(t, got[0].Reading.Stale)
	require.Equal(t, clock.Now(), got[0].Reading.ReceivedAt)

	want, got = sweep()
	require.Empty(t, got, "each device once")
	require.Equal(t, want, got)

	// It speaks again: not stale, and swept again after its interval.
	apply("t1", "fast", 10*time.Second)
	info, _, err := vk.Device(ctx, "t1", "fast")
	require.NoError(t, err)
	require.False(t, info.Reading.Stale)
	clock.Add(time.Minute)
	want, got = sweep()
	require.Equal(t, want, got)
	names := []string{}
	for _, r := range got {
		names = append(names, r.Tenant+"/"+r.Reading.Device)
	}
	// t2's device was swept already and has not spoken since.
	require.Equal(t, []string{"t1/fast", "t1/slow"}, names)

	counts, err := vk.DeviceCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"t1": 3, "t2": 1}, counts)
}

// TestStoreChannelLimitPerTenant: a new channel past MaxChannels evicts the
// tenant's oldest channel (a resuming client then gets a new epoch and a
// snapshot); another tenant's channels are not touched.
func TestStoreChannelLimitPerTenant(t *testing.T) {
	_, c := storeTestRedis(t)
	ctx := context.Background()
	var evicted []string
	s := valkey.NewStore(c, "", valkey.StoreOptions{MaxChannels: 3,
		OnEvict: func(tenant, reason string) { evicted = append(evicted, tenant+"/"+reason) }})
	app := func(name string) wire.Channel {
		return wire.Channel{Name: "app:" + name, Kind: wire.KindApp, Arg: name}
	}
	_, err := s.Append(ctx, "other", app("a"), []byte(`1`), nil)
	require.NoError(t, err)
	for _, name := range []string{"a", "b", "c"} {
		_, err := s.Append(ctx, "acme", app(name), []byte(`1`), nil)
		require.NoError(t, err)
		_, err = s.Append(ctx, "acme", app(name), []byte(`2`), nil) // not new: no eviction
		require.NoError(t, err)
	}
	require.Empty(t, evicted)
	old, err := s.Position(ctx, "acme", app("a"))
	require.NoError(t, err)
	require.Equal(t, uint64(2), old.Offset)

	_, err = s.Append(ctx, "acme", app("d"), []byte(`1`), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"acme/channel_limit"}, evicted)
	pos, err := s.Position(ctx, "acme", app("a"))
	require.NoError(t, err)
	require.Equal(t, wire.StreamPosition{}, pos, "the oldest channel is gone")
	_, _, ok, err := s.Since(ctx, "acme", app("a"), old)
	require.NoError(t, err)
	require.False(t, ok, "a client resuming it gets a snapshot")
	for _, name := range []string{"b", "c", "d"} {
		pos, err := s.Position(ctx, "acme", app(name))
		require.NoError(t, err)
		require.NotEmpty(t, pos.Epoch, name)
	}
	pos, err = s.Position(ctx, "other", app("a"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), pos.Offset, "another tenant's channel of the same name stays")
}
