package client

import "strconv"

// LatencyBoundsMs are the upper bounds, in milliseconds, of the delivery
// latency histogram. They are the bridge's fixed bounds
// (bridge/metrics.LatencyBuckets, in seconds): a report carries one count
// per bound plus one for +Inf, so they are part of the protocol and must
// not change on one side only.
var LatencyBoundsMs = [...]float64{1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// Histogram counts latency samples into LatencyBoundsMs. A sample goes into
// the first bucket whose bound is ≥ it (Prometheus "le"); Counts[13] is
// +Inf. Counts are per bucket, not cumulative. The zero value is empty.
type Histogram struct {
	Counts [len(LatencyBoundsMs) + 1]uint64
	SumMs  float64
}

// Observe adds one sample of ms milliseconds.
func (h *Histogram) Observe(ms float64) {
	i := 0
	for i < len(LatencyBoundsMs) && ms > LatencyBoundsMs[i] {
		i++
	}
	h.Counts[i]++
	h.SumMs += ms
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0 < q ≤ 1) in milliseconds the way
// Prometheus' histogram_quantile does: linear interpolation inside the
// bucket that holds the rank, the highest finite bound for the +Inf bucket.
// It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) float64 {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum uint64
	for i, c := range h.Counts {
		prev := cum
		cum += c
		if c == 0 || float64(cum) < rank {
			continue
		}
		if i == len(LatencyBoundsMs) {
			return LatencyBoundsMs[i-1]
		}
		lower := 0.0
		if i > 0 {
			lower = LatencyBoundsMs[i-1]
		}
		upper := LatencyBoundsMs[i]
		return lower + (upper-lower)*(rank-float64(prev))/float64(c)
	}
	return LatencyBoundsMs[len(LatencyBoundsMs)-1]
}

// take returns a part of h holding at most max samples, from the lowest
// buckets up, with the matching share of the sum. The bridge refuses
// reports of more than wire.MaxReportSamples samples, which a long outage
// at a high message rate could accumulate; the rest goes in later reports.
func (h *Histogram) take(max uint64) Histogram {
	total := h.Count()
	if total <= max {
		return *h
	}
	var out Histogram
	left := max
	for i, c := range h.Counts {
		n := min(c, left)
		out.Counts[i] = n
		left -= n
	}
	out.SumMs = h.SumMs * float64(max) / float64(total)
	return out
}

// sub removes o, a part of h that take returned earlier, from h.
func (h *Histogram) sub(o *Histogram) {
	for i, c := range o.Counts {
		h.Counts[i] -= min(c, h.Counts[i])
	}
	h.SumMs -= o.SumMs
	if h.SumMs < 0 || h.Count() == 0 {
		h.SumMs = 0 // no float residue on an empty histogram
	}
}

// reportParams renders h as report params (PROTOCOL.md, mqlive extension):
// {"latency":{"counts":[…],"sum":<seconds>}}.
func (h *Histogram) reportParams() *obj {
	counts := make([]byte, 0, 64)
	counts = append(counts, '[')
	for i, c := range h.Counts {
		if i > 0 {
			counts = append(counts, ',')
		}
		counts = strconv.AppendUint(counts, c, 10)
	}
	counts = append(counts, ']')
	lat := newObj().raw("counts", string(counts)).float("sum", h.SumMs/1000)
	return newObj().sub("latency", lat)
}
