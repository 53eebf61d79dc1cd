package state

import (
	"strconv"
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
