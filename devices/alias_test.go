package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// TestAlias: the tables of alias.go map a family's vendor keys to
// canonical names, keep an instance prefix, and leave everything else
// (other families, keys whose meaning is not certain) as it is.
func TestAlias(t *testing.T) {
	for _, c := range []struct{ family, key, want string }{
		{"ttn", devices.SnakeCase("TempC_SHT"), "temperature"},
		{"ttn", devices.SnakeCase("Hum_SHT"), "humidity"},
		{"ttn", devices.SnakeCase("BatV"), "voltage"},
		{"ttn", devices.SnakeCase("TempC_DS"), "ds18b20.temperature"},
		{"ttn", "occupied", "occupancy"},
		{"ttn", "vbat", "vbat"}, // V or mV depending on the formatter
		{"ttn", "batt", "batt"},
		{"tasmota", devices.SnakeCase("Vcc"), "voltage"},
		{"sparkplug_b", devices.SnakeCase("Supply Voltage"), "voltage"},
		{"sparkplug_b", "power.supply_voltage", "power.voltage"},
		{"sparkplug_b", "supply_voltage.raw", "supply_voltage.raw"},
		{"zigbee2mqtt", "vcc", "vcc"}, // no table: unchanged
		{"tasmota", "occupied", "occupied"},
	} {
		require.Equal(t, c.want, devices.Alias(c.family, c.key), "%s %s", c.family, c.key)
	}
}
