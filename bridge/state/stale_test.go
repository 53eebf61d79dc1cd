package state

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// TestSweepStaleWorksOnWhatChanged: the sweep visits the devices whose
// deadline passed, not the fleet. A quiet fleet that is already stale is
// out of the queue; a busy device stays queued once, however often it is
// heard.
func TestSweepStaleWorksOnWhatChanged(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	const n = 1000
	for i := 0; i < n; i++ {
		apply(t, m, "acme", devices.Reading{Device: "d" + strconv.Itoa(i), TS: clk.Now()}, Meta{StaleAfter: time.Minute})
	}
	apply(t, m, "acme", devices.Reading{Device: "never", TS: clk.Now()}, Meta{})
	queued := func() (q int) { m.Do("acme", func(tn *Tenant) { q = tn.staleQueued() }); return q }
	sweep := func() (out []devices.Reading) { m.Do("acme", func(tn *Tenant) { out = tn.SweepStale() }); return out }
	require.Equal(t, n, queued(), "one entry per device that can become stale")

	// d0 is heard every 10 s: still one entry, however often.
	for i := 0; i < 5; i++ {
		clk.Advance(10 * time.Second)
		apply(t, m, "acme", devices.Reading{Device: "d0", TS: clk.Now()}, Meta{StaleAfter: time.Minute})
		require.Zero(t, len(sweep()))
		require.Equal(t, n, queued())
	}
	clk.Advance(20 * time.Second) // 70 s: d0 was heard 20 s ago
	got := sweep()
	require.Len(t, got, n-1, "all but d0 went stale")
	require.Equal(t, 1, queued(), "only d0 is left to watch, queued again with its real deadline")
	require.Zero(t, len(sweep()), "a device becomes stale once")

	clk.Advance(time.Hour)
	require.Len(t, sweep(), 1)
	require.Zero(t, queued(), "a quiet, stale fleet costs the sweep nothing")

	// A message revives a device: watched again.
	apply(t, m, "acme", devices.Reading{Device: "d7", TS: clk.Now()}, Meta{StaleAfter: time.Minute})
	require.Equal(t, 1, queued())
	clk.Advance(61 * time.Second)
	got = sweep()
	require.Len(t, got, 1)
	require.Equal(t, "d7", got[0].Device)
}

// TestSweepStaleIntervalShrinks: a device queued with a long interval
// whose source now says a shorter one becomes stale on the shorter one.
func TestSweepStaleIntervalShrinks(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	apply(t, m, "acme", devices.Reading{Device: "d", TS: clk.Now()}, Meta{StaleAfter: time.Hour})
	apply(t, m, "acme", devices.Reading{Device: "d", TS: clk.Now()}, Meta{StaleAfter: time.Minute})
	clk.Advance(61 * time.Second)
	var out []devices.Reading
	m.Do("acme", func(tn *Tenant) { out = tn.SweepStale() })
	require.Len(t, out, 1)
	clk.Advance(time.Hour)
	m.Do("acme", func(tn *Tenant) {
		require.Empty(t, tn.SweepStale(), "the superseded entry does not report it twice")
		require.Zero(t, tn.staleQueued())
	})
}

// TestSweepStaleAfterIdentityTakeover: the device a new source took over
// is watched afresh; the old owner's entry is skipped.
func TestSweepStaleAfterIdentityTakeover(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk, func(c *Config) { c.IdentityTTL = time.Minute })
	apply(t, m, "acme", devices.Reading{Device: "d", TS: clk.Now()}, Meta{SourceKey: "a", StaleAfter: 30 * time.Minute})
	clk.Advance(2 * time.Minute)
	apply(t, m, "acme", devices.Reading{Device: "d", TS: clk.Now()}, Meta{SourceKey: "b", StaleAfter: time.Hour})
	clk.Advance(31 * time.Minute)
	m.Do("acme", func(tn *Tenant) {
		require.Empty(t, tn.SweepStale(), "the old owner's deadline no longer applies")
		require.Equal(t, 1, tn.staleQueued())
	})
	clk.Advance(30 * time.Minute)
	m.Do("acme", func(tn *Tenant) { require.Len(t, tn.SweepStale(), 1) })
}

// TestSweepStaleAfterRelease: a device released by HoldSource is watched
// again, so it still goes stale when it falls silent.
func TestSweepStaleAfterRelease(t *testing.T) {
	clk := newFakeClock()
	m := newTestMemory(clk)
	meta := Meta{SourceKey: "z", StaleAfter: time.Minute}
	apply(t, m, "acme", devices.Reading{Device: "lamp", TS: clk.Now()}, meta)
	m.Do("acme", func(tn *Tenant) {
		require.Len(t, tn.HoldSource("z", "bridge", true), 1)
		require.Empty(t, tn.SweepStale())
		clk.Advance(30 * time.Second)
		require.Len(t, tn.HoldSource("z", "bridge", false), 1, "fresh again")
		require.Empty(t, tn.SweepStale())
	})
	clk.Advance(31 * time.Second)
	m.Do("acme", func(tn *Tenant) {
		out := tn.SweepStale()
		require.Len(t, out, 1, "silent past its interval after the release")
		require.True(t, out[0].Stale)
	})
}
