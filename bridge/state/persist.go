package state

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// PersistVersion is the version of the file Save writes. Load accepts only
// this version.
const PersistVersion = 1

// DefaultPersistInterval is how often Persist saves when every is zero.
const DefaultPersistInterval = 30 * time.Second

// ErrBadStateFile is wrapped by Load's error when the file exists but is
// not a state file this version can read: corrupt, truncated, or of
// another version.
var ErrBadStateFile = errors.New("state: bad state file")

// The file is JSON lines: one fileHeader, then one fileDevice per device.
// Save groups devices by tenant, most recently seen first, so that a Load
// bounded by Config.MaxDevices keeps the devices heard last; Load does not
// require the grouping.

type fileHeader struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	// Devices is the number of device lines that follow; a shorter file
	// was truncated.
	Devices int `json:"devices"`
}

type fileDevice struct {
	Tenant     string          `json:"tenant"`
	Reading    devices.Reading `json:"reading"`
	Source     int             `json:"source,omitempty"`
	SourceKey  string          `json:"source_key,omitempty"`
	StaleAfter time.Duration   `json:"stale_after_ns,omitempty"`
	LastSeen   time.Time       `json:"last_seen"`
	TSOnline   time.Time       `json:"ts_online"`
	Topics     []string        `json:"topics,omitempty"`
}

// Save writes the latest state of every device of every tenant (its merged
// Reading, Source, StaleAfter, LastSeen, the device time of its last
// availability change and the topics it was heard on) to path. Channel
// history is not saved: channels created after a restart get new epochs, so
// a resuming client is told its position was not recovered and receives
// the restored snapshot instead.
//
// The file is replaced atomically: Save writes a temporary file in path's
// directory, syncs it and renames it over path, so a crash or a failed
// write leaves the previous file intact. The file is created with mode
// 0600.
//
// Save is safe for concurrent use with every other method; concurrent
// Saves are serialised. Each tenant's lock is held only while its devices
// are copied, never while the file is encoded or written.
func (m *Memory) Save(path string) error {
	_, err := m.save(path)
	return err
}

// save is Save, and returns the change count (Memory.changes) the file
// has every change up to.
func (m *Memory) save(path string) (uint64, error) {
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	// Read before copying: a change made during the copy is saved next.
	gen := m.changes.Load()
	lines := m.persistCopy()
	if err := writeAtomic(path, func(w io.Writer) error { return encodeState(w, lines, m.cfg.Now()) }); err != nil {
		return 0, fmt.Errorf("state: save %s: %w", path, err)
	}
	return gen, nil
}

// persistCopy copies every device under its tenant's lock (a struct copy
// per device, as a snapshot).
func (m *Memory) persistCopy() []fileDevice {
	tenants := m.Tenants()
	sort.Strings(tenants)
	var out []fileDevice
	for _, name := range tenants {
		start := len(out)
		m.Do(name, func(t *Tenant) {
			out = slices.Grow(out, len(t.devices))
			for _, d := range t.devices {
				out = append(out, fileDevice{
					// A struct copy: the merged maps and Online are
					// copy-on-write (Apply replaces, never writes into
					// them), so they stay valid after the lock is released.
					Tenant: name, Reading: d.Reading,
					Source: d.Source, SourceKey: d.SourceKey, StaleAfter: d.StaleAfter,
					LastSeen: d.LastSeen, TSOnline: d.tsOnline, Topics: d.Topics(),
				})
			}
		})
		// Outside the lock: newest first, then by id for a stable file.
		sort.Slice(out[start:], func(i, j int) bool {
			a, b := &out[start+i], &out[start+j]
			if !a.LastSeen.Equal(b.LastSeen) {
				return a.LastSeen.After(b.LastSeen)
			}
			return a.Reading.Device < b.Reading.Device
		})
	}
	return out
}

func encodeState(w io.Writer, lines []fileDevice, now time.Time) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fileHeader{Version: PersistVersion, SavedAt: now, Devices: len(lines)}); err != nil {
		return err
	}
	for i := range lines {
		if err := enc.Encode(&lines[i]); err != nil {
			return fmt.Errorf("device %q of tenant %q: %w", lines[i].Reading.Device, lines[i].Tenant, err)
		}
	}
	return nil
}

// writeAtomic writes a temporary file next to path with write, syncs it and
// renames it over path. On any error the temporary file is removed and path
// is left as it was.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable. Not every platform can sync a
	// directory; the file is already complete either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Load restores the devices saved by Save at path and returns how many it
// restored. A missing file is not an error: Load returns 0 and nil. A file
// that exists but cannot be read as a whole (corrupt, truncated, another
// version) is an error wrapping ErrBadStateFile and naming path, and
// nothing is restored: the caller is expected to log it and start with an
// empty store rather than fail, since devices report again on their own.
//
// At most Config.MaxDevices devices are restored per tenant, counting
// devices already present; Save writes the most recently seen first, so
// those are the ones kept. A device already present in the store is left
// as it is: live state is never replaced by saved state. After Load a
// Reading older (in device time) than the restored one leaves its metrics
// and attrs alone, as for any Apply.
//
// Load is safe for concurrent use, but is meant to run once, before
// messages are applied. It holds a tenant's lock only while inserting, never
// while reading the file.
func (m *Memory) Load(path string) (int, error) {
	lines, err := readState(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("state: load %s: %w", path, err)
	}
	// Group by tenant, keeping the file's order (most recent first).
	var order []string
	groups := make(map[string][]*fileDevice)
	for i := range lines {
		l := &lines[i]
		if _, ok := groups[l.Tenant]; !ok {
			order = append(order, l.Tenant)
		}
		groups[l.Tenant] = append(groups[l.Tenant], l)
	}
	n := 0
	for _, tenant := range order {
		m.Do(tenant, func(t *Tenant) {
			for _, l := range groups[tenant] {
				if len(t.devices) >= t.cfg.MaxDevices {
					return
				}
				if _, ok := t.devices[l.Reading.Device]; ok {
					continue
				}
				d := &Device{
					Reading: l.Reading, StaleAfter: l.StaleAfter, Source: l.Source, SourceKey: l.SourceKey,
					LastSeen: l.LastSeen, tsOnline: l.TSOnline, topics: l.Topics,
				}
				t.devices[l.Reading.Device] = d
				t.watchStale(d)
				t.changes.Add(1)
				for k, v := range l.Reading.Tags {
					t.tags[tagPair(k, v)]++
				}
				n++
			}
		})
	}
	return n, nil
}

// readState reads and validates the whole file. Errors opening it are
// returned as they are; errors in its content wrap ErrBadStateFile.
func readState(path string) ([]fileDevice, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	var h fileHeader
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrBadStateFile, err)
	}
	if h.Version != PersistVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadStateFile, h.Version, PersistVersion)
	}
	if h.Devices < 0 {
		return nil, fmt.Errorf("%w: negative device count %d", ErrBadStateFile, h.Devices)
	}
	// The header's count is not trusted to size the slice: a corrupt
	// header must not make Load allocate much.
	lines := make([]fileDevice, 0, min(h.Devices, 1024))
	for i := 0; ; i++ {
		var l fileDevice
		err := dec.Decode(&l)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: device line %d: %w", ErrBadStateFile, i+1, err)
		}
		if err := l.check(); err != nil {
			return nil, fmt.Errorf("%w: device line %d: %w", ErrBadStateFile, i+1, err)
		}
		lines = append(lines, l)
	}
	if len(lines) != h.Devices {
		return nil, fmt.Errorf("%w: %d device lines, header says %d (truncated?)", ErrBadStateFile, len(lines), h.Devices)
	}
	return lines, nil
}

// check enforces what Apply guarantees of a device in memory.
func (l *fileDevice) check() error {
	if l.Tenant == "" {
		return errors.New("empty tenant")
	}
	if l.Reading.Device == "" {
		return errors.New("empty device id")
	}
	for k, v := range l.Reading.Metrics {
		switch v := v.(type) {
		case bool:
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("metric %q is not finite", k)
			}
		default:
			return fmt.Errorf("metric %q is %T, want a number or a bool", k, v)
		}
	}
	if l.StaleAfter < 0 {
		return fmt.Errorf("negative stale interval %v", l.StaleAfter)
	}
	if len(l.Topics) > maxTopics {
		l.Topics = l.Topics[:maxTopics]
	}
	return nil
}

// Persist saves the store to path every interval (DefaultPersistInterval
// when every is zero or negative) until ctx is done, then saves once more
// and returns that final save's error (nil on success). A periodic save is
// skipped when no device changed since the last save. A failed periodic
// save is logged on log (slog.Default() when nil) and retried at the next
// tick; it does not stop Persist. Run it next to the other long-lived
// components; Load the same path before it starts.
func (m *Memory) Persist(ctx context.Context, path string, every time.Duration, log *slog.Logger) error {
	if every <= 0 {
		every = DefaultPersistInterval
	}
	if log == nil {
		log = slog.Default()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	saved, ok := uint64(0), false // the change count of this Persist's last save
	for {
		select {
		case <-ctx.Done():
			return m.Save(path)
		case <-tick.C:
			if ok && m.changes.Load() == saved {
				continue // nothing changed since the last save: the file is current
			}
			gen, err := m.save(path)
			if err != nil {
				log.Warn("state save failed; retrying at the next interval", "path", path, "every", every, "error", err)
				continue
			}
			saved, ok = gen, true
		}
	}
}
