package state

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// ErrTooManyDevices is returned by Apply when a tenant already has
// Config.MaxDevices devices and a message names a new one.
var ErrTooManyDevices = errors.New("state: tenant device limit reached")

// Config sizes the in-memory state.
type Config struct {
	// HistorySize is the number of publications kept per channel; default
	// 1000. Device channels keep at most DeviceHistorySize.
	HistorySize int
	// DeviceHistorySize bounds each device:<id> channel; default 100,
	// because there is one such channel per device.
	DeviceHistorySize int
	// HistoryTTL: older publications are not recoverable; default 10m.
	HistoryTTL time.Duration
	// MaxDevices per tenant; default 100000.
	MaxDevices int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.HistorySize <= 0 {
		c.HistorySize = 1000
	}
	if c.DeviceHistorySize <= 0 {
		c.DeviceHistorySize = min(100, c.HistorySize)
	}
	if c.HistoryTTL <= 0 {
		c.HistoryTTL = 10 * time.Minute
	}
	if c.MaxDevices <= 0 {
		c.MaxDevices = 100000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Memory is the single-node state store.
type Memory struct {
	cfg     Config
	mu      sync.Mutex // guards tenants; never held while a tenant lock is taken
	tenants map[string]*Tenant
	// saveMu serialises Save, so that a slower earlier save never renames
	// its older file over a newer one. Taken before mu and tenant locks,
	// and held while the file is written (no tenant lock is then held).
	saveMu sync.Mutex
}

// NewMemory returns an empty store.
func NewMemory(cfg Config) *Memory {
	cfg.defaults()
	return &Memory{cfg: cfg, tenants: make(map[string]*Tenant)}
}

// Do runs fn with the tenant locked. fn must not block and must not call Do.
func (m *Memory) Do(tenant string, fn func(t *Tenant)) {
	m.mu.Lock()
	t := m.tenants[tenant]
	if t == nil {
		t = &Tenant{cfg: &m.cfg, name: tenant, devices: make(map[string]*Device), channels: make(map[string]*history)}
		m.tenants[tenant] = t
	}
	m.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(t)
}

// Tenants returns the names of every tenant that has state.
func (m *Memory) Tenants() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.tenants))
	for name := range m.tenants {
		out = append(out, name)
	}
	return out
}

// Device is the merged state of one device.
type Device struct {
	Reading devices.Reading
	// StaleAfter is the device's stale interval (0: never stale).
	StaleAfter time.Duration
	// Source identifies the configured source the device came through, so
	// that commands can be routed back to it.
	Source int
	// LastSeen is when the bridge last received a message of the device.
	LastSeen time.Time
	// tsOnline is the device time of the last availability change, so an
	// old LWT cannot override a newer birth.
	tsOnline time.Time
	// topics are the distinct topics the device was last heard on, newest
	// first: some families need them to encode commands
	// (devices.StateCommander).
	topics []string
}

// maxTopics bounds Device.topics.
const maxTopics = 8

// Topics returns a copy of the topics the device was last heard on,
// newest first.
func (d *Device) Topics() []string { return append([]string(nil), d.topics...) }

func (d *Device) heardOn(topic string) {
	if topic == "" || (len(d.topics) > 0 && d.topics[0] == topic) {
		return
	}
	for i, t := range d.topics {
		if t == topic {
			copy(d.topics[1:i+1], d.topics[:i])
			d.topics[0] = topic
			return
		}
	}
	if len(d.topics) < maxTopics {
		d.topics = append(d.topics, "")
	}
	copy(d.topics[1:], d.topics)
	d.topics[0] = topic
}

// Snapshot returns a copy of the device's merged Reading.
func (d *Device) Snapshot(now time.Time) devices.Reading { return d.snapshot(now) }

// Tenant is one tenant's state. Its methods may only be called inside
// Memory.Do.
type Tenant struct {
	cfg      *Config
	name     string
	mu       sync.Mutex
	devices  map[string]*Device
	channels map[string]*history
}

// Name is the tenant id.
func (t *Tenant) Name() string { return t.name }

// Meta says where a Reading came from.
type Meta struct {
	// Topic is the MQTT topic of the message the Reading was decoded from.
	Topic      string
	Source     int
	StaleAfter time.Duration
	Tags       map[string]string
}

// Apply merges r into its device's latest state and returns the device.
// Per READINGS.md a Reading never moves a device back in device time: a
// Reading older than the merged state leaves metrics and attrs alone.
func (t *Tenant) Apply(r *devices.Reading, meta Meta) (*Device, error) {
	d := t.devices[r.Device]
	if d == nil {
		if len(t.devices) >= t.cfg.MaxDevices {
			return nil, ErrTooManyDevices
		}
		d = &Device{Reading: devices.Reading{Device: r.Device, Family: r.Family, TS: r.TS}}
		t.devices[r.Device] = d
	}
	d.Source, d.StaleAfter = meta.Source, meta.StaleAfter
	d.LastSeen = t.cfg.Now()
	d.heardOn(meta.Topic)
	m := &d.Reading
	m.Family = r.Family
	m.ReceivedAt = r.ReceivedAt
	m.Stale = false
	// Tags come from the family (on the Reading) and from configuration,
	// which wins, as in the ingest pipeline; the tag channels a Reading is
	// published to are named from r.Tags, so the snapshot must know them.
	for _, tags := range [2]map[string]string{r.Tags, meta.Tags} {
		if len(tags) == 0 {
			continue
		}
		if m.Tags == nil {
			m.Tags = make(map[string]string, len(tags))
		}
		for k, v := range tags {
			m.Tags[k] = v
		}
	}
	if r.Online != nil && !r.TS.Before(d.tsOnline) {
		online := *r.Online
		m.Online = &online
		d.tsOnline = r.TS
	}
	if r.TS.Before(m.TS) {
		return d, nil
	}
	m.TS = r.TS
	if len(r.Metrics) > 0 {
		if m.Metrics == nil {
			m.Metrics = make(map[string]any, len(r.Metrics))
		}
		for k, v := range r.Metrics {
			m.Metrics[k] = v
		}
	}
	if len(r.Attrs) > 0 {
		if m.Attrs == nil {
			m.Attrs = make(map[string]string, len(r.Attrs))
		}
		for k, v := range r.Attrs {
			m.Attrs[k] = v
		}
	}
	return d, nil
}

// Device returns a device's merged state.
func (t *Tenant) Device(id string) (*Device, bool) {
	d, ok := t.devices[id]
	return d, ok
}

// Len is the number of devices.
func (t *Tenant) Len() int { return len(t.devices) }

func (t *Tenant) channel(ch wire.Channel) *history {
	h := t.channels[ch.Name]
	if h == nil {
		size := t.cfg.HistorySize
		if ch.Kind == wire.KindDevice {
			size = t.cfg.DeviceHistorySize
		}
		h = newHistory(newEpoch(), size)
		t.channels[ch.Name] = h
	}
	return h
}

// Append adds a publication to a channel's history, assigning the next
// offset, and returns it. data must be valid JSON; r is the Reading it
// encodes, or nil.
func (t *Tenant) Append(ch wire.Channel, data []byte, r *devices.Reading) *Publication {
	h := t.channel(ch)
	p := NewPublication(ch.Name, h.epoch, h.offset+1, data, r, t.cfg.Now())
	h.append(p)
	return p
}

// Position is the channel's current epoch and offset.
func (t *Tenant) Position(ch wire.Channel) wire.StreamPosition {
	h := t.channel(ch)
	return wire.StreamPosition{Epoch: h.epoch, Offset: h.offset}
}

// Since returns the publications after pos and whether they are complete.
func (t *Tenant) Since(ch wire.Channel, pos wire.StreamPosition) ([]*Publication, bool) {
	return t.channel(ch).since(pos, t.cfg.HistoryTTL, t.cfg.Now())
}

// History answers a forward history request (see Query).
func (t *Tenant) History(ch wire.Channel, since *wire.StreamPosition, until time.Time, limit int) ([]*Publication, string, bool) {
	page := t.Query(ch, HistoryQuery{Since: since, Until: until, Limit: limit})
	return page.Publications, page.Epoch, page.Complete
}

// Snapshot returns copies of the merged Readings of every device the
// channel covers, with Stale evaluated now. Channels that carry no device
// state (user, app, monitor) have an empty snapshot.
func (t *Tenant) Snapshot(ch wire.Channel, deviceID string) []devices.Reading {
	now := t.cfg.Now()
	var out []devices.Reading
	add := func(d *Device) { out = append(out, d.snapshot(now)) }
	switch ch.Kind {
	case wire.KindDevices:
		out = make([]devices.Reading, 0, len(t.devices))
		for _, d := range t.devices {
			add(d)
		}
	case wire.KindDevice:
		if d, ok := t.devices[deviceID]; ok {
			add(d)
		}
	case wire.KindTag:
		// Tag channels are named with escaped keys and values
		// (wire.TagChannel); only the canonical escape of a key names it.
		key := wire.UnescapeID(ch.TagKey)
		if wire.EscapeID(key) != ch.TagKey {
			break
		}
		for _, d := range t.devices {
			if v, ok := d.Reading.Tags[key]; ok && wire.EscapeID(v) == ch.TagValue {
				add(d)
			}
		}
	}
	return out
}

func (d *Device) snapshot(now time.Time) devices.Reading {
	r := d.Reading
	r.Metrics = cloneMap(r.Metrics)
	r.Attrs = cloneMap(r.Attrs)
	r.Tags = cloneMap(r.Tags)
	if r.Online != nil {
		v := *r.Online
		r.Online = &v
	}
	r.Stale = d.StaleAfter > 0 && now.Sub(d.LastSeen) > d.StaleAfter
	return r
}

// SweepStale marks devices that have been silent longer than their stale
// interval and returns one Reading per device that just became stale, so
// that live dashboards learn about it without waiting for a snapshot.
func (t *Tenant) SweepStale() []devices.Reading {
	now := t.cfg.Now()
	var out []devices.Reading
	for _, d := range t.devices {
		if d.Reading.Stale || d.StaleAfter <= 0 || now.Sub(d.LastSeen) <= d.StaleAfter {
			continue
		}
		d.Reading.Stale = true
		out = append(out, devices.Reading{
			Device: d.Reading.Device, Family: d.Reading.Family,
			TS: d.Reading.TS, ReceivedAt: now, Tags: cloneMap(d.Reading.Tags), Stale: true,
		})
	}
	return out
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// newEpoch returns a random epoch id. Memory history is lost on restart, so
// every channel created by this process gets an epoch no earlier process
// used, and a client resuming with an old epoch gets a snapshot.
func newEpoch() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
