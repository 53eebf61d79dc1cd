package hub

import (
	"time"

	"github.com/mqlive/mqlive/devices"
)

// mergedReading folds several Readings of one device into one, with the
// same rules as the state store: latest device time wins per metric, and
// an older Reading never moves the device back in time.
type mergedReading struct {
	r devices.Reading
	// tsOnline is the device time of the availability signal in r, so a
	// late old LWT cannot override a newer birth (as in state.Tenant.Apply).
	tsOnline time.Time
}

func newMerged(first *devices.Reading) *mergedReading {
	m := &mergedReading{r: *first}
	m.r.Metrics = clone(first.Metrics)
	m.r.Attrs = clone(first.Attrs)
	m.r.Tags = clone(first.Tags)
	if first.Online != nil {
		m.tsOnline = first.TS
	}
	return m
}

func (m *mergedReading) add(r *devices.Reading) {
	if r.Online != nil && !r.TS.Before(m.tsOnline) {
		m.r.Online = r.Online
		m.tsOnline = r.TS
	}
	m.r.Stale = r.Stale
	m.r.ReceivedAt = r.ReceivedAt
	for k, v := range r.Tags {
		if m.r.Tags == nil {
			m.r.Tags = make(map[string]string)
		}
		m.r.Tags[k] = v
	}
	if r.TS.Before(m.r.TS) {
		return
	}
	m.r.TS = r.TS
	for k, v := range r.Metrics {
		if m.r.Metrics == nil {
			m.r.Metrics = make(map[string]any)
		}
		m.r.Metrics[k] = v
	}
	for k, v := range r.Attrs {
		if m.r.Attrs == nil {
			m.r.Attrs = make(map[string]string)
		}
		m.r.Attrs[k] = v
	}
}

func (m *mergedReading) reading() *devices.Reading { return &m.r }

func clone[V any](in map[string]V) map[string]V {
	if in == nil {
		return nil
	}
	out := make(map[string]V, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
