package devices_test

import (
	"testing"

	"github.com/mqlive/mqlive/devices"
)

// BenchmarkHomieDecode decodes sampled traffic: each round re-announces the
// attributes (learning), then the values.
func BenchmarkHomieDecode(b *testing.B) { benchDecodeIgnoring(b, devices.NewHomie(), "homie") }
