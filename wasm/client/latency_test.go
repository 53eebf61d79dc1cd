package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHistogramObserveUsesLeBuckets(t *testing.T) {
	var h Histogram
	for _, ms := range []float64{0, 1, 1.0001, 2.5, 7.5, 10000, 10001, 1e9} {
		h.Observe(ms)
	}
	// le semantics: a sample equal to a bound belongs to that bound's bucket.
	require.Equal(t, [14]uint64{2, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}, h.Counts)
	require.Equal(t, uint64(8), h.Count())
	require.InDelta(t, 0+1+1.0001+2.5+7.5+10000+10001+1e9, h.SumMs, 1e-6)
}

func TestHistogramQuantileInterpolatesLikePrometheus(t *testing.T) {
	var h Histogram
	require.Zero(t, h.Quantile(0.5), "empty")

	// 100 samples in (5, 10] ms: the median is halfway through the bucket.
	for range 100 {
		h.Observe(7)
	}
	require.InDelta(t, 7.5, h.Quantile(0.5), 1e-9)
	require.InDelta(t, 9.95, h.Quantile(0.99), 1e-9)

	// 100 more in the first bucket [0, 1]: the median is its top.
	for range 100 {
		h.Observe(0.3)
	}
	require.InDelta(t, 1, h.Quantile(0.5), 1e-9)
	require.InDelta(t, 0.5, h.Quantile(0.25), 1e-9)

	// The +Inf bucket answers with the highest finite bound.
	var inf Histogram
	inf.Observe(1e6)
	require.Equal(t, 10000.0, inf.Quantile(0.99))
}

func TestHistogramTakeAndSub(t *testing.T) {
	var h Histogram
	h.Counts[0], h.Counts[3], h.Counts[13] = 60, 30, 10
	h.SumMs = 1000

	all := h.take(1000)
	require.Equal(t, h, all, "under the cap: everything")

	part := h.take(70)
	require.Equal(t, uint64(70), part.Count())
	require.Equal(t, uint64(60), part.Counts[0])
	require.Equal(t, uint64(10), part.Counts[3])
	require.InDelta(t, 700, part.SumMs, 1e-9, "a proportional share of the sum")

	h.sub(&part)
	require.Equal(t, uint64(30), h.Count())
	require.Equal(t, uint64(20), h.Counts[3])
	require.InDelta(t, 300, h.SumMs, 1e-9)

	rest := h.take(70)
	h.sub(&rest)
	require.Zero(t, h.Count())
	require.Zero(t, h.SumMs, "no float residue when empty")
}
