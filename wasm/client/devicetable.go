package client

import (
	"slices"
	"strings"
)

// Metric is one merged metric of a device (READINGS.md: numbers, or
// booleans for binary states).
type Metric struct {
	// Num is the value of a numeric metric.
	Num float64
	// IsBool marks a binary state; its value is Bool.
	IsBool bool
	Bool   bool
	// TS is the Reading timestamp the value came from, Unix ms (0 unknown).
	TS int64
}

// Device is the merged latest state of one device, built from every Reading
// seen for it. Metrics merge per key and the newest ts wins; Online and Stale
// follow the last Reading that carried them.
type Device struct {
	ID     string
	Family string
	// OnlineKnown is false until some Reading said whether the device is
	// online.
	OnlineKnown bool
	Online      bool
	Stale       bool
	// TS is the newest Reading timestamp merged; ReceivedAt the newest
	// bridge receive time. Unix milliseconds, 0 when unknown.
	TS         int64
	ReceivedAt int64
	Metrics    map[string]Metric
	Attrs      map[string]string
	Tags       map[string]string
	// Updates counts the Readings merged into this entry.
	Updates int
}

func (d *Device) clone() Device {
	c := *d
	c.Metrics = make(map[string]Metric, len(d.Metrics))
	for k, v := range d.Metrics {
		c.Metrics[k] = v
	}
	c.Attrs = cloneStrings(d.Attrs)
	c.Tags = cloneStrings(d.Tags)
	return c
}

func cloneStrings(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// DeviceTable is the client's local view of the fleet: the merged latest
// Reading per device. It is not safe for concurrent use; the Client's actor
// owns it.
type DeviceTable struct {
	m map[string]*Device
}

// NewDeviceTable returns an empty table.
func NewDeviceTable() *DeviceTable { return &DeviceTable{m: make(map[string]*Device)} }

// Len is the number of devices.
func (t *DeviceTable) Len() int { return len(t.m) }

// Get returns a copy of one device.
func (t *DeviceTable) Get(id string) (Device, bool) {
	d, ok := t.m[id]
	if !ok {
		return Device{}, false
	}
	return d.clone(), true
}

// All returns copies of every device, sorted by id.
func (t *DeviceTable) All() []Device {
	ds := make([]*Device, 0, len(t.m))
	for _, d := range t.m {
		ds = append(ds, d)
	}
	return clones(sortByID(ds))
}

// Apply merges one Reading. It returns the updated device, and false when r
// is not a Reading (no device id), which leaves the table unchanged.
func (t *DeviceTable) Apply(r Value) (Device, bool) {
	if r == nil || r.Kind() != Object {
		return Device{}, false
	}
	id := str(r, "device")
	if id == "" {
		return Device{}, false
	}
	d, ok := t.m[id]
	if !ok {
		d = &Device{ID: id, Metrics: map[string]Metric{}, Attrs: map[string]string{}, Tags: map[string]string{}}
		t.m[id] = d
	}
	merge(d, r)
	return d.clone(), true
}

// Replace makes the table hold exactly the devices of snapshot (an array of
// Readings) when all is true, as a snapshot of the "devices" channel covers
// the whole tenant. Otherwise it replaces only the devices the snapshot
// names (a device:<id> or tag: channel covers part of the fleet). It
// returns the devices set and the ids removed.
func (t *DeviceTable) Replace(snapshot Value, all bool) (set []Device, removed []string) {
	fresh := make(map[string]*Device)
	if snapshot != nil && snapshot.Kind() == Array {
		for i, n := 0, snapshot.Len(); i < n; i++ {
			r := snapshot.Index(i)
			if r.Kind() != Object {
				continue
			}
			id := str(r, "device")
			if id == "" {
				continue
			}
			d, ok := fresh[id]
			if !ok {
				d = &Device{ID: id, Metrics: map[string]Metric{}, Attrs: map[string]string{}, Tags: map[string]string{}}
				fresh[id] = d
			}
			merge(d, r)
		}
	}
	if all {
		var gone []*Device
		for id, d := range t.m {
			if _, ok := fresh[id]; !ok {
				delete(t.m, id)
				gone = append(gone, d)
			}
		}
		removed = idsOf(sortByID(gone))
	}
	ds := make([]*Device, 0, len(fresh))
	for id, d := range fresh {
		if old, ok := t.m[id]; ok {
			d.Updates += old.Updates
		}
		t.m[id] = d
		ds = append(ds, d)
	}
	if len(ds) > 0 {
		set = clones(sortByID(ds))
	}
	return set, removed
}

// Clear empties the table and returns the ids removed.
func (t *DeviceTable) Clear() []string {
	ds := make([]*Device, 0, len(t.m))
	for _, d := range t.m {
		ds = append(ds, d)
	}
	t.m = make(map[string]*Device)
	return idsOf(sortByID(ds))
}

// merge folds Reading r into d (READINGS.md: a Reading carries only what
// the message said, so absent fields leave d alone).
func merge(d *Device, r Value) {
	d.Updates++
	if f := str(r, "family"); f != "" {
		d.Family = f
	}
	recv := parseTime(str(r, "received_at"))
	ts := parseTime(str(r, "ts"))
	if ts == 0 {
		ts = recv
	}
	if ts > d.TS {
		d.TS = ts
	}
	if recv > d.ReceivedAt {
		d.ReceivedAt = recv
	}
	if o := r.Get("online"); o.Kind() == Bool {
		d.OnlineKnown, d.Online = true, o.Truth()
	}
	if s := r.Get("stale"); s.Kind() == Bool {
		d.Stale = s.Truth()
	}
	if m := r.Get("metrics"); m.Kind() == Object {
		for _, k := range m.Keys() {
			if old, ok := d.Metrics[k]; ok && ts != 0 && old.TS > ts {
				continue // an older Reading arrived late: the newer value wins
			}
			switch v := m.Get(k); v.Kind() {
			case Number:
				d.Metrics[k] = Metric{Num: v.Float(), TS: ts}
			case Bool:
				d.Metrics[k] = Metric{IsBool: true, Bool: v.Truth(), TS: ts}
			}
		}
	}
	mergeStrings(d.Attrs, r.Get("attrs"))
	mergeStrings(d.Tags, r.Get("tags"))
}

func mergeStrings(dst map[string]string, v Value) {
	if v.Kind() != Object {
		return
	}
	for _, k := range v.Keys() {
		if s := v.Get(k); s.Kind() == String {
			dst[k] = s.Str()
		}
	}
}

// sortByID sorts ds by id in place and returns it. Every sort in the
// package goes through a slice of pointers so the WASM build carries one
// instantiation of slices.SortFunc (pointer element types share one shape);
// sorting []Device or []string instantiates it again for each element type,
// about 25 KB of code apiece (WASM.md §1 size budget).
func sortByID(ds []*Device) []*Device {
	slices.SortFunc(ds, func(a, b *Device) int { return strings.Compare(a.ID, b.ID) })
	return ds
}

func clones(ds []*Device) []Device {
	out := make([]Device, len(ds))
	for i, d := range ds {
		out[i] = d.clone()
	}
	return out
}

func idsOf(ds []*Device) []string {
	if len(ds) == 0 {
		return nil
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}
