package state

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

func BenchmarkAppend(b *testing.B) {
	m := NewMemory(Config{})
	ch := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	data := []byte(`{"device":"kitchen-th","family":"zigbee2mqtt","ts":"2026-11-23T17:00:00.123Z","received_at":"2026-11-23T17:00:00.131Z","metrics":{"temperature":21.5,"humidity":48.2,"battery":97,"linkquality":120},"stale":false}`)
	b.ReportAllocs()
	for b.Loop() {
		m.Do("acme", func(t *Tenant) { t.Append(ch, data, nil) })
	}
}

func BenchmarkApply(b *testing.B) {
	m := NewMemory(Config{})
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = "dev-" + strconv.Itoa(i)
	}
	meta := Meta{Tags: map[string]string{"site": "hq"}, StaleAfter: time.Minute}
	r := devices.Reading{Family: "zigbee2mqtt", Metrics: map[string]any{"temperature": 21.5, "humidity": 48.2, "battery": 97.0}}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Device = ids[i%len(ids)]
		r.TS = now.Add(time.Duration(i))
		i++
		m.Do("acme", func(t *Tenant) {
			if _, err := t.Apply(&r, meta); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// tenantOf10k is a tenant of 10,000 devices with a typical merged state
// (4 metrics, 1 attribute, 1 tag).
func tenantOf10k(b *testing.B) *Memory {
	b.Helper()
	m := NewMemory(Config{})
	meta := Meta{Tags: map[string]string{"site": "hq"}, StaleAfter: time.Minute}
	now := time.Now()
	for i := 0; i < 10000; i++ {
		r := devices.Reading{Device: "dev-" + strconv.Itoa(i), Family: "zigbee2mqtt", TS: now, ReceivedAt: now,
			Metrics: map[string]any{"temperature": 21.5, "humidity": 48.2, "battery": 97.0, "linkquality": 120.0},
			Attrs:   map[string]string{"model": "WSDCGQ11LM"}}
		m.Do("acme", func(t *Tenant) {
			if _, err := t.Apply(&r, meta); err != nil {
				b.Fatal(err)
			}
		})
	}
	return m
}

// BenchmarkSnapshotLockHeld10k is how long a devices snapshot holds the
// tenant lock (every Apply and Append of the tenant waits that long):
// Memory.Snapshot copies every device under it.
func BenchmarkSnapshotLockHeld10k(b *testing.B) {
	m := tenantOf10k(b)
	ch := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	b.ReportAllocs()
	for b.Loop() {
		m.Do("acme", func(t *Tenant) { _ = t.Snapshot(ch, "") })
	}
}

// BenchmarkSnapshotSerialize10k is the part ws does after the lock is
// released: one JSON object per device.
func BenchmarkSnapshotSerialize10k(b *testing.B) {
	m := tenantOf10k(b)
	ch := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	var snap []devices.Reading
	m.Do("acme", func(t *Tenant) { snap = t.Snapshot(ch, "") })
	b.ReportAllocs()
	for b.Loop() {
		for i := range snap {
			if _, err := json.Marshal(&snap[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkApplyDuringSnapshots is one Apply of the tenant while another
// goroutine takes devices snapshots back to back (a dashboard repeating
// subscribe devices); max-ns is the longest single Apply, the ingest stall.
func BenchmarkApplyDuringSnapshots(b *testing.B) {
	m := tenantOf10k(b)
	ch := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			m.Do("acme", func(t *Tenant) { _ = t.Snapshot(ch, "") })
		}
	}()
	meta := Meta{Tags: map[string]string{"site": "hq"}, StaleAfter: time.Minute}
	r := devices.Reading{Device: "dev-1", Family: "zigbee2mqtt", Metrics: map[string]any{"temperature": 22.0}}
	var worst time.Duration
	for b.Loop() {
		r.TS = time.Now()
		start := time.Now()
		m.Do("acme", func(t *Tenant) { _, _ = t.Apply(&r, meta) })
		worst = max(worst, time.Since(start))
	}
	stop.Store(true)
	<-done
	b.ReportMetric(float64(worst.Nanoseconds()), "max-ns")
}
