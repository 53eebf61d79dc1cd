package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

var devicesCh = wire.Channel{Name: "devices", Kind: wire.KindDevices}

// fleet fills m with two tenants and returns the device time of the
// readings.
func fleet(t *testing.T, m *Memory, clk *fakeClock) time.Time {
	t.Helper()
	t0 := clk.Now()
	apply(t, m, "acme", devices.Reading{Device: "th", Family: "z2m", TS: t0, ReceivedAt: t0,
		Metrics: map[string]any{"temperature": 21.5, "relay": true}, Attrs: map[string]string{"model": "A"},
		Tags: map[string]string{"room": "kitchen"}},
		Meta{Topic: "zigbee2mqtt/th", Source: 2, StaleAfter: 10 * time.Minute, Tags: map[string]string{"site": "hq"}})
	apply(t, m, "acme", devices.Reading{Device: "th", Family: "z2m", TS: t0, ReceivedAt: t0, Online: boolPtr(true)},
		Meta{Topic: "zigbee2mqtt/th/availability", Source: 2, StaleAfter: 10 * time.Minute})
	clk.Advance(time.Second)
	apply(t, m, "acme", devices.Reading{Device: "plug/1 ü", Family: "tasmota", TS: t0, ReceivedAt: t0,
		Metrics: map[string]any{"power": 12.0}}, Meta{Topic: "tele/plug/SENSOR", Source: 1})
	apply(t, m, "other", devices.Reading{Device: "th", Family: "shelly", TS: t0, ReceivedAt: t0,
		Metrics: map[string]any{"temperature": 5.0}}, Meta{})
	return t0
}

func snapshotOf(t *testing.T, m *Memory, tenant string) []devices.Reading {
	t.Helper()
	out, err := m.Snapshot(context.Background(), tenant, devicesCh)
	require.NoError(t, err)
	sort.Slice(out, func(i, j int) bool { return out[i].Device < out[j].Device })
	return out
}

func TestSaveLoadRestoresSnapshot(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m1 := newTestMemory(clk)
	t0 := fleet(t, m1, clk)
	pos1, err := m1.Append(ctx, "acme", devicesCh, []byte(`{}`), nil)
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "state.jsonl")
	require.NoError(t, m1.Save(path))

	m2 := newTestMemory(clk)
	n, err := m2.Load(path)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for _, tenant := range []string{"acme", "other"} {
		require.Equal(t, snapshotOf(t, m1, tenant), snapshotOf(t, m2, tenant), tenant)
	}

	got := snapshotOf(t, m2, "acme")
	require.Len(t, got, 2)
	th := got[1]
	require.Equal(t, "th", th.Device)
	require.Equal(t, map[string]any{"temperature": 21.5, "relay": true}, th.Metrics)
	require.Equal(t, map[string]string{"model": "A"}, th.Attrs)
	require.Equal(t, map[string]string{"room": "kitchen", "site": "hq"}, th.Tags)
	require.NotNil(t, th.Online)
	require.True(t, *th.Online)
	require.True(t, th.TS.Equal(t0))

	info, ok, err := m2.Device(ctx, "acme", "th")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2, info.Source)
	require.Equal(t, []string{"zigbee2mqtt/th/availability", "zigbee2mqtt/th"}, info.Topics)
	m2.Do("acme", func(tn *Tenant) {
		d, _ := tn.Device("th")
		require.Equal(t, 10*time.Minute, d.StaleAfter)
		require.True(t, d.LastSeen.Equal(t0))
		require.True(t, d.tsOnline.Equal(t0))
	})

	// The tag channel snapshot is restored too.
	tag, err := wire.ParseChannel(wire.TagChannel("site", "hq"))
	require.NoError(t, err)
	tagged, err := m2.Snapshot(ctx, "acme", tag)
	require.NoError(t, err)
	require.Len(t, tagged, 1)

	// History is not: the channel has a new epoch, so a client resuming
	// from its old position is not recovered and gets the snapshot.
	_, _, recovered, err := m2.Since(ctx, "acme", devicesCh, wire.StreamPosition{Epoch: pos1.Epoch, Offset: pos1.Offset})
	require.NoError(t, err)
	require.False(t, recovered)

	// A Reading older in device time than the restored one does not move
	// the device back, and neither does an older availability change.
	apply(t, m2, "acme", devices.Reading{Device: "th", Family: "z2m", TS: t0.Add(-time.Minute), ReceivedAt: clk.Now(),
		Metrics: map[string]any{"temperature": 99.0}, Attrs: map[string]string{"model": "old"}, Online: boolPtr(false)},
		Meta{Topic: "zigbee2mqtt/th", Source: 2})
	r := merged(m2, "acme", "th")
	require.Equal(t, 21.5, r.Metrics["temperature"])
	require.Equal(t, "A", r.Attrs["model"])
	require.True(t, *r.Online)
	require.True(t, r.TS.Equal(t0))

	// A newer one merges as usual.
	apply(t, m2, "acme", devices.Reading{Device: "th", Family: "z2m", TS: t0.Add(time.Minute),
		Metrics: map[string]any{"temperature": 22.0}}, Meta{})
	r = merged(m2, "acme", "th")
	require.Equal(t, map[string]any{"temperature": 22.0, "relay": true}, r.Metrics)
}

func TestLoadKeepsStalenessAndLiveDevices(t *testing.T) {
	clk := newFakeClock()
	m1 := newTestMemory(clk)
	fleet(t, m1, clk)
	path := filepath.Join(t.TempDir(), "state.jsonl")
	require.NoError(t, m1.Save(path))

	// A device heard before Load keeps its live state.
	clk.Advance(time.Hour)
	m2 := newTestMemory(clk)
	apply(t, m2, "acme", devices.Reading{Device: "th", Family: "z2m", TS: clk.Now(),
		Metrics: map[string]any{"temperature": 30.0}}, Meta{StaleAfter: 10 * time.Minute})
	n, err := m2.Load(path)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, map[string]any{"temperature": 30.0}, merged(m2, "acme", "th").Metrics)

	// LastSeen is restored, so a device silent for longer than its stale
	// interval before the restart is stale after it.
	m3 := newTestMemory(clk)
	_, err = m3.Load(path)
	require.NoError(t, err)
	require.True(t, merged(m3, "acme", "th").Stale)
	require.False(t, merged(m3, "acme", "plug/1 ü").Stale, "no stale interval")
}

func TestLoadBoundedByMaxDevicesKeepsMostRecent(t *testing.T) {
	clk := newFakeClock()
	m1 := newTestMemory(clk)
	for i := range 5 {
		apply(t, m1, "acme", devices.Reading{Device: fmt.Sprintf("d%d", i), TS: clk.Now()}, Meta{})
		clk.Advance(time.Second)
	}
	path := filepath.Join(t.TempDir(), "state.jsonl")
	require.NoError(t, m1.Save(path))

	m2 := newTestMemory(clk, func(c *Config) { c.MaxDevices = 3 })
	n, err := m2.Load(path)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	var ids []string
	for _, r := range snapshotOf(t, m2, "acme") {
		ids = append(ids, r.Device)
	}
	require.Equal(t, []string{"d2", "d3", "d4"}, ids)
}

func TestLoadMissingFile(t *testing.T) {
	m := newTestMemory(newFakeClock())
	n, err := m.Load(filepath.Join(t.TempDir(), "nope", "state.jsonl"))
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, m.Tenants())
}

func TestLoadBadFile(t *testing.T) {
	ts := `"2026-11-23T17:00:00Z"`
	dev := func(body string) string {
		return `{"tenant":"acme","reading":{"device":"d","family":"f","ts":` + ts + `,"received_at":` + ts + body + `},"last_seen":` + ts + `,"ts_online":` + ts + `}`
	}
	cases := map[string]struct{ content, want string }{
		"empty":         {"", "header"},
		"garbage":       {"\x00\x01not json", "header"},
		"wrong version": {`{"version":2,"devices":0}`, "version 2, want 1"},
		"no version":    {`{"devices":0}`, "version 0, want 1"},
		"truncated":     {`{"version":1,"devices":2}` + "\n" + dev(``) + "\n", "1 device lines, header says 2"},
		"cut mid-line":  {`{"version":1,"devices":1}` + "\n" + dev(``)[:40], "device line 1"},
		"bad metric":    {`{"version":1,"devices":1}` + "\n" + dev(`,"metrics":{"t":"hot"}`), `metric "t" is string`},
		"no tenant":     {`{"version":1,"devices":1}` + "\n" + `{"reading":{"device":"d"}}`, "empty tenant"},
		"no device":     {`{"version":1,"devices":1}` + "\n" + `{"tenant":"acme","reading":{}}`, "empty device id"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.jsonl")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			m := newTestMemory(newFakeClock())
			n, err := m.Load(path)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrBadStateFile)
			require.Contains(t, err.Error(), path)
			require.Contains(t, err.Error(), tc.want)
			require.Zero(t, n)
			require.Empty(t, m.Tenants(), "nothing is restored from a bad file")
		})
	}

	// The good line of the truncated file loads once the count matches.
	path := filepath.Join(t.TempDir(), "state.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"devices":1}`+"\n"+dev(`,"metrics":{"t":1,"on":false}`)), 0o600))
	n, err := newTestMemory(newFakeClock()).Load(path)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestSaveFailureKeepsOldFile(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	fleet(t, m, clk)
	dir := t.TempDir()
	path := filepath.Join(dir, "state.jsonl")
	require.NoError(t, m.Save(path))
	old, err := os.ReadFile(path)
	require.NoError(t, err)

	// A value JSON cannot encode fails the write half way through.
	apply(t, m, "zzz", devices.Reading{Device: "a", TS: clk.Now(), Metrics: map[string]any{"x": 1.0}}, Meta{})
	m.Do("zzz", func(tn *Tenant) {
		d, _ := tn.Device("a")
		d.Reading.Metrics["x"] = math.Inf(1)
	})
	err = m.Save(path)
	require.Error(t, err)
	require.Contains(t, err.Error(), path)
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, old, now, "a failed save must leave the old file")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the temporary file is removed")

	// A directory that does not exist fails before anything is written.
	err = m.Save(filepath.Join(dir, "missing", "state.jsonl"))
	require.Error(t, err)
	require.Contains(t, err.Error(), filepath.Join(dir, "missing", "state.jsonl"))
}

func TestSaveFileIsCompactAndVersioned(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	fleet(t, m, clk)
	path := filepath.Join(t.TempDir(), "state.jsonl")
	require.NoError(t, m.Save(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 4, "a header and one line per device (3)")
	require.True(t, strings.HasPrefix(lines[0], `{"version":1,`), lines[0])
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// An empty store saves an empty, loadable file.
	empty := filepath.Join(t.TempDir(), "state.jsonl")
	require.NoError(t, newTestMemory(clk).Save(empty))
	n, err := newTestMemory(clk).Load(empty)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestPersistPeriodicAndFinalSave(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	path := filepath.Join(t.TempDir(), "state.jsonl")
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Persist(ctx, path, 10*time.Millisecond, log) }()

	// loaded runs inside require.Eventually's goroutine: no require.
	loaded := func() int {
		n, err := newTestMemory(clk).Load(path)
		if err != nil {
			return -1
		}
		return n
	}
	apply(t, m, "acme", devices.Reading{Device: "a", TS: clk.Now()}, Meta{})
	require.Eventually(t, func() bool { return loaded() == 1 }, 5*time.Second, 5*time.Millisecond, "periodic save")
	apply(t, m, "acme", devices.Reading{Device: "b", TS: clk.Now()}, Meta{})
	require.Eventually(t, func() bool { return loaded() == 2 }, 5*time.Second, 5*time.Millisecond, "periodic save")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Persist did not return after cancel")
	}
	require.Empty(t, logs.String())

	// With an interval that never ticks, the save at ctx end is the only
	// one, and Persist returns after it.
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- m.Persist(ctx, path, time.Hour, nil) }()
	apply(t, m, "acme", devices.Reading{Device: "c", TS: clk.Now()}, Meta{})
	require.Equal(t, 2, loaded())
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, 3, loaded())

	// The final save's error is returned; periodic errors are logged.
	bad := filepath.Join(t.TempDir(), "missing", "state.jsonl")
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- m.Persist(ctx, bad, 5*time.Millisecond, log) }()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "state save failed") }, 5*time.Second, 5*time.Millisecond)
	cancel()
	err := <-done
	require.Error(t, err)
	require.Contains(t, err.Error(), bad)
}

func TestSaveConcurrentWithApply(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	path := filepath.Join(t.TempDir(), "state.jsonl")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r := devices.Reading{Device: fmt.Sprintf("d%d", i%50), TS: clk.Now(), Metrics: map[string]any{"n": float64(i)},
				Tags: map[string]string{"k": "v"}}
			m.Do("acme", func(tn *Tenant) { _, _ = tn.Apply(&r, Meta{Topic: fmt.Sprintf("t/%d", i%10)}) })
		}
	}()
	for range 20 {
		require.NoError(t, m.Save(path))
		_, err := newTestMemory(clk).Load(path)
		require.NoError(t, err)
	}
	close(stop)
	<-done
}

func FuzzLoad(f *testing.F) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	dir := f.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	fleetF(m, clk)
	if err := m.Save(good); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(""))
	f.Add([]byte(`{"version":1,"devices":0}`))
	f.Add([]byte(`{"version":1,"devices":1}` + "\n" + `{"tenant":"a","reading":{"device":"d","metrics":{"x":[1]}}}`))
	f.Add([]byte(`{"version":1,"devices":1}` + "\n" + `{"tenant":"a","reading":{"device":"d","online":null,"tags":{"a":null}},"topics":["a","b","c","d","e","f","g","h","i","j"]}`))
	f.Add([]byte(`{"version":1,"devices":99999999999}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "state.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m := newTestMemory(clk, func(c *Config) { c.MaxDevices = 10 })
		n, err := m.Load(path)
		if err != nil {
			if n != 0 || !errors.Is(err, ErrBadStateFile) {
				t.Fatalf("n=%d err=%v", n, err)
			}
			return
		}
		// What loads saves and loads again to the same devices.
		if err := m.Save(path); err != nil {
			t.Fatal(err)
		}
		again := newTestMemory(clk, func(c *Config) { c.MaxDevices = 10 })
		n2, err := again.Load(path)
		if err != nil || n2 != n {
			t.Fatalf("reload: n=%d n2=%d err=%v", n, n2, err)
		}
		for _, tenant := range m.Tenants() {
			a, _ := m.Snapshot(context.Background(), tenant, devicesCh)
			b, _ := again.Snapshot(context.Background(), tenant, devicesCh)
			if len(a) != len(b) {
				t.Fatalf("tenant %s: %d devices, reloaded %d", tenant, len(a), len(b))
			}
		}
		for _, r := range m.devicesOf() {
			for k, v := range r.Metrics {
				if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
					t.Fatalf("metric %s not finite", k)
				}
			}
		}
	})
}

// syncBuffer is a bytes.Buffer a logger may write while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fleetF is fleet for a fuzz seed, without a *testing.T.
func fleetF(m *Memory, clk *fakeClock) {
	t0 := clk.Now()
	m.Do("acme", func(tn *Tenant) {
		_, _ = tn.Apply(&devices.Reading{Device: "th", Family: "z2m", TS: t0, Online: boolPtr(true),
			Metrics: map[string]any{"temperature": 21.5, "relay": true}, Attrs: map[string]string{"model": "A"}},
			Meta{Topic: "zigbee2mqtt/th", Source: 1, StaleAfter: time.Minute, Tags: map[string]string{"site": "hq"}})
	})
	m.Do("other", func(tn *Tenant) {
		_, _ = tn.Apply(&devices.Reading{Device: "x", TS: t0, Metrics: map[string]any{"power": 1.0}}, Meta{})
	})
}

// devicesOf returns every device's Reading of every tenant.
func (m *Memory) devicesOf() []devices.Reading {
	var out []devices.Reading
	for _, tenant := range m.Tenants() {
		m.Do(tenant, func(tn *Tenant) {
			for _, d := range tn.devices {
				out = append(out, d.Reading)
			}
		})
	}
	return out
}

// TestPersistSkipsUnchangedFleet: a periodic save of a fleet that did not
// change since the last save is skipped (an idle node does not rewrite a
// large file every interval); the next change is saved.
func TestPersistSkipsUnchangedFleet(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	path := filepath.Join(t.TempDir(), "state.jsonl")
	apply(t, m, "acme", devices.Reading{Device: "a", TS: clk.Now()}, Meta{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Persist(ctx, path, 5*time.Millisecond, nil) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	require.Eventually(t, func() bool { _, err := os.Stat(path); return err == nil }, 5*time.Second, 5*time.Millisecond)
	// Remove the file: while nothing changes, no tick writes it again.
	require.NoError(t, os.Remove(path))
	time.Sleep(100 * time.Millisecond)
	_, err := os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "an unchanged fleet is not saved again")
	apply(t, m, "acme", devices.Reading{Device: "b", TS: clk.Now()}, Meta{})
	require.Eventually(t, func() bool { n, err := newTestMemory(clk).Load(path); return err == nil && n == 2 }, 5*time.Second, 5*time.Millisecond)
}
