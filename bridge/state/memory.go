package state

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

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
	// MaxChannels is the number of channel histories a tenant keeps;
	// default 200000 (a device channel per device, and room for the rest).
	// A new channel past it evicts the tenant's least recently published
	// channel.
	MaxChannels int
	// MaxChannelBytes bounds the data bytes of one channel's history (the
	// newest publication is always kept); default 1 MiB.
	MaxChannelBytes int64
	// MaxTenantBytes bounds the data bytes of all of a tenant's histories;
	// past it the least recently published channels are evicted. Default
	// 256 MiB. Data shared by several channels (devices and device:<id>)
	// is kept once but counts in each.
	MaxTenantBytes int64
	// MaxDeviceFields bounds the metrics plus attrs of one device; a
	// Reading's new fields past it are refused (ErrFieldLimit). Default 256.
	MaxDeviceFields int
	// MaxTagChannels bounds the distinct tag key=value pairs of a tenant's
	// devices, each a tag channel: a new pair from a decoded Reading past
	// it is refused (ErrTagLimit). Tags from the configuration count but
	// are never refused. Default 1000.
	MaxTagChannels int
	// IdentityTTL is how long a device id stays owned by its source after
	// the device was last heard: within it a Reading for the id from
	// another source is refused (ErrIdentityConflict); after it the other
	// source takes the id over with a fresh state. Default 24h.
	IdentityTTL time.Duration
	// OnEvict, when set, is called for every channel history evicted, with
	// the reason: "expired" (its newest publication is older than
	// HistoryTTL), "channel_limit" or "tenant_bytes". It runs with the
	// tenant locked and must not block.
	OnEvict func(tenant, reason string)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Defaults of the limits, shared with package valkey and the bridge
// configuration.
const (
	DefaultMaxChannels     = 200000
	DefaultMaxChannelBytes = 1 << 20
	DefaultMaxTenantBytes  = 256 << 20
	DefaultMaxDeviceFields = 256
	DefaultMaxTagChannels  = 1000
	DefaultIdentityTTL     = 24 * time.Hour
)

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
	if c.MaxChannels <= 0 {
		c.MaxChannels = DefaultMaxChannels
	}
	if c.MaxChannelBytes <= 0 {
		c.MaxChannelBytes = DefaultMaxChannelBytes
	}
	if c.MaxTenantBytes <= 0 {
		c.MaxTenantBytes = DefaultMaxTenantBytes
	}
	if c.MaxDeviceFields <= 0 {
		c.MaxDeviceFields = DefaultMaxDeviceFields
	}
	if c.MaxTagChannels <= 0 {
		c.MaxTagChannels = DefaultMaxTagChannels
	}
	if c.IdentityTTL <= 0 {
		c.IdentityTTL = DefaultIdentityTTL
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
	// changes counts the changes to device state (Apply, stale marks,
	// Load), so that Persist skips saves of a fleet that did not change.
	changes atomic.Uint64
}

// NewMemory returns an empty store.
func NewMemory(cfg Config) *Memory {
	cfg.defaults()
	return &Memory{cfg: cfg, tenants: make(map[string]*Tenant)}
}

// Do runs fn with the tenant locked, creating the tenant if needed. fn
// must not block and must not call Do.
func (m *Memory) Do(tenant string, fn func(t *Tenant)) {
	m.mu.Lock()
	t := m.tenants[tenant]
	if t == nil {
		t = &Tenant{cfg: &m.cfg, changes: &m.changes, name: tenant, devices: make(map[string]*Device),
			channels: make(map[string]*history), tags: make(map[string]int)}
		m.tenants[tenant] = t
	}
	m.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(t)
}

// read runs fn with the tenant locked, or with nil when the tenant has no
// state: no read path creates state.
func (m *Memory) read(tenant string, fn func(t *Tenant)) {
	m.mu.Lock()
	t := m.tenants[tenant]
	m.mu.Unlock()
	if t == nil {
		fn(nil)
		return
	}
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
	// SourceKey is the stable key (SourceKey) of the source that owns the
	// device id; "" for a device restored from a file that predates it,
	// which the next source to speak adopts.
	SourceKey string
	// LastSeen is when the bridge last received a message of the device.
	LastSeen time.Time
	// tsOnline is the device time of the last availability change, so an
	// old LWT cannot override a newer birth.
	tsOnline time.Time
	// held: the device's source coordinator is offline (HoldSource), so
	// the device is shown stale whatever it last said.
	held bool
	// topics are the distinct topics the device was last heard on, newest
	// first: some families need them to encode commands
	// (devices.StateCommander).
	topics []string
	// queuedAt is the deadline the device is queued with in its tenant's
	// stale queue (stale.go); 0: not queued.
	queuedAt int64
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
	changes  *atomic.Uint64 // Memory.changes
	name     string
	mu       sync.Mutex
	devices  map[string]*Device
	channels map[string]*history
	// lru orders channels by last publication, least recent at the back.
	lru list.List
	// bytes is the data bytes of every channel history.
	bytes int64
	// tags counts the devices holding each tag pair (tagPair), i.e. the
	// tag channels Readings can be published to.
	tags map[string]int
	// held maps the key of a source whose coordinator is offline to the
	// coordinator's device id (HoldSource).
	held map[string]string
	// stale holds the devices that can become stale, by deadline, so that
	// SweepStale works on the devices whose deadline passed, not on the
	// whole fleet (stale.go).
	stale staleQueue
}

// Name is the tenant id.
func (t *Tenant) Name() string { return t.name }

// Meta says where a Reading came from.
type Meta struct {
	// Topic is the MQTT topic of the message the Reading was decoded from.
	Topic  string
	Source int
	// SourceKey is the stable key of the source (SourceKey(family, base)):
	// within a tenant a device id belongs to the source that created it.
	SourceKey  string
	StaleAfter time.Duration
	Tags       map[string]string
}

// Apply merges r into its device's latest state and returns the device.
// Per READINGS.md a Reading never moves a device back in device time: a
// Reading older than the merged state leaves metrics and attrs alone.
//
// Limits: a new device past MaxDevices (ErrTooManyDevices) and a device id
// owned by another source (ErrIdentityConflict) refuse the Reading. New
// metrics or attrs past MaxDeviceFields (ErrFieldLimit) and new tag pairs
// past MaxTagChannels (ErrTagLimit) are refused alone: Apply removes them
// from r, merges the rest and returns the device with the error (both
// joined when both apply), so that what is published matches the state.
//
// Apply may keep r's Metrics and Attrs maps as the device's own (when r
// has every name the device had, the merge is r's map itself): the caller
// must not modify them afterwards, like any map of the state.
func (t *Tenant) Apply(r *devices.Reading, meta Meta) (*Device, error) {
	now := t.cfg.Now()
	d := t.devices[r.Device]
	if d != nil && d.SourceKey != meta.SourceKey && d.SourceKey != "" {
		if now.Sub(d.LastSeen) <= t.cfg.IdentityTTL {
			return nil, ErrIdentityConflict
		}
		// The owner has been silent past IdentityTTL (moved, or its
		// source removed): the new source starts the id afresh.
		t.forget(d)
		d = nil
	}
	if d == nil {
		if _, known := t.devices[r.Device]; !known && len(t.devices) >= t.cfg.MaxDevices {
			return nil, ErrTooManyDevices
		}
		d = &Device{Reading: devices.Reading{Device: r.Device, Family: r.Family, TS: r.TS}}
		t.devices[r.Device] = d
	}
	var errs []error
	if t.capTags(d, r, meta.Tags) {
		errs = append(errs, ErrTagLimit)
	}
	if capFields(d, r, t.cfg.MaxDeviceFields) {
		errs = append(errs, ErrFieldLimit)
	}
	err := errors.Join(errs...)
	t.changes.Add(1)
	d.Source, d.SourceKey, d.StaleAfter = meta.Source, meta.SourceKey, meta.StaleAfter
	d.LastSeen = now
	d.heardOn(meta.Topic)
	m := &d.Reading
	m.Family = r.Family
	m.ReceivedAt = r.ReceivedAt
	// A device of a held source stays stale while it speaks: its
	// coordinator says it is offline (HoldSource).
	d.held = t.holds(meta.SourceKey, r.Device)
	m.Stale = d.held
	r.Stale = d.held
	t.watchStale(d)
	// Tags come from the family (on the Reading) and from configuration,
	// which wins, as in the ingest pipeline; the tag channels a Reading is
	// published to are named from r.Tags, so the snapshot must know them.
	//
	// The merged maps are copy-on-write: a change replaces the map instead
	// of writing into it, so a snapshot taken under the tenant lock can
	// share them and be serialised after the lock is released.
	for _, tags := range [2]map[string]string{r.Tags, meta.Tags} {
		changed := false
		for k, v := range tags {
			if old, ok := m.Tags[k]; !ok || old != v {
				changed = true
				break
			}
		}
		if !changed {
			continue
		}
		merged := make(map[string]string, len(m.Tags)+len(tags))
		for k, v := range m.Tags {
			merged[k] = v
		}
		for k, v := range tags {
			if old, ok := merged[k]; !ok || old != v {
				if ok {
					t.untag(k, old)
				}
				t.tags[tagPair(k, v)]++
			}
			merged[k] = v
		}
		m.Tags = merged
	}
	if r.Online != nil && !r.TS.Before(d.tsOnline) {
		online := *r.Online
		m.Online = &online
		d.tsOnline = r.TS
	}
	if r.TS.Before(m.TS) {
		return d, err
	}
	m.TS = r.TS
	if len(r.Metrics) > 0 {
		m.Metrics = mergeMap(m.Metrics, r.Metrics)
	}
	if len(r.Attrs) > 0 {
		m.Attrs = mergeMap(m.Attrs, r.Attrs)
	}
	return d, err
}

// tagPair names a tag key and value in Tenant.tags.
func tagPair(k, v string) string { return k + "\x00" + v }

func (t *Tenant) untag(k, v string) {
	p := tagPair(k, v)
	if t.tags[p]--; t.tags[p] <= 0 {
		delete(t.tags, p)
	}
}

// forget drops a device's state and its tag counts; the id stays in
// t.devices until the caller replaces it.
func (t *Tenant) forget(d *Device) {
	for k, v := range d.Reading.Tags {
		t.untag(k, v)
	}
}

// capTags removes from r the tags that would add a tag pair past
// MaxTagChannels and reports whether it removed any. Tags the
// configuration sets (conf) are never refused: they are bounded by the
// configuration itself.
func (t *Tenant) capTags(d *Device, r *devices.Reading, conf map[string]string) bool {
	refused := false
	for k, v := range r.Tags {
		if cv, ok := conf[k]; ok && cv == v {
			continue
		}
		if cur, ok := d.Reading.Tags[k]; ok && (cur == v || t.tags[tagPair(k, cur)] == 1) {
			continue // unchanged, or replacing a pair only this device held
		}
		if t.tags[tagPair(k, v)] > 0 || len(t.tags) < t.cfg.MaxTagChannels {
			continue
		}
		delete(r.Tags, k)
		refused = true
	}
	return refused
}

// capFields removes from r the metrics and attrs that d does not have yet
// past max fields, and reports whether it removed any.
func capFields(d *Device, r *devices.Reading, max int) bool {
	n := len(d.Reading.Metrics) + len(d.Reading.Attrs)
	refused := false
	for k := range r.Metrics {
		if _, ok := d.Reading.Metrics[k]; ok {
			continue
		}
		if n >= max {
			delete(r.Metrics, k)
			refused = true
			continue
		}
		n++
	}
	for k := range r.Attrs {
		if _, ok := d.Reading.Attrs[k]; ok {
			continue
		}
		if n >= max {
			delete(r.Attrs, k)
			refused = true
			continue
		}
		n++
	}
	return refused
}

// Device returns a device's merged state.
func (t *Tenant) Device(id string) (*Device, bool) {
	d, ok := t.devices[id]
	return d, ok
}

// Len is the number of devices.
func (t *Tenant) Len() int { return len(t.devices) }

// lookup returns ch's history, or emptyHistory when the channel does not
// exist. A channel whose newest publication is past HistoryTTL is evicted
// here: it no longer exists, and a later publication starts a new epoch.
// lookup never creates a channel.
func (t *Tenant) lookup(ch wire.Channel) *history {
	h := t.channels[ch.Name]
	if h == nil {
		return emptyHistory
	}
	if expired(h.last, t.cfg.HistoryTTL, t.cfg.Now()) {
		t.evict(h, "expired")
		return emptyHistory
	}
	return h
}

// evict drops a channel's history.
func (t *Tenant) evict(h *history, reason string) {
	delete(t.channels, h.name)
	t.lru.Remove(h.lru)
	t.bytes -= h.bytes
	if t.cfg.OnEvict != nil {
		t.cfg.OnEvict(t.name, reason)
	}
}

// EvictExpired evicts every channel whose newest publication is older than
// HistoryTTL and returns how many it evicted. The least recently published
// channels are at the back of the recency list, so it stops at the first
// live one.
func (t *Tenant) EvictExpired() int {
	now := t.cfg.Now()
	n := 0
	for e := t.lru.Back(); e != nil; e = t.lru.Back() {
		h := e.Value.(*history)
		if !expired(h.last, t.cfg.HistoryTTL, now) {
			break
		}
		t.evict(h, "expired")
		n++
	}
	return n
}

// Channels is the number of channel histories the tenant keeps.
func (t *Tenant) Channels() int { return len(t.channels) }

// HistoryBytes is the data bytes of the tenant's channel histories.
func (t *Tenant) HistoryBytes() int64 { return t.bytes }

// Append adds a publication to a channel's history, assigning the next
// offset, and returns it without its frame (Publication.BuildFrame builds
// it, for a publication that is delivered: most are not, at fleet scale);
// the channel is created (with a new epoch) if it does not exist. data must be valid JSON; r is the Reading it encodes, or
// nil. Append keeps the tenant within its limits: it frees expired
// publications and channels, and evicts the least recently published
// channels past MaxChannels or MaxTenantBytes.
func (t *Tenant) Append(ch wire.Channel, data []byte, r *devices.Reading) *Publication {
	now := t.cfg.Now()
	t.EvictExpired()
	h := t.channels[ch.Name]
	if h == nil {
		for len(t.channels) >= t.cfg.MaxChannels {
			t.evict(t.lru.Back().Value.(*history), "channel_limit")
		}
		size := t.cfg.HistorySize
		if ch.Kind == wire.KindDevice {
			size = t.cfg.DeviceHistorySize
		}
		h = newHistory(newEpoch(), size)
		h.name, h.maxBytes = ch.Name, t.cfg.MaxChannelBytes
		h.lru = t.lru.PushFront(h)
		t.channels[ch.Name] = h
	} else {
		t.lru.MoveToFront(h.lru)
	}
	p := newPublication(ch.Name, h.epoch, h.offset+1, data, r, now)
	before := h.bytes
	h.append(p)
	h.dropExpired(t.cfg.HistoryTTL, now)
	t.bytes += h.bytes - before
	for t.bytes > t.cfg.MaxTenantBytes {
		if back := t.lru.Back().Value.(*history); back != h {
			t.evict(back, "tenant_bytes")
			continue
		}
		// Only this channel is left: keep its newest publication.
		if h.n() <= 1 {
			break
		}
		before := h.bytes
		h.drop()
		t.bytes += h.bytes - before
	}
	return p
}

// Position is the channel's current epoch and offset: "" and 0 for a
// channel that does not exist (never published to, or evicted).
func (t *Tenant) Position(ch wire.Channel) wire.StreamPosition {
	h := t.lookup(ch)
	return wire.StreamPosition{Epoch: h.epoch, Offset: h.offset}
}

// Since returns the publications after pos and whether they are complete.
func (t *Tenant) Since(ch wire.Channel, pos wire.StreamPosition) ([]*Publication, bool) {
	return t.lookup(ch).since(pos, t.cfg.HistoryTTL, t.cfg.Now())
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

// snapshot copies the device's merged Reading. Its maps and Online are
// shared, not copied: Apply never writes into them (copy-on-write), so the
// copy stays valid after the tenant lock is released, and a snapshot of a
// large tenant holds the lock for a struct copy per device.
func (d *Device) snapshot(now time.Time) devices.Reading {
	r := d.Reading
	r.Stale = d.held || d.silent(now)
	return r
}

// mergeMap returns a map with m's entries overwritten by add's, never m
// itself (the state's maps are copy-on-write). A device that reports the
// same fields every time sends an add that has every key of m: the merge
// is add, kept as it is instead of copied (Apply's caller gives it up).
func mergeMap[V any](m, add map[string]V) map[string]V {
	if len(add) >= len(m) {
		covered := true
		for k := range m {
			if _, ok := add[k]; !ok {
				covered = false
				break
			}
		}
		if covered {
			return add
		}
	}
	out := make(map[string]V, len(m)+len(add))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range add {
		out[k] = v
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
