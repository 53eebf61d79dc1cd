package state

import (
	"context"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// Memory implements Store for a single node; its methods never fail.
var _ Store = (*Memory)(nil)

// Append implements Store.
func (m *Memory) Append(_ context.Context, tenant string, ch wire.Channel, data []byte, r *devices.Reading) (*Publication, error) {
	var p *Publication
	m.Do(tenant, func(t *Tenant) { p = t.Append(ch, data, r) })
	p.BuildFrame()
	return p, nil
}

// Position implements Store.
func (m *Memory) Position(_ context.Context, tenant string, ch wire.Channel) (wire.StreamPosition, error) {
	var pos wire.StreamPosition
	m.read(tenant, func(t *Tenant) {
		if t != nil {
			pos = t.Position(ch)
		}
	})
	return pos, nil
}

// Since implements Store.
func (m *Memory) Since(_ context.Context, tenant string, ch wire.Channel, since wire.StreamPosition) ([]*Publication, wire.StreamPosition, bool, error) {
	var (
		pubs []*Publication
		pos  wire.StreamPosition
		ok   bool
	)
	m.read(tenant, func(t *Tenant) {
		if t == nil {
			pubs, ok = emptyHistory.since(since, 0, time.Time{})
			return
		}
		pos = t.Position(ch)
		pubs, ok = t.Since(ch, since)
	})
	return pubs, pos, ok, nil
}

// History implements Store.
func (m *Memory) History(_ context.Context, tenant string, ch wire.Channel, q HistoryQuery) (HistoryPage, error) {
	var page HistoryPage
	m.read(tenant, func(t *Tenant) { page = t.Query(ch, q) })
	return page, nil
}

// Apply implements Store.
func (m *Memory) Apply(_ context.Context, tenant string, r *devices.Reading, meta Meta) error {
	var err error
	m.Do(tenant, func(t *Tenant) { _, err = t.Apply(r, meta) })
	return err
}

// Device implements Store.
func (m *Memory) Device(_ context.Context, tenant, id string) (DeviceInfo, bool, error) {
	var (
		info DeviceInfo
		ok   bool
	)
	m.read(tenant, func(t *Tenant) {
		if t == nil {
			return
		}
		d, found := t.Device(id)
		if !found {
			return
		}
		ok = true
		info = DeviceInfo{Reading: d.Snapshot(m.cfg.Now()), Source: d.Source, SourceKey: d.SourceKey, Topics: d.Topics()}
	})
	return info, ok, nil
}

// Snapshot implements Store.
func (m *Memory) Snapshot(_ context.Context, tenant string, ch wire.Channel) ([]devices.Reading, error) {
	var out []devices.Reading
	id := ""
	if ch.Kind == wire.KindDevice {
		id = wire.UnescapeID(ch.Arg)
	}
	m.read(tenant, func(t *Tenant) {
		if t != nil {
			out = t.Snapshot(ch, id)
		}
	})
	return out, nil
}

// SweepStale implements Store. It also evicts every tenant's expired
// channels.
func (m *Memory) SweepStale(context.Context) ([]TenantReading, error) {
	var out []TenantReading
	for _, tenant := range m.Tenants() {
		m.Do(tenant, func(t *Tenant) {
			// Channels idle past the history TTL are freed here too, so a
			// tenant that stopped publishing does not keep its history.
			t.EvictExpired()
			for _, r := range t.SweepStale() {
				out = append(out, TenantReading{Tenant: tenant, Reading: r})
			}
		})
	}
	return out, nil
}

// DeviceCounts implements Store.
func (m *Memory) DeviceCounts(context.Context) (map[string]int, error) {
	out := make(map[string]int)
	for _, tenant := range m.Tenants() {
		m.Do(tenant, func(t *Tenant) { out[tenant] = t.Len() })
	}
	return out, nil
}

// Query answers a history query on ch; t may be nil (a tenant without
// state). It creates nothing.
func (t *Tenant) Query(ch wire.Channel, q HistoryQuery) HistoryPage {
	h, ttl, now := emptyHistory, time.Duration(0), time.Time{}
	if t != nil {
		h, ttl, now = t.lookup(ch), t.cfg.HistoryTTL, t.cfg.Now()
	}
	if q.Limit <= 0 || q.Limit > wire.MaxHistoryLimit {
		q.Limit = wire.MaxHistoryLimit
	}
	pubs, complete := h.query(q, ttl, now)
	return HistoryPage{Publications: pubs, Epoch: h.epoch, Offset: h.offset, Complete: complete}
}

// expired reports whether a publication made at at is past ttl at now.
func expired(at time.Time, ttl time.Duration, now time.Time) bool {
	return ttl > 0 && now.Sub(at) > ttl
}
