package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

// TestBuiltinConformance runs the conformance kit on every shipped family,
// so a family added to Builtin is checked without further wiring.
func TestBuiltinConformance(t *testing.T) {
	for _, h := range devices.Builtin() {
		t.Run(h.Family(), func(t *testing.T) { devicestest.Run(t, h) })
	}
}

func TestJSONConformance(t *testing.T) {
	configs := map[string]devices.JSONConfig{
		"passthrough": {Pattern: "sensors/{device}/state"},
		"mapped": {
			Name:         "plant_sensors",
			Pattern:      "+/{device}/telemetry",
			Fields:       map[string]string{"temperature": "env.temp_c", "humidity": "env.rh", "state": "relay"},
			Attrs:        map[string]string{"firmware": "fw"},
			Units:        map[string]string{"temperature": "C"},
			Timestamp:    "ts",
			DeviceField:  "id",
			Availability: &devices.JSONAvailability{Pattern: "+/{device}/status", Field: "status"},
		},
		"bare": {
			Name:         "bare_values",
			Pattern:      "{device}/temperature",
			Fields:       map[string]string{"temperature": "$"},
			Availability: &devices.JSONAvailability{Pattern: "{device}/lwt", Online: "1", Offline: "0"},
		},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			h, err := devices.NewJSON(cfg)
			require.NoError(t, err)
			devicestest.Run(t, h)
		})
	}
}
