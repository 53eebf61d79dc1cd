package devices_test

import (
	"testing"

	"github.com/mqlive/mqlive/devices"
)

func BenchmarkTTNDecode(b *testing.B) { benchDecode(b, devices.TTN{}, "v3") }
