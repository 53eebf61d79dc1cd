package devices_test

import (
	"testing"

	"github.com/mqlive/mqlive/devices"
)

// BenchmarkCheckDeviceID is the per-Reading cost the bridge adds to every
// decode (devices.Decode): a typical multi-level id.
func BenchmarkCheckDeviceID(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := devices.CheckDeviceID("Living Room/Lamp 1"); err != nil {
			b.Fatal(err)
		}
	}
}
