package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOffsetEstimatorKeepsSmallestRoundTrip(t *testing.T) {
	var e offsetEstimator
	_, _, ok := e.offset()
	require.False(t, ok)

	// Server 500 ms ahead. A round trip of 10 ms answered late (the reply
	// queued 8 ms on the client) misestimates by 4 ms.
	e.add(1000, 1010, 1502) // the server stamped it at client time 1002
	off, rtt, ok := e.offset()
	require.True(t, ok)
	require.Equal(t, 10.0, rtt)
	require.Equal(t, 497.0, off)

	// A cleaner sample wins, a worse one later does not replace it.
	e.add(2000, 2002, 2501)
	e.add(3000, 3030, 3515)
	off, rtt, _ = e.offset()
	require.Equal(t, 2.0, rtt)
	require.Equal(t, 500.0, off)

	// Backwards client clock: ignored.
	e.add(4000, 3990, 4000)
	_, rtt, _ = e.offset()
	require.Equal(t, 2.0, rtt)

	// After offsetSamples newer samples the good one has aged out.
	for i := range offsetSamples {
		base := float64(10000 + 1000*i)
		e.add(base, base+6, base+3+490)
	}
	off, rtt, _ = e.offset()
	require.Equal(t, 6.0, rtt)
	require.Equal(t, 490.0, off, "the drifted clock is followed")
}

func TestOffsetEstimatorResetKeepsEstimateUntilNewSample(t *testing.T) {
	var e offsetEstimator
	e.add(0, 2, 101)
	e.reset()
	off, rtt, ok := e.offset()
	require.True(t, ok)
	require.Equal(t, 100.0, off)
	require.Equal(t, 2.0, rtt)

	// The first sample after reset replaces it even with a longer round
	// trip: the old one may describe another node.
	e.add(1000, 1020, 1010-50)
	off, rtt, _ = e.offset()
	require.Equal(t, -50.0, off)
	require.Equal(t, 20.0, rtt)
}
