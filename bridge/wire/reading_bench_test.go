package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// benchReading is a zigbee2mqtt sensor's Reading as the fleet benchmarks
// publish it.
func benchReading() *devices.Reading {
	at := time.Date(2026, 12, 3, 18, 0, 0, 123456789, time.UTC)
	return &devices.Reading{Device: "fleet-4242", Family: "zigbee2mqtt", TS: at, ReceivedAt: at,
		Metrics: map[string]any{"temperature": 21.5, "humidity": 40.2, "pressure": 1013.4, "battery": 97.0,
			"voltage": 2.95, "linkquality": 120.0, "seq": 4242.0}}
}

// BenchmarkReadingJSON compares AppendReading with the json.Marshal it
// replaces on the ingest path.
func BenchmarkReadingJSON(b *testing.B) {
	r := benchReading()
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			var err error
			if buf, err = AppendReading(buf[:0], r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
