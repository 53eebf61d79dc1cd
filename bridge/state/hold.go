package state

import (
	"context"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// SourceHolder is implemented by stores that can hold every device of a
// source stale while the source's coordinator is offline
// (devices.Coordinator: Zigbee2MQTT's bridge). The devices of such a
// source talk only through the coordinator, so while it is away their last
// state is not current, though they are not known to be offline: they are
// shown stale until it returns.
type SourceHolder interface {
	// HoldSource holds (hold true) or releases the devices of the source
	// sourceKey in tenant, all but the coordinator itself, and returns one
	// Reading per device whose stale flag changed, for live dashboards. A
	// device that speaks while its source is held stays stale; a released
	// device is fresh again unless it has been silent past its stale
	// interval.
	HoldSource(ctx context.Context, tenant, sourceKey, coordinator string, hold bool) ([]devices.Reading, error)
}

var _ SourceHolder = (*Memory)(nil)

// HoldSource implements SourceHolder.
func (m *Memory) HoldSource(_ context.Context, tenant, sourceKey, coordinator string, hold bool) ([]devices.Reading, error) {
	var out []devices.Reading
	m.Do(tenant, func(t *Tenant) { out = t.HoldSource(sourceKey, coordinator, hold) })
	return out, nil
}

// HoldSource holds or releases a source's devices (SourceHolder).
func (t *Tenant) HoldSource(sourceKey, coordinator string, hold bool) []devices.Reading {
	if hold {
		if t.held == nil {
			t.held = make(map[string]string)
		}
		t.held[sourceKey] = coordinator
	} else {
		delete(t.held, sourceKey)
	}
	now := t.cfg.Now()
	var out []devices.Reading
	for _, d := range t.devices {
		if d.SourceKey != sourceKey || d.Reading.Device == coordinator || d.held == hold {
			continue
		}
		d.held = hold
		// Reading.Stale records that dashboards were told the device is
		// stale (SweepStale tells them once); a change is announced.
		stale := hold || d.silent(now)
		if stale == d.Reading.Stale {
			continue
		}
		d.Reading.Stale = stale
		t.changes.Add(1)
		t.watchStale(d) // fresh again: its stale deadline is watched again
		out = append(out, d.staleNotice(now))
	}
	return out
}

// holds reports whether device, of the source sourceKey, is held.
func (t *Tenant) holds(sourceKey, device string) bool {
	coordinator, ok := t.held[sourceKey]
	return ok && device != coordinator
}

// staleNotice is the Reading that tells live dashboards the device's
// stale flag changed: its identity and tags, and nothing it said.
func (d *Device) staleNotice(now time.Time) devices.Reading {
	return devices.Reading{
		Device: d.Reading.Device, Family: d.Reading.Family,
		TS: d.Reading.TS, ReceivedAt: now, Tags: cloneMap(d.Reading.Tags), Stale: d.Reading.Stale,
	}
}

// silent reports whether the device has been silent past its stale
// interval at now.
func (d *Device) silent(now time.Time) bool {
	return d.StaleAfter > 0 && now.Sub(d.LastSeen) > d.StaleAfter
}
