package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// LatencyBuckets are the upper bounds, in seconds, of the end-to-end
// delivery latency histogram that browser SDKs report (wire.MethodReport).
// Clients send one count per bucket plus one for +Inf, so the bounds are
// part of the protocol and must not change without a new version.
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// ClientLatency aggregates the latency histograms that clients report and
// exports them per tenant as mqlive_client_delivery_latency_seconds. Clients
// measure (bridge receive → page handler) themselves with a clock offset
// estimated from ping round trips, so the bridge cannot Observe samples; it
// adds the clients' bucket counts and exports a const histogram.
type ClientLatency struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	ten  map[string]*latencyHist
}

type latencyHist struct {
	counts []uint64 // per bucket, non-cumulative; last is +Inf
	sum    float64
}

func newClientLatency() *ClientLatency {
	return &ClientLatency{
		desc: prometheus.NewDesc("mqlive_client_delivery_latency_seconds",
			"End-to-end latency from the bridge receiving an MQTT message to the browser SDK handing it to the page, as reported by clients.",
			[]string{"tenant"}, nil),
		ten: make(map[string]*latencyHist),
	}
}

// Add merges one client report: counts has len(LatencyBuckets)+1 entries
// (the last for +Inf), sum is the total latency in seconds. It reports
// false, adding nothing, when the report is malformed.
func (c *ClientLatency) Add(tenant string, counts []uint64, sum float64) bool {
	if len(counts) != len(LatencyBuckets)+1 || sum < 0 || sum != sum {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.ten[tenant]
	if h == nil {
		h = &latencyHist{counts: make([]uint64, len(counts))}
		c.ten[tenant] = h
	}
	for i, n := range counts {
		h.counts[i] += n
	}
	h.sum += sum
	return true
}

// Describe implements prometheus.Collector.
func (c *ClientLatency) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *ClientLatency) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for tenant, h := range c.ten {
		buckets := make(map[float64]uint64, len(LatencyBuckets))
		var cum uint64
		for i, le := range LatencyBuckets {
			cum += h.counts[i]
			buckets[le] = cum
		}
		total := cum + h.counts[len(LatencyBuckets)]
		ch <- prometheus.MustNewConstHistogram(c.desc, total, h.sum, buckets, tenant)
	}
}
