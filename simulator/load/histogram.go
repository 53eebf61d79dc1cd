package load

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Latencies are kept in a log-linear histogram of microseconds: exact below
// 64 µs, then 32 buckets per power of two (at most 3% wide). A step at 150k
// deliveries/s records millions of samples; a histogram with atomic
// counters keeps that at a fixed 15 KiB and lets every subscriber goroutine
// record without a lock.
const (
	histExact = 64 // values below are their own bucket
	histSub   = 32 // buckets per power of two above histExact
	histLen   = histExact + (64-6)*histSub
)

// histogram counts latencies; safe for concurrent use.
type histogram struct {
	counts [histLen]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64 // µs
}

// bucketOf maps a value in µs to its bucket.
func bucketOf(us uint64) int {
	if us < histExact {
		return int(us)
	}
	e := bits.Len64(us) - 6 // ≥ 1; us>>e is in [32, 64)
	return histExact + (e-1)*histSub + int(us>>e) - histSub
}

// bucketHigh is the largest value in bucket i, in µs: quantiles are
// reported at their bucket's upper bound, never below the truth.
func bucketHigh(i int) uint64 {
	if i < histExact {
		return uint64(i)
	}
	e := (i-histExact)/histSub + 1
	m := uint64((i-histExact)%histSub + histSub)
	return (m+1)<<e - 1
}

// record adds one latency; a negative one (clock misuse) counts as 0.
func (h *histogram) record(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	h.counts[bucketOf(uint64(us))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

// count is how many latencies were recorded.
func (h *histogram) count() int64 { return h.n.Load() }

// quantile returns the latency at q (0 < q ≤ 1), or 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := time.Duration(bucketHigh(i)) * time.Microsecond
			return min(v, h.maximum())
		}
	}
	return h.maximum()
}

// maximum is the largest latency recorded, exact.
func (h *histogram) maximum() time.Duration {
	return time.Duration(h.max.Load()) * time.Microsecond
}
