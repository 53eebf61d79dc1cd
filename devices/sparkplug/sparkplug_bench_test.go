package sparkplug

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// BenchmarkSparkplugBDecode decodes the sampled DDATA (eight metrics by
// alias) of a born device: the steady-state message of a Sparkplug fleet.
func BenchmarkSparkplugBDecode(b *testing.B) {
	h := New()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	birth, _ := h.Availability("spBv1.0", "Plant/Edge 1/Pump 1", true)
	birth.ReceivedAt = now
	if _, err := h.Decode("spBv1.0", birth); err != nil {
		b.Fatal(err)
	}
	m := h.Sample("spBv1.0", "Plant/Edge 1/Pump 1", now, rand.New(rand.NewPCG(1, 2)))[0]
	m.ReceivedAt = now
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.Decode("spBv1.0", devices.Message{Topic: m.Topic, Payload: m.Payload, ReceivedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
