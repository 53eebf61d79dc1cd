package devices_test

import (
	"testing"

	"github.com/mqlive/mqlive/devices"
)

func BenchmarkESPHomeDecode(b *testing.B) { benchDecode(b, devices.ESPHome{}, "esphome") }
