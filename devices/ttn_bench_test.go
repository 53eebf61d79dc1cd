package devices_test

import (
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func BenchmarkTTNDecode(b *testing.B) { benchDecode(b, devices.TTN{}, "v3") }

// BenchmarkTTNDecodeVendorKeys decodes the device-repository fixtures:
// Dragino keys, CayenneLPP channels and GPS, the registry location.
func BenchmarkTTNDecodeVendorKeys(b *testing.B) {
	f, err := devicestest.LoadFixture("testdata/ttn/device_repository.json")
	if err != nil {
		b.Fatal(err)
	}
	var msgs []devices.Message
	for _, c := range f.Cases {
		m, err := f.Message(c)
		if err != nil {
			b.Fatal(err)
		}
		m.ReceivedAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		msgs = append(msgs, m)
	}
	h := devices.TTN{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Decode("v3", msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
