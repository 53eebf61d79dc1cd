package simulator

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

var start = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestFleetDecodes(t *testing.T) {
	b := startBroker(t)
	reg := registry(t)
	rec := record(t, b.URL(), reg)
	const rounds = 4
	s, err := New(Config{URL: b.URL(), Devices: 3, Interval: 40 * time.Millisecond, Seed: 1, Start: start,
		QoS: 1, Count: rounds, Logger: quietLogger()}, reg)
	require.NoError(t, err)
	fleet := 3 * len(samplers(reg))
	require.Len(t, s.Devices(), fleet)
	runSim(t, s, context.Background())

	st := s.Stats()
	require.Equal(t, uint64(fleet), st.Connects)
	require.Zero(t, st.PublishErrors)
	// The recorder may see the last offline messages a moment after Run.
	want := 0
	for _, d := range s.Devices() {
		h, _ := reg.Handler(d.Family)
		sm := h.(devices.Sampler)
		for _, online := range []bool{true, false} { // birth and offline, where the family has them
			if _, ok := sm.Availability(d.Base, d.Name, online); ok {
				want++
			}
		}
		round := sm.Sample(d.Base, d.Name, start, rand.New(rand.NewPCG(1, 1)))
		want += rounds * len(round)
		if l, ok := h.(devices.Learner); ok { // metadata announced before the birth
			for _, m := range round {
				for _, f := range l.LearnFilters(d.Base) {
					if devices.Match(f, m.Topic) {
						want++
						break
					}
				}
			}
		}
	}
	require.Eventually(t, func() bool { return len(rec.all()) >= want }, waitFor, pollInt)

	got := decode(t, reg, rec.all())
	for _, d := range s.Devices() {
		evs := got[d]
		require.NotEmpty(t, evs, "nothing decoded for %+v", d)
		h, _ := reg.Handler(d.Family)
		sm := h.(devices.Sampler)
		// Families that learn metadata first (Home Assistant discovery,
		// Homie attributes) may decode telemetry before the birth, so the
		// order is checked among availability messages only.
		var avail []bool
		for _, e := range evs {
			if e.online != nil {
				avail = append(avail, *e.online)
			}
		}
		if _, ok := sm.Availability(d.Base, d.Name, true); ok {
			require.NotEmpty(t, avail, "%q announced no availability", d.Name)
			require.True(t, avail[0], "the first availability message of %q is its birth", d.Name)
		}
		if _, ok := sm.Availability(d.Base, d.Name, false); ok {
			require.False(t, avail[len(avail)-1], "the last availability message of %q says offline", d.Name)
		}
		telemetry := 0
		for _, e := range evs {
			require.Equal(t, "decoded", e.verdict, e.topic)
			if e.online == nil {
				require.NotEmpty(t, e.metrics, e.topic)
				telemetry++
			}
		}
		require.GreaterOrEqual(t, telemetry, rounds, d.Name)
	}
}

func TestDeterministicSequences(t *testing.T) {
	run := func(seed int64) map[Device][]event {
		// A fresh registry per run: some families learn metadata as they
		// decode (Homie, Home Assistant, Sparkplug).
		reg := registry(t)
		b := startBroker(t)
		rec := record(t, b.URL(), reg)
		s, err := New(Config{URL: b.URL(), Devices: 2, Interval: 30 * time.Millisecond, Seed: seed, Start: start,
			QoS: 1, Count: 3, Logger: quietLogger()}, reg)
		require.NoError(t, err)
		runSim(t, s, context.Background())
		n := 0
		require.Eventually(t, func() bool {
			got := len(rec.all())
			stable := got == n && got > 0
			n = got
			return stable
		}, waitFor, 200*time.Millisecond)
		return decode(t, reg, rec.all())
	}
	a, b := run(7), run(7)
	require.Equal(t, len(a), len(b))
	for dev, evs := range a {
		require.Equal(t, comparable(evs), comparable(b[dev]), "device %+v published a different sequence", dev)
	}
	c := run(8)
	require.NotEqual(t, keys(a), keys(c), "another seed names devices differently")
}

func keys(m map[Device][]event) map[Device]bool {
	out := map[Device]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func TestChurnPublishesLWTAndComesBack(t *testing.T) {
	b := startBroker(t)
	reg := registry(t)
	rec := record(t, b.URL(), reg)
	s, err := New(Config{URL: b.URL(), Families: []string{"tasmota"}, Devices: 3, Interval: 30 * time.Millisecond,
		Seed: 3, Churn: 0.3, Logger: quietLogger()}, reg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	// A device that went offline and came back while the simulator ran:
	// the offline came from the broker's LWT (the simulator only sends
	// its own offline message when it stops).
	require.Eventually(t, func() bool {
		for _, evs := range decode(t, reg, rec.all()) {
			state := ""
			for _, e := range evs {
				switch {
				case e.online == nil:
				case *e.online:
					if state == "online-offline" {
						return true
					}
					state = "online"
				case state == "online":
					state = "online-offline"
				}
			}
		}
		return false
	}, waitFor, pollInt)
	cancel()
	require.NoError(t, <-done)
	require.NotZero(t, s.Stats().Drops)
	require.Greater(t, s.Stats().Connects, uint64(3))
}

func TestBadPayloadsAreRejected(t *testing.T) {
	b := startBroker(t)
	reg := registry(t)
	rec := record(t, b.URL(), reg)
	s, err := New(Config{URL: b.URL(), Families: []string{"zigbee2mqtt"}, Devices: 2, Interval: 20 * time.Millisecond,
		Seed: 5, Bad: 1, QoS: 1, Count: 8, Logger: quietLogger()}, reg)
	require.NoError(t, err)
	runSim(t, s, context.Background())
	require.Equal(t, uint64(16), s.Stats().Bad)
	require.Eventually(t, func() bool {
		rejected := 0
		for _, m := range rec.all() {
			h, _ := reg.Lookup(m.Topic)
			if _, err := h.Decode(h.DefaultBase(), m); err != nil {
				if v, _ := devices.Verdict(err); v == "rejected" {
					rejected++
				}
			}
		}
		return rejected == 16
	}, waitFor, pollInt)
}

func TestDurationStopsRun(t *testing.T) {
	b := startBroker(t)
	s, err := New(Config{URL: b.URL(), Devices: 2, Interval: 20 * time.Millisecond, Duration: 300 * time.Millisecond,
		Logger: quietLogger()}, nil)
	require.NoError(t, err)
	t0 := time.Now()
	runSim(t, s, context.Background())
	require.Less(t, time.Since(t0), 10*time.Second)
	require.NotZero(t, s.Stats().Published)
	require.ErrorIs(t, s.Run(context.Background()), ErrAlreadyRun)
}

func TestRunStopsWhileBrokerUnreachable(t *testing.T) {
	b := startBroker(t)
	url := b.URL()
	require.NoError(t, b.Close())
	s, err := New(Config{URL: url, Devices: 1, Interval: 10 * time.Millisecond, Duration: 500 * time.Millisecond,
		Logger: quietLogger()}, nil)
	require.NoError(t, err)
	runSim(t, s, context.Background())
	require.Zero(t, s.Stats().Connects)
	require.NotZero(t, s.Stats().ConnectErrors)
}

// comparable keeps only the availability of births and wills: they are
// built without the simulator's clock (devices.Sampler.Availability), so a
// family that stamps them or reports uptime in them (Sparkplug NBIRTH)
// uses the wall clock. Telemetry must match byte for byte.
func comparable(evs []event) []event {
	out := make([]event, len(evs))
	for i, e := range evs {
		if e.online != nil {
			e.payload, e.metrics = "", nil
		}
		out[i] = e
	}
	return out
}
