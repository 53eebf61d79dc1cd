package hub

import "github.com/mqlive/mqlive/devices"

// mergedReading folds several Readings of one device into one, with the
// same rules as the state store: latest device time wins per metric, and
// an older Reading never moves the device back in time.
type mergedReading struct {
	r devices.Reading
}

func newMerged(first *devices.Reading) *mergedReading {
	m := &mergedReading{r: *first}
	m.r.Metrics = clone(first.Metrics)
	m.r.Attrs = clone(first.Attrs)
	m.r.Tags = clone(first.Tags)
	return m
}

func (m *mergedReading) add(r *devices.Reading) {
	if r.Online != nil {
		m.r.Online = r.Online
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
