package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Every value lands in a bucket whose range holds it, buckets are
// contiguous, and no bucket is wider than 1/32 of its values.
func TestBuckets(t *testing.T) {
	prevHigh := int64(-1)
	for i := 0; i < histLen; i++ {
		low, high := uint64(prevHigh+1), bucketHigh(i)
		require.GreaterOrEqual(t, high, low, "bucket %d", i)
		require.Equal(t, i, bucketOf(low), "low end of bucket %d", i)
		require.Equal(t, i, bucketOf(high), "high end of bucket %d", i)
		if low >= histExact {
			require.LessOrEqual(t, float64(high-low+1)/float64(low), 1.0/32+1e-9, "bucket %d width", i)
		}
		if high == ^uint64(0) {
			require.Equal(t, histLen-1, i)
			return
		}
		prevHigh = int64(high)
	}
	t.Fatalf("buckets end at %d µs, before the largest uint64", prevHigh)
}

// Quantiles agree with the sorted samples within one bucket (3%), are never
// below them, and the maximum is exact.
func TestQuantiles(t *testing.T) {
	var h histogram
	require.Zero(t, h.quantile(0.99))
	r := rand.New(rand.NewPCG(1, 2))
	samples := make([]time.Duration, 100000)
	for i := range samples {
		samples[i] = time.Duration(r.ExpFloat64()*20000) * time.Microsecond
		h.record(samples[i])
	}
	slices.Sort(samples)
	require.EqualValues(t, len(samples), h.count())
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := samples[int(q*float64(len(samples)))-1]
		got := h.quantile(q)
		require.GreaterOrEqual(t, got, want, "q=%v", q)
		require.LessOrEqual(t, float64(got), float64(want)*1.035+float64(time.Microsecond), "q=%v", q)
	}
	require.Equal(t, samples[len(samples)-1], h.maximum())
	require.Equal(t, h.maximum(), h.quantile(1))
}
