package simulator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStormDropsTheWholeFleetAtOnce(t *testing.T) {
	b := startBroker(t)
	reg := registry(t)
	rec := record(t, b.URL(), reg)
	s, err := New(Config{URL: b.URL(), Families: []string{"tasmota"}, Devices: 4, Interval: 50 * time.Millisecond,
		Seed: 5, Storm: 400 * time.Millisecond, Logger: quietLogger()}, reg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// Every device's LWT (offline while the simulator still runs) comes
	// from a storm: some 300 ms window holds the offline of all four.
	require.Eventually(t, func() bool {
		type off struct {
			device string
			at     time.Time
		}
		var offs []off
		for _, m := range rec.all() {
			h, _ := reg.Lookup(m.Topic)
			rs, err := h.Decode(h.DefaultBase(), m)
			if err != nil {
				continue
			}
			for _, r := range rs {
				if r.Online != nil && !*r.Online {
					offs = append(offs, off{r.Device, m.ReceivedAt})
				}
			}
		}
		for _, first := range offs {
			in := map[string]bool{}
			for _, o := range offs {
				if !o.at.Before(first.at) && o.at.Sub(first.at) < 300*time.Millisecond {
					in[o.device] = true
				}
			}
			if len(in) == 4 {
				return true
			}
		}
		return false
	}, waitFor, pollInt)
	cancel()
	require.NoError(t, <-done)
	require.GreaterOrEqual(t, s.Stats().Drops, uint64(4))
}

func TestSkewShiftsDeviceClocks(t *testing.T) {
	b := startBroker(t)
	reg := registry(t)
	rec := record(t, b.URL(), reg)
	s, err := New(Config{URL: b.URL(), Families: []string{"tasmota"}, Devices: 4, Interval: 50 * time.Millisecond,
		Seed: 9, Skew: time.Hour, Count: 2, Logger: quietLogger()}, reg)
	require.NoError(t, err)
	runSim(t, s, context.Background())
	skewed := 0
	for _, m := range rec.all() {
		h, _ := reg.Lookup(m.Topic)
		rs, err := h.Decode(h.DefaultBase(), m)
		if err != nil {
			continue
		}
		for _, r := range rs {
			if len(r.Metrics) > 0 && absDuration(r.TS.Sub(m.ReceivedAt)) > time.Minute {
				skewed++
			}
		}
	}
	require.Positive(t, skewed, "devices report their own (wrong) time")
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestRateSetsTheInterval(t *testing.T) {
	s, err := New(Config{Families: []string{"tasmota", "zigbee2mqtt"}, Devices: 5, Rate: 100, Logger: quietLogger()}, registry(t))
	require.NoError(t, err)
	require.Equal(t, 100*time.Millisecond, s.cfg.Interval, "10 devices at 100 rounds/s report every 100ms")
	_, err = New(Config{Devices: 1, Rate: 1e6, Logger: quietLogger()}, registry(t))
	require.Error(t, err)
}
