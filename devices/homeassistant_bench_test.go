package devices_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// BenchmarkHomeAssistantDecode decodes sampled traffic, configs included.
func BenchmarkHomeAssistantDecode(b *testing.B) {
	h, err := devices.NewHomeAssistant(devices.HomeAssistantConfig{})
	if err != nil {
		b.Fatal(err)
	}
	benchDecodeIgnoring(b, h, "homeassistant")
}

// BenchmarkHomeAssistantDecodeState decodes only the state messages of
// learnt devices: the steady-state cost.
func BenchmarkHomeAssistantDecodeState(b *testing.B) {
	h, err := devices.NewHomeAssistant(devices.HomeAssistantConfig{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var states []devices.Message
	for i := 0; i < 16; i++ {
		for _, m := range h.Sample("homeassistant", "dev-"+string(rune('a'+i)), now, rand.New(rand.NewPCG(uint64(i), 1))) {
			if _, err := h.Decode("homeassistant", m); err == nil {
				states = append(states, m)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Decode("homeassistant", states[i%len(states)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
