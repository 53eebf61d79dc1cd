package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBackoffBounds(t *testing.T) {
	minD, maxD := 500*Millisecond, 20*Second
	for step := 0; step < 40; step++ {
		for i := 0; i < 200; i++ {
			d := Backoff(step, minD, maxD, nil)
			require.GreaterOrEqual(t, d, minD)
			require.LessOrEqual(t, d, maxD)
		}
	}
}

func TestBackoffExtremes(t *testing.T) {
	minD, maxD := 500*Millisecond, 20*Second
	zero := func(int64) int64 { return 0 }
	top := func(n int64) int64 { return n - 1 }
	require.Equal(t, minD, Backoff(0, minD, maxD, zero))
	// step 0: interval up to min → at most 2·min.
	require.Equal(t, 2*minD, Backoff(0, minD, maxD, top))
	require.Equal(t, minD+4*minD, Backoff(2, minD, maxD, top))
	// large steps saturate at max and never overflow.
	require.Equal(t, maxD, Backoff(31, minD, maxD, top))
	require.Equal(t, maxD, Backoff(1000, minD, maxD, top))
	require.Equal(t, minD, Backoff(-3, minD, maxD, zero))
}

func TestBackoffGrowsOnAverage(t *testing.T) {
	minD, maxD := 500*Millisecond, 20*Second
	avg := func(step int) int64 {
		var sum int64
		for i := 0; i < 2000; i++ {
			sum += Backoff(step, minD, maxD, nil)
		}
		return sum / 2000
	}
	require.Less(t, avg(0), avg(3))
	require.Less(t, avg(3), avg(10))
}
