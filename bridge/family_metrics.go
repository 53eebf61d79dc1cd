package bridge

import (
	"reflect"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mqlive/mqlive/devices"
)

// familyEvents exports the events families count themselves
// (devices.Counter, e.g. Sparkplug's stale NDEATHs) as
// mqlive_family_events_total{family, event}, read at scrape time.
type familyEvents struct {
	desc     *prometheus.Desc
	counters []devices.Counter
}

// newFamilyEvents collects the Counters among the sources' handlers, each
// handler once (sources of one family share the registry's handler).
func newFamilyEvents(sources []source) *familyEvents {
	f := &familyEvents{desc: prometheus.NewDesc("mqlive_family_events_total",
		"Events a device family counts beyond decode verdicts (sparkplug_b: stale_death, unknown_alias, out_of_order, evicted).",
		[]string{"family", "event"}, nil)}
	seen := map[uintptr]bool{}
	for _, src := range sources {
		c, ok := src.handler.(devices.Counter)
		if !ok {
			continue
		}
		if v := reflect.ValueOf(c); v.Kind() == reflect.Pointer {
			if seen[v.Pointer()] {
				continue
			}
			seen[v.Pointer()] = true
		}
		f.counters = append(f.counters, c)
	}
	return f
}

// Describe implements prometheus.Collector.
func (f *familyEvents) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

// Collect implements prometheus.Collector. Handlers of one family (a
// family configured per source) are summed.
func (f *familyEvents) Collect(ch chan<- prometheus.Metric) {
	type key struct{ family, event string }
	sums := map[key]uint64{}
	for _, c := range f.counters {
		family := c.(devices.Handler).Family()
		for event, n := range c.Counters() {
			sums[key{family, event}] += n
		}
	}
	for k, n := range sums {
		ch <- prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, float64(n), k.family, k.event)
	}
}
